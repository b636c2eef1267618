// The version check of `npm run package`, and `npm run release:record`.
//
// Agents cache a task by its version: a task whose code or task.json changed but kept its version would run
// the old code on any agent that ran it before. extension/released-tasks.json records, per task, the version
// last released and a hash of what the task is made of: the content of every source file its bundle is built
// from (esbuild's own list, node_modules included, so a dependency upgrade counts) and its task.json without
// `version`. The check fails, naming the task and what to bump, when a task's hash differs from the record but
// its version is not higher; and when any task is newer than released but vss-extension.json's version is not
// (the marketplace refuses to publish a version twice).
//
//   node extension/release-check.mjs            check (exit 1 with every problem)
//   node extension/release-check.mjs --record   at release time: record every task's version and hash, and
//                                                the extension's version (commit the file with the release)
//   --root <dir>                                 another checkout (the tests use a throw-away one)
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const RECORD_FILE = path.join('extension', 'released-tasks.json');

function taskFolders(root) {
  return fs
    .readdirSync(path.join(root, 'tasks'))
    .filter((name) => fs.existsSync(path.join(root, 'tasks', name, 'task.json')))
    .sort();
}

/** `1.2.3` from task.json's `{ Major, Minor, Patch }`. */
const versionText = ({ Major, Minor, Patch }) => `${Major}.${Minor}.${Patch}`;

function compareVersions(a, b) {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/**
 * A name for a bundle input that is the same on every machine: repository files by their path in the
 * repository, packages from their `node_modules/` on (the install may be a symlink to anywhere).
 */
function stableName(root, input) {
  const absolute = path.resolve(root, input);
  const at = absolute.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  return (at === -1 ? path.relative(root, absolute) : absolute.slice(at + 1)).split(path.sep).join('/');
}

/** The hash of one task: every file its bundle is made of, and its task.json without `version`. */
export async function taskHash(root, folder) {
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'tasks', folder, 'index.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const hash = createHash('sha256');
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':')) // esbuild's own virtual modules
    .map((input) => ({ name: stableName(root, input), file: path.resolve(root, input) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const { name, file } of inputs) hash.update(`${name}\0`).update(fs.readFileSync(file)).update('\0');
  // The version is left out: bumping it answers a changed hash, it is not a change of its own.
  const task = JSON.parse(fs.readFileSync(path.join(root, 'tasks', folder, 'task.json'), 'utf8'));
  delete task.version;
  hash.update('task.json\0').update(JSON.stringify(task));
  return `sha256:${hash.digest('hex')}`;
}

async function currentState(root) {
  const tasks = {};
  await Promise.all(
    taskFolders(root).map(async (folder) => {
      const task = JSON.parse(fs.readFileSync(path.join(root, 'tasks', folder, 'task.json'), 'utf8'));
      tasks[folder] = { version: versionText(task.version), contentHash: await taskHash(root, folder) };
    }),
  );
  const extensionVersion = JSON.parse(fs.readFileSync(path.join(root, 'vss-extension.json'), 'utf8')).version;
  return { extensionVersion, tasks: Object.fromEntries(Object.entries(tasks).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

function nextPatch(version) {
  const [major, minor, patch] = version.split('.').map(Number);
  return `${major}.${minor}.${patch + 1}`;
}

/** Every reason not to package now, each naming the file and the number to change. */
export async function checkRelease(root) {
  const recordPath = path.join(root, RECORD_FILE);
  if (!fs.existsSync(recordPath)) return [`${RECORD_FILE} is missing: run 'npm run release:record' once and commit it`];
  const record = JSON.parse(fs.readFileSync(recordPath, 'utf8'));
  const now = await currentState(root);
  const problems = [];
  let newer = false;
  for (const [folder, state] of Object.entries(now.tasks)) {
    const released = record.tasks?.[folder];
    if (!released) {
      newer = true; // a new task: nothing of it is cached anywhere yet
      continue;
    }
    const order = compareVersions(state.version, released.version);
    if (order > 0) newer = true;
    if (order < 0) {
      problems.push(
        `${folder}: tasks/${folder}/task.json has version ${state.version}, lower than the released ${released.version}; ` +
          `agents keep the newest they saw. Set it above ${released.version}.`,
      );
    } else if (order === 0 && state.contentHash !== released.contentHash) {
      problems.push(
        `${folder}: its code or task.json changed since release ${released.version}, but its version is still ${state.version}. ` +
          `Agents cache tasks by version and would keep running the old one: bump "version" in tasks/${folder}/task.json ` +
          `(Patch for a fix, to ${nextPatch(released.version)}; Minor for a new input or behaviour; ` +
          `Major only with a new ${folder.replace(/V\d+$/, '')}V<n> folder) ` +
          'and say what changed in CHANGELOG.md.',
      );
    }
  }
  if (newer && compareVersions(now.extensionVersion, record.extensionVersion) <= 0) {
    problems.push(
      `vss-extension.json: tasks are newer than release ${record.extensionVersion} ` +
        `but the extension's "version" is still ${now.extensionVersion}; the marketplace refuses a version twice: ` +
        `set it above ${record.extensionVersion} (e.g. ${nextPatch(record.extensionVersion)}) and add its section to CHANGELOG.md.`,
    );
  }
  return problems;
}

export async function recordRelease(root) {
  const state = await currentState(root);
  const file = {
    $comment:
      "What was last released: written by 'npm run release:record' at release time, " +
      "read by 'npm run package' (extension/release-check.mjs).",
    ...state,
  };
  fs.writeFileSync(path.join(root, RECORD_FILE), `${JSON.stringify(file, null, 2)}\n`);
  return state;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rootAt = process.argv.indexOf('--root');
  const root = path.resolve(rootAt === -1 ? path.join(path.dirname(fileURLToPath(import.meta.url)), '..') : process.argv[rootAt + 1]);
  if (process.argv.includes('--record')) {
    const state = await recordRelease(root);
    console.log(
      `release:record: extension ${state.extensionVersion}, ${Object.entries(state.tasks)
        .map(([t, s]) => `${t} ${s.version}`)
        .join(', ')} -> ${RECORD_FILE}`,
    );
  } else {
    const problems = await checkRelease(root);
    if (problems.length) {
      console.error(`package: version check failed (${problems.length}):\n  ${problems.join('\n  ')}`);
      process.exit(1);
    }
    console.log('package: every changed task has a new version');
  }
}
