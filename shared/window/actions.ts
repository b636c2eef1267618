import * as fs from 'node:fs';
import * as path from 'node:path';
import { messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { RecordStore } from '../core/records';
import { MarkdownSummary } from '../core/summary';
import { formatLocal } from '../core/time';
import { loadPlan } from '../plan/plan';
import { composeNotice } from '../services/messages';
import { NotifyError, sendNotice, type Destination } from '../services/notify';
import type { WindowClock } from '../core/clock';
import type { ActiveRun } from '../devops/active-runs';
import type { RunTimeline } from '../devops/timeline';
import { nameApproversQuietly, readTimelineQuietly, type NightReads } from './night-reads';
import { announcementResults, assessRecords, gatherRun, parseStageResults, renderWindowSummary, type RecordAssessment } from './finish';
import { buildNightReport } from './night';
import { NIGHT_ATTACHMENT_NAME, NIGHT_ATTACHMENT_TYPE } from '../report/model';
import type { Plan } from '../plan/plan';
import { checkPlan, passGate, resolvePlanFile, windowSunday, windowTimes } from './window';

/**
 * The three actions of MaintenanceWindowV1, each one library call for the task's index.ts: `gate` (a stage's
 * time gate; at the pipeline's scheduled start it also skips the other UTC slot and finds the weekend's
 * plan), `start` (gate, plan check, announcement, the window's times) and `finish` (everything back?
 * announcement with results, the whole-window summary).
 */

export interface CommonOptions {
  log: Log;
  clock: WindowClock;
  timeZone: string;
  // Properties, not methods: a task passes its context's functions, which use no `this`, and actions destructure them.
  setOutput: (name: string, value: string) => void;
  attachSummary: (title: string, summary: MarkdownSummary | string) => string;
}

export interface GateOptions extends CommonOptions {
  notBefore?: string;
  maxWaitMinutes: number;
  lateToleranceMinutes: number;
  /** This gate is the pipeline's scheduled start (skips the other UTC slot on scheduled runs). */
  scheduledStart: boolean;
  /** `Build.Reason` is `Schedule`. */
  scheduledRun: boolean;
  /** `Build.CronSchedule.DisplayName`: the cron entry that started a scheduled run (its displayName names its UTC offset). */
  scheduleName?: string;
  planFile?: string;
  /** Wait in the step, or hand the wait on as output `waitMinutes` (for an agentless Delay job). */
  waitInStep?: boolean;
  /**
   * One run at a time: the older runs of this pipeline still active, asked once the time gate would open. Any
   * such run closes the gate for this one (a newer run never stops an older one).
   */
  olderActiveRuns?: () => Promise<ActiveRun[]>;
}

/** `gate`: returns whether the window goes on (outputs `open`, `openedAt`, `planFile`). */
export async function gateAction(options: GateOptions): Promise<boolean> {
  const { log, setOutput } = options;
  log.section(`Time gate ${options.notBefore ?? '(none)'} ${options.timeZone}`);
  const outcome = await passGate({ ...options, scheduled: options.scheduledStart && options.scheduledRun, notBefore: options.notBefore });
  if (!outcome.open) return closed(options, outcome.message);
  log.info(outcome.message);
  const overlap = await overlappingRun(options);
  if (overlap) return closed(options, overlap);
  let planFile = options.planFile;
  if (planFile) {
    const sunday = windowSunday(outcome.opensAt, options.timeZone);
    const resolved = resolvePlanFile(planFile, sunday);
    if (!resolved.file) return closed(options, resolved.reason!);
    const plan = checkPlan('planFile', resolved.file, options.scheduledStart ? sunday : undefined);
    planFile = resolved.file;
    log.info(
      `Plan ${planFile}: ${plan.window.name}, ${plan.changes.length} change(s), maintenance page ` +
        `${plan.window.maintenancePage ? 'yes' : 'no'}.`,
    );
    setOutput('planFile', planFile);
    setOutput('maintenancePage', String(plan.window.maintenancePage));
  }
  setOutput('open', 'true');
  setOutput('waitMinutes', String(outcome.waitMinutes));
  setOutput('opensAt', outcome.opensAt.toISOString());
  // With the wait handed on, the gate is not open yet: the Delay job after it opens it.
  if (!outcome.waitMinutes) setOutput('openedAt', outcome.openedAt.toISOString());
  const when = outcome.waitMinutes
    ? `Opens at ${formatLocal(outcome.openedAt, options.timeZone)} after the agentless wait of ${outcome.waitMinutes} min`
    : `Opened ${formatLocal(outcome.openedAt, options.timeZone)}`;
  options.attachSummary(
    'Time gate',
    new MarkdownSummary()
      .heading(`Gate ${options.notBefore ?? ''}: open`)
      .paragraph(
        `${outcome.message} ${when}.` +
          (planFile ? ` Plan: ${planFile}.` : '') +
          (options.olderActiveRuns ? ' No older run of this pipeline is in progress or queued.' : ''),
      ),
  );
  return true;
}

/** Why this run must not go on because an older run is still going, or undefined when none is (or none was asked). */
async function overlappingRun(options: GateOptions): Promise<string | undefined> {
  if (!options.olderActiveRuns) return undefined;
  options.log.info('Asking Azure DevOps whether an older run of this pipeline is still going (one run at a time)...');
  const older = await options.olderActiveRuns();
  if (older.length === 0) {
    options.log.info('No older run of this pipeline is in progress or queued: this run goes on.');
    return undefined;
  }
  // Plain text with the address: the same words go to the log's warning and to the summary.
  const named = older.map((run) => `run ${run.buildNumber} (id ${run.id}, ${run.status}${run.link ? `, ${run.link}` : ''})`).join('; ');
  return (
    `an older run of this pipeline is still going: ${named}. Two runs must never work on the same gateway at once, so this run ` +
    `changes nothing; the older run keeps the window.`
  );
}

function closed(options: CommonOptions, message: string): false {
  options.log.warn(`Window closed for this run: ${message}`);
  options.setOutput('open', 'false');
  options.attachSummary('Time gate', new MarkdownSummary().heading('Gate: this run does not open the window').paragraph(message));
  return false;
}

export interface StartOptions extends GateOptions {
  planFile: string;
  windowEnd: string;
  graceMinutes: number;
  windowId: string;
  destination: Destination;
  link?: string;
}

/** `start`: gate, plan, times, announcement. Outputs `windowId`, `windowEnd`, `windowEndLocal`, `silenceMinutes`, `maintenancePage`. */
export async function startAction(options: StartOptions): Promise<void> {
  const { log, setOutput, timeZone } = options;
  log.section(`Starting maintenance: gate ${options.notBefore ?? '(none)'} ${timeZone}`);
  const outcome = await passGate({ ...options, scheduled: false, waitInStep: true });
  if (!outcome.open) throw new Error(outcome.message);
  log.info(outcome.message);
  const sunday = windowSunday(outcome.opensAt, timeZone);
  const resolved = resolvePlanFile(options.planFile, sunday);
  if (!resolved.file) throw new Error(resolved.reason);
  const plan = checkPlan('planFile', resolved.file, sunday);
  const now = options.clock.now();
  const times = windowTimes({ windowEnd: options.windowEnd, sunday: plan.window.date, timeZone, graceMinutes: options.graceMinutes, now });
  log.section(`Window ${plan.window.name} (${options.windowId}) until ${formatLocal(times.windowEnd, timeZone)}`);
  log.info(`Plan ${resolved.file}: ${plan.changes.length} change(s); maintenance page: ${plan.window.maintenancePage ? 'yes' : 'no'}.`);
  log.info(
    `Every silence lasts ${times.silenceMinutes} min, until ${formatLocal(times.silenceEnd, timeZone)} (the end plus ` +
      `${options.graceMinutes} min of grace), so it ends by itself.`,
  );
  // The outputs come before the announcement: a failed post must not leave later steps without the window's times.
  setOutput('windowId', options.windowId);
  setOutput('windowName', plan.window.name);
  setOutput('windowEnd', times.windowEnd.toISOString());
  setOutput('windowEndLocal', formatLocal(times.windowEnd, timeZone));
  setOutput('silenceMinutes', String(times.silenceMinutes));
  setOutput('maintenancePage', String(plan.window.maintenancePage));
  setOutput('planFile', resolved.file);
  setOutput('openedAt', outcome.openedAt.toISOString());
  const notice = composeNotice({
    template: 'windowStart',
    windowName: plan.window.name,
    message:
      `Until ${formatLocal(times.windowEnd, timeZone)}. ${plan.changes.length} change(s) ` +
      `planned${plan.window.maintenancePage ? '; the maintenance page goes up on the site' : ''}.`,
    link: options.link,
  });
  const delivered = await announce(notice, options);
  options.attachSummary(
    'Starting maintenance',
    new MarkdownSummary()
      .heading(`Starting maintenance: ${plan.window.name}`)
      .table(
        ['Window id', 'Opened', 'Ends', 'Silences end', 'Plan', 'Maintenance page', 'Announced to'],
        [
          [
            options.windowId,
            formatLocal(outcome.openedAt, timeZone),
            formatLocal(times.windowEnd, timeZone),
            formatLocal(times.silenceEnd, timeZone),
            resolved.file,
            plan.window.maintenancePage ? 'yes' : 'no',
            delivered.join(', '),
          ],
        ],
      ),
  );
}

/** The plan, when it can be read (finish reports even with a broken plan). */
function readPlanQuietly(planFile: string | undefined): Plan | undefined {
  if (!planFile || !fs.existsSync(planFile)) return undefined;
  try {
    return loadPlan(planFile);
  } catch {
    return undefined;
  }
}

async function announce(
  notice: ReturnType<typeof composeNotice>,
  options: CommonOptions & { destination: Destination },
): Promise<string[]> {
  try {
    const result = await sendNotice(notice, options.destination, { log: options.log, clock: options.clock });
    return result.deliveries.filter((delivery) => delivery.ok).map((delivery) => delivery.target);
  } catch (error) {
    if (error instanceof NotifyError) {
      options.log.warn(messageOf(error));
      throw error;
    }
    throw error;
  }
}

export interface FinishOptions extends CommonOptions {
  /** Folders holding the run's records and summaries (downloaded artifacts), besides this job's own. */
  recordsFolders: string[];
  records: RecordStore;
  stageResults?: string;
  windowName?: string;
  planFile?: string;
  destination: Destination;
  link?: string;
  outputDirectory(): string;
  /** Attaches the night's JSON to the run, for the results tab (absent: the file is only written). */
  addAttachment?(type: string, name: string, file: string): void;
  /** The window's end as the start step had it (`Sun 12:00` by default), for the page's marks. */
  windowEnd?: string;
  windowId?: string;
  buildId?: string;
  /**
   * Reads the run's build timeline (stage, job and step times, approvals) for the night's page. Optional, and
   * never fatal: when absent or when it fails, the page shows the stage results without times.
   */
  readTimeline?: NightReads['readTimeline'];
  /**
   * Asks who gave the timeline's approvals (Approvals - Query), for the page's "who approved". Optional and
   * never fatal: when absent or when it fails, the approvals keep their stage and time.
   */
  readApprovers?: NightReads['readApprovers'];
  /** Real time the timeline read, and the approvers' read, may each take in all (default 60 s): the finish must still announce. */
  timelineTimeoutMs?: number;
}

export interface FinishResult {
  assessments: RecordAssessment[];
  left: RecordAssessment[];
  summaryFile: string;
  /** The night's JSON (shared/report/model.ts), attached to the run. */
  reportFile: string;
}

/** `finish`: gathers, judges, announces and attaches the whole-window summary; throws if anything is not back. */
export async function finishAction(options: FinishOptions): Promise<FinishResult> {
  const { log, setOutput, timeZone } = options;
  log.section('Finishing maintenance: is everything silenced or swapped back?');
  const roots = [...options.recordsFolders, path.dirname(options.records.directory)];
  const gathered = gatherRun(roots);
  log.info(
    `Read ${gathered.folders.length} records/summaries folder(s): ${gathered.records.length} undo record(s), ` +
      `${gathered.receipts.length} receipt(s), ${gathered.summaries.length} step summary(ies).`,
  );
  const now = options.clock.now();
  const assessments = assessRecords(gathered, now, timeZone);
  for (const item of assessments)
    log.info(`${item.state === 'left' ? 'NOT BACK' : 'back'}: ${item.record.description} (${item.record.kind}): ${item.how}`);
  const left = assessments.filter((item) => item.state === 'left');
  const stageResults = parseStageResults(options.stageResults);
  const plan = readPlanQuietly(options.planFile);
  const windowName = options.windowName ?? plan?.window.name ?? 'maintenance window';
  const report = {
    windowName,
    planFile: options.planFile,
    timeZone,
    now,
    stageResults,
    assessments,
    summaries: gathered.summaries,
    link: options.link,
    simulatedClock: options.clock.simulated,
  };
  const summary = renderWindowSummary(report);
  options.attachSummary(`Maintenance window ${windowName}`, summary);
  // A copy under a fixed name, for the pipeline artifact and for the rehearsal.
  const copy = path.join(options.outputDirectory(), 'window-summary.md');
  fs.writeFileSync(copy, log.mask(summary.toString()));
  setOutput('summaryFile', copy);
  const timeline = await nameApproversQuietly(options, await readTimelineQuietly(options));
  const reportFile = attachNight({ options, gathered, assessments, stageResults, timeline, now, windowName, plan });
  setOutput('restored', String(assessments.length - left.length));
  setOutput('leftBehind', String(left.length));
  log.section('Announcing the finish with the results');
  let announceError: Error | undefined;
  try {
    await announce(
      composeNotice({ template: 'windowFinish', windowName, results: announcementResults(report), link: options.link }),
      options,
    );
  } catch (error) {
    announceError = error instanceof Error ? error : new Error(messageOf(error));
  }
  if (left.length) {
    throw new Error(
      `${left.length} thing(s) the window silenced or swapped are not back: ` +
        `${left.map((item) => `${item.record.description} [${item.record.kind}, record ${item.record.id}]`).join('; ')}. ` +
        "Run their restore step again (it is idempotent) with the undo record from the run's artifacts.",
    );
  }
  if (announceError) throw announceError;
  log.info(`Everything is back (${assessments.length} change(s) undone or ended by themselves).`);
  return { assessments, left, summaryFile: copy, reportFile };
}

/** Writes the night's JSON beside the summary and attaches it to the run (output `reportFile`). */
function attachNight(context: {
  options: FinishOptions;
  gathered: ReturnType<typeof gatherRun>;
  assessments: RecordAssessment[];
  stageResults: ReturnType<typeof parseStageResults>;
  timeline?: RunTimeline;
  now: Date;
  windowName: string;
  plan?: Plan;
}): string {
  const { options } = context;
  const night = buildNightReport({
    ...context,
    timeZone: options.timeZone,
    windowId: options.windowId,
    planFile: options.planFile,
    windowEnd: options.windowEnd,
    link: options.link,
    buildId: options.buildId,
    simulatedClock: options.clock.simulated,
  });
  const file = path.join(options.outputDirectory(), NIGHT_ATTACHMENT_NAME);
  fs.writeFileSync(file, options.log.mask(JSON.stringify(night, null, 2)) + '\n');
  options.addAttachment?.(NIGHT_ATTACHMENT_TYPE, NIGHT_ATTACHMENT_NAME, file);
  options.setOutput('reportFile', file);
  options.log.info(`The night's page data: ${file} (attached as ${NIGHT_ATTACHMENT_TYPE}, shown in the run's "Maintenance window" tab).`);
  return file;
}
