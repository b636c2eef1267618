import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskFolders } from '../helpers/task-contract';
import { bundlePath, newWorkDirectory, repoRoot, taskEnvironment } from '../helpers/task-runner';
import { median, type BenchRow, type BenchSection } from './bench';

/**
 * What bundling buys, per task: the bundle's size, and its cold start against two baselines measured in the
 * same run, interleaved so a noisy neighbour slows all three alike:
 * - the floor, `node -e 0` (Node itself starting);
 * - the same task unbundled: compiled by tsc into a temporary folder, requiring the real node_modules.
 * A cold start is a full run of the task with no inputs, which stops at the first missing input (a few
 * hundred lines of work after loading), in the environment the task tests use. Then the VSIX's size.
 */

// MW_BENCH_RUNS lowers it for a quick look on a busy machine.
const RUNS = Number(process.env.MW_BENCH_RUNS) || 11;
const MARKETPLACE_LIMIT_BYTES = 26_214_400;

function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}

function milliseconds(ms: number): string {
  return `${ms.toFixed(0)} ms`;
}

/** Wall time of one process from spawn to exit. */
function timeProcess(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, cwd, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

/** Compiles every task's index.ts with tsc (CommonJS) into a temporary folder beside a link to node_modules. */
function buildUnbundled(tasks: string[]): { outDir: string; seconds: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-unbundled-'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const outDir = path.join(dir, 'out');
  const config = {
    extends: path.join(repoRoot, 'tsconfig.json'),
    compilerOptions: { noEmit: false, outDir, rootDir: repoRoot, module: 'commonjs', sourceMap: false, declaration: false },
    include: [],
    files: tasks.map((task) => path.join(repoRoot, 'tasks', task, 'index.ts')),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  const started = Date.now();
  // Type errors elsewhere in a tree being worked on still emit; only the JavaScript matters here.
  spawnSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  return { outDir, seconds: (Date.now() - started) / 1000 };
}

/** Whether a script, run once untimed, gets as far as reporting a result (so its timing measures a real run). */
function reportsResult(script: string, env: NodeJS.ProcessEnv, cwd: string): boolean {
  const result = spawnSync(process.execPath, [script], { env, cwd, encoding: 'utf8', timeout: 30_000 });
  return /##vso\[task\.complete /.test(result.stdout ?? '');
}

function packageVsix(): { bytes?: number; note?: string } {
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'extension', 'package.mjs'), '--json'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const report = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .pop();
  if (result.status !== 0 || !report) return { note: `packaging failed: ${(result.stderr || result.stdout).trim().split('\n')[0]}` };
  return { bytes: (JSON.parse(report) as { bytes: number }).bytes };
}

/** Within 2x of `node -e 0`, measured beside each. */
export const GOAL_FLOOR_RATIO = 2;
/** The slowest task within 1.5x of the fastest, both measured in this run. */
export const GOAL_SPREAD_RATIO = 1.5;

/**
 * The start-up goal of issue 12: every bundle starts within GOAL_FLOOR_RATIO of `node -e 0` measured beside
 * it (interleaved, so a busy neighbour slows both), and the slowest within GOAL_SPREAD_RATIO of the fastest.
 */
export function startupGoal(measured: Array<{ task: string; bundledMs: number; floorMs: number }>): BenchSection {
  if (measured.length === 0) return { title: 'Start-up goal', rows: [{ label: 'no bundles', value: 'n/a' }] };
  const rows: BenchRow[] = measured.map(({ task, bundledMs, floorMs }) => {
    const ratio = bundledMs / floorMs;
    return {
      label: task,
      value: `${bundledMs.toFixed(0)} ms`,
      baseline: `node -e 0 ${floorMs.toFixed(0)} ms`,
      ratio,
      note: ratio <= GOAL_FLOOR_RATIO ? `meets <= ${GOAL_FLOOR_RATIO}x` : `MISSES ${GOAL_FLOOR_RATIO}x`,
    };
  });
  const byRatio = [...measured].sort((a, b) => a.bundledMs / a.floorMs - b.bundledMs / b.floorMs);
  const fastest = byRatio[0];
  const slowest = byRatio[byRatio.length - 1];
  // Each against its own floor, so a neighbour's burst during one task's runs does not decide the spread.
  const spread = slowest.bundledMs / slowest.floorMs / (fastest.bundledMs / fastest.floorMs);
  rows.push({
    label: `slowest (${slowest.task}) vs fastest (${fastest.task})`,
    value: `${(slowest.bundledMs / slowest.floorMs).toFixed(2)}x`,
    baseline: `${(fastest.bundledMs / fastest.floorMs).toFixed(2)}x`,
    ratio: spread,
    note: spread <= GOAL_SPREAD_RATIO ? `meets <= ${GOAL_SPREAD_RATIO}x` : `MISSES ${GOAL_SPREAD_RATIO}x`,
  });
  const all = rows.slice(0, -1).every((row) => (row.ratio ?? Infinity) <= GOAL_FLOOR_RATIO) && spread <= GOAL_SPREAD_RATIO;
  return {
    title:
      `Start-up goal: every task within ${GOAL_FLOOR_RATIO}x of node -e 0, ` +
      `the slowest within ${GOAL_SPREAD_RATIO}x of the fastest: ${all ? 'MET' : 'NOT MET'}`,
    rows,
  };
}

export async function run(): Promise<BenchSection[]> {
  const tasks = taskFolders(repoRoot).filter((task) => fs.existsSync(bundlePath(task)));
  const sizes: BenchRow[] = [];
  const starts: BenchRow[] = [];
  /** Each bundle's median start and the floor measured beside it, for the start-up goal. */
  const goal: Array<{ task: string; bundledMs: number; floorMs: number }> = [];

  const unbundled = buildUnbundled(tasks);
  const workDirectory = newWorkDirectory('mw-bench-');
  const env = await taskEnvironment({ inputs: {} }, workDirectory);

  for (const task of tasks) {
    const bundle = bundlePath(task);
    const compiled = path.join(unbundled.outDir, 'tasks', task, 'index.js');
    const lazy = path.join(path.dirname(bundle), 'lazy.js');
    const lazyNote = fs.existsSync(lazy) ? `; plus lazy.js ${kilobytes(fs.statSync(lazy).size)}, read on first use of an SDK` : '';
    sizes.push({ label: task, value: kilobytes(fs.statSync(bundle).size), note: `minified, every dependency inside${lazyNote}` });

    const runnable = {
      bundled: reportsResult(bundle, env, workDirectory),
      plain: fs.existsSync(compiled) && reportsResult(compiled, env, workDirectory),
    };
    const floor: number[] = [];
    const bundled: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floor.push(await timeProcess(['-e', '0'], env, workDirectory));
      bundled.push(await timeProcess([bundle], env, workDirectory));
      if (runnable.plain) plain.push(await timeProcess([compiled], env, workDirectory));
    }
    const floorMs = median(floor);
    const bundledMs = median(bundled);
    goal.push({ task, bundledMs, floorMs });
    starts.push({
      label: `${task} bundled`,
      value: milliseconds(bundledMs),
      baseline: `node -e 0 ${milliseconds(floorMs)}`,
      ratio: bundledMs / floorMs,
      note: runnable.bundled ? undefined : 'did not report a result: not a real run',
    });
    if (plain.length) {
      const plainMs = median(plain);
      starts.push({
        label: `${task} unbundled (tsc + node_modules)`,
        value: milliseconds(plainMs),
        baseline: `bundled ${milliseconds(bundledMs)}`,
        ratio: plainMs / bundledMs,
        note: `${(plainMs / floorMs).toFixed(2)}x the floor`,
      });
    } else {
      starts.push({ label: `${task} unbundled`, value: 'n/a', note: 'the tsc build did not run to a result' });
    }
  }

  const vsix = packageVsix();
  return [
    startupGoal(goal),
    { title: 'Task bundles (dist/tasks/<Name>/index.js)', rows: sizes },
    {
      title: `Cold start of each task with no inputs (median of ${RUNS} runs; unbundled built by tsc in ${unbundled.seconds.toFixed(1)} s)`,
      rows: starts,
    },
    {
      title: 'Extension package',
      rows: [
        vsix.bytes !== undefined
          ? {
              label: 'VSIX',
              value: kilobytes(vsix.bytes),
              baseline: `limit ${kilobytes(MARKETPLACE_LIMIT_BYTES)}`,
              ratio: vsix.bytes / MARKETPLACE_LIMIT_BYTES,
              note: `${tasks.length} task(s)`,
            }
          : { label: 'VSIX', value: 'n/a', note: vsix.note },
      ],
    },
  ];
}
