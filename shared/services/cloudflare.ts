import { InputError, SafetyError, ServiceError } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import { describeOutcome, mergeOutcomes, requireBack, restoreRecordOrMarks, type UndoOutcome } from '../core/undo';
import { type CloudflareClient, type DnsRecord } from './cloudflare-client';
import {
  CLOUDFLARE_RECORD_KIND,
  cloudflareUndoKind,
  formatDnsMark,
  isMaintenance,
  MARK_MAX_LENGTH,
  parseDnsMark,
  recordName,
  sameContent,
  targetRecord,
  type AddressType,
  type CloudflareUndoData,
  type DnsUndoItem,
  type SwappedRecord,
} from './cloudflare-records';

export * from './cloudflare-client';
export * from './cloudflare-records';
export { disableSummary, enableSummary } from './cloudflare-summary';

export type PurgeCache = 'none' | 'everything' | 'hosts';

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
      throw new SafetyError(
        `${name} carries the maintenance mark of window ${mark.windowId} ('${current.comment}'): ` +
          "that window's page is still up or was not taken down. Take it down first.",
      );
    }
    // The window's mark on the record is the truth about its original (a re-run in a fresh workspace has no record).
    const marked = mark
      ? { id: current.id, name, original: mark.original, maintenance, comment: mark.comment ?? earlier.get(current.id)?.comment ?? null }
      : undefined;
    const before = marked ?? earlier.get(current.id);
    if (!before && current.type === maintenance.type && sameContent(current.content, maintenance.content)) {
      throw new SafetyError(
        `${name} points at ${maintenance.content} already, and no undo record of this run says what it pointed to before; ` +
          'refusing to record the maintenance page as the original. Restore it with the earlier undo record, or set it by hand.',
      );
    }
    const original = before?.original ?? { type: current.type, content: current.content, proxied: current.proxied, ttl: current.ttl };
    const comment = before ? (before.comment ?? null) : (current.comment ?? null);
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
    if (!mark)
      log.warn(
        `${swap.name}: the window's mark does not fit in a Cloudflare comment (${MARK_MAX_LENGTH} characters); ` +
          'only the undo record says what it was.',
      );
    if (isMaintenance(current, swap) && (!mark || parseDnsMark(current.comment)?.windowId === options.windowId)) {
      alreadySwitched.push(swap.name);
      continue;
    }
    log.info(`${swap.name}: ${current.type} ${current.content} → ${maintenance.type} ${maintenance.content}`);
    // The swap and the mark saying what it replaced go in one write, so neither can exist without the other.
    const after = await client.patchRecord(zone.id, swap.id, {
      type: maintenance.type,
      content: maintenance.content,
      ...(mark ? { comment: mark } : {}),
    });
    if (!isMaintenance(after, swap))
      throw new ServiceError(
        'Cloudflare',
        `${swap.name} reads ${after.type} ${after.content} after the change, not ${maintenance.content}.`,
      );
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
    throw new InputError(
      'records',
      `${name} also has ${others.map((r) => r.type).join(', ')} record(s): a CNAME cannot sit beside other records of the same name.`,
    );
  }
  return address[0];
}

async function purgeCache(client: CloudflareClient, log: Log, zoneId: string, purge: PurgeCache, hosts: string[]): Promise<void> {
  if (purge === 'none') return;
  log.info(
    purge === 'everything' ? 'Purging the whole Cloudflare cache of the zone.' : `Purging the Cloudflare cache of ${hosts.join(', ')}.`,
  );
  await client.purge(zoneId, purge === 'everything' ? { everything: true } : { hosts });
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
    for (const zoneId of zoneIds)
      await purgeCache(
        client,
        log,
        zoneId,
        options.purge,
        outcome.items.filter((i) => i.item.zoneId === zoneId).map((i) => i.name),
      );
    if (!zoneIds.length) result.purged = 'none';
  } catch (error) {
    result.purgeError = error as Error;
    log.error(`DNS is restored, but the cache purge failed: ${(error as Error).message}`);
  }
  result.calls = client.calls;
  return result;
}
