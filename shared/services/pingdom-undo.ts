import { ServiceError } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RecordStore, UndoRecord } from '../core/records';
import {
  describeOutcome,
  mergeOutcomes,
  requireBack,
  restoreRecordOrMarks,
  type UndoItem,
  type UndoKind,
  type UndoOutcome,
} from '../core/undo';
import type { PingdomCheck, PingdomClient, PingdomWindow } from './pingdom-client';
import {
  END_RUNNING_WINDOW_AFTER_SECONDS,
  hasTag,
  PINGDOM_RECORD_KIND,
  pausedTag,
  toUnix,
  validatePingdomUndoData,
  windowMarkOf,
  withoutTag,
  type PingdomUndoData,
} from './pingdom-record';

/** Resuming: the Pingdom kind of the undo protocol, which ends this window's maintenance windows and unpauses its checks. */

export interface ResumeResult {
  outcome: UndoOutcome<PingdomItem>;
  windows: Array<{ id: number; outcome: 'deleted' | 'ended' | 'ending' | 'gone'; endsAt?: Date }>;
  unpaused: number[];
  /** Checks that stay paused because they were paused before the window (or not by it). */
  leftPaused: number[];
}

export type PingdomItem = { type: 'window'; id: number; window?: PingdomWindow } | { type: 'check'; check: PingdomCheck };

/** A maintenance window is this window's only when its description carries the window's marker. */
function judgeWindow(id: number, window: PingdomWindow | undefined, windowId: string, clock: WindowClock): UndoItem<PingdomItem> {
  const name = `maintenance window ${id}`;
  const item: PingdomItem = { type: 'window', id, window };
  const now = toUnix(clock.now());
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
}

/** A check is this window's to unpause only when it carries the window's tag. */
function judgeCheck(id: number, check: PingdomCheck | undefined, tag: string): UndoItem<PingdomItem> {
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
}

interface PingdomKindOptions {
  client: PingdomClient;
  log: Log;
  clock: WindowClock;
  accountUrl?: string;
}

async function assessPingdom(
  options: PingdomKindOptions,
  data: PingdomUndoData | undefined,
  windowId: string,
): Promise<Array<UndoItem<PingdomItem>>> {
  const { client } = options;
  const items: Array<UndoItem<PingdomItem>> = [];
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
          options.clock,
        ),
      );
  }
  if (!data || data.mode === 'pauseChecks') {
    const tag = pausedTag(windowId);
    const checks = new Map((await client.listChecks()).map((check) => [check.id, check]));
    const ids = new Set(data?.pausedByUs ?? []);
    for (const check of checks.values()) if (hasTag(check, tag)) ids.add(check.id);
    for (const id of [...ids].sort((a, b) => a - b)) items.push(judgeCheck(id, checks.get(id), tag));
  }
  return items;
}

async function restorePingdom(
  options: PingdomKindOptions,
  items: Array<UndoItem<PingdomItem>>,
  tag: string,
  windowsDone: ResumeResult['windows'],
): Promise<void> {
  const { client, log } = options;
  await client.ensureBudget(items.length + 2);
  for (const { item } of items) {
    if (item.type === 'check') {
      log.info(`Unpausing check ${item.check.id} and dropping this window's tag.`);
      await client.updateCheck(item.check.id, { paused: false, tags: withoutTag(item.check, tag) });
    } else if (item.window) {
      windowsDone.push(await endWindow(client, log, item.window, options.clock));
    }
  }
}

async function readBackPingdom(options: PingdomKindOptions, items: Array<UndoItem<PingdomItem>>, tag: string): Promise<string[]> {
  const { client } = options;
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
      if (c && (c.status === 'paused' || hasTag(c, tag))) notBack.push(name);
    }
  }
  return notBack;
}

/**
 * The Pingdom kind of the undo protocol. A maintenance window is ended only when its description carries
 * this window's marker (never another team's window, whatever the record lists); a check is unpaused only
 * when it carries this window's tag (never one paused before the window).
 */
export function pingdomUndoKind(
  options: PingdomKindOptions,
): UndoKind<PingdomUndoData, PingdomItem> & { windows: ResumeResult['windows'] } {
  const windowsDone: ResumeResult['windows'] = [];
  let currentTag = '';
  return {
    kind: PINGDOM_RECORD_KIND,
    windows: windowsDone,
    validate: validatePingdomUndoData,
    targetOf: () => ({}),
    assess(data, windowId) {
      currentTag = pausedTag(windowId);
      return assessPingdom(options, data, windowId);
    },
    restore: (items) => restorePingdom(options, items, currentTag, windowsDone),
    readBack: (items) => readBackPingdom(options, items, currentTag),
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
