import * as fs from 'node:fs';
import * as path from 'node:path';
import { CanceledError, cancelAll, cancellationSignal, isCanceled, runningActivities } from './cancel';
import { windowClock, type WindowClock } from './clock';
import { issueCommand } from './commands';
import { InputError, messageOf } from './errors';
import { pipelineVariable, TaskInputs } from './inputs';
import { Log } from './log';
import { RecordStore, type UndoRecord } from './records';
import {
  overallVerdict,
  preflightDirectory,
  preflightSummary,
  writePreflightFile,
  type PreflightFile,
  type PreflightFinding,
} from './preflight';
import type { MarkdownSummary } from './summary';

/**
 * What a task's index.ts gets: typed inputs, a masking log, outputs, the run's records folder and the summary.
 * A task reads its inputs, makes one library call and sets its outputs; `runTask` turns whatever it throws
 * into one clear failure line.
 */
export interface TaskContext {
  input: TaskInputs;
  log: Log;
  records: RecordStore;
  /** The window this run belongs to (set by MaintenanceWindowV1 start), else the build id. */
  windowId: string;
  // The functions below are properties, not methods: none uses `this`, so a task may destructure them.
  /** A pipeline variable such as `System.TeamProject`. */
  variable: (name: string) => string | undefined;
  setOutput: (name: string, value: string, options?: { secret?: boolean }) => void;
  /** Writes an undo record before a change: file in the records folder, plus the `undoRecord` output. */
  publishUndoRecord: (record: UndoRecord, outputName?: string) => string;
  /** Attaches markdown to the run's summary tab. */
  attachSummary: (title: string, summary: MarkdownSummary | string) => string;
  /** A folder for files the step leaves for the pipeline artifact (sheets, reports). */
  outputDirectory: () => string;
  /** Attaches a file to the run under a type (`##vso[task.addattachment]`), read back by type through the Build REST API. */
  addAttachment: (type: string, name: string, file: string) => void;
  /** Aborted when the agent cancels the step (SIGINT/SIGTERM); every `sleep` already honours it. */
  signal: AbortSignal;
  /**
   * The window clock (`now`, `wait`) every module takes instead of reading the time itself: real on an agent,
   * simulated when `MaintenanceWindow.Now` is set (a rehearsal). Made on first use, so its warning shows
   * only in steps that read the time.
   */
  readonly clock: WindowClock;
  /**
   * Reports a `check` action's findings: writes `<work base>/preflight/<Task>-<n>.json`, attaches the table to
   * the summary and sets `preflightVerdict`. Returns SucceededWithIssues on NO-GO (the step does not fail, so
   * every check of the night runs and the aggregation step decides), Succeeded otherwise.
   */
  reportPreflight: (findings: PreflightFinding[]) => 'Succeeded' | 'SucceededWithIssues';
}

export type TaskOutcome = 'Succeeded' | 'SucceededWithIssues' | void;

/** The folder of the run's records, summaries, files and preflight findings. */
export function workBase(): string {
  const explicit = pipelineVariable('MaintenanceWindow.Directory');
  if (explicit) return explicit;
  const workspace = pipelineVariable('Pipeline.Workspace') ?? pipelineVariable('Agent.TempDirectory');
  return workspace ? path.join(workspace, 'maintenance-window') : path.resolve('out', 'maintenance-window');
}

export function createTaskContext(taskName: string): TaskContext {
  const log = new Log();
  log.setDebug(/^true$/i.test(pipelineVariable('System.Debug') ?? ''));
  const base = workBase();
  const records = new RecordStore(path.join(base, 'records'));
  const input = new TaskInputs(log);
  const windowId = pipelineVariable('MaintenanceWindow.Id') ?? pipelineVariable('Build.BuildId') ?? 'local';
  const context: TaskContext = {
    input,
    log,
    records,
    windowId,
    variable: pipelineVariable,
    setOutput(name, value, options = {}) {
      if (options.secret) log.addSecret(value);
      issueCommand('task.setvariable', { variable: name, isOutput: 'true', issecret: String(!!options.secret) }, value);
    },
    publishUndoRecord(record, outputName = 'undoRecord') {
      const file = records.write(record);
      context.setOutput(outputName, JSON.stringify(record));
      log.info(`Undo record ${record.id} written to ${file} before any change.`);
      return file;
    },
    attachSummary(title, summary) {
      const dir = path.join(base, 'summaries');
      fs.mkdirSync(dir, { recursive: true });
      // The summary tab shows the file's name, so the file is named after the title (made unique).
      const stem = title.replace(/[^A-Za-z0-9 ._-]+/g, ' ').trim() || taskName;
      let file = path.join(dir, `${stem}.md`);
      for (let n = 2; fs.existsSync(file); n++) file = path.join(dir, `${stem} (${n}).md`);
      fs.writeFileSync(file, log.mask(typeof summary === 'string' ? summary : summary.toString()));
      issueCommand('task.uploadsummary', {}, file);
      return file;
    },
    addAttachment(type, name, file) {
      issueCommand('task.addattachment', { type, name }, file);
    },
    outputDirectory() {
      const dir = path.join(base, 'files');
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    },
    signal: cancellationSignal(),
    get clock() {
      clock ??= windowClock(pipelineVariable, log);
      return clock;
    },
    reportPreflight(findings) {
      const file: PreflightFile = { schemaVersion: 1, task: taskName, step: pipelineVariable('Task.DisplayName') ?? taskName, findings };
      const verdict = overallVerdict(findings);
      const written = writePreflightFile(preflightDirectory(base), file);
      for (const finding of findings) {
        const wouldDo = finding.wouldDo ? ` (${finding.wouldDo})` : '';
        const line = `${finding.verdict} ${finding.check} ${finding.object}: ${finding.why}${wouldDo}`;
        if (finding.verdict === 'NO-GO') log.warn(`${line} Fix: ${finding.fix}`);
        else log.info(line);
      }
      log.info(`Preflight ${verdict}: findings written to ${written}.`);
      context.attachSummary(`Preflight ${file.step}`, preflightSummary(file));
      context.setOutput('preflightVerdict', verdict);
      return verdict === 'NO-GO' ? 'SucceededWithIssues' : 'Succeeded';
    },
  };
  let clock: WindowClock | undefined;
  return context;
}

/**
 * How long after the first signal the task gives itself before it exits anyway: well inside the agent's 10 s
 * (SIGTERM at 7.5 s, the kill at 10 s), after the scripts' process groups had their SIGTERM and SIGKILL.
 */
export const CANCEL_EXIT_MS = 5000;

/**
 * The agent cancels a step with SIGINT, then SIGTERM 7.5 s later, then a kill. The first signal stops every wait
 * and ends what the step started (each activity's onCancel); the body then unwinds to runTask, which reports.
 * If it has not exited CANCEL_EXIT_MS later, or a second signal comes, it reports and exits at once.
 */
function handleCancelSignals(context: TaskContext): void {
  const report = (signal: string) => {
    const message = `Canceled (${signal}) while ${describe(runningActivities()) || 'finishing'}: stopped without waiting further.`;
    issueCommand('task.complete', { result: 'Failed' }, context.log.mask(message));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (isCanceled()) {
      context.log.warn(`${signal} received while stopping: exiting now.`);
      report(signal);
      process.exit(1);
    }
    const interrupted = cancelAll(signal);
    context.log.warn(
      `Cancel received (${signal}): interrupting ${describe(interrupted) || 'the step'}. What this step changed is in its undo ` +
        `record; the always() steps after it put it back.`,
    );
    setTimeout(() => {
      context.log.warn(
        `Still stopping ${CANCEL_EXIT_MS / 1000} s after the cancel (${describe(runningActivities()) || 'a call in flight'}): exiting now.`,
      );
      report(signal);
      process.exit(1);
    }, CANCEL_EXIT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function describe(activities: string[]): string {
  return activities.join('; ');
}

/** Runs a task's body and reports its result to the agent the way the agent expects. */
export async function runTask(taskName: string, body: (context: TaskContext) => Promise<TaskOutcome>): Promise<void> {
  const context = createTaskContext(taskName);
  handleCancelSignals(context);
  try {
    const outcome = (await body(context)) ?? 'Succeeded';
    issueCommand('task.complete', { result: outcome }, outcome === 'Succeeded' ? 'Done.' : 'Done, with warnings.');
    process.exitCode = 0;
  } catch (error) {
    if (error instanceof CanceledError || isCanceled()) {
      // The documented results of task.complete are Succeeded, SucceededWithIssues and Failed; the agent shows
      // the step as canceled either way, since it sent the signal.
      const reason: unknown = cancellationSignal().reason;
      const canceled = error instanceof CanceledError ? error : reason instanceof CanceledError ? reason : undefined;
      const message = `Canceled (${canceled?.signal ?? 'cancel'}): ${context.log.mask(canceled?.message ?? messageOf(error))}.`;
      context.log.error(message);
      issueCommand('task.complete', { result: 'Failed' }, message);
      process.exitCode = 1;
      return;
    }
    const message = context.log.mask(messageOf(error));
    if (!(error instanceof InputError)) context.log.debug(context.log.mask(String((error as Error)?.stack ?? error)));
    context.log.error(message);
    issueCommand('task.complete', { result: 'Failed' }, message);
    process.exitCode = 1;
  }
}
