import { createHash } from 'node:crypto';
import { InputError, ServiceError } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import {
  describeOutcome,
  mergeOutcomes,
  requireBack,
  restoreRecordOrMarks,
  type UndoItem,
  type UndoKind,
  type UndoOutcome,
} from '../core/undo';
import { createOnce } from './connection';
import { type PingdomCheck, type PingdomClient, type PingdomWindow } from './pingdom-client';

export * from './pingdom-client';
export { pauseSummary, resumeSummary } from './pingdom-summary';

/**
 * Pingdom API 3.1: silencing uptime checks for the window, either with a maintenance window (the default: it
 * ends by itself) or by pausing the checks, and undoing exactly that.
 *
 * Pingdom's sharp edges, all handled here: `PUT /checks` without `checkids` changes EVERY check on the account
 * (so an empty selection is refused before any call that writes); unknown check ids are silently ignored (so
 * ids are checked against the account first); a maintenance window must start in the future (`from: 1` means
 * now) and cannot be deleted once it has begun (so it is ended by moving its `to` close to now); every answer
 * carries `Req-Limit-Short` / `Req-Limit-Long` and the client waits or stops before spending the last call.
 */

export const PINGDOM_RECORD_KIND = 'pingdom';
/** A running window cannot be deleted: resume moves its end this close to now instead. */
export const END_RUNNING_WINDOW_AFTER_SECONDS = 60;

export type PingdomMode = 'maintenanceWindow' | 'pauseChecks';

// ---------------------------------------------------------------------------------------------------------
// Selecting checks

export interface CheckSelection {
  checkIds: string[];
  checkNames: string[];
  checkTags: string[];
}

/**
 * Resolves ids, names and tags to checks on the account. An id or name that matches nothing is an input
 * error (Pingdom would silently ignore it); so is an empty result (Pingdom would change every check).
 */
export function selectChecks(all: PingdomCheck[], selection: CheckSelection, log: Log): PingdomCheck[] {
  const byId = new Map(all.map((check) => [check.id, check]));
  const chosen = new Map<number, PingdomCheck>();
  for (const text of selection.checkIds) {
    if (!/^\d+$/.test(text)) throw new InputError('checkIds', `'${text}' is not a check id (a number).`);
    const check = byId.get(Number(text));
    if (!check) throw new InputError('checkIds', `check ${text} does not exist on this Pingdom account (or the token cannot see it).`);
    chosen.set(check.id, check);
  }
  for (const name of selection.checkNames) {
    const matches = all.filter((check) => check.name.toLowerCase() === name.toLowerCase());
    if (matches.length === 0) throw new InputError('checkNames', `no Pingdom check is named '${name}'.`);
    for (const check of matches) chosen.set(check.id, check);
  }
  for (const tag of selection.checkTags) {
    const matches = all.filter((check) => check.tags.some((t) => t.toLowerCase() === tag.toLowerCase()));
    if (matches.length === 0) log.warn(`No Pingdom check has the tag '${tag}'.`);
    for (const check of matches) chosen.set(check.id, check);
  }
  if (chosen.size === 0) {
    throw new InputError(
      'checkIds',
      'checkIds, checkNames and checkTags select no check. ' +
        'Refusing: Pingdom applies a change with no check ids to every check on the account.',
    );
  }
  return [...chosen.values()].sort((a, b) => a.id - b.id);
}

// ---------------------------------------------------------------------------------------------------------
// Undo record

export interface PingdomUndoData {
  mode: PingdomMode;
  /** Every selected check, with its name for people. */
  checks: Array<{ id: number; name: string }>;
  /** Text in the window's description that finds it again when its id was never recorded (a crash). */
  marker: string;
  /** Maintenance windows this step created or adopted. */
  windowIds: number[];
  /** `pauseChecks`: checks this step paused (resume unpauses only these). */
  pausedByUs: number[];
  /** `pauseChecks`: checks that were paused before and stay paused. */
  alreadyPaused: number[];
  /** ISO time the silence ends by itself (maintenance window) or should end (paused checks). */
  endsAt: string;
}

export function validatePingdomUndoData(data: unknown): PingdomUndoData {
  const value = data as Partial<PingdomUndoData> | undefined;
  const isIds = (ids: unknown) => Array.isArray(ids) && ids.every((id) => Number.isInteger(id));
  if (!value || (value.mode !== 'maintenanceWindow' && value.mode !== 'pauseChecks')) throw new Error("'mode' is missing or unknown.");
  if (!Array.isArray(value.checks) || !value.checks.every((check) => Number.isInteger(check?.id)))
    throw new Error("'checks' must list check ids.");
  if (typeof value.marker !== 'string' || value.marker.length < 8) throw new Error("'marker' is missing.");
  if (!isIds(value.windowIds) || !isIds(value.pausedByUs) || !isIds(value.alreadyPaused)) {
    throw new Error("'windowIds', 'pausedByUs' and 'alreadyPaused' must be lists of ids.");
  }
  if (typeof value.endsAt !== 'string' || Number.isNaN(Date.parse(value.endsAt))) throw new Error("'endsAt' is not a time.");
  return value as PingdomUndoData;
}

/** The same window and the same checks give the same marker, so a second run finds the first run's window. */
export function windowMarker(windowId: string, checkIds: number[]): string {
  const digest = createHash('sha256').update(checkIds.join(',')).digest('hex').slice(0, 10);
  return `[maintenance-window ${windowId} checks ${digest}]`;
}

// ---------------------------------------------------------------------------------------------------------
// Pause and resume

export interface PauseOptions {
  client: PingdomClient;
  log: Log;
  selection: CheckSelection;
  mode: PingdomMode;
  /** When the silence ends (window end plus grace). */
  endsAt: Date;
  windowId: string;
  description: string;
  /** Writes the undo record durably and publishes it; called before every change. */
  publish: (record: UndoRecord<PingdomUndoData>) => void;
  /** Pingdom records of this run not yet restored: a re-run after a crash takes over what they paused. */
  earlierRecords?: Array<UndoRecord<PingdomUndoData>>;
  /** The window's clock (simulated in a rehearsal): the record's time and what "now" is for a window. */
  clock: WindowClock;
}

export interface PauseResult {
  record: UndoRecord<PingdomUndoData>;
  checks: PingdomCheck[];
  window?: PingdomWindow;
  /** The window existed already (an earlier run of this step): it was kept, not duplicated. */
  adoptedWindow: boolean;
  alreadyPaused: number[];
}

const toUnix = (date: Date) => Math.floor(date.getTime() / 1000);

export async function pauseChecks(options: PauseOptions): Promise<PauseResult> {
  const { client, log } = options;
  log.info('Reading the checks on the Pingdom account.');
  const checks = selectChecks(await client.listChecks(), options.selection, log);
  const ids = checks.map((check) => check.id);
  const silence = options.mode === 'maintenanceWindow' ? 'maintenance window' : 'pause';
  const marker = windowMarker(options.windowId, ids);
  const record: UndoRecord<PingdomUndoData> = newUndoRecord({
    kind: PINGDOM_RECORD_KIND,
    windowId: options.windowId,
    now: options.clock.now(),
    expiresAt: options.endsAt,
    description: `Pingdom ${silence} for ${checks.length} check(s): ${checks.map((check) => check.name).join(', ')}`,
    data: {
      mode: options.mode,
      checks: checks.map((check) => ({ id: check.id, name: check.name })),
      marker,
      windowIds: [],
      pausedByUs: [],
      alreadyPaused: [],
      endsAt: options.endsAt.toISOString(),
    },
  });
  return options.mode === 'maintenanceWindow' ? openWindow(options, checks, record) : pauseSelected(options, checks, record);
}

async function openWindow(options: PauseOptions, checks: PingdomCheck[], record: UndoRecord<PingdomUndoData>): Promise<PauseResult> {
  const { client, log } = options;
  const ids = checks.map((check) => check.id);
  const to = toUnix(options.endsAt);
  const now = toUnix(options.clock.now());
  const find = async () => (await client.listWindows()).find((w) => w.description.includes(record.data.marker) && w.to > now);
  await client.ensureBudget(4);
  let window = await find();
  const adopted = window !== undefined;
  if (window) {
    log.info(`Maintenance window ${window.id} for these checks exists already (an earlier run of this step); keeping it.`);
    record.data.windowIds = [window.id];
    options.publish(record);
    if (window.to !== to) {
      log.info(`Moving its end to ${options.endsAt.toISOString()}.`);
      await client.setWindowEnd(window.id, to);
    }
  } else {
    options.publish(record);
    log.info(`Opening a Pingdom maintenance window for ${ids.length} check(s) until ${options.endsAt.toISOString()}.`);
    const id = await createOnce({
      create: () => client.createWindow({ description: `${options.description} ${record.data.marker}`, to, checkIds: ids }),
      find: async () => (await find())?.id,
      log,
    });
    record.data.windowIds = [id];
    options.publish(record);
  }
  window = (await client.listWindows()).find((w) => w.id === record.data.windowIds[0]);
  if (!window || window.to !== to || ids.some((id) => !window.uptimeIds.includes(id))) {
    throw new ServiceError(
      'Pingdom',
      `maintenance window ${record.data.windowIds[0]} does not read back as written (checks ${ids.join(', ')} until ${to}).`,
    );
  }
  return { record, checks, window, adoptedWindow: adopted, alreadyPaused: [] };
}

/** The tag a paused check carries while this window has it paused (Pingdom tags: at most 64 characters). */
export function pausedTag(windowId: string): string {
  return `mw-paused-${windowId.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

const hasTag = (check: PingdomCheck | undefined, tag: string) => !!check?.tags.some((t) => t.toLowerCase() === tag.toLowerCase());
const withoutTag = (check: PingdomCheck, tag: string) => check.tags.filter((t) => t.toLowerCase() !== tag.toLowerCase());

async function pauseSelected(options: PauseOptions, checks: PingdomCheck[], record: UndoRecord<PingdomUndoData>): Promise<PauseResult> {
  const { client, log } = options;
  const tag = pausedTag(options.windowId);
  const ours = new Set<number>();
  for (const earlier of options.earlierRecords ?? []) {
    if (earlier.data.mode === 'pauseChecks') for (const id of earlier.data.pausedByUs) ours.add(id);
  }
  // The window's tag on a paused check says this window paused it: a re-run on a fresh agent must not take
  // that pause for the check's state before the window.
  for (const check of checks) if (hasTag(check, tag)) ours.add(check.id);
  const selected = new Set(checks.map((check) => check.id));
  const alreadyPaused = checks.filter((check) => check.status === 'paused' && !ours.has(check.id)).map((check) => check.id);
  const pausedByUs = checks.filter((check) => !alreadyPaused.includes(check.id)).map((check) => check.id);
  // Checks an earlier, interrupted run paused but this selection no longer names stay ours too.
  for (const id of ours) if (!selected.has(id)) pausedByUs.push(id);
  record.data.pausedByUs = [...new Set(pausedByUs)].sort((a, b) => a - b);
  record.data.alreadyPaused = alreadyPaused;
  const toWrite = checks.filter((check) => !alreadyPaused.includes(check.id) && (check.status !== 'paused' || !hasTag(check, tag)));
  await client.ensureBudget(toWrite.length + 1);
  options.publish(record);
  if (toWrite.length) {
    log.info(`Pausing ${toWrite.length} check(s): ${toWrite.map((c) => c.id).join(', ')} (each tagged ${tag} in the same write).`);
    for (const check of toWrite) await client.updateCheck(check.id, { paused: true, tags: [...withoutTag(check, tag), tag] });
  } else {
    log.info('Every selected check is paused already.');
  }
  const after = new Map((await client.listChecks()).map((check) => [check.id, check]));
  const notPaused = checks.filter((check) => after.get(check.id)?.status !== 'paused');
  if (notPaused.length) throw new ServiceError('Pingdom', `check(s) ${notPaused.map((c) => c.id).join(', ')} do not read back as paused.`);
  return { record, checks, adoptedWindow: false, alreadyPaused };
}

export interface ResumeResult {
  outcome: UndoOutcome<PingdomItem>;
  windows: Array<{ id: number; outcome: 'deleted' | 'ended' | 'ending' | 'gone'; endsAt?: Date }>;
  unpaused: number[];
  /** Checks that stay paused because they were paused before the window (or not by it). */
  leftPaused: number[];
}

export type PingdomItem = { type: 'window'; id: number; window?: PingdomWindow } | { type: 'check'; check: PingdomCheck };

/** The text every maintenance window of this window carries in its description. */
const windowMarkOf = (windowId: string) => `[maintenance-window ${windowId} checks `;

/**
 * The Pingdom kind of the undo protocol. A maintenance window is ended only when its description carries
 * this window's marker (never another team's window, whatever the record lists); a check is unpaused only
 * when it carries this window's tag (never one paused before the window).
 */
export function pingdomUndoKind(options: {
  client: PingdomClient;
  log: Log;
  clock: WindowClock;
  accountUrl?: string;
}): UndoKind<PingdomUndoData, PingdomItem> & { windows: ResumeResult['windows'] } {
  const { client, log } = options;
  const windowsDone: ResumeResult['windows'] = [];
  let currentTag = '';
  const judgeWindow = (id: number, window: PingdomWindow | undefined, windowId: string): UndoItem<PingdomItem> => {
    const name = `maintenance window ${id}`;
    const item: PingdomItem = { type: 'window', id, window };
    const now = toUnix(options.clock.now());
    if (!window) return { name, verdict: 'back', reason: 'it no longer exists', item };
    if (!window.description.includes(windowMarkOf(windowId)))
      return { name, verdict: 'refuse', reason: `not this window's: its description is '${window.description}'`, item };
    if (window.to <= now + END_RUNNING_WINDOW_AFTER_SECONDS)
      return { name, verdict: 'back', reason: window.to > now ? 'it ends within a minute' : 'it has ended', item };
    return {
      name,
      verdict: 'restore',
      reason: window.from > now ? 'it has not begun: delete it' : 'it is running: end it in a minute',
      item,
    };
  };
  const judgeCheck = (id: number, check: PingdomCheck | undefined, tag: string): UndoItem<PingdomItem> => {
    const name = check ? `check ${check.name} (${id})` : `check ${id}`;
    if (!check)
      return {
        name,
        verdict: 'left',
        reason: 'it was deleted',
        item: { type: 'check', check: { id, name: String(id), status: 'deleted', tags: [] } },
      };
    const item: PingdomItem = { type: 'check', check };
    if (hasTag(check, tag))
      return {
        name,
        verdict: 'restore',
        reason: check.status === 'paused' ? 'unpause it and drop the tag' : 'drop the tag (someone unpaused it)',
        item,
      };
    if (check.status !== 'paused') return { name, verdict: 'back', item };
    return { name, verdict: 'refuse', reason: `paused, but not tagged ${tag}: paused before the window or by someone else`, item };
  };
  return {
    kind: PINGDOM_RECORD_KIND,
    windows: windowsDone,
    validate: validatePingdomUndoData,
    targetOf: () => ({}),
    async assess(data, windowId) {
      const items: Array<UndoItem<PingdomItem>> = [];
      const tag = pausedTag(windowId);
      currentTag = tag;
      if (!data || data.mode === 'maintenanceWindow') {
        const windows = await client.listWindows();
        const ids = new Set(data?.windowIds ?? []);
        for (const w of windows) if (w.description.includes(windowMarkOf(windowId))) ids.add(w.id);
        for (const id of ids)
          items.push(
            judgeWindow(
              id,
              windows.find((w) => w.id === id),
              windowId,
            ),
          );
      }
      if (!data || data.mode === 'pauseChecks') {
        const checks = new Map((await client.listChecks()).map((check) => [check.id, check]));
        const ids = new Set(data?.pausedByUs ?? []);
        for (const check of checks.values()) if (hasTag(check, tag)) ids.add(check.id);
        for (const id of [...ids].sort((a, b) => a - b)) items.push(judgeCheck(id, checks.get(id), tag));
      }
      return items;
    },
    async restore(items) {
      await client.ensureBudget(items.length + 2);
      for (const { item } of items) {
        if (item.type === 'check') {
          log.info(`Unpausing check ${item.check.id} and dropping this window's tag.`);
          await client.updateCheck(item.check.id, { paused: false, tags: withoutTag(item.check, currentTag) });
        } else if (item.window) {
          windowsDone.push(await endWindow(client, log, item.window, options.clock));
        }
      }
    },
    async readBack(items) {
      const notBack: string[] = [];
      const needWindows = items.some((i) => i.item.type === 'window');
      const windows = needWindows ? await client.listWindows() : [];
      const checks = items.some((i) => i.item.type === 'check')
        ? new Map((await client.listChecks()).map((c) => [c.id, c]))
        : new Map<number, PingdomCheck>();
      const limit = toUnix(options.clock.now()) + END_RUNNING_WINDOW_AFTER_SECONDS + 5;
      for (const { name, item } of items) {
        if (item.type === 'window') {
          const w = windows.find((candidate) => candidate.id === item.id);
          if (w && w.to > limit) notBack.push(name);
        } else {
          const c = checks.get(item.check.id);
          if (c && (c.status === 'paused' || hasTag(c, currentTag))) notBack.push(name);
        }
      }
      return notBack;
    },
  };
}

export async function resumeChecks(options: {
  client: PingdomClient;
  log: Log;
  record?: UndoRecord<PingdomUndoData>;
  store?: RecordStore;
  windowId: string;
  clock: WindowClock;
}): Promise<ResumeResult> {
  const kind = pingdomUndoKind({ client: options.client, log: options.log, clock: options.clock });
  const outcome = mergeOutcomes(
    await restoreRecordOrMarks({
      kind,
      record: options.record,
      store: options.store,
      windowId: options.windowId,
      target: {},
      log: options.log,
      now: () => options.clock.now(),
      describe: (o) => `Pingdom monitoring restored (${describeOutcome(o)}).`,
    }),
  );
  requireBack(outcome, 'Pingdom monitoring is not all back');
  const checkIds = (verdicts: string[]) =>
    outcome.items
      .filter((i) => i.item.type === 'check' && verdicts.includes(i.verdict))
      .map((i) => (i.item as { check: PingdomCheck }).check.id);
  const windows = [...kind.windows];
  for (const item of outcome.items) {
    if (item.item.type !== 'window' || item.verdict !== 'back' || windows.some((w) => w.id === (item.item as { id: number }).id)) continue;
    const w = item.item.window;
    windows.push(
      w
        ? { id: w.id, outcome: w.to > toUnix(options.clock.now()) ? 'ending' : 'ended', endsAt: new Date(w.to * 1000) }
        : { id: item.item.id, outcome: 'gone' },
    );
  }
  return { outcome, windows, unpaused: checkIds(['restore']), leftPaused: options.record?.data.alreadyPaused ?? [] };
}

async function endWindow(
  client: PingdomClient,
  log: Log,
  window: PingdomWindow,
  clock: WindowClock,
): Promise<ResumeResult['windows'][number]> {
  const now = toUnix(clock.now());
  const endSoon = now + END_RUNNING_WINDOW_AFTER_SECONDS;
  if (window.from > now && (await deleteUnlessBegun(client, log, window))) return { id: window.id, outcome: 'deleted' };
  log.info(
    `Maintenance window ${window.id} is running and Pingdom cannot delete it: ending it at ${new Date(endSoon * 1000).toISOString()}.`,
  );
  await client.setWindowEnd(window.id, endSoon);
  return { id: window.id, outcome: 'ending', endsAt: new Date(endSoon * 1000) };
}

/** Deletes a window that has not begun; false when it began meanwhile (Pingdom refuses), so it is ended instead. */
async function deleteUnlessBegun(client: PingdomClient, log: Log, window: PingdomWindow): Promise<boolean> {
  log.info(`Maintenance window ${window.id} has not begun: deleting it.`);
  try {
    await client.deleteWindow(window.id);
    return true;
  } catch (error) {
    if (error instanceof ServiceError && (error.status === 400 || error.status === 403)) return false;
    throw error;
  }
}
