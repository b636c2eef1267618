import type { NetworkInterface } from '@azure/arm-network';
import { InputError, messageOf } from '../core/errors';
import { compactNames } from '../core/text';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { PreflightFinding } from '../core/preflight';
import { BackendPoolClient, describeMember, memberAddress, type MemberHealth, type PoolMember, type PoolTarget } from './appgateway';
import { armClients, armFailure, type ArmClients } from './arm';
import type { AzureConnection } from './credentials';
import { checkPermissions, checkSignIn, GATEWAY_ACTIONS } from './permissions-check';

/**
 * AppGatewayDrain's `check` action: signs in, compares the identity's permissions on the gateway's resource
 * group with what a drain needs, reads the pool and its health, resolves every server the drain names and
 * says what the drain would do and how many servers would stay healthy, and refuses a drained tag an earlier
 * window left on the gateway. It only reads (GETs and the backend health query, which is an action that
 * changes nothing).
 */

export interface GatewayCheckOptions {
  connection: AzureConnection;
  target: PoolTarget;
  servers: string[];
  minHealthyServers: number;
  /** This window: a drained tag of another window is a leftover. */
  windowId?: string;
  pollIntervalMs: number;
  log: Log;
  clock: WindowClock;
}

function sameName(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

/** The members a server name stands for: by label, address or FQDN, else through its VM's NICs. */
async function membersOfServer(
  clients: ArmClients,
  resourceGroupName: string,
  server: string,
  members: PoolMember[],
): Promise<PoolMember[]> {
  const direct = members.filter(
    (member) =>
      sameName(member.label, server) ||
      sameName(memberAddress(member), server) ||
      (member.type === 'fqdn' && sameName(member.fqdn.split('.')[0], server)),
  );
  if (direct.length) return direct;
  let vm;
  try {
    vm = await clients.compute.virtualMachines.get(resourceGroupName, server);
  } catch (error) {
    if (armFailure(error).status === 404) return [];
    throw error;
  }
  const ips = new Set<string>();
  const configurations = new Set<string>();
  for (const reference of vm.networkProfile?.networkInterfaces ?? []) {
    const parts = (reference.id ?? '').split('/');
    const nic: NetworkInterface = await clients.network.networkInterfaces.get(parts[4] ?? resourceGroupName, parts[parts.length - 1] ?? '');
    for (const config of nic.ipConfigurations ?? []) {
      if (config.privateIPAddress) ips.add(config.privateIPAddress);
      if (config.id) configurations.add(config.id.toLowerCase());
    }
  }
  return members.filter((member) =>
    member.type === 'ipConfiguration' ? configurations.has(member.id.toLowerCase()) : ips.has(memberAddress(member)),
  );
}

function gatewayObject(target: PoolTarget): string {
  return `application gateway ${target.applicationGatewayName} pool ${target.backendPoolName} (resource group ${target.resourceGroupName})`;
}

/** What a drain of the servers would do, and whether enough would stay healthy. */
async function drainPreview(clients: ArmClients, options: GatewayCheckOptions, members: MemberHealth[]): Promise<PreflightFinding[]> {
  const { target, servers, minHealthyServers } = options;
  const object = gatewayObject(target);
  const findings: PreflightFinding[] = [];
  const batch = new Map<string, MemberHealth>();
  const unknown: string[] = [];
  for (const server of servers) {
    const found = await membersOfServer(
      clients,
      target.resourceGroupName,
      server,
      members.map((entry) => entry.member),
    );
    if (!found.length) unknown.push(server);
    for (const member of found)
      batch.set(
        memberAddress(member),
        members.find((entry) => memberAddress(entry.member) === memberAddress(member))!,
      );
  }
  if (unknown.length) {
    findings.push({
      check: 'pool-servers',
      object,
      verdict: 'NO-GO',
      why:
        `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the pool ` +
        `(members: ${members.map((entry) => describeMember(entry.member)).join(', ') || 'none'}).`,
      fix: 'Correct the servers of the drain step, or put the server back in the pool (a leftover drain: restore it).',
    });
  }
  if (!servers.length) return findings;
  const stay = members.filter((entry) => !batch.has(memberAddress(entry.member)) && entry.health === 'Up').length;
  const wouldDo = `would drain ${compactNames(servers)} from pool ${target.backendPoolName}; ${stay} would stay healthy`;
  const enough = stay >= Math.max(1, minHealthyServers);
  findings.push({
    check: 'pool-health',
    object,
    verdict: enough ? 'GO' : 'NO-GO',
    why: enough
      ? `${stay} healthy server(s) would stay in the pool (at least ${minHealthyServers} needed).`
      : `only ${stay} healthy server(s) would stay in the pool; at least ${Math.max(1, minHealthyServers)} needed.`,
    fix: enough ? '' : 'Bring the unhealthy servers back to health, or drain a smaller batch.',
    wouldDo,
  });
  return findings;
}

/** Drained tags of an earlier window: servers a drain took out that no restore put back. */
async function leftoverDrains(pool: BackendPoolClient, options: GatewayCheckOptions): Promise<PreflightFinding> {
  const object = gatewayObject(options.target);
  const drained = (await pool.drainedMembers()).filter((entry) => entry.windowId !== options.windowId);
  if (!drained.length)
    return {
      check: 'drained-tags',
      object,
      verdict: 'GO',
      why: 'no drained tag of an earlier window on the gateway or its NICs.',
      fix: '',
    };
  const windows = [...new Set(drained.map((entry) => entry.windowId))];
  const names = drained.map((entry) => describeMember(entry.member)).join(', ');
  return {
    check: 'drained-tags',
    object,
    verdict: 'NO-GO',
    why: `a drained tag of window ${windows.join(', ')} still names ${names}: out of the pool since then.`,
    fix: `Run AppGatewayDrain with action restore (no undo record) for window ${windows.join(', ')}, or put them back and remove the tag.`,
  };
}

export async function checkGateway(options: GatewayCheckOptions): Promise<PreflightFinding[]> {
  const signIn = await checkSignIn(options.connection);
  if (signIn.verdict === 'NO-GO') return [signIn];
  const clients = armClients(options.connection);
  const findings = [
    signIn,
    await checkPermissions({
      sender: clients.network,
      connection: options.connection,
      resourceGroupName: options.target.resourceGroupName,
      needed: GATEWAY_ACTIONS,
      purpose: 'a drain and restore',
    }),
  ];
  const pool = new BackendPoolClient(clients, options.target, {
    log: options.log,
    clock: options.clock,
    pollIntervalMs: options.pollIntervalMs,
    busyTimeoutMs: 0,
  });
  const object = gatewayObject(options.target);
  try {
    const status = await pool.status();
    const healthy = status.members.filter((entry) => entry.health === 'Up').length;
    findings.push({
      check: 'gateway',
      object,
      verdict: 'GO',
      why: `found; ${healthy} of ${status.members.length} server(s) healthy, connection draining ${status.drainTimeoutSeconds} s.`,
      fix: '',
    });
    findings.push(...(await drainPreview(clients, options, status.members)));
    findings.push(await leftoverDrains(pool, options));
  } catch (error) {
    const fix =
      error instanceof InputError
        ? "Correct the step's resource group, gateway or pool name (it must exist under that name)."
        : 'See why; run the check again once Azure answers.';
    findings.push({ check: 'gateway', object, verdict: 'NO-GO', why: messageOf(error), fix });
  }
  return findings;
}
