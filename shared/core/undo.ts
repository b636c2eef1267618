import { InputError, SafetyError } from './errors';
import type { Log } from './log';
import type { RecordStore, UndoRecord } from './records';

/**
 * The undo protocol every restore goes through (gateway pools and NICs, Pingdom, New Relic muting rules,
 * Azure Monitor alert processing rules, Cloudflare DNS, held pipelines, the outside scheduler).
 *
 * An undo record is a file that can be edited, copied from another night or left stale by a re-run, so a
 * restore never does simply what it says:
 * 1. the record must be of this window (its id) and of the resource the step names (gateway and pool, zone,
 *    account, project, connection host), and every URL in it must be on the connection's host;
 * 2. the kind reads the resource as it is now, with the marks the window left on it (a tag, a comment, a
 *    description), and judges item by item: put back only what this window changed (the mark says so) and
 *    what is still as the window left it; what is already as before counts as back; what someone changed
 *    since is left as they chose, with a warning; anything the marks do not confirm is refused, named;
 * 3. after the writes, everything judged is read back; the receipt (window clock) is written only when every
 *    item reads back as before and nothing was refused.
 * Without a record, the kind judges from the marks of the window alone: that is how a re-run, or the
 * break-glass recovery pipeline, finds the true originals.
 */

/** How the restore judges one item of a record. */
export type Verdict =
  /** Changed by this window, still as the window left it: put back. */
  | 'restore'
  /** Already as it was before the window. */
  | 'back'
  /** Someone changed it since the window did: left as they chose (warned), no longer the window's to undo. */
  | 'left'
  /** The record asks for something the resource's marks do not confirm: not touched. */
  | 'refuse';

export interface UndoItem<I> {
  /** Names the item for people: `www.example.com`, `pipeline Nightly (12)`, `10.0.2.4`. */
  name: string;
  verdict: Verdict;
  reason?: string;
  item: I;
}

export type UndoTarget = Record<string, string | number | undefined>;

/** One record kind: how to check its data, what it is about, and how to judge, restore and read back. */
export interface UndoKind<D, I> {
  kind: string;
  validate(data: unknown): D;
  /** What the record's data says it is about, compared field by field with the step's own target. */
  targetOf(data: D): UndoTarget;
  /** URLs the restore would call with the connection's credentials (they must be on its host). */
  urlsOf?(data: D): string[];
  /** Reads the resource now and judges each item; `data` undefined: from the window's marks alone. */
  assess(data: D | undefined, windowId: string): Promise<Array<UndoItem<I>>>;
  /** Puts back the items judged `restore` (and drops the window's marks from them). */
  restore(items: Array<UndoItem<I>>): Promise<void>;
  /** Names of the items (judged `restore` or `back`) that do not read back as before. */
  readBack(items: Array<UndoItem<I>>): Promise<string[]>;
}

export interface UndoOutcome<I> {
  record?: UndoRecord;
  windowId: string;
  items: Array<UndoItem<I>>;
  restored: string[];
  back: string[];
  left: string[];
  refused: string[];
  notBack: string[];
  /** Path of the receipt, when one was written. */
  receipt?: string;
}

/** The whole record was refused before any call: wrong window, wrong target, a URL on another host. */
export class RecordRefusedError extends InputError {
  override name = 'RecordRefusedError';
}

const same = (a: string | number | undefined, b: string | number | undefined) =>
  String(a ?? '')
    .toLowerCase()
    .replace(/\/+$/, '') ===
  String(b ?? '')
    .toLowerCase()
    .replace(/\/+$/, '');

/** The host (and port) of a URL, or undefined for a relative one. */
function hostOf(url: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith('//')) return undefined;
  try {
    return new URL(url, 'http://relative.invalid').host.toLowerCase();
  } catch {
    return 'not-a-url';
  }
}

/** Refuses a record of another window, another target, or with a URL off the connection's host. */
export function checkRecord<D>(
  kind: Pick<UndoKind<D, unknown>, 'kind' | 'targetOf' | 'urlsOf'>,
  record: UndoRecord<D>,
  expected: { windowId: string; target: UndoTarget; connectionUrl?: string; inputName: string },
): void {
  const refuse = (problem: string) => {
    throw new RecordRefusedError(expected.inputName, `${problem} Nothing was changed.`);
  };
  if (record.kind !== kind.kind) refuse(`is a '${record.kind}' record, but this step restores '${kind.kind}'.`);
  if (!record.windowId || record.windowId !== expected.windowId) {
    refuse(`is a record of window '${record.windowId ?? '(none)'}', but this step restores window '${expected.windowId}'.`);
  }
  const actual = kind.targetOf(record.data);
  for (const [field, value] of Object.entries(expected.target)) {
    if (value === undefined) continue;
    if (!same(actual[field], value)) refuse(`is for ${field} '${actual[field] ?? '(none)'}', but this step names ${field} '${value}'.`);
  }
  const allowed = expected.connectionUrl ? hostOf(expected.connectionUrl) : undefined;
  for (const url of kind.urlsOf?.(record.data) ?? []) {
    const host = hostOf(url);
    if (host === undefined) continue;
    if (!allowed || host !== allowed) {
      refuse(
        `names the URL host '${host}', which is not the connection's host${allowed ? ` '${allowed}'` : ''}: the connection's ` +
          `credentials are never sent elsewhere.`,
      );
    }
  }
}

export interface UndoStepOptions<D, I> {
  kind: UndoKind<D, I>;
  /** The record to restore; undefined: restore from the window's marks on the resources. */
  record?: UndoRecord<D>;
  windowId: string;
  /** The step's own target; fields left undefined are not compared. */
  target: UndoTarget;
  connectionUrl?: string;
  inputName?: string;
  log: Log;
  /** The window's clock: receipts carry its time. */
  now: () => Date;
  receipts?: Pick<RecordStore, 'writeReceipt'>;
  /** One line for the receipt, from what was done. */
  describe?: (outcome: UndoOutcome<I>) => string;
}

/** Checks, judges, restores, reads back and writes the receipt; never throws for a refused item (see `requireBack`). */
export async function runUndo<D, I>(options: UndoStepOptions<D, I>): Promise<UndoOutcome<I>> {
  const { kind, record, log } = options;
  if (record)
    checkRecord(kind, record, {
      windowId: options.windowId,
      target: options.target,
      connectionUrl: options.connectionUrl,
      inputName: options.inputName ?? 'undoRecord',
    });
  const items = await kind.assess(record?.data, options.windowId);
  const names = (verdict: Verdict) => items.filter((item) => item.verdict === verdict).map((item) => item.name);
  for (const item of items) {
    const why = item.reason ? `: ${item.reason}` : '';
    if (item.verdict === 'restore') log.info(`${item.name}: putting back${why}.`);
    else if (item.verdict === 'back') log.info(`${item.name}: already as before the window${why}.`);
    else if (item.verdict === 'left') log.warn(`${item.name}: changed by someone since the window; left as it is${why}.`);
    else log.warn(`${item.name}: REFUSED${why}.`);
  }
  // A record that asks for anything the marks do not confirm is not trusted at all: nothing of it is written.
  // (Without a record, what the marks name is restored and only the refused items are left.)
  const distrusted = !!record && items.some((item) => item.verdict === 'refuse');
  if (distrusted)
    log.error(
      `Undo record ${record.id} asks for what the resources' marks do not confirm: nothing of it is restored. Restore without a ` +
        `record to put back what the window's marks name.`,
    );
  const toRestore = distrusted ? [] : items.filter((item) => item.verdict === 'restore');
  if (toRestore.length) await kind.restore(toRestore);
  const notBack = distrusted ? [] : await kind.readBack(items.filter((item) => item.verdict === 'restore' || item.verdict === 'back'));
  const outcome: UndoOutcome<I> = {
    record,
    windowId: options.windowId,
    items,
    restored: names('restore').filter((name) => !notBack.includes(name)),
    back: names('back'),
    left: names('left'),
    refused: names('refuse'),
    notBack,
  };
  if (notBack.length) log.error(`Not back after the restore (read back): ${notBack.join(', ')}.`);
  if (record && options.receipts && !outcome.refused.length && !notBack.length) {
    const text = options.describe?.(outcome) ?? describeOutcome(outcome);
    outcome.receipt = options.receipts.writeReceipt(record, text, options.now());
  }
  return outcome;
}

export function describeOutcome(outcome: UndoOutcome<unknown>): string {
  const parts = [
    outcome.restored.length ? `put back and read back: ${outcome.restored.join(', ')}` : '',
    outcome.back.length ? `already as before: ${outcome.back.join(', ')}` : '',
    outcome.left.length ? `changed by someone since, left as they chose: ${outcome.left.join(', ')}` : '',
  ].filter(Boolean);
  return parts.join('; ') || 'nothing of this window was left to put back';
}

/** Fails the step (after the restore did what it could) when anything was refused or does not read back. */
export function requireBack(outcome: UndoOutcome<unknown>, what: string): void {
  const problems = [
    outcome.refused.length
      ? `refused (the window's marks on the resource do not confirm them): ${outcome.items
          .filter((i) => i.verdict === 'refuse')
          .map((i) => `${i.name}${i.reason ? ` (${i.reason})` : ''}`)
          .join('; ')}`
      : '',
    outcome.notBack.length ? `not back after the restore: ${outcome.notBack.join(', ')}` : '',
  ].filter(Boolean);
  if (problems.length) {
    const hint =
      outcome.refused.length && outcome.record
        ? " Nothing of the record was written; run the restore without a record to put back what the window's marks name."
        : '';
    throw new SafetyError(`${what}: ${problems.join('. ')}. No receipt was written.${hint}`);
  }
}

/**
 * Every record of `kind` and this window in the folder that has no receipt yet, oldest first: what a restore
 * step given no record (a later run, the recovery pipeline) restores before the window's marks.
 */
export function unrestoredRecords<D>(store: RecordStore, kind: UndoKind<D, unknown>, windowId: string): Array<UndoRecord<D>> {
  return store
    .list()
    .filter(({ record, receipt }) => !receipt && record.kind === kind.kind && record.windowId === windowId)
    .map(({ record }) => record as UndoRecord<D>)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Whether a record is about the step's target (fields the step leaves undefined are not compared). */
function targets<D>(kind: UndoKind<D, unknown>, record: UndoRecord<D>, target: UndoTarget): boolean {
  let data: D;
  try {
    data = kind.validate(record.data);
  } catch {
    return true; // malformed: let the protocol refuse it, naming it
  }
  const actual = kind.targetOf(data);
  return Object.entries(target).every(([field, value]) => value === undefined || same(actual[field], value));
}

/**
 * A restore step's work when it may or may not be handed a record: the record given; else every unrestored
 * record of this window in the records folder (each checked like a given one; one refused does not stop the
 * others), then the window's marks, so whatever the records miss is found on the resources themselves.
 */
export async function restoreRecordOrMarks<D, I>(
  options: Omit<UndoStepOptions<D, I>, 'record'> & { record?: UndoRecord<D>; store?: RecordStore },
): Promise<Array<UndoOutcome<I>>> {
  const receipts = options.receipts ?? options.store;
  if (options.record) return [await runUndo({ ...options, receipts })];
  const outcomes: Array<UndoOutcome<I>> = [];
  for (const record of options.store ? unrestoredRecords(options.store, options.kind, options.windowId) : []) {
    if (!targets(options.kind, record, options.target)) {
      // Another pool, zone or project of the same window: another step's to restore.
      options.log.info(`Undo record ${record.id} in the records folder is for another target than this step's; left to its own step.`);
      continue;
    }
    options.log.info(`Restoring from undo record ${record.id} found in the records folder.`);
    try {
      let data: D;
      try {
        data = options.kind.validate(record.data);
      } catch (error) {
        throw new RecordRefusedError(record.id, `is a malformed '${record.kind}' record: ${(error as Error).message}`);
      }
      outcomes.push(await runUndo({ ...options, receipts, record: { ...record, data } }));
    } catch (error) {
      if (!(error instanceof RecordRefusedError)) throw error;
      options.log.warn(`Undo record ${record.id} refused: ${error.message}`);
      outcomes.push({ record, windowId: options.windowId, items: [], restored: [], back: [], left: [], refused: [record.id], notBack: [] });
    }
  }
  options.log.info(`Looking for what window ${options.windowId} marked on the resources themselves.`);
  outcomes.push(await runUndo({ ...options, receipts, record: undefined }));
  return outcomes;
}

/** All outcomes as one, for a summary. */
export function mergeOutcomes<I>(outcomes: Array<UndoOutcome<I>>): UndoOutcome<I> {
  const unique = (list: string[]) => [...new Set(list)];
  const merged: UndoOutcome<I> = {
    record: outcomes.find((o) => o.record)?.record,
    windowId: outcomes[0]?.windowId ?? '',
    items: [],
    restored: [],
    back: [],
    left: [],
    refused: [],
    notBack: [],
  };
  for (const outcome of outcomes) {
    merged.items.push(...outcome.items);
    merged.restored.push(...outcome.restored);
    merged.back.push(...outcome.back);
    merged.left.push(...outcome.left);
    merged.refused.push(...outcome.refused);
    merged.notBack.push(...outcome.notBack);
  }
  // What one pass restored, the next finds already back: report it once, as restored.
  merged.back = unique(merged.back).filter((name) => !merged.restored.includes(name));
  merged.restored = unique(merged.restored);
  merged.left = unique(merged.left);
  merged.refused = unique(merged.refused);
  merged.notBack = unique(merged.notBack);
  return merged;
}
