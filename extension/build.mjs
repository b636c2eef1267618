// Bundles every task (tasks/<Name>/index.ts) into one minified file beside a copy of its task.json in
// dist/tasks/<Name>/, with task-lib's resource files, so the VSIX carries no node_modules.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const only = process.argv.find((arg) => arg.startsWith('--task='))?.slice('--task='.length);

export function taskNames() {
  return fs
    .readdirSync(path.join(root, 'tasks'))
    .filter((name) => fs.existsSync(path.join(root, 'tasks', name, 'task.json')))
    .sort();
}

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyDir(source, target);
    else fs.copyFileSync(source, target);
  }
}

async function buildTask(name) {
  const source = path.join(root, 'tasks', name);
  const final = path.join(root, 'dist', 'tasks', name);
  // Build beside the old bundle and swap it in whole, so a task started meanwhile (a test, the rehearsal)
  // never finds a folder half-written or missing.
  const out = `${final}.building-${process.pid}`;
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(source, 'index.ts')],
    outfile: path.join(out, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  fs.copyFileSync(path.join(source, 'task.json'), path.join(out, 'task.json'));
  for (const extra of ['icon.png', 'icon.svg']) {
    if (fs.existsSync(path.join(source, extra))) fs.copyFileSync(path.join(source, extra), path.join(out, extra));
  }
  // task-lib reads its messages from lib.json and Strings/ beside its own code, which is now the bundle.
  const taskLib = path.join(root, 'node_modules', 'azure-pipelines-task-lib');
  fs.copyFileSync(path.join(taskLib, 'lib.json'), path.join(out, 'lib.json'));
  copyDir(path.join(taskLib, 'Strings'), path.join(out, 'Strings'));
  const bytes = fs.statSync(path.join(out, 'index.js')).size;
  const old = `${final}.old-${process.pid}`;
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(out, final);
  fs.rmSync(old, { recursive: true, force: true });
  return { name, bytes, inputs: Object.keys(result.metafile.inputs).length };
}

/**
 * The "Maintenance window" results tab: its page and one browser script (the SDK and the night renderer
 * bundled in) in dist/report-tab/. `alias` lets a test put a stub in place of azure-devops-extension-sdk.
 */
export async function buildReportTab({ outDir = path.join(root, 'dist', 'report-tab'), alias } = {}) {
  const source = path.join(root, 'extension', 'report-tab');
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(source, 'tab.ts')],
    outfile: path.join(outDir, 'tab.js'),
    bundle: true,
    platform: 'browser',
    target: 'es2020',
    format: 'iife',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    ...(alias ? { alias } : {}),
  });
  fs.copyFileSync(path.join(source, 'tab.html'), path.join(outDir, 'tab.html'));
  return { name: 'report-tab', bytes: fs.statSync(path.join(outDir, 'tab.js')).size, inputs: 0 };
}

async function main() {
  const names = only ? [only] : taskNames();
  const results = await Promise.all(names.map(buildTask));
  if (!only) {
    const tab = await buildReportTab();
    if (!quiet) console.log(`bundled the results tab ${(tab.bytes / 1024).toFixed(0).padStart(6)} KB (dist/report-tab/)`);
  }
  if (!quiet) {
    for (const r of results) console.log(`bundled ${r.name.padEnd(22)} ${(r.bytes / 1024).toFixed(0).padStart(6)} KB from ${r.inputs} modules`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
