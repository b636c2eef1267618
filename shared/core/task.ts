import * as fs from 'node:fs';
import * as path from 'node:path';
import { issueCommand } from './commands';
import { InputError, messageOf } from './errors';
import { pipelineVariable, TaskInputs } from './inputs';
import { Log } from './log';
import { RecordStore, type UndoRecord } from './records';
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
  /** A pipeline variable such as `System.TeamProject`. */
  variable(name: string): string | undefined;
  setOutput(name: string, value: string, options?: { secret?: boolean }): void;
  /** Writes an undo record before a change: file in the records folder, plus the `undoRecord` output. */
  publishUndoRecord(record: UndoRecord, outputName?: string): string;
  /** Attaches markdown to the run's summary tab. */
  attachSummary(title: string, summary: MarkdownSummary | string): string;
  /** A folder for files the step leaves for the pipeline artifact (sheets, reports). */
  outputDirectory(): string;
}

export type TaskOutcome = 'Succeeded' | 'SucceededWithIssues' | void;

function workBase(): string {
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
    outputDirectory() {
      const dir = path.join(base, 'files');
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    },
  };
  return context;
}

/** Runs a task's body and reports its result to the agent the way the agent expects. */
export async function runTask(taskName: string, body: (context: TaskContext) => Promise<TaskOutcome>): Promise<void> {
  const context = createTaskContext(taskName);
  try {
    const outcome = (await body(context)) ?? 'Succeeded';
    issueCommand('task.complete', { result: outcome }, outcome === 'Succeeded' ? 'Done.' : 'Done, with warnings.');
    process.exitCode = 0;
  } catch (error) {
    const message = context.log.mask(messageOf(error));
    if (!(error instanceof InputError)) context.log.debug(context.log.mask(String((error as Error)?.stack ?? error)));
    context.log.error(message);
    issueCommand('task.complete', { result: 'Failed' }, message);
    process.exitCode = 1;
  }
}
