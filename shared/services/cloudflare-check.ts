import { InputError, messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import { parseDnsMark, recordName, targetRecord, type CloudflareClient, type DnsRecord } from './cloudflare';

/**
 * MaintenancePage's `check` action: finds the zone (which proves the token) and every record the page would
 * swap, without patching anything. A record that still carries another window's maintenance mark is a page
 * an earlier night left up.
 */

export interface CloudflareCheckOptions {
  client: CloudflareClient;
  zoneName: string;
  records: string[];
  target: string;
  windowId: string;
}

const ADDRESS_TYPES = new Set(['A', 'AAAA', 'CNAME']);

function recordFinding(name: string, found: DnsRecord[], windowId: string): PreflightFinding {
  const object = `DNS record ${name}`;
  const address = found.filter((record) => ADDRESS_TYPES.has(record.type));
  if (!address.length) {
    return {
      check: 'dns-record',
      object,
      verdict: 'NO-GO',
      why: found.length
        ? `has no A, AAAA or CNAME record (only ${found.map((r) => r.type).join(', ')}).`
        : 'does not exist in the zone (moved, renamed or deleted?).',
      fix: "Correct the maintenance page step's records, or recreate the record in Cloudflare.",
    };
  }
  const marked = address.map((record) => parseDnsMark(record.comment)).find((mark) => mark && mark.windowId !== windowId);
  if (marked) {
    return {
      check: 'dns-record',
      object,
      verdict: 'NO-GO',
      why: `carries the maintenance mark of window ${marked.windowId}: that night's page is still up.`,
      fix: `Run MaintenancePage with action disable for window ${marked.windowId} (it restores from the mark).`,
    };
  }
  return { check: 'dns-record', object, verdict: 'GO', why: `found: ${address.map((r) => `${r.type} ${r.content}`).join(', ')}.`, fix: '' };
}

export async function checkCloudflare(options: CloudflareCheckOptions): Promise<PreflightFinding[]> {
  const { client, zoneName } = options;
  const target = targetRecord(options.target);
  const names = [...new Set(options.records.map((name) => recordName(zoneName, name)))];
  if (!names.length) throw new InputError('records', 'lists no DNS record.');
  let zone;
  try {
    zone = await client.findZone(zoneName);
  } catch (error) {
    return [
      {
        check: 'cloudflare-token',
        object: 'Cloudflare service connection',
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: 'Put a valid Cloudflare API token (Zone: DNS Edit, Cache Purge) in the service connection.',
      },
    ];
  }
  if (!zone)
    return [
      {
        check: 'dns-zone',
        object: `Cloudflare zone ${zoneName}`,
        verdict: 'NO-GO',
        why: 'not found, or the token cannot see it.',
        fix: 'Correct zoneName, or give the token access to the zone.',
      },
    ];
  const findings: PreflightFinding[] = [];
  for (const name of names) findings.push(recordFinding(name, await client.recordsNamed(zone.id, name), options.windowId));
  const short = names.map((name) => (name === zone.name ? '@' : name.slice(0, -(zone.name.length + 1))));
  findings.unshift({
    check: 'dns-zone',
    object: `Cloudflare zone ${zone.name}`,
    verdict: 'GO',
    why: 'found.',
    fix: '',
    wouldDo: `would point ${short.join(' and ')} at ${target.content}`,
  });
  return findings;
}
