// The test command: mocha over TypeScript tests (loaded through tsx, since TypeScript 7 has no JS API),
// ending with the one line CI reads: `N passed, N failed`.
//
//   node test/run-tests.mjs                        every test file, in parallel worker processes
//   node test/run-tests.mjs test/unit/plan.test.ts one file (in this process's child, no workers)
//   node test/run-tests.mjs 'test/tasks/**'        one group: a glob or a folder
//   MW_TEST_JOBS=1 node test/run-tests.mjs         every file one after another, as before
//
// Files run in mocha's parallel mode (`--parallel --jobs N`): each file in a worker process of its own,
// the reporter in this one, so the closing line is printed once with the counts of every worker. Most of
// the suite waits on child processes and emulators rather than computing, so more workers than cores pays.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The slowest files, measured alone on two cores (seconds, 2026-12-02), started first so that the
 * longest ones do not begin last and keep one worker busy alone at the end. Others follow by name.
 */
const SLOWEST_FIRST = [
  'test/e2e/rehearsal.test.ts', // 150 s: whole rehearsed nights
  'test/tasks/app-gateway-drain-crash.test.ts', // 150 s: 52 seeded SIGKILLs
  'test/tasks/app-gateway-drain.test.ts', // 85 s
  'test/e2e/failure-paths.test.ts', // 70 s: rehearsed nights with failures injected
  'test/unit/undo-protocol.test.ts', // 50 s
  'test/tasks/alert-mute.test.ts', // 40 s
  'test/tasks/run-pipeline.test.ts', // 30 s
  'test/tasks/run-changes.test.ts', // 20 s
  'test/tasks/pingdom-pause.test.ts', // 20 s
  'test/tasks/maintenance-page.test.ts', // 20 s
  'test/hostile/http-corpus.test.ts', // 18 s
];

/** `*`, `?` and `**` of a glob as a regular expression over paths relative to the repository. */
function globToRegExp(glob) {
  const source = glob
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) => (part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

function testFilesUnder(directory) {
  return fs
    .readdirSync(path.join(root, directory), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)).split(path.sep).join('/'));
}

/** The test files a command-line argument names: a file, a folder, or a glob such as `test/tasks/**`. */
function expand(spec) {
  const relative = path.relative(root, path.resolve(spec)).split(path.sep).join('/');
  if (!/[*?]/.test(relative)) {
    const stat = fs.statSync(path.join(root, relative), { throwIfNoEntry: false });
    if (!stat) throw new Error(`run-tests: no test file or folder '${spec}'`);
    return stat.isDirectory() ? testFilesUnder(relative) : [relative];
  }
  const fixed = relative.slice(0, relative.search(/[*?]/)).replace(/[^/]*$/, '') || '.';
  const pattern = globToRegExp(relative);
  const files = testFilesUnder(fixed).filter((file) => pattern.test(file));
  if (!files.length) throw new Error(`run-tests: no test file matches '${spec}'`);
  return files;
}

function slowestFirst(files) {
  const rank = (file) => {
    const index = SLOWEST_FIRST.indexOf(file);
    return index === -1 ? SLOWEST_FIRST.length : index;
  };
  return [...new Set(files)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const args = process.argv.slice(2);
let files;
try {
  files = slowestFirst((args.length ? args : ['test']).flatMap(expand));
} catch (error) {
  console.error(error.message);
  process.exit(2);
}
// Workers: 2 per core by default (the files mostly wait), never more than there are files.
const jobs = Math.min(files.length, Number(process.env.MW_TEST_JOBS) || Math.max(2, os.availableParallelism() * 2));
const result = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'),
    '--require', 'tsx/cjs',
    '--extension', 'ts',
    '--reporter', path.join(root, 'test', 'helpers', 'reporter.cjs'),
    '--timeout', '120000',
    '--exit',
    ...(jobs > 1 ? ['--parallel', '--jobs', String(jobs)] : []),
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
