import type { ApplicationGateway, NetworkInterface } from '@azure/arm-network';
import { describeArmError } from '../arm';
import {
  DrainedTagError,
  formatGatewayTag,
  parseGatewayTag,
  parseNicTag,
  tagValue,
  withTag,
  type DrainedAddress,
  type DrainedIpConfiguration,
} from '../drain-tags';
import { memberKey, type PoolMember } from '../pool-members';
import type { PoolSession } from './session';
import { findPool, lastSegment, nicOf, sameName } from './shape';
import type { DrainedMember, NicMember } from './types';

/** The drained tags of this pool on the gateway and its NICs (the format is in ../drain-tags.ts). */

/** What the gateway's drained tag of this pool names, or why it cannot be read. */
export function gatewayTag(
  session: PoolSession,
  gateway: ApplicationGateway,
): { value?: string; entries: DrainedAddress[]; problem?: string } {
  const value = tagValue(gateway.tags, session.gatewayTagName);
  try {
    return { value, entries: parseGatewayTag(value, session.gatewayTagName) };
  } catch (error) {
    if (error instanceof DrainedTagError) return { value, entries: [], problem: error.message };
    throw error;
  }
}

/** What a NIC's drained tag of this pool names (none, with a warning, when it is not readable). */
export function nicTag(session: PoolSession, nic: NetworkInterface): { entries: DrainedIpConfiguration[]; problem?: string } {
  try {
    return { entries: parseNicTag(tagValue(nic.tags, session.nicTagName), session.nicTagName) };
  } catch (error) {
    if (error instanceof DrainedTagError) return { entries: [], problem: `network interface '${nic.name}': ${error.message}` };
    throw error;
  }
}

/** Puts `entries` in the drained tag of `gateway` (the body about to be written), or says why not. */
export function setGatewayTag(session: PoolSession, gateway: ApplicationGateway, entries: DrainedAddress[]): boolean {
  const result = withTag(gateway.tags, session.gatewayTagName, formatGatewayTag(entries));
  if ('problem' in result) {
    session.warnOnce(
      `Not recording the servers taken out on application gateway '${session.target.applicationGatewayName}': ${result.problem}. ` +
        'The undo record is the only record of them: a re-run of this drain in a fresh workspace would refuse them as not members, so ' +
        "restore from this step's undo record.",
    );
    return false;
  }
  gateway.tags = result.tags;
  return true;
}

/**
 * Members this task took out of the pool in an earlier drain and that are still out: the addresses the
 * gateway's tag names and the NIC IP configurations the NICs of the resource group name. Read only when
 * needed (a server that is not a member, or a restore with nothing but the tags to go on).
 */
export async function drainedByUs(session: PoolSession, gateway: ApplicationGateway, current: PoolMember[]): Promise<DrainedMember[]> {
  const present = new Set(current.map(memberKey));
  const tag = gatewayTag(session, gateway);
  if (tag.problem) session.warnOnce(`Ignoring the gateway's drained tag: ${tag.problem}.`);
  const found: DrainedMember[] = tag.entries
    .filter((entry) => !present.has(memberKey(entry.member)))
    .map(({ member, windowId }) => ({ member, windowId }));
  const poolId = (findPool(gateway, session.target).id ?? '').toLowerCase();
  try {
    for await (const nic of session.clients.network.networkInterfaces.list(session.target.resourceGroupName)) {
      if (!nic.id || tagValue(nic.tags, session.nicTagName) === undefined) continue;
      session.nicCache.set(nic.id.toLowerCase(), nic);
      found.push(...drainedOnNic(session, nic, poolId).filter((entry) => !present.has(memberKey(entry.member))));
    }
  } catch (error) {
    throw describeArmError(error, `listing the network interfaces of resource group '${session.target.resourceGroupName}'`);
  }
  return found;
}

/** The IP configurations of `nic` that its drained tag names and that no longer reference the pool. */
function drainedOnNic(session: PoolSession, nic: NetworkInterface, poolId: string): DrainedMember[] {
  const tag = nicTag(session, nic);
  if (tag.problem) session.warnOnce(`Ignoring a drained tag: ${tag.problem}.`);
  const found: DrainedMember[] = [];
  for (const entry of tag.entries) {
    const config = nic.ipConfigurations?.find((candidate) => sameName(candidate.name, entry.name));
    if (!config?.id) continue;
    if ((config.applicationGatewayBackendAddressPools ?? []).some((reference) => (reference.id ?? '').toLowerCase() === poolId)) continue;
    const member: PoolMember = {
      type: 'ipConfiguration',
      id: config.id,
      privateIp: config.privateIPAddress,
      label: lastSegment(nic.virtualMachine?.id) ?? nic.name,
    };
    found.push({ member, windowId: entry.windowId });
  }
  return found;
}

/** Whether the (cached) NIC of a member still names it in its drained tag. */
export function nicTagNames(session: PoolSession, member: NicMember): boolean {
  const nic = session.nicCache.get(nicOf(member.id).nicId.toLowerCase());
  const name = lastSegment(member.id) ?? '';
  return !!nic && nicTag(session, nic).entries.some((entry) => sameName(entry.name, name));
}
