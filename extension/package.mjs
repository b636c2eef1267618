// `npm run package` (after the build): writes the extension's VSIX to out/ with tfx-cli from node_modules (no
// network) and refuses a package that would disappoint later: any `warning:` from tfx (its only word on a
// broken task.json), a task whose bundle or task.json is missing, a node_modules folder inside, or a size the
// marketplace refuses (over 26,214,400 bytes). Prints the size. `--json` adds a last line with the report.
//
// tfx validates each task contribution at `<root>/<properties.name>/task.json` and checks its handler
// targets beside it. Our manifest maps dist/tasks/<Name> to tasks/<Name> in the package, so at the repository
// root tfx would look at the sources (which have index.ts, not index.js) and warn. The script therefore stages
// the package's files as they will sit in the VSIX (out/vsix-root/, with the manifest's paths rewritten to
// match) and runs tfx there, so tfx checks the bundles that ship.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MARKETPLACE_LIMIT_BYTES = 26_214_400;

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function taskFolders() {
  return fs
    .readdirSync(path.join(root, 'tasks'))
    .filter((name) => fs.existsSync(path.join(root, 'tasks', name, 'task.json')))
    .sort();
}

function copy(from, to) {
  const source = path.join(root, from);
  if (!fs.existsSync(source)) fail(`${from} (named in vss-extension.json) does not exist; run 'npm run build' first`);
  fs.cpSync(source, to, { recursive: true });
}

/** Copies what the manifest ships into `stage` at its place in the package, and rewrites the manifest to match. */
function stage(stageDir, dev) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'vss-extension.json'), 'utf8'));
  fs.rmSync(stageDir, { recursive: true, force: true });
  fs.mkdirSync(stageDir, { recursive: true });
  manifest.files = (manifest.files ?? []).map(({ path: from, packagePath, ...rest }) => {
    const to = packagePath ?? from;
    copy(from, path.join(stageDir, to));
    return { ...rest, path: to };
  });
  for (const file of [...Object.values(manifest.icons ?? {}), ...Object.values(manifest.content ?? {}).map((c) => c?.path)]) {
    if (typeof file === 'string' && !fs.existsSync(path.join(stageDir, file))) copy(file, path.join(stageDir, file));
  }
  if (dev) makeDevCopy(stageDir, manifest, dev);
  fs.writeFileSync(path.join(stageDir, 'vss-extension.json'), JSON.stringify(manifest, null, 2));
}

/** Names of the entries of a zip file, read from its central directory. */
export function zipEntries(file) {
  const zip = fs.readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: broken central directory`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

function runTfx(stageDir, outDir) {
  const tfx = path.join(root, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
  const args = [
    'extension',
    'create',
    '--root',
    stageDir,
    '--manifest-globs',
    'vss-extension.json',
    '--output-path',
    outDir,
    '--no-prompt',
    '--no-color',
  ];
  const result = spawnSync(process.execPath, [tfx, ...args], { cwd: stageDir, encoding: 'utf8' });
  // eslint-disable-next-line no-control-regex
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.replace(/\u001b\[[0-9;]*m/g, '');
  return { status: result.status, output };
}

/**
 * `--dev <n>`: the side-by-side copy for trying a change before production, installable in the same
 * organization: its own extension id (`<id>-dev`), private, and each task with its own id (derived from the
 * production id, the same on every build), name (`<Name>Dev`) and friendly name, at version
 * `<Major>.<Minor>.<n>` so every dev publish is newer for the agents' task cache. It leaves out the service
 * connection types: their names are global in an organization, so the dev copy uses the production
 * extension's (install both).
 */
export const DEV_SUFFIX = '-dev';

/** A UUID (version 5 layout) derived from the production task id: stable, and distinct from it. */
export function devTaskId(id) {
  const bytes = createHash('sha1').update(`maintenance-window${DEV_SUFFIX}:${id.toLowerCase()}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function makeDevCopy(stageDir, manifest, build) {
  const [major, minor] = String(manifest.version).split('.');
  manifest.id = `${manifest.id}${DEV_SUFFIX}`;
  manifest.name = `${manifest.name} (dev)`;
  manifest.version = `${major}.${minor}.${build}`;
  manifest.public = false;
  manifest.contributions = manifest.contributions.filter((c) => c.type !== 'ms.vss-endpoint.service-endpoint-type');
  for (const contribution of manifest.contributions.filter((c) => c.type === 'ms.vss-distributed-task.task')) {
    const file = path.join(stageDir, contribution.properties.name, 'task.json');
    const task = JSON.parse(fs.readFileSync(file, 'utf8'));
    task.id = devTaskId(task.id);
    task.name = `${task.name}Dev`;
    task.friendlyName = `Dev: ${task.friendlyName.replace(/^Maintenance: /, '')}`.slice(0, 40);
    task.version = { ...task.version, Patch: build };
    fs.writeFileSync(file, JSON.stringify(task, null, 2));
  }
}

function devBuildNumber() {
  const at = process.argv.indexOf('--dev');
  if (at === -1) return undefined;
  const value = process.argv[at + 1];
  if (!/^\d{1,9}$/.test(value ?? ''))
    fail(`--dev needs the build number that becomes every dev version's last part (e.g. --dev $(Build.BuildId)), not '${value ?? ''}'`);
  return Number(value);
}

export function packageExtension({ dev } = {}) {
  const outDir = path.join(root, 'out');
  const stageDir = path.join(outDir, dev ? 'vsix-root-dev' : 'vsix-root');
  stage(stageDir, dev);
  const { status, output } = runTfx(stageDir, outDir);
  const warnings = output.split(/\r?\n/).filter((line) => /warning:/i.test(line));
  if (status !== 0 || warnings.length) {
    fail(`tfx ${status !== 0 ? `failed (exit ${status})` : 'warned'}:\n${(warnings.length ? warnings : output.split('\n')).join('\n')}`);
  }
  const vsix = /VSIX:\s*(.+\.vsix)/.exec(output)?.[1]?.trim();
  if (!vsix || !fs.existsSync(vsix)) fail(`tfx did not say where it wrote the VSIX:\n${output}`);

  const entries = zipEntries(vsix);
  const problems = [];
  for (const task of taskFolders()) {
    for (const file of ['index.js', 'task.json']) {
      if (!entries.includes(`tasks/${task}/${file}`))
        problems.push(`tasks/${task}/${file} is not in the VSIX (is the task in vss-extension.json, and built?)`);
    }
  }
  for (const file of ['report-tab/tab.html', 'report-tab/tab.js']) {
    if (!entries.includes(file))
      problems.push(
        `${file} (the Maintenance window results tab) is not in the VSIX (is dist/report-tab in vss-extension.json, and built?)`,
      );
  }
  const bundled = entries.filter((entry) => entry.split('/').includes('node_modules'));
  if (bundled.length) problems.push(`the VSIX carries node_modules: ${bundled.slice(0, 5).join(', ')}${bundled.length > 5 ? ', ...' : ''}`);
  const bytes = fs.statSync(vsix).size;
  if (bytes > MARKETPLACE_LIMIT_BYTES)
    problems.push(`the VSIX is ${bytes} bytes; the marketplace refuses more than ${MARKETPLACE_LIMIT_BYTES}`);
  return { vsix, bytes, entries, tasks: taskFolders(), problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = packageExtension({ dev: devBuildNumber() });
  if (report.problems.length) fail(report.problems.join('\n'));
  const share = ((report.bytes / MARKETPLACE_LIMIT_BYTES) * 100).toFixed(1);
  console.log(
    `VSIX ${path.relative(root, report.vsix)}: ${(report.bytes / 1024).toFixed(0)} KB (${report.bytes} bytes, ${share}% of the ` +
      `marketplace's limit), ${report.tasks.length} task(s), ${report.entries.length} files`,
  );
  if (process.argv.includes('--json'))
    console.log(JSON.stringify({ vsix: report.vsix, bytes: report.bytes, tasks: report.tasks, entries: report.entries }));
}
