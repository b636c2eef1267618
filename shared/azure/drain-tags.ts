import { IPV4, memberKey, type PoolMember } from './pool-members';

/**
 * The second copy of a drain's undo record, kept on Azure itself: which members this task took out of a
 * pool, and in which window. It is written in the same write that takes them out (so it cannot be lost
 * between the change and the record, as a record file can when a job is re-run in a fresh workspace) and
 * removed in the write that puts them back.
 *
 * - Address pools: one tag on the application gateway, `maintenance-window.drained.<pool>`, whose value is
 *   compact JSON `{"<window>":{"<address>":<position>}}`: each address taken out and its index in the
 *   pool's address list as it would be with every tagged address back (so a restore that has only the tag
 *   still puts them back in their old order).
 * - Pools of NIC IP configurations: membership lives on the NICs, and a NIC write is the write that takes a
 *   member out, so the tag goes on each NIC changed: `maintenance-window.drained.<gateway>.<pool>` with
 *   `{"<window>":["<ip configuration name>"]}`.
 *
 * Azure allows 50 tags per resource, names of at most 512 characters and values of at most 256; a set that
 * does not fit is not written (the caller says so and relies on the undo record alone).
 */

export const DRAINED_TAG_PREFIX = 'maintenance-window.drained.';
export const TAG_LIMITS = { nameLength: 512, valueLength: 256, perResource: 50 };

export type AddressMember = Extract<PoolMember, { type: 'ipAddress' | 'fqdn' }>;

/** An address this task took out of a pool: in which window, and where it stood in the pool. */
export interface DrainedAddress {
  member: AddressMember;
  windowId: string;
  position: number;
}

/** An IP configuration of one NIC that this task took out of a pool, and in which window. */
export interface DrainedIpConfiguration {
  name: string;
  windowId: string;
}

export type Tags = Record<string, string>;

export class DrainedTagError extends Error {}

export function gatewayTagName(poolName: string): string {
  return `${DRAINED_TAG_PREFIX}${poolName}`;
}

export function nicTagName(gatewayName: string, poolName: string): string {
  return `${DRAINED_TAG_PREFIX}${gatewayName}.${poolName}`;
}

/** The tag's value; Azure compares tag names without case. */
export function tagValue(tags: Tags | undefined, name: string): string | undefined {
  const key = Object.keys(tags ?? {}).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : tags![key];
}

/**
 * `tags` with only `name` set to `value` (removed when `value` is undefined), every other tag as it was; or
 * why Azure would refuse it.
 */
export function withTag(tags: Tags | undefined, name: string, value: string | undefined): { tags: Tags } | { problem: string } {
  const others = Object.fromEntries(Object.entries(tags ?? {}).filter(([key]) => key.toLowerCase() !== name.toLowerCase()));
  if (value === undefined) return { tags: others };
  if (name.length > TAG_LIMITS.nameLength)
    return { problem: `the tag name '${name}' is ${name.length} characters long (Azure allows ${TAG_LIMITS.nameLength})` };
  if (value.length > TAG_LIMITS.valueLength)
    return {
      problem: `the tag '${name}' would be ${value.length} characters long (Azure allows ${TAG_LIMITS.valueLength} in a tag value)`,
    };
  if (Object.keys(others).length + 1 > TAG_LIMITS.perResource)
    return { problem: `the resource already has ${Object.keys(others).length} other tags (Azure allows ${TAG_LIMITS.perResource})` };
  return { tags: { ...others, [name]: value } };
}

function addressMember(address: string): AddressMember {
  return IPV4.test(address) || address.includes(':') ? { type: 'ipAddress', ipAddress: address } : { type: 'fqdn', fqdn: address };
}

function addressOf(member: AddressMember): string {
  return member.type === 'ipAddress' ? member.ipAddress : member.fqdn;
}

function bare(member: AddressMember): AddressMember {
  return member.type === 'ipAddress' ? { type: 'ipAddress', ipAddress: member.ipAddress } : { type: 'fqdn', fqdn: member.fqdn };
}

function parseObject(value: string, name: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new DrainedTagError(`the tag '${name}' is not JSON: ${value}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DrainedTagError(`the tag '${name}' is not a JSON object: ${value}`);
  return parsed as Record<string, unknown>;
}

/** The addresses a gateway tag names (none when there is no tag); throws DrainedTagError when it is not ours. */
export function parseGatewayTag(value: string | undefined, name = 'drained'): DrainedAddress[] {
  if (value === undefined || value === '') return [];
  const entries: DrainedAddress[] = [];
  for (const [windowId, addresses] of Object.entries(parseObject(value, name))) {
    if (!addresses || typeof addresses !== 'object' || Array.isArray(addresses))
      throw new DrainedTagError(`the tag '${name}' holds '${windowId}' without its addresses: ${value}`);
    for (const [address, position] of Object.entries(addresses as Record<string, unknown>)) {
      if (!address || !Number.isInteger(position) || (position as number) < 0)
        throw new DrainedTagError(`the tag '${name}' gives '${address}' no position: ${value}`);
      entries.push({ member: addressMember(address), windowId, position: position as number });
    }
  }
  return entries.sort((a, b) => a.position - b.position);
}

/** The gateway tag's value for these addresses (undefined when there are none: the tag is removed). */
export function formatGatewayTag(entries: DrainedAddress[]): string | undefined {
  if (!entries.length) return undefined;
  const byWindow: Record<string, Record<string, number>> = {};
  for (const entry of [...entries].sort((a, b) => a.position - b.position))
    (byWindow[entry.windowId] ??= {})[addressOf(entry.member)] = entry.position;
  return JSON.stringify(byWindow);
}

/** The IP configurations a NIC tag names; throws DrainedTagError when it is not ours. */
export function parseNicTag(value: string | undefined, name = 'drained'): DrainedIpConfiguration[] {
  if (value === undefined || value === '') return [];
  const entries: DrainedIpConfiguration[] = [];
  for (const [windowId, names] of Object.entries(parseObject(value, name))) {
    if (!Array.isArray(names) || !names.every((config) => typeof config === 'string' && config))
      throw new DrainedTagError(`the tag '${name}' holds '${windowId}' without a list of IP configurations: ${value}`);
    for (const config of names as string[]) entries.push({ name: config, windowId });
  }
  return entries;
}

export function formatNicTag(entries: DrainedIpConfiguration[]): string | undefined {
  if (!entries.length) return undefined;
  const byWindow: Record<string, string[]> = {};
  for (const entry of entries) (byWindow[entry.windowId] ??= []).push(entry.name);
  return JSON.stringify(byWindow);
}

/**
 * The pool's address list with every drained address back at its position: `current` keeps its own order
 * and the drained ones (those not already in it) are inserted in ascending position.
 */
export function fullOrder(current: AddressMember[], drained: DrainedAddress[]): AddressMember[] {
  const present = new Set(current.map(memberKey));
  const order = [...current];
  for (const entry of [...drained].sort((a, b) => a.position - b.position)) {
    if (present.has(memberKey(entry.member))) continue;
    order.splice(Math.min(entry.position, order.length), 0, entry.member);
    present.add(memberKey(entry.member));
  }
  return order;
}

/** Entries for the addresses `out`, positioned by their index in `order` (which must hold them all). */
export function positioned(order: AddressMember[], out: Array<{ member: AddressMember; windowId: string }>): DrainedAddress[] {
  const index = new Map(order.map((member, position) => [memberKey(member), position]));
  return out.map(({ member, windowId }) => {
    const position = index.get(memberKey(member));
    if (position === undefined) throw new Error(`${addressOf(member)} is not in the order it is positioned in.`);
    return { member: bare(member), windowId, position };
  });
}
