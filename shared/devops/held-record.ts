import { textOf } from '../core/text';
import { STATUS_NAMES, type HoldMode, type QueueStatusName } from './held-marks';

/** The held-pipelines undo record: what hold changed and what each definition came to. */

export const QUEUE_STATUS_RECORD_KIND = 'devops-queue-status';

export interface HeldDefinition {
  id: number;
  name: string;
  path: string;
  /** The status before the hold, restored by release. */
  previous: QueueStatusName;
  /** The revision the hold read before changing it. */
  revisionBefore: number;
}

export interface QueueStatusRecordData {
  collectionUrl: string;
  project: string;
  mode: HoldMode;
  definitions: HeldDefinition[];
}

export interface DefinitionOutcome {
  id: number;
  name: string;
  path: string;
  before: QueueStatusName;
  now: QueueStatusName;
  /** `held`, `already paused`, `left alone`, `released`, `already as before`, `changed since the hold`, `deleted`, `failed` */
  action: string;
  note?: string;
  failed?: boolean;
}

/** Checks the `data` of a queue-status undo record (for parseUndoRecord). */
export function validateQueueStatusRecord(data: unknown): QueueStatusRecordData {
  const value = data as QueueStatusRecordData;
  if (!value || typeof value !== 'object') throw new Error('data is missing');
  if (typeof value.project !== 'string' || typeof value.collectionUrl !== 'string')
    throw new Error('project and collectionUrl are required');
  if (value.mode !== 'paused' && value.mode !== 'disabled') throw new Error(`mode '${textOf(value.mode)}' is neither paused nor disabled`);
  if (!Array.isArray(value.definitions)) throw new Error('definitions must be a list');
  for (const held of value.definitions) {
    if (typeof held?.id !== 'number' || typeof held.name !== 'string' || !STATUS_NAMES.includes(held.previous)) {
      throw new Error(`definition entry ${JSON.stringify(held)} needs id, name and previous (enabled, paused or disabled)`);
    }
  }
  return value;
}
