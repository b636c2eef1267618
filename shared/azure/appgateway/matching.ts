import type { ApplicationGatewayBackendAddressPool } from '@azure/arm-network';
import { InputError } from '../../core/errors';
import { describeMember, IPV4, memberAddress, memberKey, type PoolMember } from '../pool-members';
import { vmAddresses, type VmAddresses } from './reading';
import type { PoolSession } from './session';
import { sameName } from './shape';
import type { DrainedMember } from './types';

/** Server matching: which pool members the servers a person listed are (by IP, FQDN, VM name or NIC). */

/** Pure: the members a server name or address names directly. */
export function matchByName(candidates: PoolMember[], server: string): PoolMember[] {
  return candidates.filter((member) => {
    if (member.type === 'ipAddress') return member.ipAddress === server;
    if (member.type === 'fqdn') return sameName(member.fqdn, server) || sameName(member.fqdn.split('.')[0], server);
    return member.privateIp === server || sameName(member.label, server);
  });
}

/** Pure: the members that are one of a VM's NIC IP configurations or private IPs. */
export function matchByVm(candidates: PoolMember[], vm: VmAddresses): PoolMember[] {
  return candidates.filter((member) =>
    member.type === 'ipConfiguration'
      ? vm.ipConfigurations.has(member.id.toLowerCase())
      : member.type === 'ipAddress' && vm.ips.has(member.ipAddress),
  );
}

export interface ResolvedServer {
  member: PoolMember;
  /** The window whose drain took it out, when it is already out. */
  carriedFrom?: string;
}

/**
 * Finds each listed server among the pool's members (by IP, FQDN, VM name or NIC). One that is not a member
 * but that an earlier drain of this task took out (its drained tag says so) is `carried`; any other is a
 * refusal, naming it. Refusals are returned, not thrown, so the caller can first record what is carried.
 */
export async function resolveServers(
  session: PoolSession,
  request: { inputName: string; servers: string[]; members: PoolMember[]; drained: () => Promise<DrainedMember[]> },
): Promise<{ resolved: ResolvedServer[]; refusals: InputError[] }> {
  const found = new Map<string, ResolvedServer>();
  const refusals: InputError[] = [];
  for (const server of request.servers) {
    const refusal = await resolveServer(session, request, server, found);
    if (refusal) refusals.push(refusal);
  }
  return { resolved: [...found.values()], refusals };
}

/** Adds what `server` names to `found`, or answers why it names nothing this drain may take out. */
async function resolveServer(
  session: PoolSession,
  request: { inputName: string; members: PoolMember[]; drained: () => Promise<DrainedMember[]> },
  server: string,
  found: Map<string, ResolvedServer>,
): Promise<InputError | undefined> {
  const { inputName, members } = request;
  let matches = matchByName(members, server);
  let vm: VmAddresses | undefined;
  let notVm: InputError | undefined;
  if (!matches.length && !IPV4.test(server)) {
    vm = await vmAddresses(session, inputName, server).catch((error) => {
      if (!(error instanceof InputError)) throw error;
      notVm = error;
      return undefined;
    });
    if (vm) matches = matchByVm(members, vm);
  }
  if (matches.length) {
    for (const member of matches) found.set(memberKey(member), { member: { ...member, label: member.label ?? server } });
    return undefined;
  }
  const ours = await request.drained();
  const oursMembers = ours.map((entry) => entry.member);
  const carried = matchByName(oursMembers, server).length ? matchByName(oursMembers, server) : vm ? matchByVm(oursMembers, vm) : [];
  if (carried.length) {
    for (const member of carried) {
      const windowId = ours.find((entry) => memberKey(entry.member) === memberKey(member))!.windowId;
      found.set(memberKey(member), { member: { ...member, label: member.label ?? server }, carriedFrom: windowId });
    }
    return undefined;
  }
  return (
    notVm ??
    new InputError(
      inputName,
      `'${server}' is not a member of ${session.where} (members: ${members.map(describeMember).join(', ') || 'none'}), and no drained ` +
        `tag of this task names it, so it was taken out by someone else or never was a member.`,
    )
  );
}

/** For a restore without an undo record: what each listed server is as a member of this pool. */
export async function membersToAddBack(
  session: PoolSession,
  servers: string[],
  pool: ApplicationGatewayBackendAddressPool,
  current: PoolMember[],
): Promise<PoolMember[]> {
  const nicPool = current.some((member) => member.type === 'ipConfiguration') || (pool.backendIPConfigurations?.length ?? 0) > 0;
  const out: PoolMember[] = [];
  for (const server of servers) {
    const already = current.find(
      (member) =>
        memberAddress(member) === server ||
        sameName(member.label, server) ||
        (member.type === 'fqdn' && sameName(member.fqdn.split('.')[0], server)),
    );
    if (already) out.push({ ...already, label: already.label ?? server });
    else out.push(await newMemberFor(session, server, nicPool));
  }
  return out;
}

/** A server that is not in the pool now, as the member it would be: an address, or its VM's NIC or IP. */
async function newMemberFor(session: PoolSession, server: string, nicPool: boolean): Promise<PoolMember> {
  if (IPV4.test(server)) {
    if (nicPool)
      throw new InputError(
        'servers',
        `'${server}': ${session.where} holds virtual machine (NIC) targets; name the virtual machine, or give the undo record.`,
      );
    return { type: 'ipAddress', ipAddress: server };
  }
  const vm = await vmAddresses(session, 'servers', server).catch((error) => {
    if (error instanceof InputError && server.includes('.') && !nicPool) return undefined;
    throw error;
  });
  if (!vm) return { type: 'fqdn', fqdn: server };
  if (!vm.primary) throw new InputError('servers', `virtual machine '${server}' has no network interface IP configuration.`);
  if (nicPool) return { type: 'ipConfiguration', id: vm.primary.id, privateIp: vm.primary.ip, label: server };
  if (vm.primary.ip) return { type: 'ipAddress', ipAddress: vm.primary.ip, label: server };
  throw new InputError('servers', `virtual machine '${server}' has no private IP address.`);
}
