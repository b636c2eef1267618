import { InputError, ServiceError } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { newUndoRecord, type UndoRecord } from '../core/records';
import { createOnce } from './connection';
import {
  hasTag,
  PINGDOM_RECORD_KIND,
  pausedTag,
  toUnix,
  windowMarker,
  withoutTag,
  type PingdomMode,
  type PingdomUndoData,
} from './pingdom-record';
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

export {
  END_RUNNING_WINDOW_AFTER_SECONDS,
  PINGDOM_RECORD_KIND,
  pausedTag,
  validatePingdomUndoData,
  windowMarker,
  type PingdomMode,
  type PingdomUndoData,
} from './pingdom-record';
export { pingdomUndoKind, resumeChecks, type PingdomItem, type ResumeResult } from './pingdom-undo';
