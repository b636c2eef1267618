import * as fs from 'node:fs';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import * as YAML from 'yaml';
import { repoRoot } from '../helpers/task-runner';
import { toText, type Value } from './expressions';
import { expandPipeline, readYaml, type ExpandedPipeline } from './pipeline-expander';
import { matchesFailure, Rehearsal, type RehearsalOptions, type RehearsalResult, type Result, type TimelineEntry } from './rehearsal';
import { assertRunnable } from './platform-rules';
import { startWorld, type World } from './world';
import { cronSlots, parseNotBefore } from '../../shared/window/gate';
import { formatMinutes } from '../../shared/window/gate';
import { writeReportPage } from './report-page';
import { approvalAnswers, timelineRecords } from './timeline-records';

/**
 * `npm run rehearse [-- plans/<file>.yml] [--fail-step <step>] [--fail-change <id>] [--verbose]`
 *
 * Rehearses the whole night of pipelines/monthly-maintenance.yml against the emulators: every task step the
 * pipeline declares, in its stage order, with its inputs, on a simulated clock that starts at the pipeline's
 * scheduled Saturday slot before the plan's window date. Prints a live timeline and writes the timeline and
 * the whole-window summary to out/rehearsal/.
 */

export const DEFAULT_PIPELINE = 'pipelines/monthly-maintenance.yml';
export const DEFAULT_PLAN = 'plans/2025-04-13.yml';

export interface RehearseOptions {
  plan?: string;
  pipeline?: string;
  failSteps?: string[];
  skipSteps?: string[];
  failChanges?: string[];
  /** Pipelines whose next run fails in the emulated Azure DevOps (the regression pipeline, or a plan's). */
  failPipelines?: string[];
  outDirectory?: string;
  verbose?: boolean;
  /** Rehearse the run of the other UTC schedule (an hour early or late): it must close at the gate and change nothing. */
  otherSlot?: boolean;
  /** Where the timeline goes (console.log by default; tests collect it). */
  print?: (line: string) => void;
  /** The run is cancelled there: a stage, `stage.job` or a step (as --fail-step names it). */
  cancelAt?: string;
  /** The agent dies there: nothing after it runs. */
  killAt?: string;
  /** After --kill-at, run the break-glass recovery pipeline against the same emulated world. */
  recover?: boolean;
  /** The recovery pipeline (default pipelines/recover.yml). */
  recoverPipeline?: string;
  rejectApprovals?: string[];
  approvalTimeouts?: string[];
  /** Microsoft-hosted agents' cap on every agent job's timeout, in minutes. */
  hostedCapMinutes?: number;
  /** Steps that take this many simulated minutes. */
  slowSteps?: Array<{ step: string; minutes: number }>;
  /** Real delays of the agent's SIGTERM and kill after a SIGINT (tests shorten them; 7.5 s and 2.5 s by default). */
  signalDelaysMs?: { sigterm: number; kill: number };
  /** Rehearse pipelines/preflight.yml (the Friday go/no-go) instead of the night. */
  preflight?: boolean;
  /** With --preflight: a fault of test/helpers/faults.ts applied to the world first. */
  fault?: string;
}

export const DEFAULT_RECOVER_PIPELINE = 'pipelines/recover.yml';

/** What the one closing line and out/rehearsal/result.json say. */
export interface WindowResult {
  result: 'Succeeded' | 'Failed' | 'Canceled';
  back: number;
  total: number;
  left: string[];
}

export function windowResultLine(window: WindowResult): string {
  return (
    `Window result: ${window.result}; back: ${window.back}/${window.total}; left: ` +
    `${window.left.length ? window.left.join(', ') : 'none'}`
  );
}

export interface RehearseOutcome {
  result: RehearsalResult;
  pipeline: ExpandedPipeline;
  summaryFile: string;
  timelineFile: string;
  /** The rehearsal itself went as expected (the window succeeded, or a failure was injected and Post-Maintenance still ran clean). */
  ok: boolean;
  verdict: string;
  world: World;
  window: WindowResult;
  /** The break-glass recovery run, with --kill-at and --recover. */
  recovery?: RehearsalResult;
}

function usage(): string {
  return [
    'usage: npm run rehearse [-- <plan.yml>] [--fail-step <stage.job.step | step name>]... [--fail-change <change id>]... ' +
      '[--fail-pipeline <name>]... [--verbose]',
    `  <plan.yml>      the plan to rehearse (default ${DEFAULT_PLAN})`,
    '  --fail-step     the named step does its work and then fails, to show that Post-Maintenance still undoes everything',
    '  --fail-change   the plan change with this id fails in the emulated Azure DevOps',
    '  --fail-pipeline the next run of this pipeline fails in the emulated Azure DevOps (e.g. "Full Regression")',
    '  --skip-step     the named step is left out (a forgotten undo): the finish step must then fail',
    '  --pipeline      another pipeline file (default pipelines/monthly-maintenance.yml)',
    '  --other-slot    rehearse the run of the other UTC schedule: it must close at the gate and change nothing',
    '  --cancel-at     cancel the run there (<stage>, <stage.job> or a step): a running step gets SIGINT; always() steps still run',
    '  --kill-at       the agent dies there (SIGKILL; nothing later runs or publishes); the end names what is left',
    '  --recover       with --kill-at: then run pipelines/recover.yml for the dead run against the same emulated world',
    '  --recover-pipeline  another recovery pipeline file',
    '  --reject-approval   the approval on this environment is rejected',
    '  --approval-timeout  the approval on this environment times out (or: a ManualValidation step, or "ManualValidation")',
    "  --hosted-cap    Microsoft-hosted agents: every agent job's timeout is at most this many minutes (360 paid, 60 free)",
    "  --slow-step     <step>=<minutes>: that step takes that many simulated minutes (to meet its job's timeout)",
    '  --verbose       also print every line the steps print',
    '  --preflight     rehearse pipelines/preflight.yml, the Friday go/no-go (ends with one line: Preflight: GO or NO-GO)',
    '  --fault         with --preflight: apply this fault of test/helpers/faults.ts first (e.g. expired-secret)',
  ].join('\n');
}

export function parseArguments(argv: string[]): RehearseOptions {
  const options: RehearseOptions = { failSteps: [], skipSteps: [], failChanges: [], failPipelines: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${usage()}`);
      return next;
    };
    if (arg === '--fail-step') options.failSteps!.push(value());
    else if (arg === '--fail-change') options.failChanges!.push(value());
    else if (arg === '--fail-pipeline') options.failPipelines!.push(value());
    else if (arg === '--skip-step') options.skipSteps!.push(value());
    else if (arg === '--pipeline') options.pipeline = value();
    else if (arg === '--verbose') options.verbose = true;
    else if (arg === '--cancel-at') options.cancelAt = value();
    else if (arg === '--kill-at') options.killAt = value();
    else if (arg === '--recover') options.recover = true;
    else if (arg === '--recover-pipeline') options.recoverPipeline = value();
    else if (arg === '--reject-approval') (options.rejectApprovals ??= []).push(value());
    else if (arg === '--approval-timeout') (options.approvalTimeouts ??= []).push(value());
    else if (arg === '--hosted-cap') options.hostedCapMinutes = positiveMinutes(arg, value());
    else if (arg === '--slow-step') {
      const given = value();
      const match = /^(.+)=(\d+(\.\d+)?)$/.exec(given);
      if (!match) throw new Error(`--slow-step ${given}: expected <step>=<minutes>, e.g. Changes.changes_1.run=400`);
      (options.slowSteps ??= []).push({ step: match[1], minutes: Number(match[2]) });
    } else if (arg === '--other-slot') options.otherSlot = true;
    else if (arg === '--preflight') options.preflight = true;
    else if (arg === '--fault') options.fault = value();
    else if (arg === '--help' || arg === '-h') throw new Error(usage());
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}\n${usage()}`);
    else if (options.plan) throw new Error(`one plan at a time (got ${options.plan} and ${arg})`);
    else options.plan = arg;
  }
  if (options.fault && !options.preflight) throw new Error('--fault applies to the preflight rehearsal: give --preflight too');
  return options;
}

function positiveMinutes(flag: string, text: string): number {
  const minutes = Number(text);
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`${flag} ${text}: expected a number of minutes above 0`);
  return minutes;
}

export interface PlanWindow {
  date: string;
  timeZone: string;
  name: string;
}

export function readPlanWindow(file: string): PlanWindow {
  if (!fs.existsSync(file)) throw new Error(`plan ${file} not found`);
  const body = YAML.parse(fs.readFileSync(file, 'utf8')) as { window?: { date?: unknown; timeZone?: string; name?: string } };
  const rawDate = body?.window?.date;
  const date = rawDate instanceof Date ? rawDate.toISOString().slice(0, 10) : toText(rawDate as Value);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`${file}: window.date is missing or not YYYY-MM-DD`);
  return { date, timeZone: body.window?.timeZone ?? 'America/New_York', name: body.window?.name ?? date };
}

/** The scheduled run that opens the window: the pipeline's start time on the Saturday before the plan's Sunday. */
export function scheduledStart(
  pipeline: ExpandedPipeline,
  window: PlanWindow,
  otherSlot = false,
  startParameter = 'startAt',
): { at: Date; cron?: string; description: string } {
  const startText = toText(pipeline.parameters[startParameter] ?? 'Sat 19:00');
  const notBefore = parseNotBefore(startParameter, startText);
  const sunday = DateTime.fromISO(window.date, { zone: window.timeZone });
  let day = sunday.minus({ days: 1 });
  if (notBefore.kind === 'weekly') while (day.weekday !== notBefore.weekday) day = day.minus({ days: 1 });
  const local =
    notBefore.kind === 'weekly'
      ? day.set({ hour: notBefore.hour, minute: notBefore.minute })
      : DateTime.fromISO(notBefore.date, { zone: window.timeZone }).set({ hour: notBefore.hour, minute: notBefore.minute });
  const at = local.toJSDate();
  const slots = notBefore.kind === 'weekly' ? cronSlots(notBefore, window.timeZone, local.year) : [];
  const slot = slots.find((candidate) => candidate.offsetMinutes === local.offset);
  const declared = pipeline.schedules.map((schedule) => toText(schedule.cron));
  if (otherSlot) {
    // The run the other schedule starts: the same wall time read with the zone's other offset.
    const other = slots.find((candidate) => candidate.offsetMinutes !== local.offset);
    if (!other) throw new Error(`--other-slot: ${window.timeZone} has no daylight saving time, so the pipeline has one schedule only`);
    const at = new Date(local.toJSDate().getTime() + (local.offset - other.offsetMinutes) * 60_000);
    return { at, cron: other.cron, description: `${other.description}, the other of the two schedules` };
  }
  if (slot && declared.length && !declared.includes(slot.cron)) {
    throw new Error(
      `${pipeline.file}: schedules has no cron '${slot.cron}' (${slot.description}); the window would never start at this time of year`,
    );
  }
  return { at, cron: slot?.cron, description: slot?.description ?? local.toFormat('ccc yyyy-LL-dd HH:mm ZZZZ') };
}

const SYMBOL: Record<Result, string> = {
  Succeeded: '✔',
  SucceededWithIssues: '!',
  Failed: '✘',
  Skipped: '·',
  Canceled: '⊘',
};

function clip(text: string, width: number): string {
  const single = text.replace(/\s+/g, ' ').trim();
  return single.length > width ? `${single.slice(0, width - 1)}…` : single;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function timelineLine(entry: TimelineEntry, timeZone: string): string {
  const at = DateTime.fromJSDate(entry.at, { zone: timeZone }).toFormat('ccc HH:mm ZZZZ');
  const where = entry.job === '-' ? entry.step : `${entry.job} › ${entry.step}`;
  return (
    `  ${at}  ${SYMBOL[entry.result]} ${clip(where, 46).padEnd(46)} ${entry.what.padEnd(22)} ${seconds(entry.durationMs).padStart(6)} ` +
    ` ${entry.result === 'Succeeded' ? '' : entry.result + ': '}${clip(entry.did, 110)}`
  );
}

function markdownTimeline(result: RehearsalResult, timeZone: string): string {
  const rows = result.timeline.map((entry) => {
    const at = DateTime.fromJSDate(entry.at, { zone: timeZone }).toFormat('ccc HH:mm');
    const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
    return (
      `| ${at} | ${cell(entry.stageDisplayName)} | ${cell(entry.job)} | ${cell(entry.step)} | ${entry.what} | ` +
      `${seconds(entry.durationMs)} | ${entry.result} | ${cell(clip(entry.did, 300))} |`
    );
  });
  return [
    '| Time | Stage | Job | Step | Task | Duration | Result | What it did |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Throws naming the option when a --cancel-at/--kill-at/--slow-step/--approval-timeout names nothing in the pipeline. */
export function checkNamedPoints(pipeline: ExpandedPipeline, options: RehearseOptions): void {
  const exists = (pattern: string) =>
    pipeline.stages.some(
      (stage) =>
        stage.name.toLowerCase() === pattern.toLowerCase() ||
        stage.jobs.some(
          (job) =>
            `${stage.name}.${job.name}`.toLowerCase() === pattern.toLowerCase() ||
            job.steps.some((step) => matchesFailure([pattern], stage.name, job.name, step)),
        ),
    );
  const named: Array<[string, string | undefined]> = [
    ['--cancel-at', options.cancelAt],
    ['--kill-at', options.killAt],
    ...(options.slowSteps ?? []).map((slow): [string, string] => ['--slow-step', slow.step]),
  ];
  for (const [flag, pattern] of named) {
    if (pattern !== undefined && !exists(pattern))
      throw new Error(`${flag} ${pattern}: no stage, stage.job or step of ${path.relative(repoRoot, pipeline.file)} has that name`);
  }
  const environments = new Set(pipeline.stages.flatMap((stage) => stage.jobs.map((job) => job.environment?.toLowerCase()).filter(Boolean)));
  for (const name of options.rejectApprovals ?? []) {
    if (!environments.has(name.toLowerCase()))
      throw new Error(`--reject-approval ${name}: no stage deploys to that environment (${[...environments].join(', ')})`);
  }
  for (const name of options.approvalTimeouts ?? []) {
    if (!environments.has(name.toLowerCase()) && name.toLowerCase() !== 'manualvalidation' && !exists(name)) {
      throw new Error(
        `--approval-timeout ${name}: neither an environment a stage deploys to (${[...environments].join(', ')}) nor a ` +
          `ManualValidation step`,
      );
    }
  }
  if (options.recover && !options.killAt) throw new Error('--recover recovers a run whose agent died: give --kill-at too');
}

function runVariables(window: PlanWindow, world: World, buildId: string, reason: string): Record<string, string> {
  return {
    'Build.BuildId': buildId,
    'System.BuildId': buildId,
    'Build.BuildNumber': `maintenance-${window.date}`,
    'Build.Reason': reason,
    'Build.DefinitionName': 'monthly-maintenance',
    'Build.SourceBranch': 'refs/heads/main',
    'Build.Repository.Name': 'maintenance-window',
    'System.TeamProject': 'Platform',
    'System.HostType': 'build',
    'System.DefinitionId': '42',
    'System.PlanId': '00000000-0000-0000-0000-000000000001',
    ...world.variables,
  };
}

/** The window's result as the closing line states it: the run's result, and what the emulators say is back. */
function windowResult(result: RehearsalResult, world: World): WindowResult {
  const account = world.account();
  const outcome = result.result === 'Failed' || result.result === 'Canceled' ? result.result : 'Succeeded';
  return { result: outcome, back: account.changed.length - account.left.length, total: account.changed.length, left: account.left };
}

/**
 * Whether the rehearsal went as it must, in one sentence. The emulators are the ground truth of what the night
 * left behind; the finish step, when it ran, must agree with them.
 */
function judge(
  options: RehearseOptions,
  result: RehearsalResult,
  recovery: RehearsalResult | undefined,
  world: World,
): { ok: boolean; verdict: string } {
  const failures = result.timeline.filter((entry) => entry.result === 'Failed');
  const pathFlags = !!(
    options.cancelAt ||
    options.killAt ||
    options.rejectApprovals?.length ||
    options.approvalTimeouts?.length ||
    options.slowSteps?.length ||
    options.hostedCapMinutes !== undefined
  );
  const injected =
    pathFlags ||
    (options.failSteps?.length ?? 0) +
      (options.failChanges?.length ?? 0) +
      (options.failPipelines?.length ?? 0) +
      (options.skipSteps?.length ?? 0) >
      0;
  // The emulators are the ground truth of what the night left behind; the finish step must agree with them.
  const leftovers = world.leftovers();
  const finish = [...result.timeline, ...(recovery?.timeline ?? [])]
    .filter((entry) => entry.what.startsWith('MaintenanceWindow@') && entry.outputs.leftBehind !== undefined)
    .pop();
  const finishSaysBack = finish ? finish.outputs.leftBehind === '0' : undefined;
  const truthful = finishSaysBack === undefined || finishSaysBack === (leftovers.length === 0);
  const failed = failures.map((f) => `${f.stage}.${f.job} › ${f.step}: ${clip(f.did, 160)}`);
  let ok: boolean;
  let verdict: string;
  if (options.otherSlot) {
    const gate = result.timeline.find((entry) => entry.what.startsWith('MaintenanceWindow@'));
    const closed = gate?.outputs.open === 'false';
    const changed = result.timeline.filter(
      (entry) => entry.result !== 'Skipped' && entry !== gate && entry.what !== 'PublishPipelineArtifact',
    );
    ok = closed && changed.length === 0 && leftovers.length === 0;
    verdict = ok
      ? `The run of the other schedule closed at the gate and changed nothing: ` +
        `${clip(gate!.warnings.filter((warning) => !/SIMULATED CLOCK/.test(warning)).join(' '), 260)}`
      : `The run of the other schedule did NOT stay closed: ` +
        `${[...changed.map((entry) => `${entry.stage}.${entry.job} › ${entry.step}`), ...leftovers].join('; ')}`;
  } else if (!injected) {
    ok = result.result !== 'Failed' && leftovers.length === 0 && truthful;
    verdict = ok
      ? `The window rehearsed cleanly: ${result.result}, and everything it silenced or swapped is back.`
      : `The window FAILED: ${[...failed, ...leftovers].join('; ')}`;
  } else {
    // A failure path went as it must when everything came back; an injected step failure must also be reported by the finish.
    ok = truthful && (pathFlags ? leftovers.length === 0 : !!finish);
    const back = leftovers.length === 0 ? 'everything it silenced or swapped is back' : `NOT everything is back (${leftovers.join('; ')})`;
    const told = finish
      ? finishSaysBack
        ? 'the finish step reported everything back'
        : `the finish step failed, naming ${finish.outputs.leftBehind} thing(s) not back`
      : 'no finish step ran';
    verdict = `With the injected failure(s) the window ended ${result.result}; ${back}; ${told}${truthful ? '' : ' — WHICH IS WRONG'}.`;
    if (failed.length) verdict += ` Failures reported: ${failed.join('; ')}.`;
  }
  return { ok, verdict };
}

const FIRST_BUILD_ID = '20250412';

function printHeader(context: {
  print: (line: string) => void;
  pipeline: ExpandedPipeline;
  pipelineFile: string;
  planRelative: string;
  window: PlanWindow;
  world: World;
  clockStart: Date;
  start: ReturnType<typeof scheduledStart>;
  recoverFile: string;
  options: RehearseOptions;
}): void {
  const { print, pipeline, pipelineFile, planRelative, window, world, clockStart, start, recoverFile, options } = context;
  const zone = window.timeZone;
  const stepCount = pipeline.stages.reduce((sum, stage) => sum + stage.jobs.reduce((jobs, job) => jobs + job.steps.length, 0), 0);
  print(`Rehearsing ${path.relative(repoRoot, pipelineFile)} for ${window.name} (${planRelative})`);
  print(
    `  ${pipeline.stages.length} stage(s), ${stepCount} step(s), templates: ${pipeline.files.length - 1}; emulators: ` +
      `${world.emulators.map((e) => `${e.name} ${e.url}`).join(', ')}`,
  );
  print(
    `  Simulated clock starts ${DateTime.fromJSDate(clockStart, { zone }).toFormat('ccc yyyy-LL-dd HH:mm ZZZZ')}: the scheduled ` +
      `run${start.cron ? ` of cron '${start.cron}' (${start.description})` : ''}`,
  );
  if (options.failSteps?.length) print(`  Injected failures: step(s) ${options.failSteps.join(', ')}`);
  if (options.failChanges?.length) print(`  Injected failures: change(s) ${options.failChanges.join(', ')}`);
  if (options.failPipelines?.length) print(`  Injected failures: pipeline(s) ${options.failPipelines.join(', ')}`);
  if (options.skipSteps?.length) print(`  Left out: step(s) ${options.skipSteps.join(', ')}`);
  if (options.cancelAt) print(`  Cancelled at: ${options.cancelAt}`);
  if (options.killAt)
    print(`  Agent dies at: ${options.killAt}${options.recover ? `; then ${path.relative(repoRoot, recoverFile)} recovers` : ''}`);
  if (options.rejectApprovals?.length) print(`  Approval rejected: ${options.rejectApprovals.join(', ')}`);
  if (options.approvalTimeouts?.length) print(`  Approval times out: ${options.approvalTimeouts.join(', ')}`);
  if (options.hostedCapMinutes !== undefined) print(`  Microsoft-hosted agents: job timeouts capped at ${options.hostedCapMinutes} min`);
  if (options.slowSteps?.length)
    print(`  Slow step(s): ${options.slowSteps.map((slow) => `${slow.step} takes ${slow.minutes} min`).join(', ')}`);
}

/** Runs one rehearsal; the caller owns printing and the exit code. */
export async function runRehearsal(options: RehearseOptions = {}): Promise<RehearseOutcome> {
  const print = options.print ?? ((line: string) => console.log(line));
  const planFile = options.plan ?? DEFAULT_PLAN;
  const pipelineFile = path.resolve(repoRoot, options.pipeline ?? DEFAULT_PIPELINE);
  const recoverFile = path.resolve(repoRoot, options.recoverPipeline ?? DEFAULT_RECOVER_PIPELINE);
  if (options.recover && !fs.existsSync(recoverFile)) {
    throw new Error(
      `--recover: ${path.relative(repoRoot, recoverFile)} does not exist: there is no break-glass recovery pipeline to run (give ` +
        `one with --recover-pipeline)`,
    );
  }
  const planPath = path.resolve(repoRoot, planFile);
  const window = readPlanWindow(planPath);
  const inRepository = !path.relative(repoRoot, planPath).startsWith('..');
  // As the pipeline would name it: relative to the checked-out repository (a plan elsewhere by its full path).
  const planRelative = inRepository ? path.relative(repoRoot, planPath).split(path.sep).join('/') : planPath;
  const world = await startWorld({
    planFile: planPath,
    failChanges: options.failChanges ?? [],
    failPipelines: options.failPipelines ?? [],
  });
  try {
    const declared = expandPipeline(pipelineFile).parameters;
    const overrides: Record<string, Value> = { ...world.parameterOverrides(declared) };
    if ('planFile' in declared) overrides.planFile = planRelative;
    const pipeline = expandPipeline(pipelineFile, overrides);
    assertRunnable(pipeline);
    checkNamedPoints(pipeline, options);
    await world.seed?.(pipeline);
    const start = scheduledStart(pipeline, window, options.otherSlot);
    // A scheduled run is picked up a little after its cron time.
    const clockStart = new Date(start.at.getTime() + 60_000);
    const outDirectory = path.resolve(repoRoot, options.outDirectory ?? path.join('out', 'rehearsal'));
    fs.rmSync(outDirectory, { recursive: true, force: true });
    fs.mkdirSync(outDirectory, { recursive: true });
    const zone = window.timeZone;
    printHeader({ print, pipeline, pipelineFile, planRelative, window, world, clockStart, start, recoverFile, options });
    const started = Date.now();
    const events = (label: string): RehearsalOptions['events'] => ({
      stageStart: (stage, at) =>
        print(`\n▶ ${label}${stage.displayName}  [${stage.name}]  ${DateTime.fromJSDate(at, { zone }).toFormat('ccc HH:mm ZZZZ')}`),
      stageEnd: (stage, result, why) =>
        print(
          result === 'Skipped'
            ? `\n· ${label}${stage.displayName}  [${stage.name}]  skipped: ${why ?? ''}`
            : `■ ${stage.name}: ${result}${why ? `: ${why}` : ''}`,
        ),
      step: (entry) => {
        world.observe();
        print(timelineLine(entry, zone));
      },
      line: options.verbose ? (line) => print(`      | ${line}`) : undefined,
    });
    const rehearsal = new Rehearsal({
      pipeline,
      clockStart,
      connections: world.connections,
      systemEndpoints: world.systemEndpoints,
      variables: {
        ...runVariables(window, world, FIRST_BUILD_ID, 'Schedule'),
        // Which cron entry fired: the gate names its slot from this displayName, as on a real scheduled run.
        'Build.CronSchedule.DisplayName': toText(
          pipeline.schedules.find((schedule) => toText(schedule.cron) === start.cron)?.displayName ?? '',
        ),
      },
      runDirectory: path.join(outDirectory, 'run'),
      failSteps: options.failSteps,
      skipSteps: options.skipSteps,
      cancelAt: options.cancelAt,
      killAt: options.killAt,
      rejectApprovals: options.rejectApprovals,
      approvalTimeouts: options.approvalTimeouts,
      hostedCapMinutes: options.hostedCapMinutes,
      slowSteps: options.slowSteps,
      signalDelaysMs: options.signalDelaysMs,
      events: events(''),
    });
    // Azure DevOps' timeline of this run, as it stands whenever a step reads it (the finish step, for the night's page).
    world.devops.setTimeline(Number(FIRST_BUILD_ID), () => timelineRecords(rehearsal.progress(), Number(FIRST_BUILD_ID)));
    world.devops.setApprovals(Number(FIRST_BUILD_ID), () => approvalAnswers(rehearsal.progress(), Number(FIRST_BUILD_ID)));
    // The silence steps time their silences from the simulated clock: the services must agree on what "now" is;
    // a pipeline run takes its duration on that clock (the same the preflight's forecast reads).
    world.followClock(
      () => rehearsal.now(),
      (at) => rehearsal.advanceTo(at),
    );
    const result = await rehearsal.run();
    world.observe();
    let recovery: RehearsalResult | undefined;
    if (result.killedAt) {
      print('');
      print(
        `✘ The agent died at ${result.killedAt}: no later step ran, nothing more was published. Left now: ` +
          `${world.account().left.join(', ') || 'nothing'}`,
      );
    }
    if (options.recover && result.killedAt) {
      recovery = await runRecovery({ recoverFile, result, world, window, print, events: events('Recovery › '), outDirectory, options });
    }
    const elapsed = Date.now() - started;
    const { ok, verdict } = judge(options, result, recovery, world);
    const summaryFile = writeSummary({ result, recovery, outDirectory, window, pipelineFile, planRelative, clockStart, verdict, elapsed });
    const timelineFile = path.join(outDirectory, 'timeline.json');
    fs.writeFileSync(
      timelineFile,
      JSON.stringify(
        [...result.timeline, ...(recovery?.timeline ?? [])].map(({ run: _run, ...entry }) => entry),
        null,
        2,
      ) + '\n',
    );
    const closing = windowResult(result, world);
    fs.writeFileSync(path.join(outDirectory, 'result.json'), JSON.stringify(closing, null, 2) + '\n');
    print('');
    print(`${ok ? '✔' : '✘'} ${verdict}`);
    print(
      `  ${result.timeline.length} timeline entries, ${result.approvals.length} approval(s), ` +
        `simulated ${formatMinutes((result.clockEnd.getTime() - clockStart.getTime()) / 60_000)} in ${seconds(elapsed)}.`,
    );
    print(
      `  Summary: ${path.relative(process.cwd(), summaryFile)}   Timeline: ${path.relative(process.cwd(), timelineFile)}   ` +
        `Result: ${path.relative(process.cwd(), path.join(outDirectory, 'result.json'))}`,
    );
    const reportPage = writeReportPage(outDirectory, result, recovery);
    print(
      reportPage
        ? `  Page of the night: ${path.relative(process.cwd(), reportPage)}`
        : '  No page of the night: no finish step wrote its report.',
    );
    print(windowResultLine(closing));
    return { result, pipeline, summaryFile, timelineFile, ok, verdict, world, window: closing, recovery };
  } finally {
    await world.stop();
  }
}

/**
 * The break-glass recovery after the agent died: pipelines/recover.yml queued by hand for the dead run (its
 * build id as `runId`, its window id when the start step had set one), a new run with a new build id against
 * the same emulated world, half an hour after the death on the simulated clock. Its
 * `DownloadPipelineArtifact` with `source: specific` gets what the dead run published before it died.
 */
async function runRecovery(context: {
  recoverFile: string;
  result: RehearsalResult;
  world: World;
  window: PlanWindow;
  print: (line: string) => void;
  events: RehearsalOptions['events'];
  outDirectory: string;
  options: RehearseOptions;
}): Promise<RehearsalResult> {
  const { recoverFile, result, world, window, print } = context;
  // Declared parameter names, read from the file: runId has no default, so the file cannot expand without it.
  const body = readYaml(recoverFile) as { parameters?: Array<{ name?: string; default?: Value }> };
  const declared: Record<string, Value> = Object.fromEntries(
    (body.parameters ?? []).filter((parameter) => parameter.name).map((parameter) => [parameter.name!, parameter.default ?? '']),
  );
  if (!('runId' in declared))
    throw new Error(`${path.relative(repoRoot, recoverFile)}: has no runId parameter: it cannot be told which run to recover`);
  const windowId = result.timeline.map((entry) => entry.outputs.windowId).find(Boolean);
  const values: Record<string, Value> = { ...world.parameterOverrides(declared), runId: FIRST_BUILD_ID };
  if ('windowId' in declared && windowId) values.windowId = windowId;
  const pipeline = expandPipeline(recoverFile, values);
  assertRunnable(pipeline);
  const clockStart = new Date(result.clockEnd.getTime() + 30 * 60_000);
  const recoveryId = String(Number(FIRST_BUILD_ID) + 1);
  print('');
  print(
    `Recovering: ${path.relative(repoRoot, recoverFile)} with runId ${FIRST_BUILD_ID}${windowId ? `, windowId ${windowId}` : ''} ` +
      `(run ${recoveryId}, queued by hand ${DateTime.fromJSDate(clockStart, { zone: window.timeZone }).toFormat('ccc HH:mm ZZZZ')})`,
  );
  const recovery = new Rehearsal({
    pipeline,
    clockStart,
    connections: world.connections,
    systemEndpoints: world.systemEndpoints,
    variables: { ...runVariables(window, world, recoveryId, 'Manual'), 'Build.DefinitionName': 'recover' },
    runDirectory: path.join(context.outDirectory, 'recover'),
    earlierRuns: { [FIRST_BUILD_ID]: result.artifactsDirectory },
    signalDelaysMs: context.options.signalDelaysMs,
    events: context.events,
  });
  world.devops.setTimeline(Number(recoveryId), () => timelineRecords(recovery.progress(), Number(recoveryId)));
  world.devops.setApprovals(Number(recoveryId), () => approvalAnswers(recovery.progress(), Number(recoveryId)));
  world.followClock(() => recovery.now());
  const outcome = await recovery.run();
  world.observe();
  print(`■ Recovery run ${recoveryId}: ${outcome.result}`);
  return outcome;
}

function writeSummary(context: {
  result: RehearsalResult;
  recovery?: RehearsalResult;
  outDirectory: string;
  window: PlanWindow;
  pipelineFile: string;
  planRelative: string;
  clockStart: Date;
  verdict: string;
  elapsed: number;
}): string {
  const { result, recovery, window, clockStart } = context;
  const zone = window.timeZone;
  const windowSummary = [...result.timeline, ...(recovery?.timeline ?? [])]
    .filter((entry) => entry.what.startsWith('MaintenanceWindow@') && entry.outputs.summaryFile)
    .map((entry) => entry.outputs.summaryFile)[0];
  const summaryFile = path.join(context.outDirectory, 'summary.md');
  const parts = [
    `# Rehearsal: ${window.name}`,
    `Pipeline \`${path.relative(repoRoot, context.pipelineFile)}\`, plan \`${context.planRelative}\`, simulated from ` +
      `${DateTime.fromJSDate(clockStart, { zone }).toFormat('ccc yyyy-LL-dd HH:mm ZZZZ')} to ` +
      `${DateTime.fromJSDate(result.clockEnd, { zone }).toFormat('ccc HH:mm ZZZZ')}; took ${seconds(context.elapsed)} of real time.`,
    `**${context.verdict}**`,
    '## Timeline',
    markdownTimeline(result, zone),
  ];
  if (recovery) parts.push('## Recovery run', markdownTimeline(recovery, zone));
  if (windowSummary && fs.existsSync(windowSummary)) {
    // The finish step's page already holds every step's summary it found in the run's artifacts.
    parts.push(fs.readFileSync(windowSummary, 'utf8'));
  } else {
    parts.push("## Every step's own summary (no finish step ran)");
    for (const entry of [...result.timeline, ...(recovery?.timeline ?? [])]) {
      for (const summary of entry.summaries)
        parts.push(`### ${entry.stageDisplayName} › ${entry.step}\n\n${summary.replace(/^(#+)/gm, '$1##')}`);
    }
  }
  fs.writeFileSync(summaryFile, parts.join('\n\n') + '\n');
  return summaryFile;
}

async function main(): Promise<number> {
  let options: RehearseOptions;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  try {
    if (options.preflight) {
      const { runPreflightRehearsal } = await import('./preflight-rehearsal');
      const outcome = await runPreflightRehearsal({
        plan: options.plan,
        faults: options.fault ? [options.fault] : [],
        verbose: options.verbose,
      });
      // NO-GO is a rehearsal that worked; a write to any emulator is not.
      return outcome.writes.length ? 1 : 0;
    }
    const outcome = await runRehearsal(options);
    return outcome.ok ? 0 : 1;
  } catch (error) {
    console.error(`Rehearsal could not run: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
