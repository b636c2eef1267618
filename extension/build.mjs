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
 * Packages the code loads on first use (`loadOnFirstUse('<package>')` of shared/core/lazy.ts, called inside the
 * function that needs them; typed there in LazyPackages: keep both lists in step): they go into a second file
 * beside the bundle, `lazy.js`, read only when one of them is first required, so a step that stops at its
 * inputs parses a small bundle. One file per task keeps one copy of what the SDKs share.
 */
const LAZY =
  /^(@azure\/identity|@azure\/core-rest-pipeline|@azure\/arm-compute|@azure\/arm-network|@azure\/arm-resources|azure-devops-node-api(\/handlers\/bearertoken)?|exceljs|https-proxy-agent|http-proxy-agent|axios|ajv|yaml)$/;

/** `loadOnFirstUse('<package>')` in our sources (shared/core/lazy.ts), the name written out in quotes. */
const LOAD_ON_FIRST_USE = /\bloadOnFirstUse\(\s*(['"])([^'"]+)\1\s*,?\s*\)/g;
const LAZY_HELPER = path.join(root, 'shared', 'core', 'lazy.ts');

/**
 * Our source with each `loadOnFirstUse('<package>')` turned into `require('<package>')`, the call esbuild
 * follows (it cannot follow the helper's `require(name)`, a name held in a variable); the package must be in
 * LAZY. A call left over (a name that is not a string literal) stops the build: in the bundle its require
 * would look for a node_modules the extension does not ship.
 */
function withLazyRequires(file, source) {
  const rewritten = source.replace(LOAD_ON_FIRST_USE, (_call, _quote, name) => {
    if (!LAZY.test(name)) throw new Error(`${file}: loadOnFirstUse('${name}'): add '${name}' to LAZY in extension/build.mjs`);
    return `require(${JSON.stringify(name)})`;
  });
  const left = /\bloadOnFirstUse\s*[(<]/.exec(rewritten);
  if (left) {
    const line = rewritten.slice(0, left.index).split('\n').length;
    throw new Error(`${file}:${line}: loadOnFirstUse takes the package's name written out in quotes, as the only argument`);
  }
  return rewritten;
}

function lazyPlugin(used) {
  return {
    name: 'lazy-packages',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('node_modules') || args.path === LAZY_HELPER) return undefined;
        const source = await fs.promises.readFile(args.path, 'utf8');
        if (!source.includes('loadOnFirstUse')) return undefined;
        return { contents: withLazyRequires(path.relative(root, args.path), source), loader: 'ts' };
      });
      build.onResolve({ filter: LAZY }, (args) => {
        // Only our own lazy requires; a package importing another keeps it inside the lazy file.
        if (args.kind !== 'require-call' || args.importer.includes('node_modules')) return undefined;
        used.add(args.path);
        return { path: args.path, namespace: 'lazy-shim' };
      });
      build.onLoad({ filter: /.*/, namespace: 'lazy-shim' }, (args) => ({
        contents: `module.exports = require('./lazy.js')(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
      build.onResolve({ filter: /^\.\/lazy\.js$/ }, () => ({ path: './lazy.js', external: true }));
    },
  };
}

async function buildLazy(out, used) {
  if (used.size === 0) return;
  const table = [...used]
    .sort()
    .map((name) => `  ${JSON.stringify(name)}: () => require(${JSON.stringify(name)}),`)
    .join('\n');
  await esbuild.build({
    stdin: {
      contents: `const table = {\n${table}\n};\nconst loaded = {};\nmodule.exports = (name) => (loaded[name] ??= table[name]());\n`,
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
  const used = new Set();
  const result = await esbuild.build({
    plugins: [lazyPlugin(used)],
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
