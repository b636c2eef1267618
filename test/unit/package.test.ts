import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskFolders } from '../helpers/task-contract';
import { repoRoot } from '../helpers/task-runner';
import { readZipEntries } from '../helpers/zip';

/**
 * `extension/package.mjs` (the second half of `npm run package`; `npm test` has built every bundle first):
 * tfx packages the extension offline, any tfx warning fails it, and the VSIX holds every task's bundle and
 * task.json, no node_modules, and stays under the marketplace's limit.
 */

const MARKETPLACE_LIMIT_BYTES = 26_214_400;

function runPackage(root: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [path.join(root, 'extension', 'package.mjs'), '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** A throw-away repository with one bundled task, packaged by a copy of the real script and tfx. */
function miniRepository(breakIt: (taskDir: string, task: Record<string, unknown>) => void): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-package-'));
  fs.mkdirSync(path.join(root, 'extension'));
  fs.copyFileSync(path.join(repoRoot, 'extension', 'package.mjs'), path.join(root, 'extension', 'package.mjs'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  const task = JSON.parse(fs.readFileSync(path.join(repoRoot, 'tasks', 'SmokeTestV1', 'task.json'), 'utf8')) as Record<string, unknown>;
  const dist = path.join(root, 'dist', 'tasks', 'SmokeTestV1');
  fs.mkdirSync(dist, { recursive: true });
  fs.mkdirSync(path.join(root, 'tasks', 'SmokeTestV1'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'index.js'), '');
  breakIt(dist, task);
  fs.writeFileSync(path.join(dist, 'task.json'), JSON.stringify(task));
  fs.writeFileSync(path.join(root, 'tasks', 'SmokeTestV1', 'task.json'), JSON.stringify(task));
  fs.writeFileSync(
    path.join(root, 'vss-extension.json'),
    JSON.stringify({
      manifestVersion: 1,
      id: 'fixture',
      publisher: 'fixture',
      version: '1.0.0',
      name: 'Fixture',
      categories: ['Azure Pipelines'],
      targets: [{ id: 'Microsoft.VisualStudio.Services' }],
      files: [{ path: 'dist/tasks/SmokeTestV1', packagePath: 'tasks/SmokeTestV1' }],
      contributions: [
        {
          id: 'smoke',
          type: 'ms.vss-distributed-task.task',
          targets: ['ms.vss-distributed-task.tasks'],
          properties: { name: 'tasks/SmokeTestV1' },
        },
      ],
    }),
  );
  return root;
}

describe('npm run package (extension/package.mjs)', function () {
  this.timeout(60_000);

  it('writes a VSIX with every task bundle and task.json, no node_modules, and prints its size', () => {
    const { status, output } = runPackage(repoRoot);
    assert.equal(status, 0, output);
    assert.match(output, /VSIX out\/[\w.-]+\.vsix: \d+ KB \(\d+ bytes, [\d.]+% of the marketplace's limit\)/);
    const report = JSON.parse(
      output
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .pop()!,
    ) as { vsix: string; bytes: number };
    const entries = readZipEntries(report.vsix).map((entry) => entry.name);
    for (const task of taskFolders(repoRoot)) {
      assert.ok(entries.includes(`tasks/${task}/index.js`), `tasks/${task}/index.js is in the VSIX`);
      assert.ok(entries.includes(`tasks/${task}/task.json`), `tasks/${task}/task.json is in the VSIX`);
      assert.ok(entries.includes(`tasks/${task}/lib.json`), `task-lib's messages ship beside tasks/${task}`);
    }
    assert.ok(entries.includes('extension.vsomanifest'));
    assert.deepEqual(
      entries.filter((name) => name.includes('node_modules')),
      [],
    );
    assert.equal(fs.statSync(report.vsix).size, report.bytes);
    assert.ok(report.bytes < MARKETPLACE_LIMIT_BYTES / 4, `${report.bytes} bytes: far below the marketplace's limit`);
  });

  it('fails when tfx warns about a task.json', () => {
    const root = miniRepository((_dir, task) => (task.friendlyName = 'A friendly name that is much longer than forty characters'));
    const { status, output } = runPackage(root);
    assert.equal(status, 1, output);
    assert.match(output, /package: tfx warned:[\s\S]*warning:.*friendlyName is a required string <= 40 chars/);
  });

  it('fails when a task bundle is missing or node_modules would ship', () => {
    const missing = runPackage(miniRepository((dir) => fs.rmSync(path.join(dir, 'index.js'))));
    assert.equal(missing.status, 1, missing.output);
    assert.match(missing.output, /target references file that does not exist: index\.js/);

    const withModules = runPackage(
      miniRepository((dir) => {
        fs.mkdirSync(path.join(dir, 'node_modules', 'left-pad'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'node_modules', 'left-pad', 'index.js'), '');
      }),
    );
    assert.equal(withModules.status, 1, withModules.output);
    assert.match(withModules.output, /the VSIX carries node_modules: tasks\/SmokeTestV1\/node_modules/);
  });
});
