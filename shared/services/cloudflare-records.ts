import { isIP } from 'node:net';
import { InputError } from '../core/errors';
import type { DnsRecord } from './cloudflare-client';

/**
 * The maintenance page's DNS records: their names and the page's target, what a swap replaced (the undo record's
 * data), the window's mark on each swapped record, and the undo protocol's kind that restores them.
 */

export const CLOUDFLARE_RECORD_KIND = 'cloudflare-dns';

export type AddressType = 'A' | 'AAAA' | 'CNAME';

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
    throw new InputError(
      'maintenanceTarget',
      `'${target}' is neither a host name (e.g. icmaintenance.azurewebsites.net) nor an IP address.`,
    );
  }
  return { type: 'CNAME', content: value.toLowerCase() };
}

export const sameContent = (a: string, b: string) => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
export const isOriginal = (record: DnsRecord, swap: SwappedRecord) =>
  record.type === swap.original.type &&
  sameContent(record.content, swap.original.content) &&
  record.proxied === swap.original.proxied &&
  record.ttl === swap.original.ttl;
export const isMaintenance = (record: DnsRecord, swap: SwappedRecord) =>
  record.type === swap.maintenance.type && sameContent(record.content, swap.maintenance.content);

export function validateCloudflareUndoData(data: unknown): CloudflareUndoData {
  const value = data as Partial<CloudflareUndoData> | undefined;
  if (!value || typeof value.zoneId !== 'string' || typeof value.zoneName !== 'string' || typeof value.target !== 'string') {
    throw new Error("'zoneId', 'zoneName' and 'target' are required.");
  }
  if (!Array.isArray(value.records) || value.records.length === 0) throw new Error("'records' must list the swapped records.");
  for (const record of value.records) {
    const o = record?.original;
    if (
      typeof record?.id !== 'string' ||
      typeof record.name !== 'string' ||
      !o ||
      typeof o.type !== 'string' ||
      typeof o.content !== 'string' ||
      typeof o.proxied !== 'boolean' ||
      !Number.isInteger(o.ttl)
    ) {
      throw new Error('every record needs id, name and the original type, content, proxied and ttl.');
    }
    if (!record.maintenance || typeof record.maintenance.content !== 'string')
      throw new Error(`record ${record.name} does not say what the maintenance page set.`);
  }
  return value as CloudflareUndoData;
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
  return {
    windowId: match[1],
    original: { type: match[2], content: match[3], proxied: match[4] === 'proxied', ttl: Number(match[5]) },
    comment: match[6],
  };
}

export { cloudflareUndoKind, type CloudflareUndoScope, type DnsUndoItem } from './cloudflare-undo';
