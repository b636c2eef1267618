import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateText } from '../e2e/expressions';
import { expandPipeline } from '../e2e/pipeline-expander';
import { expandMacros } from '../e2e/rehearsal';

/** Writes files into a fresh folder and returns its path. */
function files(contents: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-expander-'));
  for (const [name, text] of Object.entries(contents)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const STEP_TEMPLATE = `
parameters:
  - name: greeting
    type: string
  - name: loud
    type: boolean
    default: false
  - name: names
    type: object
    default: []
steps:
  - \${{ each name in parameters.names }}:
      - task: Notify@1
        name: hello_\${{ name }}
        displayName: \${{ parameters.greeting }} \${{ name }}
        inputs:
          message: \${{ parameters.greeting }}, \${{ name }}
          \${{ if parameters.loud }}:
            template: windowStart
          \${{ else }}:
            template: text
`;

describe("the rehearsal's pipeline expander and expressions", () => {
  it('expands step templates with their parameters, each, if/else and embedded expressions', () => {
    const dir = files({
      'templates/hello.yml': STEP_TEMPLATE,
      'pipeline.yml': `
parameters:
  - name: people
    type: object
    default: [ann, bob]
  - name: loud
    type: boolean
    default: false
variables:
  region: east
stages:
  - stage: Only
    jobs:
      - job: one
        steps:
          - template: templates/hello.yml
            parameters:
              greeting: Hi \${{ variables.region }}
              loud: \${{ parameters.loud }}
              names: \${{ parameters.people }}
`,
    });
    const quiet = expandPipeline(path.join(dir, 'pipeline.yml'));
    const steps = quiet.stages[0].jobs[0].steps;
    assert.deepEqual(
      steps.map((step) => step.name),
      ['hello_ann', 'hello_bob'],
    );
    assert.equal(steps[0].displayName, 'Hi east ann');
    assert.deepEqual(steps[1].inputs, { message: 'Hi east, bob', template: 'text' });
    const loud = expandPipeline(path.join(dir, 'pipeline.yml'), { loud: 'true', people: ['cy'] });
    assert.deepEqual(
      loud.stages[0].jobs[0].steps.map((step) => step.inputs.template),
      ['windowStart'],
    );
    assert.equal(loud.files.length, 2);
  });

  it('refuses what Azure Pipelines refuses: unknown or missing template parameters, wrong types, values outside the list', () => {
    const dir = files({
      'templates/t.yml': `
parameters:
  - name: mode
    type: string
    values: [a, b]
  - name: count
    type: number
    default: 1
steps:
  - task: SmokeTest@1
    inputs:
      checks: \${{ parameters.mode }}
`,
      'unknown.yml': 'steps:\n  - template: templates/t.yml\n    parameters:\n      mode: a\n      colour: red\n',
      'missing.yml': 'steps:\n  - template: templates/t.yml\n',
      'type.yml': 'steps:\n  - template: templates/t.yml\n    parameters:\n      mode: a\n      count: many\n',
      'values.yml': 'steps:\n  - template: templates/t.yml\n    parameters:\n      mode: c\n',
      'dependency.yml':
        'stages:\n  - stage: A\n    dependsOn: B\n    jobs:\n      - job: j\n        steps: []\n  - stage: B\n    jobs:\n      - ' +
        'job: j\n        steps: []\n',
    });
    assert.throws(() => expandPipeline(path.join(dir, 'unknown.yml')), /unexpected parameter 'colour'/);
    assert.throws(() => expandPipeline(path.join(dir, 'missing.yml')), /parameter 'mode' has no value and no default/);
    assert.throws(() => expandPipeline(path.join(dir, 'type.yml')), /parameter 'count' must be a number, not 'many'/);
    assert.throws(() => expandPipeline(path.join(dir, 'values.yml')), /parameter 'mode' is 'c', not one of a, b/);
    assert.throws(() => expandPipeline(path.join(dir, 'dependency.yml')), /stage A depends on B, which is not an earlier stage/);
  });

  it('evaluates runtime conditions like the service: status functions, coercion, case-insensitive lookups', () => {
    const names = {
      dependencies: { PreMaintenance: { result: 'Succeeded', outputs: { 'window.gate.open': 'true' } } },
      variables: { 'window.maintenancePage': 'False', pageUndo: '' },
    };
    const check = (source: string, results: string[] = ['Succeeded']) => evaluateText(source, { names, status: { results } });
    assert.equal(check("and(succeeded(), eq(dependencies.PreMaintenance.outputs['window.gate.open'], 'true'))"), true);
    assert.equal(check("eq(dependencies.premaintenance.outputs['WINDOW.GATE.OPEN'], 'TRUE')"), true);
    assert.equal(check("eq(variables['window.maintenancePage'], 'true')"), false);
    assert.equal(check("and(always(), ne(variables['pageUndo'], ''))", ['Failed']), false);
    assert.equal(check('succeeded()', ['Succeeded', 'SucceededWithIssues']), true);
    assert.equal(check('succeeded()', ['Succeeded', 'Skipped']), false);
    assert.equal(check('failed()', ['Succeeded', 'Failed']), true);
    assert.equal(check("in(dependencies.PreMaintenance.result, 'Succeeded', 'SucceededWithIssues')"), true);
    assert.equal(check('eq(1, true)'), true);
    assert.equal(evaluateText("format('{0}-{1}', 'a', join(',', split('x y', ' ')))", { names: {} }), 'a-x,y');
    assert.throws(() => evaluateText('succeeded()', { names: {} }), /only allowed in a runtime condition/);
  });

  it('resolves $(macros) from known variables and leaves unknown ones as written, as the agent does', () => {
    const known: Record<string, string> = { 'window.silenceMinutes': '495', planFile: 'plans/$(when).yml', when: '2025-04-13' };
    const lookup = (name: string) => known[name];
    assert.equal(
      expandMacros('$(window.silenceMinutes) min of $(planFile), $(unknown)', lookup),
      '495 min of plans/2025-04-13.yml, $(unknown)',
    );
  });
});
