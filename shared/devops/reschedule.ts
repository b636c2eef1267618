import { InputError } from '../core/errors';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import type { DevOpsClient } from './client';
import {
  holdDefinitions,
  QUEUE_STATUS_RECORD_KIND,
  releaseDefinitions,
  selectDefinitions,
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
    .filter(({ record, receipt }) => record.kind === QUEUE_STATUS_RECORD_KIND && !receipt && (record.data as QueueStatusRecordData)?.project === project)
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
}): Promise<RescheduleResult> {
  const { client, log } = options;
  log.section(`Holding scheduled pipelines (${options.mode}) in ${client.connection.collectionUrl}${client.project}`);
  const definitions = await selectDefinitions(client, options.selections, log, options.selectionInput);
  log.info(`${definitions.length} pipeline(s) selected.`);
  const earlier = unreleasedHolds(options.records, client.project).flatMap((record) => record.data.definitions);
  const record: UndoRecord<QueueStatusRecordData> = newUndoRecord({
    kind: QUEUE_STATUS_RECORD_KIND,
    windowId: options.windowId,
    description: '',
    data: { collectionUrl: client.connection.collectionUrl, project: client.project, mode: options.mode, definitions: [] },
  });
  const { outcomes } = await holdDefinitions({
    client,
    definitions,
    mode: options.mode,
    log,
    earlier,
    publishRecord: (data) => {
      record.data = data;
      record.description = `Queue status of ${data.definitions.length} pipeline(s) in ${data.project} set to ${data.mode}; release sets each back to what it was.`;
      options.publishUndoRecord(record);
    },
  });
  const failed = count(outcomes, 'failed');
  return {
    record,
    outcomes,
    failed,
    headline: `${count(outcomes, 'held')} pipeline(s) held (${options.mode}), ${outcomes.length - count(outcomes, 'held', 'failed')} left as they were, ${failed} failed.`,
  };
}

export async function releasePipelines(options: { client: DevOpsClient; record: UndoRecord<QueueStatusRecordData>; log: Log; records: RecordStore; recordInput: string }): Promise<RescheduleResult> {
  const { client, record, log } = options;
  if (record.data.project.toLowerCase() !== client.project.toLowerCase() || record.data.collectionUrl.toLowerCase() !== client.connection.collectionUrl.toLowerCase()) {
    throw new InputError(
      options.recordInput,
      `the record is for ${record.data.collectionUrl}${record.data.project}, but this step is connected to ${client.connection.collectionUrl}${client.project}.`,
    );
  }
  log.section(`Releasing ${record.data.definitions.length} pipeline(s) held by ${record.id}`);
  const outcomes = await releaseDefinitions({ client, record, log });
  const failed = count(outcomes, 'failed');
  if (failed === 0) {
    const file = options.records.writeReceipt(record, `Queue status of ${record.data.definitions.length} pipeline(s) restored (or found already restored).`);
    log.info(`Receipt written to ${file}.`);
  }
  return {
    record,
    outcomes,
    failed,
    headline: `${count(outcomes, 'released')} pipeline(s) released, ${count(outcomes, 'already as before', 'deleted')} already as before, ${count(outcomes, 'changed since the hold')} changed by someone since (left alone), ${failed} failed.`,
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
}): Promise<RescheduleResult> {
  const record: UndoRecord<SchedulerRecordData> = newUndoRecord({
    kind: SCHEDULER_RECORD_KIND,
    windowId: options.windowId,
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

export async function releaseOutsideScheduler(options: {
  endpoint?: Endpoint;
  release: SchedulerCall;
  record?: UndoRecord<SchedulerRecordData>;
  schedulerName: string;
  log: Log;
  records: RecordStore;
}): Promise<RescheduleResult> {
  options.log.section(`Releasing the jobs of ${options.schedulerName}`);
  await callScheduler({ endpoint: options.endpoint, call: options.release, log: options.log, what: `Release ${options.schedulerName}` });
  if (options.record) options.records.writeReceipt(options.record, `${options.schedulerName}: release call answered.`);
  return { record: options.record, outcomes: [], failed: 0, headline: `${options.schedulerName}: jobs released.` };
}

export function validateSchedulerRecord(data: unknown): SchedulerRecordData {
  const value = data as SchedulerRecordData;
  if (!value || typeof value !== 'object' || typeof value.releaseUrl !== 'string') throw new Error('releaseUrl is missing');
  return value;
}
