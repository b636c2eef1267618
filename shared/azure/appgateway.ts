import type { ApplicationGateway, ApplicationGatewayBackendAddressPool, ApplicationGatewayBackendHealth, NetworkInterface } from '@azure/arm-network';
import { beginActivity, cancellationSignal } from '../core/cancel';
import { InputError, SafetyError, ServiceError } from '../core/errors';
import type { Log } from '../core/log';
import { newUndoRecord, type UndoRecord } from '../core/records';
import { sleep } from '../core/retry';
import { armFailure, describeArmError, type ArmClients } from './arm';
import {
  DrainedTagError,
  formatGatewayTag,
  formatNicTag,
  fullOrder,
  gatewayTagName,
  nicTagName,
  parseGatewayTag,
  parseNicTag,
  positioned,
  tagValue,
  withTag,
  type AddressMember,
  type DrainedAddress,
  type DrainedIpConfiguration,
} from './drain-tags';
import { describeMember, IPV4, memberAddress, memberKey, type PoolMember } from './pool-members';

export { describeMember, memberAddress, memberKey, type PoolMember };

/**
 * Application Gateway backend pools: take a batch of servers out in one write, put exactly those back, and
 * show who is in and how healthy they are.
 *
 * Writes are read-modify-write of the whole gateway (the API has no smaller write), serialized per gateway
 * in this process, always on a fresh read (waiting out any update in progress), and sent with `If-Match:
 * <etag of that read>` by a pipeline policy (see ConditionalWrites). Our change is kept as a delta (remove
 * these members, add those back) and re-applied to whatever the gateway holds when we write, so a change
 * someone else made is merged, never reverted: if they wrote between our read and our write, the service
 * answers 412 and we read again and re-apply. Network RP's honouring of If-Match on gateways is not
 * documented; if it ignored it, the only window left is the milliseconds between our fresh read and our
 * PUT. Each write is verified by reading the gateway back and by backend health.
 *
 * Pools can hold addresses (`ipAddress` / `fqdn`, changed by the gateway write) or NIC IP configurations
 * (the portal's "virtual machine" targets, changed on each NIC by removing or adding only this pool's
 * reference; the gateway follows).
 */

export const POOL_RECORD_KIND = 'appgateway-pool';

export interface PoolTarget {
  resourceGroupName: string;
  applicationGatewayName: string;
  backendPoolName: string;
}

/** The undo record of a drain: the pool's exact members before, and the ones this drain removed. */
export interface PoolUndoData extends PoolTarget {
  subscriptionId: string;
  membersBefore: PoolMember[];
  removed: PoolMember[];
}

export interface PoolClientOptions {
  log: Log;
  /** Poll interval for health waits and for long-running operations when ARM sends no Retry-After. */
  pollIntervalMs: number;
  /** How long to wait for an update someone else started before giving up. */
  busyTimeoutMs?: number;
}

export interface MemberHealth {
  member: PoolMember;
  health: string;
  detail?: string;
}

export interface DrainOptions {
  minHealthyServers: number;
  /** Undefined: the pool's HTTP settings' connection draining timeout (0 when draining is off). */
  drainTimeoutSeconds?: number;
  healthTimeoutSeconds: number;
  /** Named in the drained tag beside each member this drain takes out. */
  windowId?: string;
  /** Writes the undo record durably; called before the first change. */
  publishUndoRecord: (record: UndoRecord<PoolUndoData>) => void;
}

export interface DrainResult {
  record: UndoRecord<PoolUndoData>;
  /** Everything in the undo record: taken out now, and `carried`. */
  removed: PoolMember[];
  /** Already out of the pool, taken out by an earlier drain of this task (its drained tag says so). */
  carried: Array<{ member: PoolMember; windowId: string }>;
  remaining: MemberHealth[];
  drainSeconds: number;
  gatewayWrites: number;
  nicWrites: number;
}

/** What a restore puts back: the undo record's members, the servers listed, or what the drained tags name. */
export type RestoreSource = 'undo record' | 'servers' | 'drained tags';

export interface RestoreResult {
  source: RestoreSource;
  restored: PoolMember[];
  alreadyPresent: PoolMember[];
  health: MemberHealth[];
  gatewayWrites: number;
  nicWrites: number;
}

const MAX_WRITE_ATTEMPTS = 6;

/** The part of the SDK's long-running-operation poller we use. */
interface Poller<T> {
  onProgress(callback: (state: { status: string }) => void): unknown;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T>;
}
const gatewayLocks = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier write to the same gateway in this process has finished. */
async function serialized<T>(gatewayId: string, work: () => Promise<T>): Promise<T> {
  const key = gatewayId.toLowerCase();
  const before = gatewayLocks.get(key) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(work);
  gatewayLocks.set(key, run);
  try {
    return await run;
  } finally {
    if (gatewayLocks.get(key) === run) gatewayLocks.delete(key);
  }
}

/** A drained member found by an earlier drain's tag, and the window that took it out. */
interface DrainedMember {
  member: PoolMember;
  windowId: string;
}

/** The pool's addresses in its list order. */
function addressMembersOf(pool: ApplicationGatewayBackendAddressPool): AddressMember[] {
  return (pool.backendAddresses ?? []).flatMap((address): AddressMember[] =>
    address.ipAddress ? [{ type: 'ipAddress', ipAddress: address.ipAddress }] : address.fqdn ? [{ type: 'fqdn', fqdn: address.fqdn }] : [],
  );
}

function isAddress(member: PoolMember): member is AddressMember {
  return member.type !== 'ipConfiguration';
}

function sameName(a: string | undefined, b: string): boolean {
  return (a ?? '').toLowerCase() === b.toLowerCase();
}

function lastSegment(id: string | undefined): string | undefined {
  return id?.split('/').filter(Boolean).pop();
}

/** `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic/ipConfigurations/c` → rg, nic. */
function nicOf(ipConfigurationId: string): { resourceGroup: string; nic: string; nicId: string } {
  const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/networkInterfaces\/([^/]+))\/ipConfigurations\/[^/]+$/i.exec(ipConfigurationId);
  if (!match) throw new ServiceError('Azure', `'${ipConfigurationId}' is not a network interface IP configuration id.`);
  return { nicId: match[1], resourceGroup: match[2], nic: match[3] };
}

/** Checks an undo record's data (for `parseUndoRecord`). */
export function validatePoolUndoData(data: unknown): PoolUndoData {
  const value = data as Partial<PoolUndoData> | undefined;
  if (!value || typeof value !== 'object') throw new Error('data is missing.');
  for (const field of ['subscriptionId', 'resourceGroupName', 'applicationGatewayName', 'backendPoolName'] as const) {
    if (typeof value[field] !== 'string' || !value[field]) throw new Error(`data.${field} is missing.`);
  }
  for (const field of ['membersBefore', 'removed'] as const) {
    if (!Array.isArray(value[field])) throw new Error(`data.${field} is not a list.`);
    for (const member of value[field]!) {
      const ok =
        member &&
        ((member.type === 'ipAddress' && typeof member.ipAddress === 'string') ||
          (member.type === 'fqdn' && typeof member.fqdn === 'string') ||
          (member.type === 'ipConfiguration' && typeof member.id === 'string'));
      if (!ok) throw new Error(`data.${field} holds an entry that is not a pool member: ${JSON.stringify(member)}.`);
    }
  }
  const before = new Set(value.membersBefore!.map(memberKey));
  const stray = value.removed!.filter((member) => !before.has(memberKey(member)));
  if (stray.length) throw new Error(`data.removed lists ${stray.map(describeMember).join(', ')}, which were not in the pool before.`);
  return value as PoolUndoData;
}

export class BackendPoolClient {
  private readonly log: Log;
  private readonly nicCache = new Map<string, NetworkInterface>();
  private readonly warned = new Set<string>();
  private gatewayWrites = 0;
  private nicWrites = 0;

  constructor(
    private readonly clients: ArmClients,
    readonly target: PoolTarget,
    private readonly options: PoolClientOptions,
  ) {
    this.log = options.log;
  }

  private get where(): string {
    return `pool '${this.target.backendPoolName}' of application gateway '${this.target.applicationGatewayName}'`;
  }

  // ------------------------------------------------------------------ reading

  /** The gateway, once no update is running on it (ours from a step that died, or someone else's). */
  private async readGateway(): Promise<ApplicationGateway> {
    const { resourceGroupName, applicationGatewayName } = this.target;
    const deadline = Date.now() + (this.options.busyTimeoutMs ?? 30 * 60_000);
    for (let waited = 0; ; waited++) {
      let gateway: ApplicationGateway;
      try {
        gateway = await this.clients.network.applicationGateways.get(resourceGroupName, applicationGatewayName);
      } catch (error) {
        const { status, code } = armFailure(error);
        if (status === 404 && code === 'ResourceGroupNotFound') throw new InputError('resourceGroupName', `resource group '${resourceGroupName}' was not found in subscription ${this.clients.connection.subscriptionId}.`);
        if (status === 404) throw new InputError('applicationGatewayName', `no application gateway '${applicationGatewayName}' in resource group '${resourceGroupName}'.`);
        throw describeArmError(error, `reading application gateway '${applicationGatewayName}'`);
      }
      if (gateway.provisioningState !== 'Updating') return gateway;
      if (Date.now() > deadline) throw new ServiceError('Azure', `application gateway '${applicationGatewayName}' has been updating for too long; not changing it meanwhile.`);
      if (waited === 0) this.log.info(`Application gateway '${applicationGatewayName}' is being updated; waiting for that update to finish before reading it.`);
      await sleep(this.options.pollIntervalMs);
    }
  }

  private findPool(gateway: ApplicationGateway): ApplicationGatewayBackendAddressPool {
    const pools = gateway.backendAddressPools ?? [];
    const pool = pools.find((candidate) => sameName(candidate.name, this.target.backendPoolName));
    if (!pool) {
      throw new InputError('backendPoolName', `application gateway '${this.target.applicationGatewayName}' has no backend pool '${this.target.backendPoolName}'; its pools: ${pools.map((p) => p.name).join(', ') || 'none'}.`);
    }
    return pool;
  }

  private async readNic(nicId: string, fresh = false): Promise<NetworkInterface> {
    const cached = this.nicCache.get(nicId.toLowerCase());
    if (cached && !fresh) return cached;
    const { resourceGroup, nic } = nicOf(`${nicId}/ipConfigurations/x`);
    const deadline = Date.now() + (this.options.busyTimeoutMs ?? 30 * 60_000);
    for (;;) {
      let found: NetworkInterface;
      try {
        found = await this.clients.network.networkInterfaces.get(resourceGroup, nic);
      } catch (error) {
        throw describeArmError(error, `reading network interface '${nic}'`);
      }
      this.nicCache.set(nicId.toLowerCase(), found);
      if (!fresh || found.provisioningState !== 'Updating') return found;
      if (Date.now() > deadline) throw new ServiceError('Azure', `network interface '${nic}' has been updating for too long.`);
      await sleep(this.options.pollIntervalMs);
    }
  }

  /** The pool's members: its addresses, then the NIC IP configurations that reference it. */
  private async membersOf(pool: ApplicationGatewayBackendAddressPool): Promise<PoolMember[]> {
    const members: PoolMember[] = [];
    for (const address of pool.backendAddresses ?? []) {
      if (address.ipAddress) members.push({ type: 'ipAddress', ipAddress: address.ipAddress });
      else if (address.fqdn) members.push({ type: 'fqdn', fqdn: address.fqdn });
    }
    for (const config of pool.backendIPConfigurations ?? []) {
      if (!config.id) continue;
      const { nicId, nic } = nicOf(config.id);
      const found = await this.readNic(nicId);
      const ipConfig = found.ipConfigurations?.find((candidate) => sameName(candidate.id, config.id!));
      members.push({ type: 'ipConfiguration', id: config.id, privateIp: ipConfig?.privateIPAddress, label: lastSegment(found.virtualMachine?.id) ?? nic });
    }
    return members;
  }

  /** One backend health query: member key → worst health over the pool's HTTP settings. */
  private async readHealth(gateway: ApplicationGateway, members: PoolMember[]): Promise<{ byMember: Map<string, MemberHealth>; raw: ApplicationGatewayBackendHealth; poolId: string }> {
    const { resourceGroupName, applicationGatewayName } = this.target;
    let raw: ApplicationGatewayBackendHealth;
    try {
      raw = await this.untilDone(
        `Backend health of '${applicationGatewayName}'`,
        await this.clients.network.applicationGateways.beginBackendHealth(resourceGroupName, applicationGatewayName, { updateIntervalInMs: this.options.pollIntervalMs }),
      );
    } catch (error) {
      throw describeArmError(error, `reading backend health of application gateway '${applicationGatewayName}'`);
    }
    const poolId = (this.findPool(gateway).id ?? '').toLowerCase();
    const reported = new Map<string, { health: string; detail?: string }>();
    const rank = (health: string) => (health === 'Up' ? 0 : health === 'Unknown' ? 1 : health === 'Draining' ? 2 : 3);
    for (const entry of raw.backendAddressPools ?? []) {
      if ((entry.backendAddressPool?.id ?? '').toLowerCase() !== poolId) continue;
      for (const settings of entry.backendHttpSettingsCollection ?? []) {
        for (const server of settings.servers ?? []) {
          const key = (server.ipConfiguration?.id ?? server.address ?? '').toLowerCase();
          const previous = reported.get(key);
          const health = server.health ?? 'Unknown';
          if (!previous || rank(health) > rank(previous.health)) reported.set(key, { health, detail: server.healthProbeLog });
        }
      }
    }
    const byMember = new Map<string, MemberHealth>();
    for (const member of members) {
      const key = member.type === 'ipConfiguration' ? member.id.toLowerCase() : memberAddress(member).toLowerCase();
      const found = reported.get(key);
      byMember.set(memberKey(member), { member, health: found?.health ?? 'Not listed', detail: found?.detail });
    }
    return { byMember, raw, poolId };
  }

  /** The connection draining timeout of the HTTP settings this pool is served with (the longest). */
  private drainTimeoutOf(gateway: ApplicationGateway, raw: ApplicationGatewayBackendHealth, poolId: string): { seconds: number; settings: string[] } {
    const ids = new Set<string>();
    for (const entry of raw.backendAddressPools ?? []) {
      if ((entry.backendAddressPool?.id ?? '').toLowerCase() !== poolId) continue;
      for (const settings of entry.backendHttpSettingsCollection ?? []) if (settings.backendHttpSettings?.id) ids.add(settings.backendHttpSettings.id.toLowerCase());
    }
    for (const rule of gateway.requestRoutingRules ?? []) {
      if ((rule.backendAddressPool?.id ?? '').toLowerCase() === poolId && rule.backendHttpSettings?.id) ids.add(rule.backendHttpSettings.id.toLowerCase());
    }
    let seconds = 0;
    const names: string[] = [];
    for (const settings of gateway.backendHttpSettingsCollection ?? []) {
      if (!ids.has((settings.id ?? '').toLowerCase())) continue;
      names.push(settings.name ?? '?');
      if (settings.connectionDraining?.enabled) seconds = Math.max(seconds, settings.connectionDraining.drainTimeoutInSec ?? 0);
    }
    return { seconds, settings: names };
  }

  /**
   * Finds each listed server among the pool's members (by IP, FQDN, VM name or NIC). One that is not a member
   * but that an earlier drain of this task took out (its drained tag says so) is `carried`; any other is a
   * refusal, naming it. Refusals are returned, not thrown, so the caller can first record what is carried.
   */
  private async resolveServers(
    inputName: string,
    servers: string[],
    members: PoolMember[],
    drained: () => Promise<DrainedMember[]>,
  ): Promise<{ resolved: Array<{ member: PoolMember; carriedFrom?: string }>; refusals: InputError[] }> {
    const matchIn = (candidates: PoolMember[], server: string) =>
      candidates.filter((member) => {
        if (member.type === 'ipAddress') return member.ipAddress === server;
        if (member.type === 'fqdn') return sameName(member.fqdn, server) || sameName(member.fqdn.split('.')[0], server);
        return member.privateIp === server || sameName(member.label, server);
      });
    const matchVm = (candidates: PoolMember[], vm: { ips: Set<string>; ipConfigurations: Set<string> }) =>
      candidates.filter((member) => (member.type === 'ipConfiguration' ? vm.ipConfigurations.has(member.id.toLowerCase()) : member.type === 'ipAddress' && vm.ips.has(member.ipAddress)));

    const found = new Map<string, { member: PoolMember; carriedFrom?: string }>();
    const refusals: InputError[] = [];
    for (const server of servers) {
      let matches = matchIn(members, server);
      let vm: Awaited<ReturnType<BackendPoolClient['vmAddresses']>>;
      let notVm: InputError | undefined;
      if (!matches.length && !IPV4.test(server)) {
        vm = await this.vmAddresses(inputName, server).catch((error) => {
          if (!(error instanceof InputError)) throw error;
          notVm = error;
          return undefined;
        });
        if (vm) matches = matchVm(members, vm);
      }
      if (matches.length) {
        for (const member of matches) found.set(memberKey(member), { member: { ...member, label: member.label ?? server } });
        continue;
      }
      const ours = await drained();
      const oursMembers = ours.map((entry) => entry.member);
      const carried = matchIn(oursMembers, server).length ? matchIn(oursMembers, server) : vm ? matchVm(oursMembers, vm) : [];
      if (carried.length) {
        for (const member of carried) {
          const windowId = ours.find((entry) => memberKey(entry.member) === memberKey(member))!.windowId;
          found.set(memberKey(member), { member: { ...member, label: member.label ?? server }, carriedFrom: windowId });
        }
        continue;
      }
      refusals.push(
        notVm ??
          new InputError(
            inputName,
            `'${server}' is not a member of ${this.where} (members: ${members.map(describeMember).join(', ') || 'none'}), and no drained tag of this task names it, so it was taken out by someone else or never was a member.`,
          ),
      );
    }
    return { resolved: [...found.values()], refusals };
  }

  /** A VM's NIC IP configurations and private IPs, or undefined when there is no such VM. */
  private async vmAddresses(inputName: string, vmName: string): Promise<{ ips: Set<string>; ipConfigurations: Set<string>; primary?: { id: string; ip?: string } } | undefined> {
    let vm;
    try {
      vm = await this.clients.compute.virtualMachines.get(this.target.resourceGroupName, vmName);
    } catch (error) {
      if (armFailure(error).status === 404) {
        throw new InputError(inputName, `'${vmName}' is not an IP address, an FQDN of ${this.where}, or a virtual machine in resource group '${this.target.resourceGroupName}'.`);
      }
      throw describeArmError(error, `reading virtual machine '${vmName}'`);
    }
    const ips = new Set<string>();
    const ipConfigurations = new Set<string>();
    let primary: { id: string; ip?: string } | undefined;
    const nics = vm.networkProfile?.networkInterfaces ?? [];
    for (const reference of nics) {
      if (!reference.id) continue;
      const nic = await this.readNic(reference.id);
      for (const config of nic.ipConfigurations ?? []) {
        if (config.privateIPAddress) ips.add(config.privateIPAddress);
        if (config.id) ipConfigurations.add(config.id.toLowerCase());
        const isPrimaryNic = reference.primary ?? nics.length === 1;
        if (config.id && isPrimaryNic && (config.primary ?? true) && !primary) primary = { id: config.id, ip: config.privateIPAddress };
      }
    }
    return { ips, ipConfigurations, primary };
  }

  // ------------------------------------------------------------------ drained tags (see drain-tags.ts)

  private get gatewayTagName(): string {
    return gatewayTagName(this.target.backendPoolName);
  }

  private get nicTagName(): string {
    return nicTagName(this.target.applicationGatewayName, this.target.backendPoolName);
  }

  /** What the gateway's drained tag of this pool names, or why it cannot be read. */
  private gatewayTag(gateway: ApplicationGateway): { value?: string; entries: DrainedAddress[]; problem?: string } {
    const value = tagValue(gateway.tags, this.gatewayTagName);
    try {
      return { value, entries: parseGatewayTag(value, this.gatewayTagName) };
    } catch (error) {
      if (error instanceof DrainedTagError) return { value, entries: [], problem: error.message };
      throw error;
    }
  }

  /** What a NIC's drained tag of this pool names (none, with a warning, when it is not readable). */
  private nicTag(nic: NetworkInterface): { entries: DrainedIpConfiguration[]; problem?: string } {
    try {
      return { entries: parseNicTag(tagValue(nic.tags, this.nicTagName), this.nicTagName) };
    } catch (error) {
      if (error instanceof DrainedTagError) return { entries: [], problem: `network interface '${nic.name}': ${error.message}` };
      throw error;
    }
  }

  /** Warns once per message (a write's change is re-applied on every attempt). */
  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.log.warn(message);
  }

  /** Puts `entries` in the drained tag of `gateway` (the body about to be written), or says why not. */
  private setGatewayTag(gateway: ApplicationGateway, entries: DrainedAddress[]): boolean {
    const result = withTag(gateway.tags, this.gatewayTagName, formatGatewayTag(entries));
    if ('problem' in result) {
      this.warnOnce(
        `Not recording the servers taken out on application gateway '${this.target.applicationGatewayName}': ${result.problem}. ` +
          'The undo record is the only record of them: a re-run of this drain in a fresh workspace would refuse them as not members, so restore from this step\'s undo record.',
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
  private async drainedByUs(gateway: ApplicationGateway, current: PoolMember[]): Promise<DrainedMember[]> {
    const present = new Set(current.map(memberKey));
    const tag = this.gatewayTag(gateway);
    if (tag.problem) this.warnOnce(`Ignoring the gateway's drained tag: ${tag.problem}.`);
    const found: DrainedMember[] = tag.entries.filter((entry) => !present.has(memberKey(entry.member))).map(({ member, windowId }) => ({ member, windowId }));
    const poolId = (this.findPool(gateway).id ?? '').toLowerCase();
    try {
      for await (const nic of this.clients.network.networkInterfaces.list(this.target.resourceGroupName)) {
        if (!nic.id || tagValue(nic.tags, this.nicTagName) === undefined) continue;
        this.nicCache.set(nic.id.toLowerCase(), nic);
        const nicTag = this.nicTag(nic);
        if (nicTag.problem) this.warnOnce(`Ignoring a drained tag: ${nicTag.problem}.`);
        for (const entry of nicTag.entries) {
          const config = nic.ipConfigurations?.find((candidate) => sameName(candidate.name, entry.name));
          if (!config?.id) continue;
          if ((config.applicationGatewayBackendAddressPools ?? []).some((reference) => (reference.id ?? '').toLowerCase() === poolId)) continue;
          const member: PoolMember = { type: 'ipConfiguration', id: config.id, privateIp: config.privateIPAddress, label: lastSegment(nic.virtualMachine?.id) ?? nic.name };
          if (!present.has(memberKey(member))) found.push({ member, windowId: entry.windowId });
        }
      }
    } catch (error) {
      throw describeArmError(error, `listing the network interfaces of resource group '${this.target.resourceGroupName}'`);
    }
    return found;
  }

  /** Whether the (cached) NIC of a member still names it in its drained tag. */
  private nicTagNames(member: Extract<PoolMember, { type: 'ipConfiguration' }>): boolean {
    const nic = this.nicCache.get(nicOf(member.id).nicId.toLowerCase());
    const name = lastSegment(member.id) ?? '';
    return !!nic && this.nicTag(nic).entries.some((entry) => sameName(entry.name, name));
  }

  // ------------------------------------------------------------------ writing

  /**
   * Applies `change` to a fresh read of the gateway and writes it, conditional on that read's etag; on 412
   * (someone wrote in between) or 409 (an update is running) reads again and re-applies. `change` returns
   * false when the gateway already is as wanted (no write).
   */
  private async updateGateway(change: (gateway: ApplicationGateway) => boolean, plannedEtag?: string): Promise<void> {
    const { resourceGroupName, applicationGatewayName } = this.target;
    const gatewayId = `${this.clients.connection.subscriptionId}/${resourceGroupName}/${applicationGatewayName}`;
    await serialized(gatewayId, async () => {
      for (let attempt = 1; ; attempt++) {
        const gateway = await this.readGateway();
        if (attempt === 1 && plannedEtag && gateway.etag !== plannedEtag) {
          this.log.info(`Application gateway '${applicationGatewayName}' changed since it was read (someone else wrote to it); applying only our change to its current configuration.`);
        }
        if (!change(gateway)) return;
        try {
          const poller = await this.clients.conditional.withEtag(gateway.id!, gateway.etag, () =>
            this.clients.network.applicationGateways.beginCreateOrUpdate(resourceGroupName, applicationGatewayName, gateway, { updateIntervalInMs: this.options.pollIntervalMs }),
          );
          await this.untilDone(`Update of application gateway '${applicationGatewayName}'`, poller);
          this.gatewayWrites++;
          return;
        } catch (error) {
          const { status } = armFailure(error);
          if (attempt < MAX_WRITE_ATTEMPTS && status === 412) {
            this.log.info(`Application gateway '${applicationGatewayName}' was changed by someone else between our read and our write; reading it again and re-applying only our change.`);
            continue;
          }
          if (attempt < MAX_WRITE_ATTEMPTS && status === 409) {
            this.log.info(`Another update of application gateway '${applicationGatewayName}' is running; waiting for it, then applying our change to the result.`);
            await sleep(this.options.pollIntervalMs);
            continue;
          }
          throw describeArmError(error, `updating application gateway '${applicationGatewayName}'`);
        }
      }
    });
  }

  /**
   * Adds or removes this pool's reference on one NIC IP configuration (read-modify-write, like the gateway),
   * and in the same write names the configuration in the NIC's drained tag (taken out) or drops it from
   * there (put back). Taking out a configuration that is already out writes nothing (we did not take it
   * out); putting back one that is already in only drops a tag that still names it.
   */
  private async updateNicReference(member: Extract<PoolMember, { type: 'ipConfiguration' }>, poolId: string, present: boolean, windowId = 'unknown'): Promise<void> {
    const { nicId, resourceGroup, nic: nicName } = nicOf(member.id);
    const gatewayId = `${this.clients.connection.subscriptionId}/${this.target.resourceGroupName}/${this.target.applicationGatewayName}`;
    // A NIC write updates the gateway too, so it queues behind every other write to that gateway.
    await serialized(gatewayId, async () => {
      for (let attempt = 1; ; attempt++) {
        await this.readGateway();
        const nic = await this.readNic(nicId, true);
        const config = nic.ipConfigurations?.find((candidate) => sameName(candidate.id, member.id));
        if (!config) throw new ServiceError('Azure', `network interface '${nicName}' no longer has IP configuration '${lastSegment(member.id)}'.`);
        const references = config.applicationGatewayBackendAddressPools ?? [];
        const has = references.some((reference) => sameName(reference.id, poolId));
        const configName = config.name ?? lastSegment(member.id) ?? '';
        const tag = this.nicTag(nic);
        const named = tag.entries.some((entry) => sameName(entry.name, configName));
        if (present ? has && !named : !has) return;
        if (has !== present) config.applicationGatewayBackendAddressPools = present ? [...references, { id: poolId }] : references.filter((reference) => !sameName(reference.id, poolId));
        if (tag.problem) {
          this.warnOnce(`Leaving a drained tag as it is: ${tag.problem}.`);
        } else {
          const entries = present ? tag.entries.filter((entry) => !sameName(entry.name, configName)) : named ? tag.entries : [...tag.entries, { name: configName, windowId }];
          const result = withTag(nic.tags, this.nicTagName, formatNicTag(entries));
          if ('problem' in result) {
            this.warnOnce(`Not recording on network interface '${nicName}' that it was taken out of ${this.where}: ${result.problem}. Restore from this step's undo record.`);
          } else {
            nic.tags = result.tags;
          }
        }
        try {
          const poller = await this.clients.conditional.withEtag(nic.id!, nic.etag, () =>
            this.clients.network.networkInterfaces.beginCreateOrUpdate(resourceGroup, nicName, nic, { updateIntervalInMs: this.options.pollIntervalMs }),
          );
          await this.untilDone(`Update of network interface '${nicName}'`, poller);
          this.nicWrites++;
          this.nicCache.delete(nicId.toLowerCase());
          return;
        } catch (error) {
          const { status } = armFailure(error);
          if (attempt < MAX_WRITE_ATTEMPTS && (status === 412 || status === 409)) {
            this.log.info(`Network interface '${nicName}' or its gateway changed or is busy; reading again and re-applying.`);
            if (status === 409) await sleep(this.options.pollIntervalMs);
            continue;
          }
          throw describeArmError(error, `updating network interface '${nicName}'`);
        }
      }
    });
  }

  /**
   * Waits for a long-running operation, saying so: every poll in the debug log, and a line every 30 s
   * (a gateway update can take minutes).
   */
  private async untilDone<T>(what: string, poller: Poller<T>): Promise<T> {
    const started = Date.now();
    let lastSaid = started;
    poller.onProgress((state) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      this.log.debug(`${what}: ${state.status} after ${seconds} s.`);
      if (Date.now() - lastSaid >= 30_000) {
        lastSaid = Date.now();
        this.log.info(`${what} is still running (${seconds} s).`);
      }
    });
    // A cancel stops the polling, not the operation: ARM finishes the write, and the restore that runs after
    // the cancel reads the gateway again rather than trusting what this step last saw.
    const endActivity = beginActivity({ what: `${what} (in flight: Azure completes it; the restore after the cancel re-reads the gateway)` });
    try {
      return await poller.pollUntilDone({ abortSignal: cancellationSignal() });
    } finally {
      endActivity();
    }
  }

  /** Reads the pool back after a write. */
  private async readPool(): Promise<{ gateway: ApplicationGateway; members: PoolMember[] }> {
    const gateway = await this.readGateway();
    this.nicCache.clear();
    return { gateway, members: await this.membersOf(this.findPool(gateway)) };
  }

  /** Polls backend health until `done` says so or the time is up; returns the last reading. */
  private async waitForHealth(
    members: PoolMember[],
    done: (health: MemberHealth[]) => boolean,
    timeoutSeconds: number,
    describeWait: (health: MemberHealth[]) => string,
  ): Promise<{ ok: boolean; health: MemberHealth[] }> {
    const endActivity = beginActivity({ what: `the health wait of ${this.where} (up to ${timeoutSeconds} s)` });
    try {
      return await this.pollHealth(members, done, timeoutSeconds, describeWait);
    } finally {
      endActivity();
    }
  }

  private async pollHealth(
    members: PoolMember[],
    done: (health: MemberHealth[]) => boolean,
    timeoutSeconds: number,
    describeWait: (health: MemberHealth[]) => string,
  ): Promise<{ ok: boolean; health: MemberHealth[] }> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const started = Date.now();
    for (let round = 0; ; round++) {
      const gateway = await this.readGateway();
      const { byMember } = await this.readHealth(gateway, members);
      const health = members.map((member) => byMember.get(memberKey(member))!);
      if (done(health)) return { ok: true, health };
      if (Date.now() >= deadline) return { ok: false, health };
      if (round % 10 === 0) {
        const elapsed = Math.round((Date.now() - started) / 1000);
        this.log.info(`${describeWait(health)} (${elapsed} s of at most ${timeoutSeconds} s).`);
        this.log.progress(timeoutSeconds ? (100 * (Date.now() - started)) / (timeoutSeconds * 1000) : 100, describeWait(health));
      }
      await sleep(this.options.pollIntervalMs);
    }
  }

  // ------------------------------------------------------------------ actions

  /** The pool's members and their health. */
  async status(): Promise<{ members: MemberHealth[]; drainTimeoutSeconds: number; settings: string[] }> {
    const gateway = await this.readGateway();
    const pool = this.findPool(gateway);
    const members = await this.membersOf(pool);
    const { byMember, raw, poolId } = await this.readHealth(gateway, members);
    const drain = this.drainTimeoutOf(gateway, raw, poolId);
    return { members: members.map((member) => byMember.get(memberKey(member))!), drainTimeoutSeconds: drain.seconds, settings: drain.settings };
  }

  /**
   * Takes a batch of servers out of the pool in one gateway write (or one write per NIC for NIC targets),
   * after checking that enough healthy servers stay in and writing the undo record; then confirms with
   * backend health that they no longer take traffic and waits out connection draining.
   */
  async drain(servers: string[], options: DrainOptions): Promise<DrainResult> {
    const log = this.log;
    const windowId = options.windowId ?? 'unknown';
    const gateway = await this.readGateway();
    const pool = this.findPool(gateway);
    const poolId = pool.id!;
    const members = await this.membersOf(pool);
    let ours: Promise<DrainedMember[]> | undefined;
    const { resolved, refusals } = await this.resolveServers('servers', servers, members, () => (ours ??= this.drainedByUs(gateway, members)));
    // In the pool now (this drain takes them out) and already out by an earlier drain of ours (carried).
    const batch = resolved.filter((entry) => entry.carriedFrom === undefined).map((entry) => entry.member);
    const carried = resolved.flatMap((entry) => (entry.carriedFrom === undefined ? [] : [{ member: entry.member, windowId: entry.carriedFrom }]));
    if (carried.length) {
      log.info(
        `Already out of ${this.where}: ${carried.map((entry) => `${describeMember(entry.member)} (taken out by this task in window ${entry.windowId})`).join(', ')}. ` +
          'The drained tag says an earlier drain of ours took them out (a re-run, or a drain whose record was lost): they join this drain\'s undo record, so its restore puts them back.',
      );
    }
    const record = this.undoRecordFor(gateway, members, resolved.map((entry) => entry.member), carried, options.windowId);
    // A refused re-run still records what the earlier drain took out, so the partner restore puts it back.
    const refuse = (error: Error): never => {
      if (carried.length) {
        options.publishUndoRecord(this.undoRecordFor(gateway, members, carried.map((entry) => entry.member), carried, options.windowId));
        log.info(`This drain is refused, but its undo record names ${carried.map((entry) => describeMember(entry.member)).join(', ')}, which an earlier drain took out: restore from it to put them back.`);
      }
      throw error;
    };
    if (refusals.length) refuse(refusals[0]);

    const { byMember, raw } = await this.readHealth(gateway, members);
    const drain = this.drainTimeoutOf(gateway, raw, poolId.toLowerCase());
    const drainSeconds = options.drainTimeoutSeconds ?? drain.seconds;

    const batchKeys = new Set(batch.map(memberKey));
    const remaining = members.filter((member) => !batchKeys.has(memberKey(member))).map((member) => byMember.get(memberKey(member))!);
    const healthyKeys = new Set([...byMember.values()].filter((entry) => entry.health === 'Up').map((entry) => memberKey(entry.member)));
    const checkRemaining = (after: PoolMember[]) => {
      const left = after.filter((member) => !batchKeys.has(memberKey(member)));
      const healthy = left.filter((member) => healthyKeys.has(memberKey(member)));
      if (healthy.length < options.minHealthyServers) {
        const notHealthy = left.filter((member) => !healthyKeys.has(memberKey(member)));
        throw new SafetyError(
          `Refusing to drain ${resolved.map((entry) => describeMember(entry.member)).join(', ')} from ${this.where}: only ${healthy.length} healthy server(s) would remain ` +
            `(minHealthyServers is ${options.minHealthyServers}). Healthy: ${healthy.map(describeMember).join(', ') || 'none'}` +
            `${notHealthy.length ? `; not healthy: ${notHealthy.map((member) => `${describeMember(member)} ${byMember.get(memberKey(member))?.health ?? 'new'}`).join(', ')}` : ''}. Nothing was changed.`,
        );
      }
    };
    try {
      checkRemaining(members);
    } catch (error) {
      refuse(error as Error);
    }
    if (batch.length) log.info(`Taking ${batch.length} server(s) out of ${this.where}: ${batch.map(describeMember).join(', ')}. ${remaining.filter((entry) => entry.health === 'Up').length} healthy server(s) stay in.`);
    options.publishUndoRecord(record);

    const addresses = batch.filter(isAddress);
    if (addresses.length) {
      await this.updateGateway((fresh) => {
        const freshPool = this.findPool(fresh);
        const current = freshPool.backendAddresses ?? [];
        const kept = current.filter((address) => !batchKeys.has(memberKey(address.ipAddress ? { type: 'ipAddress', ipAddress: address.ipAddress } : { type: 'fqdn', fqdn: address.fqdn ?? '' })));
        if (kept.length === current.length) return false;
        // Someone else may have changed the pool since the check: check again on what we are about to write.
        checkRemaining([
          ...kept.map((address): PoolMember => (address.ipAddress ? { type: 'ipAddress', ipAddress: address.ipAddress } : { type: 'fqdn', fqdn: address.fqdn ?? '' })),
          ...members.filter((member) => member.type === 'ipConfiguration'),
        ]);
        freshPool.backendAddresses = kept;
        // The record's second copy rides in this same write: the drained tag gains what this write takes out.
        const tag = this.gatewayTag(fresh);
        if (tag.problem) {
          this.warnOnce(`Leaving the gateway's drained tag as it is: ${tag.problem}. Restore from this step's undo record.`);
        } else {
          const before = addressMembersOf({ backendAddresses: current });
          const keptKeys = new Set(addressMembersOf(freshPool).map(memberKey));
          const takenNow = before.filter((member) => batchKeys.has(memberKey(member)));
          const out = [
            ...tag.entries.filter((entry) => !keptKeys.has(memberKey(entry.member)) && !batchKeys.has(memberKey(entry.member))),
            ...takenNow.map((member) => ({ member, windowId })),
          ];
          this.setGatewayTag(fresh, positioned(fullOrder(before, tag.entries), out));
        }
        return true;
      }, gateway.etag);
    }
    for (const member of batch) {
      if (member.type === 'ipConfiguration') await this.updateNicReference(member, poolId, false, windowId);
    }

    const removed = record.data.removed;
    const after = await this.readPool();
    const afterKeys = new Set(after.members.map(memberKey));
    const still = removed.filter((member) => afterKeys.has(memberKey(member)));
    if (still.length) throw new ServiceError('Azure', `after the update, ${this.where} still lists ${still.map(describeMember).join(', ')}.`);

    const confirmed = await this.waitForHealth(
      removed,
      (health) => health.every((entry) => entry.health !== 'Up'),
      options.healthTimeoutSeconds,
      (health) => `Waiting for backend health to stop serving ${health.filter((entry) => entry.health === 'Up').map((entry) => describeMember(entry.member)).join(', ')}`,
    );
    if (!confirmed.ok) {
      const serving = confirmed.health.filter((entry) => entry.health === 'Up').map((entry) => describeMember(entry.member));
      throw new ServiceError('Azure', `backend health still shows ${serving.join(', ')} Up in ${this.where} after ${options.healthTimeoutSeconds} s, though the pool no longer lists them.`, {
        advice: 'Do not patch them yet; check the gateway in the portal, then run restore.',
      });
    }
    if (drainSeconds > 0) {
      log.info(`Waiting ${drainSeconds} s for connection draining (${options.drainTimeoutSeconds !== undefined ? 'drainTimeoutSeconds' : `HTTP settings ${drain.settings.join(', ')}`}).`);
      log.progress(0, `Connection draining: ${drainSeconds} s`);
      await sleep(drainSeconds * 1000);
    }
    return { record, removed, carried, remaining, drainSeconds, gatewayWrites: this.gatewayWrites, nicWrites: this.nicWrites };
  }

  /**
   * The undo record of a drain that takes out `removed` (some of them possibly `carried`: already out by an
   * earlier drain of ours). Its members before are the pool as it is plus the carried ones, in the order the
   * drained tag remembers, so a restore from it puts them back where they were.
   */
  private undoRecordFor(gateway: ApplicationGateway, members: PoolMember[], removed: PoolMember[], carried: DrainedMember[], windowId: string | undefined): UndoRecord<PoolUndoData> {
    const known = new Map([...members, ...carried.map((entry) => entry.member)].map((member) => [memberKey(member), member]));
    const order = fullOrder(addressMembersOf(this.findPool(gateway)), this.gatewayTag(gateway).entries);
    const membersBefore = [
      ...order.flatMap((member) => known.get(memberKey(member)) ?? []),
      ...[...known.values()].filter((member) => member.type === 'ipConfiguration' || !order.some((candidate) => memberKey(candidate) === memberKey(member))),
    ];
    const carriedText = carried.length ? ` (${carried.map((entry) => describeMember(entry.member)).join(', ')} taken out by an earlier drain)` : '';
    return newUndoRecord({
      kind: POOL_RECORD_KIND,
      windowId,
      description: `Put ${removed.map(describeMember).join(', ')} back into ${this.where}${carriedText}.`,
      data: { subscriptionId: this.clients.connection.subscriptionId, ...this.target, membersBefore, removed },
    });
  }

  /**
   * Puts back exactly what a drain removed (its undo record), or the servers listed, or, with neither, what
   * the drained tags say this task took out of the pool (any window); leaves everything else as it is now,
   * then waits until every one of them is healthy. The write that puts them back also drops them from the
   * drained tags. Idempotent: members already back (and no longer tagged) are not written again.
   */
  async restore(source: { data?: PoolUndoData; servers?: string[] }, options: { healthTimeoutSeconds: number }): Promise<RestoreResult> {
    const gateway = await this.readGateway();
    const pool = this.findPool(gateway);
    const poolId = pool.id!;
    const current = await this.membersOf(pool);
    const tag = this.gatewayTag(gateway);
    let from: RestoreSource;
    let before: PoolMember[];
    let wanted: PoolMember[];
    if (source.data) {
      from = 'undo record';
      before = source.data.membersBefore;
      wanted = source.data.removed;
    } else if (source.servers?.length) {
      from = 'servers';
      before = current;
      wanted = await this.membersToAddBack(source.servers, pool, current);
    } else {
      from = 'drained tags';
      if (tag.problem) {
        throw new ServiceError('Azure', `${tag.problem}; it is not one this task wrote, so it cannot tell what was taken out of ${this.where}.`, {
          advice: 'Give the undo record of the drain, or list the servers to put back.',
        });
      }
      const ours = await this.drainedByUs(gateway, current);
      wanted = ours.map((entry) => entry.member);
      before = [...fullOrder(addressMembersOf(pool), tag.entries), ...current.filter((member) => member.type === 'ipConfiguration')];
      this.log.info(
        ours.length
          ? `No undo record and no servers given: the drained tags say this task took ${ours.map((entry) => `${describeMember(entry.member)} (window ${entry.windowId})`).join(', ')} out of ${this.where}.`
          : `No undo record and no servers given, and no drained tag names anything this task took out of ${this.where}: nothing to put back.`,
      );
    }

    const currentKeys = new Set(current.map(memberKey));
    const wantedKeys = new Set(wanted.map(memberKey));
    const missing = wanted.filter((member) => !currentKeys.has(memberKey(member)));
    const alreadyPresent = wanted.filter((member) => currentKeys.has(memberKey(member)));
    if (alreadyPresent.length) this.log.info(`Already in ${this.where}: ${alreadyPresent.map(describeMember).join(', ')}.`);
    if (missing.length) this.log.info(`Putting back into ${this.where}: ${missing.map(describeMember).join(', ')}.`);

    const addressesToAdd = missing.filter(isAddress);
    // A tag entry for a member that is (or is about to be) back in the pool is dropped in the same write.
    const tagToClean = !tag.problem && tag.entries.some((entry) => currentKeys.has(memberKey(entry.member)) || wantedKeys.has(memberKey(entry.member)));
    if (addressesToAdd.length || tagToClean) {
      const addKeys = new Set(addressesToAdd.map(memberKey));
      await this.updateGateway((fresh) => {
        const freshPool = this.findPool(fresh);
        const present = addressMembersOf(freshPool);
        const presentKeys = new Set(present.map(memberKey));
        let written = present;
        const poolChanges = ![...addKeys].every((key) => presentKeys.has(key));
        if (poolChanges) {
          // The pool's order before the drain, keeping whatever others added or removed since.
          const ordered = before.filter((member): member is AddressMember => isAddress(member) && (presentKeys.has(memberKey(member)) || addKeys.has(memberKey(member))));
          const orderedKeys = new Set(ordered.map(memberKey));
          written = [...ordered, ...present.filter((member) => !orderedKeys.has(memberKey(member))), ...addressesToAdd.filter((member) => !orderedKeys.has(memberKey(member)))];
          freshPool.backendAddresses = written.map((member) => (member.type === 'ipAddress' ? { ipAddress: member.ipAddress } : { fqdn: member.fqdn }));
        }
        const freshTag = this.gatewayTag(fresh);
        const writtenKeys = new Set(written.map(memberKey));
        const stillOut = freshTag.entries.filter((entry) => !writtenKeys.has(memberKey(entry.member)));
        const tagChanges = !freshTag.problem && stillOut.length !== freshTag.entries.length;
        if (tagChanges) this.setGatewayTag(fresh, positioned(fullOrder(written, stillOut), stillOut));
        return poolChanges || tagChanges;
      }, gateway.etag);
    }
    for (const member of wanted) {
      if (member.type === 'ipConfiguration' && (!currentKeys.has(memberKey(member)) || this.nicTagNames(member))) await this.updateNicReference(member, poolId, true);
    }

    const after = await this.readPool();
    const afterKeys = new Set(after.members.map(memberKey));
    const absent = wanted.filter((member) => !afterKeys.has(memberKey(member)));
    if (absent.length) throw new ServiceError('Azure', `after the update, ${this.where} still lacks ${absent.map(describeMember).join(', ')}.`);

    const waited = await this.waitForHealth(
      wanted,
      (health) => health.every((entry) => entry.health === 'Up'),
      options.healthTimeoutSeconds,
      (health) => `Waiting for ${health.filter((entry) => entry.health !== 'Up').map((entry) => `${describeMember(entry.member)} (${entry.health})`).join(', ')} to be healthy`,
    );
    if (!waited.ok) {
      const unhealthy = waited.health.filter((entry) => entry.health !== 'Up');
      throw new ServiceError(
        'Azure',
        `${unhealthy.map((entry) => `${describeMember(entry.member)} is ${entry.health}${entry.detail ? ` (${entry.detail})` : ''}`).join('; ')} in ${this.where} ${options.healthTimeoutSeconds} s after being put back.`,
        { advice: 'They are back in the pool; check the servers themselves.' },
      );
    }
    return { source: from, restored: missing, alreadyPresent, health: waited.health, gatewayWrites: this.gatewayWrites, nicWrites: this.nicWrites };
  }

  /**
   * For the undo protocol: how each member an undo record says was removed stands now. Back in the pool:
   * back. Out and named by a drained tag of ours (the gateway's, or its NIC's): to restore. Out and named by
   * no tag: refused (this task did not take it out), unless the resource cannot carry the tag at all (50 tags
   * already), when the drain warned that the record is all there is.
   */
  async judgeRemoved(removed: PoolMember[]): Promise<Array<{ member: PoolMember; verdict: 'restore' | 'back' | 'refuse'; reason?: string }>> {
    const gateway = await this.readGateway();
    const current = await this.membersOf(this.findPool(gateway));
    const present = new Set(current.map(memberKey));
    const tagged = new Map((await this.drainedByUs(gateway, current)).map((entry) => [memberKey(entry.member), entry.windowId]));
    const untaggable = async (member: PoolMember) => {
      const tags = member.type === 'ipConfiguration' ? (await this.readNic(nicOf(member.id).nicId).catch(() => undefined))?.tags : gateway.tags;
      const name = member.type === 'ipConfiguration' ? this.nicTagName : this.gatewayTagName;
      return tagValue(tags, name) === undefined && 'problem' in withTag(tags, name, '{}');
    };
    const out: Array<{ member: PoolMember; verdict: 'restore' | 'back' | 'refuse'; reason?: string }> = [];
    for (const member of removed) {
      const key = memberKey(member);
      if (present.has(key)) out.push({ member, verdict: 'back' });
      else if (tagged.has(key)) out.push({ member, verdict: 'restore', reason: `the drained tag says window ${tagged.get(key)} took it out` });
      else if (await untaggable(member)) out.push({ member, verdict: 'restore', reason: 'the resource cannot carry the drained tag (tag limit); the undo record is all there is' });
      else out.push({ member, verdict: 'refuse', reason: `no drained tag names it: this task did not take it out of ${this.where}` });
    }
    return out;
  }

  /** For the undo protocol's read-back: members still out of the pool among `members`, and those a drained tag of `windowId` still names. */
  async stillOut(members: PoolMember[], windowId: string): Promise<PoolMember[]> {
    const gateway = await this.readGateway();
    const current = await this.membersOf(this.findPool(gateway));
    const present = new Set(current.map(memberKey));
    const out = members.filter((member) => !present.has(memberKey(member)));
    for (const entry of await this.drainedByUs(gateway, current)) {
      if (entry.windowId === windowId && !out.some((member) => memberKey(member) === memberKey(entry.member))) out.push(entry.member);
    }
    return out;
  }

  /** What the drained tags (any window) say this task took out of the pool and is still out. */
  async drainedMembers(): Promise<Array<{ member: PoolMember; windowId: string }>> {
    const gateway = await this.readGateway();
    return this.drainedByUs(gateway, await this.membersOf(this.findPool(gateway)));
  }

  /** For a restore without an undo record: what each listed server is as a member of this pool. */
  private async membersToAddBack(servers: string[], pool: ApplicationGatewayBackendAddressPool, current: PoolMember[]): Promise<PoolMember[]> {
    const nicPool = current.some((member) => member.type === 'ipConfiguration') || (pool.backendIPConfigurations?.length ?? 0) > 0;
    const out: PoolMember[] = [];
    for (const server of servers) {
      const already = current.find(
        (member) => memberAddress(member) === server || sameName(member.label, server) || (member.type === 'fqdn' && sameName(member.fqdn.split('.')[0], server)),
      );
      if (already) {
        out.push({ ...already, label: already.label ?? server });
      } else if (IPV4.test(server)) {
        if (nicPool) throw new InputError('servers', `'${server}': ${this.where} holds virtual machine (NIC) targets; name the virtual machine, or give the undo record.`);
        out.push({ type: 'ipAddress', ipAddress: server });
      } else {
        const vm = await this.vmAddresses('servers', server).catch((error) => {
          if (error instanceof InputError && server.includes('.') && !nicPool) return undefined;
          throw error;
        });
        if (!vm) out.push({ type: 'fqdn', fqdn: server });
        else if (!vm.primary) throw new InputError('servers', `virtual machine '${server}' has no network interface IP configuration.`);
        else if (nicPool) out.push({ type: 'ipConfiguration', id: vm.primary.id, privateIp: vm.primary.ip, label: server });
        else if (vm.primary.ip) out.push({ type: 'ipAddress', ipAddress: vm.primary.ip, label: server });
        else throw new InputError('servers', `virtual machine '${server}' has no private IP address.`);
      }
    }
    return out;
  }
}
