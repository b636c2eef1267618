import { isIP } from 'node:net';
import { InputError, SafetyError, ServiceError } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import { describeOutcome, mergeOutcomes, requireBack, restoreRecordOrMarks, type UndoItem, type UndoKind, type UndoOutcome, type Verdict } from '../core/undo';
import { type CloudflareClient, type DnsRecord } from './cloudflare-client';

export * from './cloudflare-client';
export { disableSummary, enableSummary } from './cloudflare-summary';

/**
 * Cloudflare API v4: the maintenance page, done the runbook's way by pointing DNS records (`www`, `my`) at the
 * maintenance site, and undone by restoring each record's exact type, content, proxied flag and TTL, purging
 * the cache and reading the records back.
 *
 * Cloudflare allows 1200 calls per 5 minutes per token, shared with people using the dashboard, and going
 * over locks every call out for 5 minutes. So: few calls (one zone lookup, one `name.exact` read per record,
 * a PATCH only where the record differs), a hard cap on calls per step so nothing can loop, a check of the
 * `Ratelimit` header before the first write, and `Retry-After` honoured only while the wait fits the step's
 * deadline (a lockout fails the step at once rather than waiting five minutes).
 */

export const CLOUDFLARE_RECORD_KIND = 'cloudflare-dns';

export type AddressType = 'A' | 'AAAA' | 'CNAME';
export type PurgeCache = 'none' | 'everything' | 'hosts';

/** What a record must be put back to, and what the maintenance page made it. */
export interface SwappedRecord {
  id: string;
  name: string;
  original: { type: string; content: string; proxied: boolean; ttl: number };
  maintenance: { type: AddressType; content: string };
  /** The record's own comment before the window (the window's mark replaces it while the page is up). */
  comment?: string | null;
}

export interface CloudflareUndoData {
  zoneId: string;
  zoneName: string;
  target: string;
  records: SwappedRecord[];
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

/** `www`, `www.example.com` or `@` → the full record name in the zone. */
export function recordName(zoneName: string, name: string): string {
  const zone = zoneName.toLowerCase().replace(/\.$/, '');
  const value = name.trim().toLowerCase().replace(/\.$/, '');
  if (value === '@' || value === zone) return zone;
  if (!/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(value)) {
    throw new InputError('records', `'${name}' is not a DNS name.`);
  }
  return value.endsWith(`.${zone}`) ? value : `${value}.${zone}`;
}

/** What the maintenance target becomes: a CNAME to a host name, or an A/AAAA record to an address. */
export function targetRecord(target: string): { type: AddressType; content: string } {
  const value = target.trim().replace(/\.$/, '');
  const ip = isIP(value);
  if (ip === 4) return { type: 'A', content: value };
  if (ip === 6) return { type: 'AAAA', content: value };
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(value)) {
    throw new InputError('maintenanceTarget', `'${target}' is neither a host name (e.g. icmaintenance.azurewebsites.net) nor an IP address.`);
  }
  return { type: 'CNAME', content: value.toLowerCase() };
}

const sameContent = (a: string, b: string) => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
const isOriginal = (record: DnsRecord, swap: SwappedRecord) =>
  record.type === swap.original.type && sameContent(record.content, swap.original.content) && record.proxied === swap.original.proxied && record.ttl === swap.original.ttl;
const isMaintenance = (record: DnsRecord, swap: SwappedRecord) => record.type === swap.maintenance.type && sameContent(record.content, swap.maintenance.content);

export function validateCloudflareUndoData(data: unknown): CloudflareUndoData {
  const value = data as Partial<CloudflareUndoData> | undefined;
  if (!value || typeof value.zoneId !== 'string' || typeof value.zoneName !== 'string' || typeof value.target !== 'string') {
    throw new Error("'zoneId', 'zoneName' and 'target' are required.");
  }
  if (!Array.isArray(value.records) || value.records.length === 0) throw new Error("'records' must list the swapped records.");
  for (const record of value.records) {
    const o = record?.original;
    if (typeof record?.id !== 'string' || typeof record.name !== 'string' || !o || typeof o.type !== 'string' || typeof o.content !== 'string' || typeof o.proxied !== 'boolean' || !Number.isInteger(o.ttl)) {
      throw new Error('every record needs id, name and the original type, content, proxied and ttl.');
    }
    if (!record.maintenance || typeof record.maintenance.content !== 'string') throw new Error(`record ${record.name} does not say what the maintenance page set.`);
  }
  return value as CloudflareUndoData;
}

// ---------------------------------------------------------------------------------------------------------
// Enable

export interface EnableOptions {
  client: CloudflareClient;
  log: Log;
  zoneName: string;
  records: string[];
  target: string;
  windowId: string;
  purge: PurgeCache;
  publish: (record: UndoRecord<CloudflareUndoData>) => void;
  /** Cloudflare records of this run not yet restored: a re-run after a crash keeps their originals. */
  earlierRecords?: Array<UndoRecord<CloudflareUndoData>>;
  /** The window's clock: the record's time. */
  clock: WindowClock;
}

export interface EnableResult {
  record: UndoRecord<CloudflareUndoData>;
  /** Names switched now, and names that pointed at the target already (an earlier run). */
  switched: string[];
  alreadySwitched: string[];
  purged: PurgeCache;
  calls: number;
}

export async function enableMaintenancePage(options: EnableOptions): Promise<EnableResult> {
  const { client, log } = options;
  const maintenance = targetRecord(options.target);
  const names = [...new Set(options.records.map((name) => recordName(options.zoneName, name)))];
  if (names.length === 0) throw new InputError('records', 'lists no DNS record.');
  const zone = await client.findZone(options.zoneName);
  if (!zone) throw new InputError('zoneName', `zone '${options.zoneName}' was not found, or the token cannot see it.`);
  client.ensureBudget(2 * names.length + 3);

  const earlier = new Map<string, SwappedRecord>();
  for (const record of options.earlierRecords ?? []) {
    if (record.data.zoneId === zone.id) for (const swap of record.data.records) earlier.set(swap.id, swap);
  }
  const plan: Array<{ swap: SwappedRecord; current: DnsRecord }> = [];
  for (const name of names) {
    const current = pickRecord(name, await client.recordsNamed(zone.id, name), maintenance.type);
    const mark = parseDnsMark(current.comment);
    if (mark && mark.windowId !== options.windowId) {
      throw new SafetyError(`${name} carries the maintenance mark of window ${mark.windowId} ('${current.comment}'): that window's page is still up or was not taken down. Take it down first.`);
    }
    // The window's mark on the record is the truth about its original (a re-run in a fresh workspace has no record).
    const marked = mark ? { id: current.id, name, original: mark.original, maintenance, comment: mark.comment ?? earlier.get(current.id)?.comment ?? null } : undefined;
    const before = marked ?? earlier.get(current.id);
    if (!before && current.type === maintenance.type && sameContent(current.content, maintenance.content)) {
      throw new SafetyError(
        `${name} points at ${maintenance.content} already, and no undo record of this run says what it pointed to before; ` +
          'refusing to record the maintenance page as the original. Restore it with the earlier undo record, or set it by hand.',
      );
    }
    const original = before?.original ?? { type: current.type, content: current.content, proxied: current.proxied, ttl: current.ttl };
    const comment = before ? before.comment ?? null : current.comment ?? null;
    plan.push({ swap: { id: current.id, name, original, maintenance, comment }, current });
  }

  const record: UndoRecord<CloudflareUndoData> = newUndoRecord({
    kind: CLOUDFLARE_RECORD_KIND,
    windowId: options.windowId,
    now: options.clock.now(),
    description: `Maintenance page: ${names.join(', ')} pointed at ${maintenance.content} in zone ${zone.name}`,
    data: { zoneId: zone.id, zoneName: zone.name, target: maintenance.content, records: plan.map((p) => p.swap) },
  });
  options.publish(record);

  const switched: string[] = [];
  const alreadySwitched: string[] = [];
  for (const { swap, current } of plan) {
    const mark = formatDnsMark(options.windowId, swap.original, swap.comment);
    if (!mark) log.warn(`${swap.name}: the window's mark does not fit in a Cloudflare comment (${MARK_MAX_LENGTH} characters); only the undo record says what it was.`);
    if (isMaintenance(current, swap) && (!mark || parseDnsMark(current.comment)?.windowId === options.windowId)) {
      alreadySwitched.push(swap.name);
      continue;
    }
    log.info(`${swap.name}: ${current.type} ${current.content} → ${maintenance.type} ${maintenance.content}`);
    // The swap and the mark saying what it replaced go in one write, so neither can exist without the other.
    const after = await client.patchRecord(zone.id, swap.id, { type: maintenance.type, content: maintenance.content, ...(mark ? { comment: mark } : {}) });
    if (!isMaintenance(after, swap)) throw new ServiceError('Cloudflare', `${swap.name} reads ${after.type} ${after.content} after the change, not ${maintenance.content}.`);
    switched.push(swap.name);
  }
  await purgeCache(client, log, zone.id, options.purge, names);
  return { record, switched, alreadySwitched, purged: options.purge, calls: client.calls };
}

/** The one address record of a name that the maintenance page replaces; a clash is refused before any change. */
function pickRecord(name: string, all: DnsRecord[], targetType: AddressType): DnsRecord {
  const address = all.filter((record) => ['A', 'AAAA', 'CNAME'].includes(record.type));
  if (address.length === 0) throw new InputError('records', `${name} has no A, AAAA or CNAME record in the zone.`);
  if (address.length > 1) {
    throw new InputError(
      'records',
      `${name} has ${address.length} address records (${address.map((r) => `${r.type} ${r.content}`).join(', ')}); ` +
        `a ${targetType} record cannot replace them one for one${targetType === 'CNAME' ? ' and cannot sit beside them' : ''}.`,
    );
  }
  const others = all.filter((record) => record !== address[0]);
  if (targetType === 'CNAME' && others.length) {
    throw new InputError('records', `${name} also has ${others.map((r) => r.type).join(', ')} record(s): a CNAME cannot sit beside other records of the same name.`);
  }
  return address[0];
}

async function purgeCache(client: CloudflareClient, log: Log, zoneId: string, purge: PurgeCache, hosts: string[]): Promise<void> {
  if (purge === 'none') return;
  log.info(purge === 'everything' ? 'Purging the whole Cloudflare cache of the zone.' : `Purging the Cloudflare cache of ${hosts.join(', ')}.`);
  await client.purge(zoneId, purge === 'everything' ? { everything: true } : { hosts });
}

// ---------------------------------------------------------------------------------------------------------
// The window's mark on each swapped record, and the undo protocol's kind

/**
 * The comment the enable writes in the same PATCH that swaps a record: which window swapped it and from what,
 * e.g. `[mw 4711] was CNAME pal.example.com proxied ttl=1 | their own comment`. Cloudflare keeps comments
 * private (they are not served in DNS) and allows 100 characters on the Free plan; the record's own comment
 * is kept after `|` when it fits, and in the undo record in any case.
 */
export const MARK_MAX_LENGTH = 100;

export interface DnsMark {
  windowId: string;
  original: SwappedRecord['original'];
  comment?: string;
}

export function formatDnsMark(windowId: string, original: SwappedRecord['original'], comment?: string | null): string | undefined {
  const base = `[mw ${windowId}] was ${original.type} ${original.content} ${original.proxied ? 'proxied' : 'dns-only'} ttl=${original.ttl}`;
  if (base.length > MARK_MAX_LENGTH) return undefined;
  const full = comment ? `${base} | ${comment}` : base;
  return full.length <= MARK_MAX_LENGTH ? full : base;
}

export function parseDnsMark(comment: string | null | undefined): DnsMark | undefined {
  const match = /^\[mw ([^\]\s]+)\] was (A|AAAA|CNAME) (\S+) (proxied|dns-only) ttl=(\d+)(?: \| ([\s\S]*))?$/.exec(comment ?? '');
  if (!match) return undefined;
  return { windowId: match[1], original: { type: match[2], content: match[3], proxied: match[4] === 'proxied', ttl: Number(match[5]) }, comment: match[6] };
}

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
export function cloudflareUndoKind(scope: CloudflareUndoScope): UndoKind<CloudflareUndoData, DnsUndoItem> {
  const { client } = scope;
  let zone: { id: string; name: string } | undefined;
  const resolveZone = async () => {
    if (!scope.zoneName) return undefined;
    zone ??= await client.findZone(scope.zoneName);
    if (!zone) throw new InputError('zoneName', `zone '${scope.zoneName}' was not found, or the token cannot see it.`);
    return zone;
  };
  const judge = (swap: SwappedRecord, zoneId: string, now: DnsRecord | undefined, windowId: string, claimed: boolean): UndoItem<DnsUndoItem> => {
    const mark = parseDnsMark(now?.comment);
    const item = (verdict: Verdict, reason: string | undefined, original = swap.original, comment: string | null = swap.comment ?? null): UndoItem<DnsUndoItem> => ({
      name: swap.name,
      verdict,
      reason,
      item: { zoneId, swap: { ...swap, original }, comment },
    });
    if (!now) return item('refuse', `record ${swap.id} no longer exists; recreate it by hand as ${swap.original.type} ${swap.original.content}`);
    if (mark && mark.windowId !== windowId) return item('refuse', `it carries the mark of window ${mark.windowId}, not ${windowId}`);
    if (mark) {
      if (claimed && !sameOriginal(mark.original, swap.original)) {
        return item('refuse', `the undo record says it was ${swap.original.type} ${swap.original.content}, but the window's mark on it says ${mark.original.type} ${mark.original.content}`);
      }
      const comment = mark.comment ?? (claimed ? swap.comment ?? null : null);
      if (!isMaintenance(now, swap)) return item('left', `now ${now.type} ${now.content}, no longer the maintenance page`, mark.original, comment);
      return item('restore', `${now.type} ${now.content} → ${mark.original.type} ${mark.original.content}`, mark.original, comment);
    }
    if (isOriginal(now, swap)) return item('back', undefined);
    return item('refuse', `no mark of window ${windowId} on it (now ${now.type} ${now.content}): the maintenance page did not swap it, or someone changed it since`);
  };
  return {
    kind: CLOUDFLARE_RECORD_KIND,
    validate: validateCloudflareUndoData,
    targetOf: (data) => ({ zone: data.zoneName }),
    async assess(data, windowId) {
      const stepZone = await resolveZone();
      if (data) {
        if (stepZone && stepZone.id !== data.zoneId) {
          return data.records.map((swap) => ({ name: swap.name, verdict: 'refuse' as const, reason: `zone id ${data.zoneId} is not zone ${stepZone.name}`, item: { zoneId: data.zoneId, swap, comment: null } }));
        }
        const items: Array<UndoItem<DnsUndoItem>> = [];
        for (const swap of data.records) {
          const wrongTarget = !sameContent(swap.maintenance.content, data.target);
          const now = await client.getRecord(data.zoneId, swap.id);
          items.push(wrongTarget ? { name: swap.name, verdict: 'refuse', reason: `its maintenance content ${swap.maintenance.content} is not the record's target ${data.target}`, item: { zoneId: data.zoneId, swap, comment: null } } : judge(swap, data.zoneId, now, windowId, true));
        }
        return items;
      }
      if (!stepZone || !scope.names?.length) {
        scope.log.warn('No undo record, and no zoneName and records to look for the window\'s marks: nothing to restore.');
        return [];
      }
      const items: Array<UndoItem<DnsUndoItem>> = [];
      for (const name of scope.names.map((n) => recordName(stepZone.name, n))) {
        for (const now of await client.recordsNamed(stepZone.id, name)) {
          const mark = parseDnsMark(now.comment);
          if (!mark || mark.windowId !== windowId) continue;
          const swap: SwappedRecord = { id: now.id, name, original: mark.original, maintenance: { type: now.type as AddressType, content: now.content } };
          items.push(judge(swap, stepZone.id, now, windowId, false));
        }
      }
      return items;
    },
    async restore(items) {
      client.ensureBudget(2 * items.length + 1);
      for (const { item } of items) await client.patchRecord(item.zoneId, item.swap.id, { ...item.swap.original, comment: item.comment });
    },
    async readBack(items) {
      const notBack: string[] = [];
      for (const { name, item } of items) {
        const after = await client.getRecord(item.zoneId, item.swap.id);
        if (!after || !isOriginal(after, item.swap) || parseDnsMark(after.comment)) notBack.push(name);
      }
      return notBack;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Disable

export interface DisableResult {
  outcome: UndoOutcome<DnsUndoItem>;
  purged: PurgeCache;
  /** The purge failed after DNS was restored and verified: the step must fail, DNS is not touched again. */
  purgeError?: Error;
  calls: number;
}

/**
 * Takes the page down through the undo protocol (the record given, the run's unrestored records, then the
 * window's marks), purges once every record is back, and fails naming whatever is not.
 */
export async function disableMaintenancePage(options: {
  client: CloudflareClient;
  log: Log;
  record?: UndoRecord<CloudflareUndoData>;
  store?: RecordStore;
  windowId: string;
  zoneName?: string;
  names?: string[];
  purge: PurgeCache;
  /** The window's clock: the receipt's time. */
  clock: WindowClock;
}): Promise<DisableResult> {
  const { client, log } = options;
  const kind = cloudflareUndoKind({ client, log, zoneName: options.zoneName, names: options.names });
  const outcomes = await restoreRecordOrMarks({
    kind,
    record: options.record,
    store: options.store,
    windowId: options.windowId,
    target: { zone: options.zoneName },
    log,
    now: () => options.clock.now(),
    describe: (o) => `DNS records restored and verified (${describeOutcome(o)}).`,
  });
  const outcome = mergeOutcomes(outcomes);
  requireBack(outcome, 'Not every DNS record could be restored');
  const result: DisableResult = { outcome, purged: options.purge, calls: 0 };
  const zoneIds = [...new Set(outcome.items.map((i) => i.item.zoneId))];
  try {
    for (const zoneId of zoneIds) await purgeCache(client, log, zoneId, options.purge, outcome.items.filter((i) => i.item.zoneId === zoneId).map((i) => i.name));
    if (!zoneIds.length) result.purged = 'none';
  } catch (error) {
    result.purgeError = error as Error;
    log.error(`DNS is restored, but the cache purge failed: ${(error as Error).message}`);
  }
  result.calls = client.calls;
  return result;
}
