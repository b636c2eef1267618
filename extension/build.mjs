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

/**
 * Packages the code loads on first use: every `require` in shared/core/lazy.ts (one loader per package, called
 * inside the function that needs it). They go into a second file beside the bundle, `lazy.js`, read only when
 * one of them is first required, so a step that stops at its inputs parses a small bundle. One file per task
 * keeps one copy of what the SDKs share, and holds only the packages whose loaders the task's code still calls
 * once esbuild has dropped the unused ones (read from the metafile): a task carries only what it calls.
 */
const LAZY_MODULE = path.join(root, 'shared', 'core', 'lazy.ts');
const LAZY_SHIM = 'lazy-shim';

function lazyPlugin() {
  return {
    name: 'lazy-packages',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        // Only the loaders' own requires; a package importing another keeps it inside the lazy file.
        if (args.kind !== 'require-call' || args.importer !== LAZY_MODULE) return undefined;
        return { path: args.path, namespace: LAZY_SHIM };
      });
      build.onLoad({ filter: /.*/, namespace: LAZY_SHIM }, (args) => ({
        contents: `module.exports = require('./lazy.js')(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
      build.onResolve({ filter: /^\.\/lazy\.js$/ }, () => ({ path: './lazy.js', external: true }));
    },
  };
}

/** The lazy packages the bundle still calls: the shims esbuild kept (an unused loader's shim is dropped). */
function lazyPackagesIn(metafile, bundle) {
  const output = Object.entries(metafile.outputs).find(([file]) => path.resolve(file) === path.resolve(bundle))?.[1];
  const prefix = `${LAZY_SHIM}:`;
  return new Set(
    Object.entries(output?.inputs ?? {})
      .filter(([input, use]) => input.startsWith(prefix) && use.bytesInOutput > 0)
      .map(([input]) => input.slice(prefix.length)),
  );
}

async function buildLazy(out, used) {
  if (used.size === 0) return;
  const table = [...used]
    .sort()
    .map((name) => `  ${JSON.stringify(name)}: () => require(${JSON.stringify(name)}),`)
    .join('\n');
  await esbuild.build({
    stdin: {
      // `packages` names what the file serves, for the tests and for a person reading a bundle.
      contents:
        `const table = {\n${table}\n};\nconst loaded = {};\nmodule.exports = (name) => (loaded[name] ??= table[name]());\n` +
        'module.exports.packages = Object.keys(table);\n',
      resolveDir: root,
      loader: 'js',
    },
    outfile: path.join(out, 'lazy.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
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
    plugins: [lazyPlugin()],
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
  const used = lazyPackagesIn(result.metafile, path.join(out, 'index.js'));
  await buildLazy(out, used);
  fs.copyFileSync(path.join(source, 'task.json'), path.join(out, 'task.json'));
  for (const extra of ['icon.png', 'icon.svg']) {
    if (fs.existsSync(path.join(source, extra))) fs.copyFileSync(path.join(source, extra), path.join(out, extra));
  }
  // task-lib reads its messages from lib.json and Strings/ beside its own code, which is now the bundle.
  const taskLib = path.join(root, 'node_modules', 'azure-pipelines-task-lib');
  fs.copyFileSync(path.join(taskLib, 'lib.json'), path.join(out, 'lib.json'));
  copyDir(path.join(taskLib, 'Strings'), path.join(out, 'Strings'));
  const bytes = fs.statSync(path.join(out, 'index.js')).size;
  const lazyBytes = used.size ? fs.statSync(path.join(out, 'lazy.js')).size : 0;
  const old = `${final}.old-${process.pid}`;
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(out, final);
  fs.rmSync(old, { recursive: true, force: true });
  return { name, bytes, lazyBytes, inputs: Object.keys(result.metafile.inputs).length };
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
    for (const r of results)
      console.log(
        `bundled ${r.name.padEnd(22)} ${(r.bytes / 1024).toFixed(0).padStart(6)} KB from ${r.inputs} modules` +
          (r.lazyBytes ? `, lazy.js ${(r.lazyBytes / 1024).toFixed(0)} KB` : ''),
      );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
