import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  formatProblem,
  PipelineValidator,
  readTaskManifests,
  taskEntry,
  yamlFiles,
  type ValidationResult,
} from '../helpers/pipeline-schema';
import { repoRoot } from '../helpers/task-runner';

/**
 * Every YAML file under pipelines/ against Microsoft's pipeline schema with our tasks' entries generated from
 * their task.json files (test/helpers/pipeline-schema.ts says how, including how `${{ }}` is handled).
 * Files and tasks are found from their folders.
 */

const files = yamlFiles(path.join(repoRoot, 'pipelines'));
const tasks = readTaskManifests(repoRoot);

function report(result: ValidationResult): string {
  return `${result.file} (checked as ${result.kind}):\n  ${result.problems.map(formatProblem).join('\n  ')}`;
}

/** Writes a template into a temporary `templates/` folder and validates it the way the test validates ours. */
function validateTemporary(name: string, text: string): ValidationResult {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-yaml-')), 'templates');
  fs.mkdirSync(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return PipelineValidator.forRepository().validateFile(file, { displayName: `templates/${name}` });
}

/** A step of the task with every input it requires, each given a value of its type. */
function minimalStep(task: (typeof tasks)[number], indent: string): string {
  const entry = taskEntry(task);
  const lines = [`${indent}- task: ${entry.reference}`];
  if (entry.requiredInputs.length) lines.push(`${indent}  inputs:`);
  for (const name of entry.requiredInputs) {
    const input = task.inputs!.find((i) => i.name === name)!;
    const value = input.options ? Object.keys(input.options)[0] : input.type === 'boolean' ? 'true' : input.type === 'int' ? '1' : 'value';
    lines.push(`${indent}    ${name}: '${value}'`);
  }
  return lines.join('\n');
}

describe('pipeline YAML', function () {
  this.timeout(30_000);
  before(() => PipelineValidator.forRepository());

  it('finds the YAML files under pipelines/', () => {
    assert.ok(
      files.some((file) => file.endsWith(path.join('templates', 'smoke-tests.yml'))),
      files.join(', '),
    );
  });

  for (const file of files) {
    it(`${path.relative(repoRoot, file)} matches the schema`, () => {
      const result = PipelineValidator.forRepository().validateFile(file);
      assert.deepEqual(result.problems.map(formatProblem), [], report(result));
    });
  }

  it('checks the stage template as a stages template', () => {
    const result = PipelineValidator.forRepository().validateFile(path.join(repoRoot, 'pipelines', 'templates', 'smoke-tests.yml'));
    assert.equal(result.kind, 'stagesTemplate');
  });

  for (const task of tasks) {
    const reference = `${task.name}@${task.version.Major}`;
    it(`accepts ${reference} with its required inputs, and refuses it with a misspelled input`, () => {
      const good = validateTemporary('good.yml', `parameters: []\nsteps:\n${minimalStep(task, '  ')}\n`);
      assert.deepEqual(good.problems.map(formatProblem), [], report(good));
      const input = task.inputs?.[0]?.name ?? 'anything';
      const misspelled = `${input.slice(0, -1)}${input.slice(-1) === 's' ? 'z' : 's'}`;
      const bad = validateTemporary('typo.yml', `parameters: []\nsteps:\n  - task: ${reference}\n    inputs:\n      ${misspelled}: x\n`);
      assert.ok(bad.problems.length > 0, `a misspelled input '${misspelled}' of ${reference} passed`);
      assert.equal(bad.problems[0].keyword, 'additionalProperties', report(bad));
      assert.match(bad.problems[0].message, new RegExp(`unknown key '${misspelled}'.*${reference}`));
      assert.equal(bad.problems[0].line, 5);
      assert.equal(bad.problems[0].path, 'steps[0].inputs');
    });
  }

  it(
    "fails a template with a misspelled SmokeTest input ('retrys'), naming the file, the line and the YAML path, suggesting " +
      'the right one',
    () => {
      const result = validateTemporary(
        'misspelled.yml',
        [
          'parameters:',
          '  - name: url',
          '    type: string',
          '    default: https://www.example.com',
          'steps:',
          '  - task: SmokeTest@1',
          '    inputs:',
          '      checks: ${{ parameters.url }}',
          '      retrys: 3',
          '',
        ].join('\n'),
      );
      assert.equal(result.kind, 'stepsTemplate');
      assert.equal(
        formatProblem(result.problems[0]).split(';')[0],
        "templates/misspelled.yml:9 steps[0].inputs: unknown key 'retrys' (did you mean 'retries'?)",
      );
    },
  );

  it("fails a template with 'stepz:' instead of 'steps:'", () => {
    const result = validateTemporary('stepz.yml', 'parameters: []\nstepz:\n  - script: echo hello\n');
    assert.ok(result.problems.length > 0, 'stepz passed');
    assert.match(formatProblem(result.problems[0]), /templates\/stepz\.yml:2 \(root\): unknown key 'stepz' \(did you mean 'steps'\?\)/);
  });

  it('fails an unknown task name, a pick-list value that is not an option, and a step of no known kind', () => {
    const result = validateTemporary(
      'wrong.yml',
      [
        'steps:',
        '  - task: SmokeTst@1',
        '  - task: SmokeTest@1',
        '    continueOnError: maybe',
        '  - scrip: echo',
        '  - task: PublishPipelineArtifact@1',
        '    inputs: { targetPath: out, artifact: records }',
        '',
      ].join('\n'),
    );
    const messages = result.problems.map(formatProblem);
    assert.ok(
      messages.some((m) => /:2 steps\[0\]\.task: 'SmokeTst@1' is not a known task/.test(m)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /:4 steps\[1\]\.continueOnError: 'maybe'/.test(m)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /:5 steps\[2\]: needs one of the keys: task, script.*'scrip' looks like 'script'/.test(m)),
      messages.join('\n'),
    );
    assert.ok(!messages.some((m) => /steps\[3\]/.test(m)), `Microsoft's tasks are accepted by name:\n${messages.join('\n')}`);
    assert.equal(result.problems[0].keyword, 'required', 'structural errors come first');
  });

  it('validates every branch of ${{ if }}/${{ else }} and ${{ each }} insertions, and resolves parameters to their defaults', () => {
    const template = (inputName: string) =>
      [
        'parameters:',
        '  - name: checks',
        '    type: object',
        '    default: [/, /login]',
        '  - name: stepsAfter',
        '    type: stepList',
        '  - name: retries',
        '    type: number',
        '    default: 2',
        'steps:',
        '  - ${{ each check in parameters.checks }}:',
        '    - task: SmokeTest@1',
        '      inputs:',
        '        checks: ${{ check }}',
        '        ${{ if eq(parameters.retries, 0) }}:',
        '          retries: 0',
        '        ${{ else }}:',
        `          ${inputName}: \${{ parameters.retries }}`,
        '  - ${{ parameters.stepsAfter }}',
        '  - ${{ if eq(1, 2) }}:',
        '    - script: echo never',
        '',
      ].join('\n');
    const good = validateTemporary('expressions.yml', template('retries'));
    assert.deepEqual(good.problems.map(formatProblem), [], report(good));
    const bad = validateTemporary('expressions-bad.yml', template('retrys'));
    assert.match(formatProblem(bad.problems[0]), /expressions-bad\.yml:18 steps\[0\]\.inputs: unknown key 'retrys'/);
  });

  it('says so when an expression stands where the schema needs a list', () => {
    const result = validateTemporary(
      'no-default.yml',
      'parameters:\n  - name: stages\n    type: object\nstages: ${{ parameters.stages }}\n',
    );
    assert.match(
      result.problems.map(formatProblem).join('\n'),
      /stages: must be array, but is the expression '\$\{\{ parameters\.stages \}\}'/,
    );
  });
});
