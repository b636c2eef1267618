// The test command: mocha over TypeScript tests (loaded through tsx, since TypeScript 7 has no JS API),
// ending with the one line CI reads: `N passed, N failed`.
//
//   node test/run-tests.mjs                        every test file, in parallel worker processes
//   node test/run-tests.mjs test/unit/plan.test.ts one file (in this process's child, no workers)
//   node test/run-tests.mjs 'test/tasks/**'        one group: a glob or a folder
//   node test/run-tests.mjs test/unit --grep undo  a group, narrowed by mocha's --grep (mocha options pass through)
//   MW_TEST_JOBS=1 node test/run-tests.mjs         every file one after another, as before
// Exit status: non-zero when a test failed or mocha itself failed.
//
// Files run in mocha's parallel mode (`--parallel --jobs N`): each file in a worker process of its own,
// the reporter in the main one, which counts every worker's tests. Files in RUN_ALONE then run in a second
// mocha run; this script sums both runs' counts and prints the one closing line. One
// worker per core: the suite is CPU-bound (task child processes, emulators), and more workers than cores
// (4 on 2 cores, measured) overloads the machine until wall-clock tests (kill points, deadlines, retry
// timings) fail.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Files that run after the others, alone: the crash test drives three lanes of task processes itself and
 * keeps both cores busy; beside another file on a shared two-core machine it ran past its 300 s timeout.
 */
const RUN_ALONE = ['test/tasks/app-gateway-drain-crash.test.ts'];

/**
 * The slowest files, measured in a serial run on two shared cores (seconds, 2026-12-02), started first so that the
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
    .map((part) =>
      part === '**/'
        ? '(?:.*/)?'
        : part === '**'
          ? '.*'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`);
}

function testFilesUnder(directory) {
  return fs
    .readdirSync(path.join(root, directory), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) =>
      path
        .relative(root, path.join(entry.parentPath ?? entry.path, entry.name))
        .split(path.sep)
        .join('/'),
    );
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

/**
 * Mocha's own options (`--grep undo`, `--bail`) pass through to every run; the rest name files. An option's
 * value is the argument after it unless it is written `--grep=undo`.
 */
const MOCHA_OPTIONS_WITH_VALUE = new Set(['--grep', '-g', '--fgrep', '-f', '--timeout', '-t', '--slow', '-s', '--retries']);
const specs = [];
const mochaOptions = [];
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (!arg.startsWith('-')) specs.push(arg);
  else {
    mochaOptions.push(arg);
    if (MOCHA_OPTIONS_WITH_VALUE.has(arg) && i + 1 < process.argv.length) mochaOptions.push(process.argv[++i]);
  }
}
let files;
try {
  files = slowestFirst((specs.length ? specs : ['test']).flatMap(expand));
} catch (error) {
  console.error(error.message);
  process.exit(2);
}

/** One mocha run over some files (in parallel workers when there are several); its counts and exit status. */
function mocha(group, jobs) {
  const countsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-test-counts-')), 'counts.json');
  const result = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'),
      '--require',
      'tsx/cjs',
      '--extension',
      'ts',
      '--reporter',
      path.join(root, 'test', 'helpers', 'reporter.cjs'),
      '--timeout',
      '120000',
      '--exit',
      ...mochaOptions,
      ...(jobs > 1 && group.length > 1 ? ['--parallel', '--jobs', String(Math.min(jobs, group.length))] : []),
      ...group,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, MW_TEST_COUNTS_FILE: countsFile } },
  );
  const counts = fs.existsSync(countsFile) ? JSON.parse(fs.readFileSync(countsFile, 'utf8')) : undefined;
  fs.rmSync(path.dirname(countsFile), { recursive: true, force: true });
  // A mocha that died before its end (no counts) is one failure, so the closing line never reads clean.
  return { status: result.status ?? 1, counts: counts ?? { passes: 0, failures: 1, pending: 0 } };
}

// Workers: one per core by default.
const jobs = Number(process.env.MW_TEST_JOBS) || Math.max(2, os.availableParallelism());
const groups = [files.filter((file) => !RUN_ALONE.includes(file)), files.filter((file) => RUN_ALONE.includes(file))].filter(
  (group) => group.length,
);
const runs = groups.map((group) => mocha(group, jobs));
const total = (key) => runs.reduce((sum, run) => sum + run.counts[key], 0);
process.stdout.write(`\n${total('passes')} passed, ${total('failures')} failed, ${total('pending')} skipped\n`);
process.exit(runs.find((run) => run.status !== 0)?.status ?? (total('failures') ? 1 : 0));
