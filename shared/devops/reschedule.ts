import type { Endpoint } from '../core/inputs';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import type { DevOpsClient } from './client';
import { describeOutcome, mergeOutcomes, requireBack, restoreRecordOrMarks, runUndo, type UndoKind } from '../core/undo';
import {
  heldPipelinesKind,
  holdDefinitions,
  releaseOutcomes,
  QUEUE_STATUS_RECORD_KIND,
  selectDefinitions,
  type SelectedDefinition,
  type DefinitionOutcome,
  type HoldMode,
  type PipelineSelection,
  type QueueStatusRecordData,
} from './definitions';
import { callScheduler, SCHEDULER_RECORD_KIND, type SchedulerCall, type SchedulerRecordData } from './scheduler';

/**
 * The Pre-Maintenance reschedule and its partner in Post-Maintenance: hold the window's scheduled jobs, then
 * release them, for Azure DevOps pipelines (queue status) or for an outside scheduler (one HTTP call each way).
 */

export interface RescheduleResult {
  record?: UndoRecord;
  outcomes: DefinitionOutcome[];
  failed: number;
  /** One line for logs and the task's closing message. */
  headline: string;
}

function count(outcomes: DefinitionOutcome[], ...actions: string[]): number {
  return outcomes.filter((outcome) => actions.includes(outcome.action)).length;
}

/** Holds of this project that no release has undone yet, newest first. */
export function unreleasedHolds(records: RecordStore, project: string): Array<UndoRecord<QueueStatusRecordData>> {
  return records
    .list()
    .filter(
      ({ record, receipt }) =>
        record.kind === QUEUE_STATUS_RECORD_KIND && !receipt && (record.data as QueueStatusRecordData)?.project === project,
    )
    .map(({ record }) => record as UndoRecord<QueueStatusRecordData>)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function holdPipelines(options: {
  client: DevOpsClient;
  selections: PipelineSelection[];
  mode: HoldMode;
  windowId: string;
  log: Log;
  records: RecordStore;
  publishUndoRecord: (record: UndoRecord) => void;
  selectionInput: string;
  /** The window's clock: the record's time. */
  clock: WindowClock;
}): Promise<RescheduleResult> {
  const { client, log } = options;
  log.section(`Holding scheduled pipelines (${options.mode}) in ${client.connection.collectionUrl}${client.project}`);
  const definitions = await selectDefinitions(client, options.selections, log, options.selectionInput);
  log.info(`${definitions.length} pipeline(s) selected.`);
  const earlier = unreleasedHolds(options.records, client.project).flatMap((record) => record.data.definitions);
  const record: UndoRecord<QueueStatusRecordData> = newUndoRecord({
    kind: QUEUE_STATUS_RECORD_KIND,
    windowId: options.windowId,
    now: options.clock.now(),
    description: '',
    data: { collectionUrl: client.connection.collectionUrl, project: client.project, mode: options.mode, definitions: [] },
  });
  const { outcomes } = await holdDefinitions({
    client,
    definitions,
    mode: options.mode,
    log,
    windowId: options.windowId,
    earlier,
    publishRecord: (data) => {
      record.data = data;
      record.description =
        `Queue status of ${data.definitions.length} pipeline(s) in ${data.project} set to ${data.mode}; release ` +
        `sets each back to what it was.`;
      options.publishUndoRecord(record);
    },
  });
  const failed = count(outcomes, 'failed');
  return {
    record,
    outcomes,
    failed,
    headline:
      `${count(outcomes, 'held')} pipeline(s) held (${options.mode}), ${outcomes.length - count(outcomes, 'held', 'failed')} left as ` +
      `they were, ${failed} failed.`,
  };
}

export async function releasePipelines(options: {
  client: DevOpsClient;
  record?: UndoRecord<QueueStatusRecordData>;
  windowId: string;
  log: Log;
  records: RecordStore;
  recordInput: string;
  /** The pipelines to look for the window's marks on when no record is given (the hold's selection). */
  selection?: () => Promise<SelectedDefinition[]>;
  /** The window's clock: the receipt's time. */
  clock: WindowClock;
}): Promise<RescheduleResult> {
  const { client, record, log } = options;
  log.section(
    record
      ? `Releasing ${record.data.definitions.length} pipeline(s) held by ${record.id}`
      : `Releasing what window ${options.windowId} held (records folder, then the pipelines' marks)`,
  );
  const outcome = mergeOutcomes(
    await restoreRecordOrMarks({
      kind: heldPipelinesKind({ client, log, selection: options.selection }),
      record,
      store: options.records,
      windowId: options.windowId,
      target: { collection: client.connection.collectionUrl, project: client.project },
      inputName: options.recordInput,
      log,
      now: () => options.clock.now(),
      describe: (o) => `Queue status of the held pipelines restored (${describeOutcome(o)}).`,
    }),
  );
  const seen = new Set<number>();
  const outcomes = releaseOutcomes(outcome.items).filter((o) => (seen.has(o.id) ? false : (seen.add(o.id), true)));
  const failed = count(outcomes, 'failed', 'refused') + outcome.notBack.length;
  return {
    record,
    outcomes,
    failed,
    headline:
      `${count(outcomes, 'released')} pipeline(s) released, ${count(outcomes, 'already as before', 'deleted')} already as before, ` +
      `${count(outcomes, 'changed since the hold')} changed by someone since (left alone), ${count(outcomes, 'refused')} refused, ` +
      `${failed} failed or not back.`,
  };
}

export async function holdOutsideScheduler(options: {
  endpoint?: Endpoint;
  hold: SchedulerCall;
  release: SchedulerCall;
  schedulerName: string;
  windowId: string;
  log: Log;
  publishUndoRecord: (record: UndoRecord) => void;
  /** The window's clock: the record's time. */
  clock: WindowClock;
}): Promise<RescheduleResult> {
  const record: UndoRecord<SchedulerRecordData> = newUndoRecord({
    kind: SCHEDULER_RECORD_KIND,
    windowId: options.windowId,
    now: options.clock.now(),
    description: `Jobs of ${options.schedulerName} held; release calls ${options.release.method} ${options.release.url}.`,
    data: {
      scheduler: options.schedulerName,
      holdUrl: options.hold.url,
      releaseMethod: options.release.method,
      releaseUrl: options.release.url,
      releaseBody: options.release.body,
    },
  });
  options.log.section(`Holding the jobs of ${options.schedulerName}`);
  options.publishUndoRecord(record);
  await callScheduler({ endpoint: options.endpoint, call: options.hold, log: options.log, what: `Hold ${options.schedulerName}` });
  return { record, outcomes: [], failed: 0, headline: `${options.schedulerName}: jobs held.` };
}

/**
 * The outside scheduler's kind of the undo protocol. Its state cannot be read, so the only checks are the
 * record's window and that every URL in it is on the connection's host (the connection's credentials go
 * nowhere else); the release call must be idempotent on the scheduler's side, and its 2xx answer is the
 * only read-back there is.
 */
export function schedulerKind(options: {
  endpoint?: Endpoint;
  release?: SchedulerCall;
  schedulerName: string;
  log: Log;
}): UndoKind<SchedulerRecordData, SchedulerCall> {
  return {
    kind: SCHEDULER_RECORD_KIND,
    validate: validateSchedulerRecord,
    targetOf: () => ({}),
    urlsOf: (data) => [data.holdUrl, data.releaseUrl].filter(Boolean),
    // The scheduler has no readable state, so nothing is awaited: the verdict follows from the record alone.
    assess(data) {
      const call =
        options.release ?? (data ? { method: data.releaseMethod, url: data.releaseUrl, body: data.releaseBody, headers: {} } : undefined);
      if (!call) {
        options.log.warn(`No undo record and no releaseUrl: nothing tells how to release ${options.schedulerName}.`);
        return Promise.resolve([]);
      }
      return Promise.resolve([
        {
          name: `${options.schedulerName}: ${call.method} ${call.url}`,
          verdict: 'restore',
          reason: 'the scheduler cannot be read; its release call is idempotent',
          item: call,
        },
      ]);
    },
    async restore(items) {
      for (const { item } of items)
        await callScheduler({ endpoint: options.endpoint, call: item, log: options.log, what: `Release ${options.schedulerName}` });
    },
    readBack: () => Promise.resolve([]),
  };
}

export async function releaseOutsideScheduler(options: {
  endpoint?: Endpoint;
  release?: SchedulerCall;
  record?: UndoRecord<SchedulerRecordData>;
  schedulerName: string;
  windowId: string;
  log: Log;
  records: RecordStore;
  /** The window's clock: the receipt's time. */
  clock: WindowClock;
}): Promise<RescheduleResult> {
  options.log.section(`Releasing the jobs of ${options.schedulerName}`);
  const outcome = await runUndo({
    kind: schedulerKind(options),
    record: options.record,
    windowId: options.windowId,
    target: {},
    connectionUrl: options.endpoint?.url,
    log: options.log,
    now: () => options.clock.now(),
    receipts: options.records,
    describe: () => `${options.schedulerName}: release call answered.`,
  });
  requireBack(outcome, `${options.schedulerName} is not released`);
  return {
    record: options.record,
    outcomes: [],
    failed: 0,
    headline: outcome.restored.length ? `${options.schedulerName}: jobs released.` : `${options.schedulerName}: nothing to release.`,
  };
}

export function validateSchedulerRecord(data: unknown): SchedulerRecordData {
  const value = data as SchedulerRecordData;
  if (!value || typeof value !== 'object' || typeof value.releaseUrl !== 'string') throw new Error('releaseUrl is missing');
  return value;
}
