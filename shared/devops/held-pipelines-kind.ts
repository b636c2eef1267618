import type { BuildDefinition } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { UndoItem, UndoKind } from '../core/undo';
import { devOpsShape, type DevOpsClient } from './client';
import { dropMarks, heldMark, queueStatusName, readDefinition, type HoldMode, type QueueStatusName } from './held-marks';
import {
  QUEUE_STATUS_RECORD_KIND,
  validateQueueStatusRecord,
  type DefinitionOutcome,
  type HeldDefinition,
  type QueueStatusRecordData,
} from './held-record';
import type { SelectedDefinition } from './pipeline-selection';
import { setQueueStatus } from './queue-status';

/** Release: the held-pipelines kind of the undo protocol, which sets each held definition back. */

export interface HeldItem {
  held: HeldDefinition;
  mode: HoldMode;
  definition?: BuildDefinition;
  outcome?: DefinitionOutcome;
}

interface HeldKindOptions {
  client: DevOpsClient;
  log: Log;
  selection?: () => Promise<SelectedDefinition[]>;
}

const label = (held: { name: string; path: string }) => `${held.path === '\\' || !held.path ? '' : held.path + '\\'}${held.name}`;

/**
 * What release does with one definition, from what was read: `claimed` when the undo record lists it (its
 * previous status must then agree with the window's mark).
 */
function judgeHeld(
  windowId: string,
  held: HeldDefinition,
  mode: HoldMode,
  definition: BuildDefinition | null | undefined,
  claimed: boolean,
): UndoItem<HeldItem> {
  const name = label(held);
  if (!definition) return { name, verdict: 'left', reason: 'deleted since the hold', item: { held, mode } };
  const status = queueStatusName(definition.queueStatus);
  const mark = heldMark(definition.tags, windowId);
  const item = (previous: QueueStatusName): HeldItem => ({ held: { ...held, previous }, mode, definition });
  const changedSince = (previous: QueueStatusName): UndoItem<HeldItem> => ({
    name,
    verdict: 'left',
    reason: `${name} is ${status}, not ${mode} as the hold left it: someone changed it since`,
    item: item(previous),
  });
  if (mark && claimed && mark.previous !== held.previous) {
    return {
      name,
      verdict: 'refuse',
      reason: `the undo record says it was ${held.previous}, but the window's mark on it says ${mark.previous}`,
      item: item(held.previous),
    };
  }
  // The status is already the mark's (a crash before the hold's PUT, or after the release's): only the mark goes.
  if (mark && status === mark.previous)
    return { name, verdict: 'restore', reason: `already ${status}; the window's mark is left to remove`, item: item(mark.previous) };
  if (mark && status === mode) return { name, verdict: 'restore', reason: `${mode} -> ${mark.previous}`, item: item(mark.previous) };
  if (mark) return changedSince(mark.previous);
  if (status === held.previous) return { name, verdict: 'back', item: item(held.previous) };
  if (status === mode)
    return {
      name,
      verdict: 'refuse',
      reason: `it is ${status} but carries no mark of window ${windowId}: this window did not hold it (or it was ${status} before)`,
      item: item(held.previous),
    };
  return changedSince(held.previous);
}

async function readHeld(client: DevOpsClient, held: { id: number; name: string }): Promise<BuildDefinition | null> {
  const build = await client.build();
  return client.call(`read pipeline ${held.name}`, () => build.getDefinition(client.project, held.id), {
    expect: devOpsShape.resourceOrMissing,
  });
}

/** With no record: the definitions the selection names that carry this window's mark. */
async function assessByMarks(
  client: DevOpsClient,
  selection: () => Promise<SelectedDefinition[]>,
  windowId: string,
): Promise<Array<UndoItem<HeldItem>>> {
  const items: Array<UndoItem<HeldItem>> = [];
  for (const selected of await selection()) {
    const definition = await readHeld(client, selected);
    const mark = heldMark(definition?.tags, windowId);
    if (!definition || !mark) continue;
    const status = queueStatusName(definition.queueStatus);
    // The mark says what the hold set; an old mark without it falls back to what the status suggests.
    const mode: HoldMode = mark.mode ?? (status === 'disabled' ? 'disabled' : 'paused');
    const held = { id: selected.id, name: selected.name, path: selected.path, previous: mark.previous, revisionBefore: 0 };
    items.push(judgeHeld(windowId, held, mode, definition, false));
  }
  return items;
}

async function assessHeld(
  options: HeldKindOptions,
  data: QueueStatusRecordData | undefined,
  windowId: string,
): Promise<Array<UndoItem<HeldItem>>> {
  const { client, log } = options;
  // Connects first, so a service out of reach is reported even when there is nothing to read.
  await client.build();
  if (data) {
    const items: Array<UndoItem<HeldItem>> = [];
    for (const held of data.definitions) items.push(judgeHeld(windowId, held, data.mode, await readHeld(client, held), true));
    return items;
  }
  if (!options.selection) {
    log.warn("No undo record, and no plan file or pipelines to look for the window's marks on: nothing to release.");
    return [];
  }
  return assessByMarks(client, options.selection, windowId);
}

async function restoreHeld(options: HeldKindOptions, items: Array<UndoItem<HeldItem>>, windowId: string): Promise<void> {
  const { client, log } = options;
  for (const entry of items) {
    const { held, mode, definition } = entry.item;
    const base = { id: held.id, name: held.name, path: held.path, before: held.previous };
    try {
      const wasBack = queueStatusName(definition!.queueStatus) === held.previous;
      const now = await releaseOne(client, log, held, definition!, windowId);
      const note = wasBack ? "its status was already back; the window's mark was removed" : undefined;
      entry.item.outcome = {
        ...base,
        now,
        action: now === held.previous ? 'released' : 'changed since the hold',
        ...(note ? { note } : {}),
      };
      log.info(wasBack ? `${entry.name}: already ${now}; removed the window's mark.` : `${entry.name}: ${mode} -> ${now}.`);
    } catch (error) {
      entry.item.outcome = { ...base, now: mode, action: 'failed', note: messageOf(error), failed: true };
      log.error(`Could not release ${held.name}: ${messageOf(error)}`);
    }
  }
}

async function readBackHeld(client: DevOpsClient, items: Array<UndoItem<HeldItem>>, windowId: string): Promise<string[]> {
  await client.build();
  const notBack: string[] = [];
  for (const { name, item, verdict } of items) {
    if (verdict === 'back' && item.outcome === undefined) continue;
    const definition = await readHeld(client, item.held);
    if (definition && (queueStatusName(definition.queueStatus) !== item.held.previous || heldMark(definition.tags, windowId)))
      notBack.push(name);
  }
  return notBack;
}

/**
 * The held-pipelines kind of the undo protocol: a definition is set back only when it carries this window's
 * mark and still has the status the hold gave it; the status it goes back to is the mark's (a record that
 * says otherwise is refused). Without a record, the definitions `selection` names are read for marks.
 */
export function heldPipelinesKind(options: HeldKindOptions): UndoKind<QueueStatusRecordData, HeldItem> {
  let windowId = '';
  return {
    kind: QUEUE_STATUS_RECORD_KIND,
    validate: validateQueueStatusRecord,
    targetOf: (data) => ({ collection: data.collectionUrl, project: data.project }),
    assess(data, id) {
      windowId = id;
      return assessHeld(options, data, windowId);
    },
    restore: (items) => restoreHeld(options, items, windowId),
    readBack: (items) => readBackHeld(options.client, items, windowId),
  };
}

/**
 * Puts one definition's status back, then reads it back and only then removes the window's mark (a crash in
 * between leaves a mark on a definition already back, which the next release removes). Returns the status.
 */
async function releaseOne(
  client: DevOpsClient,
  log: Log,
  held: HeldDefinition,
  definition: BuildDefinition,
  windowId: string,
): Promise<QueueStatusName> {
  // Someone changed the status since the hold (to neither the hold's nor the status before): left as they chose.
  const now = await setQueueStatus(client, held, definition, held.previous, {
    log,
    expected: queueStatusName(definition.queueStatus),
    onStatusChanged: () => Promise.resolve(false),
  });
  if (now !== held.previous) return now;
  const after = await readDefinition(client, held);
  if (after && queueStatusName(after.queueStatus) === held.previous) await dropMarks(client, held, after.tags, windowId);
  return after ? queueStatusName(after.queueStatus) : now;
}

/** What each definition's release came to, for outputs and the summary. */
export function releaseOutcomes(items: Array<UndoItem<HeldItem>>): DefinitionOutcome[] {
  return items.map(({ item, verdict, reason }) => {
    const { held, mode, definition } = item;
    const base = { id: held.id, name: held.name, path: held.path, before: held.previous };
    const now = definition ? queueStatusName(definition.queueStatus) : held.previous;
    if (item.outcome) return item.outcome;
    if (verdict === 'back') return { ...base, now, action: 'already as before' };
    if (verdict === 'refuse') return { ...base, now, action: 'refused', note: reason, failed: true };
    if (!definition) return { ...base, now, action: 'deleted', note: 'deleted since the hold; nothing to restore' };
    return {
      ...base,
      now,
      action: 'changed since the hold',
      note: `someone set it to ${now} after the hold (${mode}); left as they chose`,
    };
  });
}
