import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { checkTaskFolder, declaredEndpointTypes, taskFolders, type TaskJson } from '../helpers/task-contract';
import { repoRoot } from '../helpers/task-runner';

/**
 * Every tasks/<Name>/task.json against Microsoft's published task schema, then what neither the schema nor
 * tfx checks (test/helpers/task-contract.ts): handlers, groups, help, visible rules, service connection types,
 * and agreement with the inputs the code reads. Tasks are found from the folder, never from a list.
 */

const schemaFile = path.resolve(repoRoot, 'test', 'schemas', 'task.schema.json');
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'vss-extension.json'), 'utf8')) as {
  files: Array<{ path: string; packagePath?: string }>;
  contributions: Array<{ id: string; type: string; targets: string[]; properties: { name?: string } }>;
};
const folders = taskFolders(repoRoot);
const readTask = (folder: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, 'tasks', folder, 'task.json'), 'utf8')) as TaskJson;

/**
 * The schema is draft-04 (`id`); ajv 8 speaks draft-07, which reads it the same once `id` is `$id`. Its
 * patterns escape characters that need no escape (`\:`), which unicode regular expressions refuse.
 */
function compileTaskSchema() {
  const { $schema: _draft, id, ...rest } = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
  return new Ajv({ strict: false, allErrors: true, unicodeRegExp: false }).compile({ $id: String(id), ...rest });
}

describe('task.json files', () => {
  const validate = compileTaskSchema();
  const endpointTypes = declaredEndpointTypes(manifest);

  it('finds the tasks from the tasks/ folder', () => {
    assert.ok(folders.includes('SmokeTestV1'), folders.join(', '));
  });

  for (const folder of folders) {
    describe(folder, () => {
      it('matches the published task schema', () => {
        const task = readTask(folder);
        const valid = validate(task);
        const errors = (validate.errors ?? []).map(
          (e) =>
            `${e.instancePath || '/'} ` +
            `${e.message}${e.params && 'additionalProperty' in e.params ? ` '${e.params.additionalProperty}'` : ''}`,
        );
        assert.ok(valid, `tasks/${folder}/task.json:\n  ${errors.join('\n  ')}`);
      });

      it('keeps the conventions tfx does not check, and agrees with the code on every input', () => {
        const problems = checkTaskFolder(path.join(repoRoot, 'tasks', folder), { endpointTypes });
        assert.deepEqual(problems, [], `tasks/${folder}:\n  ${problems.join('\n  ')}`);
      });

      it('is packaged by vss-extension.json (a files entry and a task contribution)', () => {
        assert.ok(
          manifest.files.some((f) => f.path === `dist/tasks/${folder}` && f.packagePath === `tasks/${folder}`),
          `vss-extension.json files lacks { "path": "dist/tasks/${folder}", "packagePath": "tasks/${folder}" }`,
        );
        const contribution = manifest.contributions.find(
          (c) => c.type === 'ms.vss-distributed-task.task' && c.properties.name === `tasks/${folder}`,
        );
        assert.ok(contribution, `vss-extension.json contributions lack a task contribution whose properties.name is tasks/${folder}`);
        assert.deepEqual(contribution.targets, ['ms.vss-distributed-task.tasks']);
      });
    });
  }

  it('gives every task its own GUID and name', () => {
    const seen = new Map<string, string>();
    for (const folder of folders) {
      const task = readTask(folder);
      for (const key of [`id ${task.id.toLowerCase()}`, `name ${task.name}@${task.version.Major}`]) {
        assert.ok(!seen.has(key), `${folder} and ${seen.get(key)} share the ${key}`);
        seen.set(key, folder);
      }
    }
  });

  it('packages no task that has no folder, and has unique contribution ids', () => {
    const taskContributions = manifest.contributions.filter((c) => c.type === 'ms.vss-distributed-task.task');
    for (const contribution of taskContributions) {
      assert.ok(
        folders.includes(path.basename(contribution.properties.name ?? '')),
        `contribution ${contribution.id} names a missing task ${contribution.properties.name}`,
      );
    }
    for (const file of manifest.files.filter((f) => f.path.startsWith('dist/tasks/'))) {
      assert.ok(folders.includes(path.basename(file.path)), `files entry ${file.path} names a missing task`);
    }
    const ids = manifest.contributions.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate contribution ids: ${ids.join(', ')}`);
  });
});
