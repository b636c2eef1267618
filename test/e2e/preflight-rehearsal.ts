import * as fs from 'node:fs';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import { realClock } from '../../shared/core/clock';
import { Log } from '../../shared/core/log';
import { EnvironmentSetup, windowEnvironments } from '../../shared/devops/environments';
import { verdictLine, type PreflightProblem } from '../../shared/window/preflight';
import type { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { applyFault, FAULT_NAMES, isFaultName } from '../helpers/faults';
import type { Emulator, JournalEntry } from '../emulators/kit';
import { repoRoot } from '../helpers/task-runner';
import { toText, type Value } from './expressions';
import { expandPipeline, type ExpandedPipeline } from './pipeline-expander';
import { assertRunnable } from './platform-rules';
import { Rehearsal, type RehearsalResult } from './rehearsal';
import { readPlanWindow, scheduledStart, timelineLine, DEFAULT_PLAN } from './rehearse';
import { REHEARSAL_HISTORY_MINUTES, startWorld, type World } from './world';

/**
 * `npm run rehearse -- --preflight [--fault <name>]`: pipelines/preflight.yml against the emulators, on the
 * simulated clock at its scheduled Friday slot before the plan's weekend. The emulated Azure DevOps knows the
 * approval environments (with their approval and lock checks) and a history of successful runs for every
 * pipeline the plan and the regression name, with the durations below: the forecast reads them. One fault may
 * be applied to the world before the run. Ends with one line, `Preflight: GO` or `Preflight: NO-GO (<n>
 * problem(s)): ...`, writes out/rehearsal/preflight.json, and asserts from the emulators' journals that the run
 * wrote nothing anywhere.
 */

export const PREFLIGHT_PIPELINE = 'pipelines/preflight.yml';

/** How long the plan's pipelines run with the `overrun` fault: longer than Sun 04:45 to 12:00 plus an hour's grace. */
export const OVERRUN_MS = 10 * 3_600_000;

export interface PreflightRehearsalOptions {
  plan?: string;
  /** Faults of test/helpers/faults.ts applied to the world before the run (the command line gives one). */
  faults?: string[];
  outDirectory?: string;
  print?: (line: string) => void;
  verbose?: boolean;
  /** Seed the durations of the plan's pipelines (minutes each run took; default REHEARSAL_HISTORY_MINUTES.change). */
  changeHistoryMinutes?: readonly number[];
  /**
   * Only these check jobs (besides the gate and the go/no-go), for a fast test: e.g. `['night']` runs the plan
   * check, the forecast and the environments. Every job when absent.
   */
  onlyJobs?: string[];
}

export interface PreflightRehearsalOutcome {
  verdict: 'GO' | 'NO-GO';
  problems: PreflightProblem[];
  line: string;
  /** Calls that changed something in an emulator during the run: must be empty. */
  writes: string[];
  /** Slack messages carrying the verdict (exactly one). */
  posts: number;
  resultFile: string;
}

/** The one message the preflight sends on purpose: its verdict, from the go/no-go step. */
export function isVerdictPost(entry: JournalEntry): boolean {
  return (
    entry.method === 'POST' && entry.path === '/api/chat.postMessage' && /Preflight: (GO|NO-GO)/.test(JSON.stringify(entry.body ?? ''))
  );
}

/**
 * POSTs that only read: token requests, Slack's read methods, New Relic GraphQL queries (not mutations), and
 * Application Gateway's Backend Health (a POST action that reads). The verdict post is counted apart.
 */
function changesState(emulator: Emulator, entry: JournalEntry): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(entry.method) || isVerdictPost(entry)) return false;
  if (/\/oauth2\/v2\.0\/token$|\/oidctoken$|\/backendhealth$/.test(entry.path)) return false;
  if (/^\/api\/(auth\.test|conversations\.(list|info|members)|users\.conversations|team\.info|bots\.info)$/.test(entry.path)) return false;
  if (emulator.name.includes('New Relic') && entry.path === '/graphql') return !/^\s*(query\b|\{)/.test(String(entry.body?.query ?? ''));
  return true;
}

/** The approval environments as `npm run setup-environments` makes them, through the real client. */
async function seedEnvironments(devops: AzureDevOpsEmulator): Promise<void> {
  devops.addIdentity('Release Managers');
  devops.addIdentity('Platform Approvers');
  const connection = {
    collectionUrl: devops.collectionUrl,
    project: devops.project,
    token: devops.token,
    kind: 'pat' as const,
    source: 'rehearsal',
  };
  const log = new Log();
  log.info = () => undefined;
  await new EnvironmentSetup({ connection, log, clock: realClock() }).apply(
    windowEnvironments({ releaseManager: ['Release Managers'], platformApprover: ['Platform Approvers'] }),
  );
}

function seedHistory(devops: AzureDevOpsEmulator, pipeline: { parameters: Record<string, Value> }, changeMinutes: readonly number[]): void {
  const toMs = (minutes: readonly number[]) => minutes.map((value) => value * 60_000);
  const regression = toText(pipeline.parameters.regressionPipeline ?? 'Full Regression');
  for (const definition of [...devops.definitions.values()]) {
    if (definition.name.toLowerCase() === regression.toLowerCase()) continue;
    if (devops.runsOf(definition.name, definition.path).length === 0)
      devops.addRunHistory(definition.name, toMs(changeMinutes), { folder: definition.path });
  }
  const existing = devops.pipeline(regression);
  if (existing && devops.runsOf(existing.name, existing.path).length === 0)
    devops.addRunHistory(regression, toMs(REHEARSAL_HISTORY_MINUTES.regression), { folder: existing.path });
}

/** Keeps the gate, the named check jobs and the go/no-go (which then waits for those only). */
function keepJobs(pipeline: ExpandedPipeline, names: string[]): void {
  const keep = new Set(['window', ...names, 'goNoGo']);
  for (const stage of pipeline.stages) {
    const unknown = names.filter((name) => !stage.jobs.some((job) => job.name === name));
    if (unknown.length) throw new Error(`no preflight job ${unknown.join(', ')} (jobs: ${stage.jobs.map((job) => job.name).join(', ')})`);
    stage.jobs = stage.jobs.filter((job) => keep.has(job.name));
    const report = stage.jobs.find((job) => job.name === 'goNoGo');
    if (report) report.dependsOn = report.dependsOn.filter((name) => keep.has(name));
  }
}

/** The go/no-go step's preflight.json, wherever the step's job wrote it in the run's directory. */
function findVerdictFile(root: string): string | undefined {
  if (!fs.existsSync(root)) return undefined;
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) {
      const found = findVerdictFile(full);
      if (found) return found;
    } else if (entry.name === 'preflight.json' && path.basename(root) === 'files') return full;
  }
  return undefined;
}

/** The emulated world as Friday finds it: approval environments, the faults, the seed, the run history. */
async function prepareWorld(world: World, pipeline: ExpandedPipeline, planPath: string, options: PreflightRehearsalOptions): Promise<void> {
  // The order matters: a fault may remove what the set-up made (an approval check), or wait for the seed (a
  // drained tag on the gateway), and the history goes only to pipelines a fault left without one (overrun).
  await seedEnvironments(world.devops);
  for (const fault of options.faults ?? []) {
    if (!isFaultName(fault)) throw new Error(`--fault ${fault}: no such fault (${FAULT_NAMES.join(', ')})`);
    // overrun: each pipeline of the plan longer than the whole window from Starting Maintenance to its end plus grace.
    applyFault(world, fault, { planFile: planPath, overrunMs: OVERRUN_MS });
  }
  await world.seed?.(pipeline);
  seedHistory(world.devops, pipeline, options.changeHistoryMinutes ?? REHEARSAL_HISTORY_MINUTES.change);
}

function runVariables(world: World, pipeline: ExpandedPipeline, date: string, cron: string | undefined): Record<string, string> {
  return {
    'Build.BuildId': '20250411',
    'System.BuildId': '20250411',
    'Build.BuildNumber': `preflight-${date}`,
    'Build.Reason': 'Schedule',
    'Build.DefinitionName': 'preflight',
    'Build.SourceBranch': 'refs/heads/main',
    'System.TeamProject': world.devops.project,
    'System.DefinitionId': '43',
    ...world.variables,
    'Build.CronSchedule.DisplayName': toText(pipeline.schedules.find((schedule) => toText(schedule.cron) === cron)?.displayName ?? ''),
  };
}

/**
 * The verdict: the go/no-go step's own (its preflight.json), plus anything the report could not see: a check
 * step that failed outright, no verdict at all, or a verdict post that did not reach Slack exactly once.
 */
function collectProblems(result: RehearsalResult, runDirectory: string, posts: number): PreflightProblem[] {
  const verdictFile = findVerdictFile(runDirectory);
  const reported = verdictFile ? (JSON.parse(fs.readFileSync(verdictFile, 'utf8')) as { problems: PreflightProblem[] }) : undefined;
  const problems: PreflightProblem[] = [...(reported?.problems ?? [])];
  if (!reported) {
    problems.push({
      check: 'preflight',
      object: 'go/no-go step',
      why: `it wrote no verdict (run ${result.result})`,
      fix: 'see the timeline',
    });
  } else if (posts !== 1) {
    problems.push({
      check: 'preflight',
      object: 'verdict post',
      why: `${posts} verdict message(s) reached Slack, not 1`,
      fix: 'see the go/no-go step',
    });
  }
  // The go/no-go step fails on NO-GO by design, and a publish continues on error.
  const failed = result.timeline.filter(
    (entry) => entry.result === 'Failed' && entry.job !== 'goNoGo' && entry.what !== 'PublishPipelineArtifact',
  );
  for (const entry of failed)
    problems.push({ check: 'step', object: `${entry.job} › ${entry.step}`, why: entry.did, fix: 'see the step log' });
  return problems;
}

export async function runPreflightRehearsal(options: PreflightRehearsalOptions = {}): Promise<PreflightRehearsalOutcome> {
  const print = options.print ?? ((line: string) => console.log(line));
  const planPath = path.resolve(repoRoot, options.plan ?? DEFAULT_PLAN);
  const window = readPlanWindow(planPath);
  const planRelative = path.relative(repoRoot, planPath).split(path.sep).join('/');
  const pipelineFile = path.resolve(repoRoot, PREFLIGHT_PIPELINE);
  const world = await startWorld({ planFile: planPath });
  try {
    const declared = expandPipeline(pipelineFile).parameters;
    const pipeline = expandPipeline(pipelineFile, { ...world.parameterOverrides(declared), planFile: planRelative });
    if (options.onlyJobs) keepJobs(pipeline, options.onlyJobs);
    assertRunnable(pipeline);
    await prepareWorld(world, pipeline, planPath, options);
    // Everything before this mark is the world being set up; nothing after it may change anything.
    const marks = new Map(world.emulators.map((emulator) => [emulator, emulator.journal.length]));
    const start = scheduledStart(pipeline, window, false, 'preflightAt');
    const clockStart = new Date(start.at.getTime() + 60_000);
    const outDirectory = path.resolve(repoRoot, options.outDirectory ?? path.join('out', 'rehearsal'));
    const runDirectory = path.join(outDirectory, 'preflight-run');
    fs.rmSync(runDirectory, { recursive: true, force: true });
    fs.mkdirSync(outDirectory, { recursive: true });
    const zone = window.timeZone;
    const faults = options.faults?.length ? ` with fault ${options.faults.join(', ')}` : '';
    print(`Rehearsing ${PREFLIGHT_PIPELINE} for ${window.name} (${planRelative})${faults}`);
    const startText = DateTime.fromJSDate(clockStart, { zone }).toFormat('ccc yyyy-LL-dd HH:mm ZZZZ');
    print(`  Simulated clock starts ${startText}: the scheduled run of cron '${start.cron}' (${start.description})`);
    const rehearsal = new Rehearsal({
      pipeline,
      clockStart,
      connections: world.connections,
      systemEndpoints: world.systemEndpoints,
      variables: runVariables(world, pipeline, window.date, start.cron),
      runDirectory,
      events: { step: (entry) => print(timelineLine(entry, zone)), line: options.verbose ? (line) => print(`      | ${line}`) : undefined },
    });
    world.followClock(() => rehearsal.now());
    const result = await rehearsal.run();
    const since = (emulator: Emulator) => emulator.journal.slice(marks.get(emulator));
    const writes = world.emulators.flatMap((emulator) =>
      since(emulator)
        .filter((entry) => changesState(emulator, entry))
        .map((entry) => `${emulator.name}: ${entry.method} ${entry.path}`),
    );
    const posts = world.emulators.flatMap((emulator) => since(emulator).filter(isVerdictPost)).length;
    const problems = collectProblems(result, runDirectory, posts);
    const verdict: 'GO' | 'NO-GO' = problems.length ? 'NO-GO' : 'GO';
    const resultFile = path.join(outDirectory, 'preflight.json');
    fs.writeFileSync(resultFile, JSON.stringify({ verdict, problems }, null, 2) + '\n');
    if (writes.length) print(`✘ The preflight WROTE to the emulators (it must change nothing): ${writes.join('; ')}`);
    const line = verdictLine({ verdict, problems });
    print(line);
    return { verdict, problems, line, writes, posts, resultFile };
  } finally {
    await world.stop();
  }
}
