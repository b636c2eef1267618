import type { BuildDefinition, BuildDefinitionReference } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { InputError, messageOf } from '../core/errors';
import type { Log } from '../core/log';
import { textOf } from '../core/text';
import { retry, STANDING_CLOCK } from '../core/retry';
import type { UndoItem, UndoKind } from '../core/undo';
import { devOpsShape, type DevOpsClient } from './client';

/**
 * Holding scheduled jobs for the window (the runbook's "Reschedule Jobs", stage Pre-Maintenance) and starting
 * them again after it: each selected pipeline definition's queue status goes to paused (queued runs wait) or
 * disabled (nothing is queued), and back to exactly what it was.
 *
 * A definition update is a PUT of the whole definition carrying the revision it was read at, so a concurrent
 * edit in the web UI is never overwritten: a stale revision is refused (409, or 404 on some servers) and the
 * definition is read again. The undo record lists every definition hold is about to change with its previous
 * status, and is written before the first update; release restores only what hold changed and is still in the
 * state hold left it, so it can run twice, after a crash half-way, or from a later run.
 *
 * Each held definition also carries the window's mark, a definition tag. The service ignores `tags` sent in a
 * definition PUT or POST (MicrosoftDocs/vsts-rest-api-specs issue #429): only the definition Tags API
 * (`_apis/build/definitions/{id}/tags/{tag}`, PUT to add, DELETE to remove) changes them. So the mark is its
 * own write, made (and read back) before the status changes, and removed only once the status is back.
 */

export type QueueStatusName = 'enabled' | 'paused' | 'disabled';
export type HoldMode = 'paused' | 'disabled';

export const QUEUE_STATUS_RECORD_KIND = 'devops-queue-status';

const STATUS_NAMES: QueueStatusName[] = ['enabled', 'paused', 'disabled'];

export function queueStatusName(value: unknown): QueueStatusName {
  if (typeof value === 'number') return STATUS_NAMES[value] ?? 'enabled';
  const text = (typeof value === 'string' ? value : 'enabled').toLowerCase();
  return (STATUS_NAMES as string[]).includes(text) ? (text as QueueStatusName) : 'enabled';
}

function queueStatusValue(name: QueueStatusName): number {
  return STATUS_NAMES.indexOf(name);
}

/**
 * The mark a held definition carries, added through the Tags API before the PUT that holds it and removed
 * after the release's PUT reads back: `maintenance-window.held:<window>:<status before>`. A re-run of the hold
 * on a fresh agent reads the true status before from it, and a release with no record finds what the window
 * held. A mark on a definition whose status is already the mark's status before is one a crash left (after
 * the mark, before the hold's PUT; or after the release's PUT, before the mark went): release removes it.
 */
export const HELD_TAG_PREFIX = 'maintenance-window.held:';

export function heldTag(windowId: string, previous: QueueStatusName, mode: HoldMode): string {
  return `${HELD_TAG_PREFIX}${windowId}:${previous}:${mode}`;
}

/**
 * The window's mark on a definition: the status before and the status the hold gave it. The hold's status is
 * in the mark so that a release with no record can tell "held" from "disabled by an admin since" (a mark
 * written before the hold's status was there, `held:<window>:<before>`, has no mode: it is read as before).
 */
export function heldMark(tags: string[] | undefined, windowId: string): { previous: QueueStatusName; mode?: HoldMode } | undefined {
  const prefix = `${HELD_TAG_PREFIX}${windowId}:`.toLowerCase();
  const tag = (tags ?? []).find((candidate) => candidate.toLowerCase().startsWith(prefix));
  const [previous, mode] = (tag?.slice(prefix.length).toLowerCase() ?? '').split(':');
  if (!previous || !(STATUS_NAMES as string[]).includes(previous)) return undefined;
  const held = mode === 'paused' || mode === 'disabled' ? mode : undefined;
  return { previous: previous as QueueStatusName, ...(held ? { mode: held } : {}) };
}

/** This window's marks among a definition's tags (one, unless something went wrong). */
const marksOf = (tags: string[] | undefined, windowId: string) =>
  (tags ?? []).filter((tag) => tag.toLowerCase().startsWith(`${HELD_TAG_PREFIX}${windowId}:`.toLowerCase()));

const sameTag = (a: string) => (b: string) => a.toLowerCase() === b.toLowerCase();

type DefinitionName = Pick<HeldDefinition, 'id' | 'name'>;

/** Removes this window's marks from a definition (all but `keep`), each with the Tags API's DELETE. */
async function dropMarks(
  client: DevOpsClient,
  held: DefinitionName,
  tags: string[] | undefined,
  windowId: string,
  keep?: string,
): Promise<void> {
  const build = await client.build();
  for (const tag of marksOf(tags, windowId).filter((mark) => !keep || !sameTag(keep)(mark))) {
    await client.call(
      `remove the window's mark from pipeline ${held.name}`,
      () => build.deleteDefinitionTag(client.project, held.id, tag),
      { expect: devOpsShape.tags },
    );
  }
}

/**
 * Marks a definition with its status before the hold (any other mark of this window goes first), with the
 * Tags API's PUT: the service ignores `tags` in a definition PUT. Throws when the answer lacks the mark.
 */
async function addMark(
  client: DevOpsClient,
  held: HeldDefinition,
  tags: string[] | undefined,
  windowId: string,
  mode: HoldMode,
): Promise<void> {
  const wanted = heldTag(windowId, held.previous, mode);
  await dropMarks(client, held, tags, windowId, wanted);
  if (marksOf(tags, windowId).some(sameTag(wanted))) return;
  const build = await client.build();
  const after = await client.call(
    `mark pipeline ${held.name} as held (${wanted})`,
    () => build.addDefinitionTag(client.project, held.id, wanted),
    { expect: devOpsShape.tags },
  );
  if (!after.some(sameTag(wanted)))
    throw new Error(`Azure DevOps did not keep the window's mark ${wanted} on it; its status was not changed`);
}

function readDefinition(client: DevOpsClient, held: DefinitionName): Promise<BuildDefinition | null> {
  return client.build().then((build) =>
    client.call(`read pipeline ${held.name}`, () => build.getDefinition(client.project, held.id), {
      expect: devOpsShape.resourceOrMissing,
    }),
  );
}

export interface PipelineSelection {
  /** Who owns these jobs (a label for the summary). */
  label?: string;
  /** `\Folder`: every definition in it and its subfolders. */
  folder?: string;
  /** Exact names. */
  names: string[];
  /** A name pattern with `*`. */
  pattern?: string;
  /** Names or `*` patterns left out. */
  exclude: string[];
}

export interface SelectedDefinition {
  id: number;
  name: string;
  path: string;
  queueStatus: QueueStatusName;
}

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

function normalizeFolder(folder: string): string {
  const trimmed = folder.replace(/\//g, '\\').replace(/\\+$/, '');
  return trimmed.startsWith('\\') ? trimmed || '\\' : `\\${trimmed}`;
}

function inFolder(path: string | undefined, folder: string): boolean {
  const wanted = normalizeFolder(folder).toLowerCase();
  const actual = normalizeFolder(path ?? '\\').toLowerCase();
  return wanted === '\\' || actual === wanted || actual.startsWith(`${wanted}\\`);
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
}

/**
 * Finds the definitions the selections name. Names that match nothing are errors (a typo must not leave a job
 * running through the window); a folder or pattern that matches nothing is only reported.
 */
export async function selectDefinitions(
  client: DevOpsClient,
  selections: PipelineSelection[],
  log: Log,
  inputName: string,
): Promise<SelectedDefinition[]> {
  const build = await client.build();
  const found = new Map<number, SelectedDefinition>();
  const missing: string[] = [];
  const list = (what: string, name?: string, path?: string) =>
    client.call(
      `list pipelines (${what})`,
      () => build.getDefinitions(client.project, name, undefined, undefined, undefined, undefined, undefined, undefined, undefined, path),
      { expect: devOpsShape.list },
    );
  for (const selection of selections) {
    const excluded = selection.exclude.map(wildcard);
    const keep = (definition: BuildDefinitionReference) => !excluded.some((pattern) => pattern.test(definition.name ?? ''));
    const add = (definitions: BuildDefinitionReference[]) => {
      for (const definition of definitions.filter(keep)) {
        found.set(definition.id!, {
          id: definition.id!,
          name: definition.name ?? `#${definition.id}`,
          path: definition.path ?? '\\',
          queueStatus: queueStatusName(definition.queueStatus),
        });
      }
    };
    if (selection.folder) {
      const definitions = (await list(`folder ${selection.folder}`, undefined, selection.folder)).filter((definition) =>
        inFolder(definition.path, selection.folder!),
      );
      if (definitions.length === 0)
        log.warn(`No pipelines in folder ${selection.folder}${selection.label ? ` (${selection.label})` : ''}.`);
      add(definitions);
    }
    for (const name of selection.names) {
      const definitions = (await list(`name ${name}`, name)).filter(
        (definition) => (definition.name ?? '').toLowerCase() === name.toLowerCase(),
      );
      if (definitions.length === 0) missing.push(name);
      add(definitions);
    }
    if (selection.pattern) {
      const definitions = (await list(`names like ${selection.pattern}`, selection.pattern)).filter((definition) =>
        wildcard(selection.pattern!).test(definition.name ?? ''),
      );
      if (definitions.length === 0) log.warn(`No pipelines named like ${selection.pattern}.`);
      add(definitions);
    }
  }
  if (missing.length) {
    throw new InputError(
      inputName,
      `no pipeline named ${missing.map((name) => `'${name}'`).join(', ')} in project ${client.project}; nothing was changed.`,
    );
  }
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path) || a.name.localeCompare(b.name));
}

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

const MAX_CONFLICT_RETRIES = 3;

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
    if (!definition) {
      outcomes.push({
        ...selected,
        before: selected.queueStatus,
        now: selected.queueStatus,
        action: 'deleted',
        note: 'deleted before the hold',
      });
      continue;
    }
    const status = queueStatusName(definition.queueStatus);
    const mark = status === mode ? heldMark(definition.tags, options.windowId) : undefined;
    // The definition's own mark is the truth about its status before the window; an earlier record comes next.
    const previousHold = mark
      ? { id: selected.id, name: selected.name, path: selected.path, previous: mark.previous, revisionBefore: 0 }
      : earlier.get(selected.id);
    if (previousHold && status === mode && previousHold.previous !== mode) {
      // An earlier, unreleased hold of this window changed it; its true previous status is in that record.
      data.definitions.push({ ...previousHold, revisionBefore: definition.revision ?? 0 });
      outcomes.push({
        ...selected,
        before: previousHold.previous,
        now: status,
        action: 'held',
        note: 'held by an earlier run of this window',
      });
      continue;
    }
    if (status === 'disabled' || status === mode) {
      outcomes.push({
        ...selected,
        before: status,
        now: status,
        action: status === 'disabled' ? 'left alone' : `already ${status}`,
        note: `was ${status} before the window; release leaves it ${status}`,
      });
      continue;
    }
    current.set(selected.id, definition);
    data.definitions.push({
      id: selected.id,
      name: selected.name,
      path: selected.path,
      previous: status,
      revisionBefore: definition.revision ?? 0,
    });
  }
  options.publishRecord(data);

  for (const held of data.definitions.filter((entry) => current.has(entry.id))) {
    try {
      const now = await holdOne(options, data, held, current.get(held.id)!);
      outcomes.push({
        id: held.id,
        name: held.name,
        path: held.path,
        before: held.previous,
        now,
        action: now === mode ? 'held' : now === 'disabled' ? 'left alone' : `already ${now}`,
      });
      log.info(`${held.path === '\\' ? '' : held.path + '\\'}${held.name}: ${held.previous} -> ${now}.`);
    } catch (error) {
      outcomes.push({
        id: held.id,
        name: held.name,
        path: held.path,
        before: held.previous,
        now: held.previous,
        action: 'failed',
        note: messageOf(error),
        failed: true,
      });
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

/**
 * PUTs the definition with a new queue status, re-reading on a stale revision; does nothing when it already
 * has it. `onStatusChanged` decides, when the status is not the `expected` one (someone changed it
 * meanwhile), whether to go on (true) or leave it (false).
 */
async function setQueueStatus(
  client: DevOpsClient,
  held: DefinitionName,
  definition: BuildDefinition,
  target: QueueStatusName,
  hooks: { log: Log; expected: QueueStatusName; onStatusChanged: (status: QueueStatusName, latest: BuildDefinition) => Promise<boolean> },
): Promise<QueueStatusName> {
  const build = await client.build();
  let latest = definition;
  let expected = hooks.expected;
  const attempt = async (attempt: number): Promise<QueueStatusName> => {
    if (attempt > 1) {
      const fresh = await readDefinition(client, held);
      if (!fresh) throw new Error('the definition was deleted meanwhile');
      hooks.log.info(
        `${held.name} was edited by someone else meanwhile (now revision ${fresh.revision}, ${queueStatusName(fresh.queueStatus)}); read it again.`,
      );
      latest = fresh;
    }
    const status = queueStatusName(latest.queueStatus);
    if (status === target) return status;
    if (status !== expected) {
      if (!(await hooks.onStatusChanged(status, latest))) return status;
      expected = status;
    }
    latest.queueStatus = queueStatusValue(target);
    let updated: BuildDefinition | null | undefined;
    try {
      updated = await client.call(`update pipeline ${held.name}`, () => build.updateDefinition(latest, client.project, held.id));
    } catch (error) {
      if ((error as { status?: number }).status !== 409) throw error;
    }
    // A stale revision is refused with 409, or with 404 on some versions (the client turns 404 into null).
    if (updated) return queueStatusName(updated.queueStatus);
    throw new RevisionConflict();
  };
  return retry(
    attempt,
    { maxRetries: MAX_CONFLICT_RETRIES, retryable: (failure) => failure instanceof RevisionConflict, backoff: { kind: 'none' } },
    {
      clock: STANDING_CLOCK,
      giveUp: (failure, reason, event) =>
        reason === 'out of attempts'
          ? new Error(`the definition kept changing under us (revision conflict ${event.attempt} times); try again`)
          : failure,
    },
  );
}

/** The definition's revision moved between our read and our write: read again and re-apply. */
class RevisionConflict extends Error {}

export interface HeldItem {
  held: HeldDefinition;
  mode: HoldMode;
  definition?: BuildDefinition;
  outcome?: DefinitionOutcome;
}

/**
 * The held-pipelines kind of the undo protocol: a definition is set back only when it carries this window's
 * mark and still has the status the hold gave it; the status it goes back to is the mark's (a record that
 * says otherwise is refused). Without a record, the definitions `selection` names are read for marks.
 */
export function heldPipelinesKind(options: {
  client: DevOpsClient;
  log: Log;
  selection?: () => Promise<SelectedDefinition[]>;
}): UndoKind<QueueStatusRecordData, HeldItem> {
  const { client, log } = options;
  let windowId = '';
  const label = (held: { name: string; path: string }) => `${held.path === '\\' || !held.path ? '' : held.path + '\\'}${held.name}`;
  const judge = (
    held: HeldDefinition,
    mode: HoldMode,
    definition: BuildDefinition | null | undefined,
    claimed: boolean,
  ): UndoItem<HeldItem> => {
    const name = label(held);
    if (!definition) return { name, verdict: 'left', reason: 'deleted since the hold', item: { held, mode } };
    const status = queueStatusName(definition.queueStatus);
    const mark = heldMark(definition.tags, windowId);
    const item = (previous: QueueStatusName): HeldItem => ({ held: { ...held, previous }, mode, definition });
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
    if (mark)
      return {
        name,
        verdict: 'left',
        reason: `${name} is ${status}, not ${mode} as the hold left it: someone changed it since`,
        item: item(mark.previous),
      };
    if (status === held.previous) return { name, verdict: 'back', item: item(held.previous) };
    if (status === mode)
      return {
        name,
        verdict: 'refuse',
        reason: `it is ${status} but carries no mark of window ${windowId}: this window did not hold it (or it was ${status} before)`,
        item: item(held.previous),
      };
    return {
      name,
      verdict: 'left',
      reason: `${name} is ${status}, not ${mode} as the hold left it: someone changed it since`,
      item: item(held.previous),
    };
  };
  return {
    kind: QUEUE_STATUS_RECORD_KIND,
    validate: validateQueueStatusRecord,
    targetOf: (data) => ({ collection: data.collectionUrl, project: data.project }),
    async assess(data, id) {
      windowId = id;
      const build = await client.build();
      const read = (held: { id: number; name: string }) =>
        client.call(`read pipeline ${held.name}`, () => build.getDefinition(client.project, held.id), {
          expect: devOpsShape.resourceOrMissing,
        });
      if (data) {
        const items: Array<UndoItem<HeldItem>> = [];
        for (const held of data.definitions) items.push(judge(held, data.mode, await read(held), true));
        return items;
      }
      if (!options.selection) {
        log.warn("No undo record, and no plan file or pipelines to look for the window's marks on: nothing to release.");
        return [];
      }
      const items: Array<UndoItem<HeldItem>> = [];
      for (const selected of await options.selection()) {
        const definition = await read(selected);
        const mark = heldMark(definition?.tags, windowId);
        if (!definition || !mark) continue;
        const status = queueStatusName(definition.queueStatus);
        // The mark says what the hold set; an old mark without it falls back to what the status suggests.
        const mode: HoldMode = mark.mode ?? (status === 'disabled' ? 'disabled' : 'paused');
        items.push(
          judge(
            { id: selected.id, name: selected.name, path: selected.path, previous: mark.previous, revisionBefore: 0 },
            mode,
            definition,
            false,
          ),
        );
      }
      return items;
    },
    async restore(items) {
      for (const entry of items) {
        const { held, mode, definition } = entry.item;
        try {
          const wasBack = queueStatusName(definition!.queueStatus) === held.previous;
          const now = await releaseOne(client, log, held, definition!, windowId);
          const note = wasBack ? "its status was already back; the window's mark was removed" : undefined;
          entry.item.outcome = {
            id: held.id,
            name: held.name,
            path: held.path,
            before: held.previous,
            now,
            action: now === held.previous ? 'released' : 'changed since the hold',
            ...(note ? { note } : {}),
          };
          log.info(wasBack ? `${entry.name}: already ${now}; removed the window's mark.` : `${entry.name}: ${mode} -> ${now}.`);
        } catch (error) {
          entry.item.outcome = {
            id: held.id,
            name: held.name,
            path: held.path,
            before: held.previous,
            now: mode,
            action: 'failed',
            note: messageOf(error),
            failed: true,
          };
          log.error(`Could not release ${held.name}: ${messageOf(error)}`);
        }
      }
    },
    async readBack(items) {
      const build = await client.build();
      const notBack: string[] = [];
      for (const { name, item, verdict } of items) {
        if (verdict === 'back' && item.outcome === undefined) continue;
        const definition = await client.call(`read pipeline ${item.held.name}`, () => build.getDefinition(client.project, item.held.id), {
          expect: devOpsShape.resourceOrMissing,
        });
        if (definition && (queueStatusName(definition.queueStatus) !== item.held.previous || heldMark(definition.tags, windowId)))
          notBack.push(name);
      }
      return notBack;
    },
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

/**
 * Selections from the step's inline lines and the plan's `jobs`: a line starting with `\` is a folder, one with
 * `*` a name pattern, `!name` leaves a pipeline out (of every selection), anything else is an exact name.
 */
export function buildSelections(lines: string[], planJobs: PipelineSelection[] = []): PipelineSelection[] {
  const exclude = lines
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).trim())
    .filter(Boolean);
  const selections: PipelineSelection[] = [];
  const names: string[] = [];
  for (const line of lines.filter((text) => !text.startsWith('!'))) {
    if (line.startsWith('\\') || line.startsWith('/')) selections.push({ folder: normalizeFolder(line), names: [], exclude: [] });
    else if (line.includes('*')) selections.push({ pattern: line, names: [], exclude: [] });
    else names.push(line);
  }
  if (names.length) selections.push({ names, exclude: [] });
  return [...selections, ...planJobs].map((selection) => ({ ...selection, exclude: [...selection.exclude, ...exclude] }));
}
