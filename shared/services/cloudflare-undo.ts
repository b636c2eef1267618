import { InputError } from '../core/errors';
import type { Log } from '../core/log';
import type { UndoItem, UndoKind, Verdict } from '../core/undo';
import type { CloudflareClient, DnsRecord } from './cloudflare-client';
import {
  CLOUDFLARE_RECORD_KIND,
  isMaintenance,
  isOriginal,
  parseDnsMark,
  recordName,
  sameContent,
  validateCloudflareUndoData,
  type AddressType,
  type CloudflareUndoData,
  type SwappedRecord,
} from './cloudflare-records';

/** The Cloudflare DNS kind of the undo protocol: judging each swapped record, putting it back, reading it back. */

const sameOriginal = (a: SwappedRecord['original'], b: SwappedRecord['original']) =>
  a.type === b.type && sameContent(a.content, b.content) && a.proxied === b.proxied && a.ttl === b.ttl;

export interface DnsUndoItem {
  zoneId: string;
  swap: SwappedRecord;
  /** The record's own comment to put back (the mark's, else the undo record's). */
  comment: string | null;
}

export interface CloudflareUndoScope {
  client: CloudflareClient;
  log: Log;
  /** The step's zone (input `zoneName`): required to restore from the marks alone. */
  zoneName?: string;
  /** The step's record names: where the marks are looked for without an undo record. */
  names?: string[];
}

/** The Cloudflare DNS kind of the undo protocol: only records this window marked and that still point at the page. */
type Zone = { id: string; name: string };

/** Judges one swapped record from what it is now; `claimed` when the undo record lists it (its mark must agree). */
function judgeSwap(
  swap: SwappedRecord,
  zoneId: string,
  now: DnsRecord | undefined,
  windowId: string,
  claimed: boolean,
): UndoItem<DnsUndoItem> {
  const mark = parseDnsMark(now?.comment);
  const item = (
    verdict: Verdict,
    reason: string | undefined,
    original = swap.original,
    comment: string | null = swap.comment ?? null,
  ): UndoItem<DnsUndoItem> => ({
    name: swap.name,
    verdict,
    reason,
    item: { zoneId, swap: { ...swap, original }, comment },
  });
  if (!now)
    return item('refuse', `record ${swap.id} no longer exists; recreate it by hand as ${swap.original.type} ${swap.original.content}`);
  if (mark && mark.windowId !== windowId) return item('refuse', `it carries the mark of window ${mark.windowId}, not ${windowId}`);
  if (mark) {
    if (claimed && !sameOriginal(mark.original, swap.original)) {
      return item(
        'refuse',
        `the undo record says it was ${swap.original.type} ${swap.original.content}, ` +
          `but the window's mark on it says ${mark.original.type} ${mark.original.content}`,
      );
    }
    const comment = mark.comment ?? (claimed ? (swap.comment ?? null) : null);
    if (!isMaintenance(now, swap))
      return item('left', `now ${now.type} ${now.content}, no longer the maintenance page`, mark.original, comment);
    return item('restore', `${now.type} ${now.content} → ${mark.original.type} ${mark.original.content}`, mark.original, comment);
  }
  if (isOriginal(now, swap)) return item('back', undefined);
  return item(
    'refuse',
    `no mark of window ${windowId} on it (now ${now.type} ${now.content}): ` +
      `the maintenance page did not swap it, or someone changed it since`,
  );
}

/** Judges the records an undo record lists (all refused when it is about another zone than the step's). */
async function assessRecorded(
  client: CloudflareClient,
  data: CloudflareUndoData,
  stepZone: Zone | undefined,
  windowId: string,
): Promise<Array<UndoItem<DnsUndoItem>>> {
  if (stepZone && stepZone.id !== data.zoneId) {
    return data.records.map((swap) => ({
      name: swap.name,
      verdict: 'refuse' as const,
      reason: `zone id ${data.zoneId} is not zone ${stepZone.name}`,
      item: { zoneId: data.zoneId, swap, comment: null },
    }));
  }
  const items: Array<UndoItem<DnsUndoItem>> = [];
  for (const swap of data.records) {
    const wrongTarget = !sameContent(swap.maintenance.content, data.target);
    const now = await client.getRecord(data.zoneId, swap.id);
    items.push(
      wrongTarget
        ? {
            name: swap.name,
            verdict: 'refuse',
            reason: `its maintenance content ${swap.maintenance.content} is not the record's target ${data.target}`,
            item: { zoneId: data.zoneId, swap, comment: null },
          }
        : judgeSwap(swap, data.zoneId, now, windowId, true),
    );
  }
  return items;
}

/** With no undo record: the step's records that carry this window's mark. */
async function assessByMarks(
  client: CloudflareClient,
  stepZone: Zone,
  names: string[],
  windowId: string,
): Promise<Array<UndoItem<DnsUndoItem>>> {
  const items: Array<UndoItem<DnsUndoItem>> = [];
  for (const name of names.map((n) => recordName(stepZone.name, n))) {
    for (const now of await client.recordsNamed(stepZone.id, name)) {
      const mark = parseDnsMark(now.comment);
      if (!mark || mark.windowId !== windowId) continue;
      const swap: SwappedRecord = {
        id: now.id,
        name,
        original: mark.original,
        maintenance: { type: now.type as AddressType, content: now.content },
      };
      items.push(judgeSwap(swap, stepZone.id, now, windowId, false));
    }
  }
  return items;
}

async function restoreSwaps(client: CloudflareClient, items: Array<UndoItem<DnsUndoItem>>): Promise<void> {
  client.ensureBudget(2 * items.length + 1);
  for (const { item } of items) await client.patchRecord(item.zoneId, item.swap.id, { ...item.swap.original, comment: item.comment });
}

async function readBackSwaps(client: CloudflareClient, items: Array<UndoItem<DnsUndoItem>>): Promise<string[]> {
  const notBack: string[] = [];
  for (const { name, item } of items) {
    const after = await client.getRecord(item.zoneId, item.swap.id);
    if (!after || !isOriginal(after, item.swap) || parseDnsMark(after.comment)) notBack.push(name);
  }
  return notBack;
}

/** The Cloudflare DNS kind of the undo protocol: only records this window marked and that still point at the page. */
export function cloudflareUndoKind(scope: CloudflareUndoScope): UndoKind<CloudflareUndoData, DnsUndoItem> {
  const { client } = scope;
  let zone: Zone | undefined;
  const resolveZone = async () => {
    if (!scope.zoneName) return undefined;
    zone ??= await client.findZone(scope.zoneName);
    if (!zone) throw new InputError('zoneName', `zone '${scope.zoneName}' was not found, or the token cannot see it.`);
    return zone;
  };
  return {
    kind: CLOUDFLARE_RECORD_KIND,
    validate: validateCloudflareUndoData,
    targetOf: (data) => ({ zone: data.zoneName }),
    async assess(data, windowId) {
      const stepZone = await resolveZone();
      if (data) return assessRecorded(client, data, stepZone, windowId);
      if (!stepZone || !scope.names?.length) {
        scope.log.warn("No undo record, and no zoneName and records to look for the window's marks: nothing to restore.");
        return [];
      }
      return assessByMarks(client, stepZone, scope.names, windowId);
    },
    restore: (items) => restoreSwaps(client, items),
    readBack: (items) => readBackSwaps(client, items),
  };
}
