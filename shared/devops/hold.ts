import type { BuildDefinition } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { messageOf } from '../core/errors';
import type { Log } from '../core/log';
import { devOpsShape, type DevOpsClient } from './client';
import { addMark, dropMarks, heldMark, heldTag, queueStatusName, readDefinition, type HoldMode, type QueueStatusName } from './held-marks';
import type { DefinitionOutcome, HeldDefinition, QueueStatusRecordData } from './held-record';
import type { SelectedDefinition } from './pipeline-selection';
import { setQueueStatus } from './queue-status';

/** The hold itself: every definition read and recorded first, then each marked and its status changed. */

export interface HoldOptions {
  client: DevOpsClient;
  definitions: SelectedDefinition[];
  mode: HoldMode;
  log: Log;
  windowId: string;
  /** Writes (or rewrites) the undo record; called before every change. */
  publishRecord: (data: QueueStatusRecordData) => void;
  /** Definitions an earlier, unreleased hold of this window already changed: keep their true previous status. */
  earlier?: HeldDefinition[];
}

/** What the hold does with one definition: record it (`held`), change it (`change`), report it (`outcome`). */
interface HoldPlan {
  held?: HeldDefinition;
  change?: BuildDefinition;
  outcome?: DefinitionOutcome;
}

/** Judges one selected definition from what was read, before anything is changed. */
function planHold(
  selected: SelectedDefinition,
  definition: BuildDefinition | null,
  mode: HoldMode,
  windowId: string,
  earlier: Map<number, HeldDefinition>,
): HoldPlan {
  if (!definition) {
    return {
      outcome: { ...selected, before: selected.queueStatus, now: selected.queueStatus, action: 'deleted', note: 'deleted before the hold' },
    };
  }
  const status = queueStatusName(definition.queueStatus);
  const mark = status === mode ? heldMark(definition.tags, windowId) : undefined;
  // The definition's own mark is the truth about its status before the window; an earlier record comes next.
  const previousHold = mark
    ? { id: selected.id, name: selected.name, path: selected.path, previous: mark.previous, revisionBefore: 0 }
    : earlier.get(selected.id);
  if (previousHold && status === mode && previousHold.previous !== mode) {
    // An earlier, unreleased hold of this window changed it; its true previous status is in that record.
    return {
      held: { ...previousHold, revisionBefore: definition.revision ?? 0 },
      outcome: { ...selected, before: previousHold.previous, now: status, action: 'held', note: 'held by an earlier run of this window' },
    };
  }
  if (status === 'disabled' || status === mode) {
    return {
      outcome: {
        ...selected,
        before: status,
        now: status,
        action: status === 'disabled' ? 'left alone' : `already ${status}`,
        note: `was ${status} before the window; release leaves it ${status}`,
      },
    };
  }
  const held = { id: selected.id, name: selected.name, path: selected.path, previous: status, revisionBefore: definition.revision ?? 0 };
  return { held, change: definition };
}

function heldOutcome(held: HeldDefinition, now: QueueStatusName, mode: HoldMode): DefinitionOutcome {
  const action = now === mode ? 'held' : now === 'disabled' ? 'left alone' : `already ${now}`;
  return { id: held.id, name: held.name, path: held.path, before: held.previous, now, action };
}

function failedHoldOutcome(held: HeldDefinition, error: unknown): DefinitionOutcome {
  const { id, name, path, previous } = held;
  return { id, name, path, before: previous, now: previous, action: 'failed', note: messageOf(error), failed: true };
}

/** Holds every selected definition; returns what happened to each. Throws only before the first change. */
export async function holdDefinitions(options: HoldOptions): Promise<{ data: QueueStatusRecordData; outcomes: DefinitionOutcome[] }> {
  const { client, mode, log } = options;
  const build = await client.build();
  const earlier = new Map((options.earlier ?? []).map((held) => [held.id, held]));
  const data: QueueStatusRecordData = { collectionUrl: client.connection.collectionUrl, project: client.project, mode, definitions: [] };
  const outcomes: DefinitionOutcome[] = [];
  const current = new Map<number, BuildDefinition>();

  // Read everything first, so the record is complete before the first change.
  for (const selected of options.definitions) {
    const definition = await client.call(`read pipeline ${selected.name}`, () => build.getDefinition(client.project, selected.id), {
      expect: devOpsShape.resourceOrMissing,
    });
    const plan = planHold(selected, definition, mode, options.windowId, earlier);
    if (plan.held) data.definitions.push(plan.held);
    if (plan.outcome) outcomes.push(plan.outcome);
    if (plan.change) current.set(selected.id, plan.change);
  }
  options.publishRecord(data);

  for (const held of data.definitions.filter((entry) => current.has(entry.id))) {
    try {
      const now = await holdOne(options, data, held, current.get(held.id)!);
      outcomes.push(heldOutcome(held, now, mode));
      log.info(`${held.path === '\\' ? '' : held.path + '\\'}${held.name}: ${held.previous} -> ${now}.`);
    } catch (error) {
      outcomes.push(failedHoldOutcome(held, error));
      log.error(`Could not hold ${held.name}: ${messageOf(error)}`);
    }
  }
  return { data, outcomes };
}

/**
 * Holds one definition, record first: its mark (status before) is added and read back on the definition, the
 * way release reads it, before the status PUT; a mark that does not show stops it with the status unchanged.
 * Returns the status it ends with.
 */
async function holdOne(
  options: HoldOptions,
  data: QueueStatusRecordData,
  held: HeldDefinition,
  definition: BuildDefinition,
): Promise<QueueStatusName> {
  const { client, mode, windowId } = options;
  await addMark(client, held, definition.tags, windowId, mode);
  const marked = await readDefinition(client, held);
  if (!marked) throw new Error('the definition was deleted meanwhile');
  if (heldMark(marked.tags, windowId)?.previous !== held.previous) {
    throw new Error(
      `the window's mark ${heldTag(windowId, held.previous, mode)} does not show on the definition read back, so a release could ` +
        `not trust it; its status was not changed`,
    );
  }
  const now = await setQueueStatus(client, held, marked, mode, {
    log: options.log,
    expected: held.previous,
    // A concurrent edit changed the status itself: the new status before goes into the record and the mark
    // before the change (the old mark first goes, so no moment has a mark and a record that disagree).
    onStatusChanged: async (status, latest) => {
      if (status === 'disabled' || status === mode) return false;
      await dropMarks(client, held, latest.tags, windowId);
      held.previous = status;
      options.publishRecord(data);
      await addMark(client, held, [], windowId, mode);
      return true;
    },
  });
  // Not held after all (someone disabled it meanwhile): the window's mark must not claim it.
  if (now !== mode) await dropMarks(client, held, [heldTag(windowId, held.previous, mode)], windowId);
  return now;
}
