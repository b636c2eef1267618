import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskFolders } from '../helpers/task-contract';
import { repoRoot } from '../helpers/task-runner';
import { readZipEntries } from '../helpers/zip';

/**
 * Releases (issue 12): `npm run package` refuses a task whose code or task.json changed since the last
 * release without a version bump (extension/release-check.mjs, tried on a throw-away repository with one
 * task), and `package.mjs --dev <n>` packages the side-by-side copy with its own extension and task ids.
 */

function run(script: string, args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', timeout: 90_000 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** A repository with one task whose bundle imports a module of shared/, and the real check script. */
function miniRepository(): { root: string; check: () => { status: number | null; output: string }; record: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-release-'));
  fs.mkdirSync(path.join(root, 'extension'));
  fs.copyFileSync(path.join(repoRoot, 'extension', 'release-check.mjs'), path.join(root, 'extension', 'release-check.mjs'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  fs.mkdirSync(path.join(root, 'tasks', 'DemoV1'), { recursive: true });
  fs.mkdirSync(path.join(root, 'shared'));
  fs.writeFileSync(path.join(root, 'shared', 'greet.ts'), "export const greeting = 'hello';\n");
  fs.writeFileSync(
    path.join(root, 'tasks', 'DemoV1', 'index.ts'),
    "import { greeting } from '../../shared/greet';\nconsole.log(greeting);\n",
  );
  writeTask(root, (task) => task);
  fs.writeFileSync(path.join(root, 'vss-extension.json'), JSON.stringify({ id: 'fixture', version: '1.0.0' }));
  const script = path.join(root, 'extension', 'release-check.mjs');
  return {
    root,
    check: () => run(script, [], root),
    record: () => assert.equal(run(script, ['--record'], root).status, 0),
  };
}

type TaskFixture = {
  id: string;
  name: string;
  friendlyName: string;
  helpMarkDown: string;
  version: { Major: number; Minor: number; Patch: number };
};

function writeTask(root: string, change: (task: TaskFixture) => TaskFixture): void {
  const file = path.join(root, 'tasks', 'DemoV1', 'task.json');
  const task: TaskFixture = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as TaskFixture)
    : {
        id: '6f1e0b0a-0000-4000-8000-000000000001',
        name: 'Demo',
        friendlyName: 'Demo',
        helpMarkDown: 'Says hello.',
        version: { Major: 1, Minor: 0, Patch: 0 },
      };
  fs.writeFileSync(file, JSON.stringify(change(task), null, 2));
}

function setExtensionVersion(root: string, version: string): void {
  fs.writeFileSync(path.join(root, 'vss-extension.json'), JSON.stringify({ id: 'fixture', version }));
}

describe('the version check of npm run package (extension/release-check.mjs)', function () {
  this.timeout(120_000);

  it('passes a task unchanged since its release', () => {
    const repo = miniRepository();
    repo.record();
    const record = JSON.parse(fs.readFileSync(path.join(repo.root, 'extension', 'released-tasks.json'), 'utf8')) as {
      extensionVersion: string;
      tasks: Record<string, { version: string; contentHash: string }>;
    };
    assert.equal(record.extensionVersion, '1.0.0');
    assert.equal(record.tasks.DemoV1.version, '1.0.0');
    assert.match(record.tasks.DemoV1.contentHash, /^sha256:[0-9a-f]{64}$/);
    const { status, output } = repo.check();
    assert.equal(status, 0, output);
  });

  it('fails a task whose bundled code changed without a bump, naming the task and the version to set; a bump passes', () => {
    const repo = miniRepository();
    repo.record();
    fs.writeFileSync(path.join(repo.root, 'shared', 'greet.ts'), "export const greeting = 'hello, world';\n");

    const unbumped = repo.check();
    assert.equal(unbumped.status, 1, unbumped.output);
    assert.match(unbumped.output, /DemoV1: its code or task\.json changed since release 1\.0\.0, but its version is still 1\.0\.0/);
    assert.match(unbumped.output, /bump "version" in tasks\/DemoV1\/task\.json \(Patch for a fix, to 1\.0\.1;/);

    writeTask(repo.root, (task) => ({ ...task, version: { Major: 1, Minor: 0, Patch: 1 } }));
    const extensionNotBumped = repo.check();
    assert.equal(extensionNotBumped.status, 1, extensionNotBumped.output);
    assert.match(
      extensionNotBumped.output,
      /vss-extension\.json: tasks are newer than release 1\.0\.0 but the extension's "version" is still 1\.0\.0/,
    );
    assert.doesNotMatch(extensionNotBumped.output, /DemoV1:/);

    setExtensionVersion(repo.root, '1.0.1');
    const bumped = repo.check();
    assert.equal(bumped.status, 0, bumped.output);
  });

  it('fails a changed task.json (not its version) without a bump, and a version lower than released', () => {
    const repo = miniRepository();
    repo.record();
    writeTask(repo.root, (task) => ({ ...task, helpMarkDown: 'Says hello, louder.' }));
    assert.match(repo.check().output, /DemoV1: its code or task\.json changed since release 1\.0\.0/);

    writeTask(repo.root, (task) => ({ ...task, helpMarkDown: 'Says hello.' }));
    assert.equal(repo.check().status, 0, 'back as released: nothing to bump');

    repo.record();
    writeTask(repo.root, (task) => ({ ...task, version: { Major: 0, Minor: 9, Patch: 0 } }));
    const lower = repo.check();
    assert.equal(lower.status, 1);
    assert.match(lower.output, /DemoV1: tasks\/DemoV1\/task\.json has version 0\.9\.0, lower than the released 1\.0\.0/);
  });

  it('runs in npm run package before the VSIX is written, and the repository has a record of every task', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    assert.match(scripts.package, /node extension\/release-check\.mjs && node extension\/package\.mjs/);
    assert.equal(scripts['release:record'], 'node extension/release-check.mjs --record');
    const record = JSON.parse(fs.readFileSync(path.join(repoRoot, 'extension', 'released-tasks.json'), 'utf8')) as {
      tasks: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(record.tasks).sort(), taskFolders(repoRoot));
  });
});

describe('the -dev side-by-side copy (extension/package.mjs --dev <n>)', function () {
  this.timeout(120_000);

  it('has its own extension id, task ids, names and versions, and no connection types', () => {
    const { status, output } = run(path.join(repoRoot, 'extension', 'package.mjs'), ['--dev', '7', '--json'], repoRoot);
    assert.equal(status, 0, output);
    const report = JSON.parse(
      output
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .pop()!,
    ) as { vsix: string };
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'vss-extension.json'), 'utf8')) as { id: string; version: string };
    const [major, minor] = manifest.version.split('.');
    assert.match(path.basename(report.vsix), new RegExp(`\\.${manifest.id}-dev-${major}\\.${minor}\\.7\\.vsix$`));

    const staged = path.join(repoRoot, 'out', 'vsix-root-dev');
    const devManifest = JSON.parse(fs.readFileSync(path.join(staged, 'vss-extension.json'), 'utf8')) as {
      id: string;
      public: boolean;
      contributions: Array<{ type: string }>;
    };
    assert.equal(devManifest.id, `${manifest.id}-dev`);
    assert.equal(devManifest.public, false);
    assert.deepEqual(
      devManifest.contributions.filter((c) => c.type === 'ms.vss-endpoint.service-endpoint-type'),
      [],
    );

    const entries = readZipEntries(report.vsix).map((entry) => entry.name);
    const ids = new Set<string>();
    for (const folder of taskFolders(repoRoot)) {
      assert.ok(entries.includes(`tasks/${folder}/task.json`));
      const production = JSON.parse(fs.readFileSync(path.join(repoRoot, 'tasks', folder, 'task.json'), 'utf8')) as TaskFixture;
      const dev = JSON.parse(fs.readFileSync(path.join(staged, 'tasks', folder, 'task.json'), 'utf8')) as TaskFixture;
      assert.match(dev.id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `${folder}: a UUID`);
      assert.notEqual(dev.id, production.id.toLowerCase());
      ids.add(dev.id);
      assert.equal(dev.name, `${production.name}Dev`);
      assert.ok(dev.friendlyName.startsWith('Dev: ') && dev.friendlyName.length <= 40, dev.friendlyName);
      assert.deepEqual(dev.version, { ...production.version, Patch: 7 });
    }
    assert.equal(ids.size, taskFolders(repoRoot).length, 'every dev task has its own id');

    // The same ids on every build: derived from the production id alone.
    const derive = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { devTaskId } from ${JSON.stringify(path.join(repoRoot, 'extension', 'package.mjs'))}; ` +
          'console.log(JSON.stringify(process.argv.slice(1).map(devTaskId)));',
        ...taskFolders(repoRoot).map(
          (folder) => (JSON.parse(fs.readFileSync(path.join(repoRoot, 'tasks', folder, 'task.json'), 'utf8')) as TaskFixture).id,
        ),
      ],
      { encoding: 'utf8' },
    );
    assert.deepEqual(new Set(JSON.parse(derive.stdout) as string[]), ids, derive.stderr);
  });

  it('refuses --dev without a build number', () => {
    const { status, output } = run(path.join(repoRoot, 'extension', 'package.mjs'), ['--dev', 'latest'], repoRoot);
    assert.equal(status, 1);
    assert.match(output, /--dev needs the build number/);
  });
});
