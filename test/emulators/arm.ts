import * as crypto from 'node:crypto';
import type { EntraEmulator } from './entra';
import { Emulator, type EmulatorRequest, type EmulatorResponse, type Handler, type JournalEntry } from './kit';

/**
 * Azure Resource Manager for what the maintenance window touches, over HTTPS (the SDK refuses bearer tokens
 * over plain HTTP), speaking the wire shapes the official SDKs send and expect:
 * - application gateways: GET; PUT of the whole gateway as a long-running operation (`Azure-AsyncOperation`,
 *   `Retry-After`), `provisioningState` Updating then Succeeded after a configurable delay, a new etag on
 *   every write, `If-Match` honoured (412), 409 for a write while another is running;
 * - backend health: a `Location` long-running operation whose answer comes from the emulator's state (a
 *   server being patched is Down, a server put back turns Up after a probe delay, one taken out shows
 *   Draining for a while);
 * - network interfaces (pools that reference NIC IP configurations): GET, list by resource group, PUT (which
 *   updates the gateway too);
 * - tags on gateways and NICs, with Azure's limits checked on every PUT (50 per resource, names up to 512
 *   characters, values up to 256; the exact error codes ARM uses are not documented, ours say which limit);
 * - virtual machines: GET, `installPatches` and `assessPatches` as long-running operations with realistic
 *   results and reboots (the server is Down in backend health meanwhile).
 * Every call must carry a token the Entra emulator issued for ARM's audience; `grant()` turns on role checks
 * (actions and linked-access join actions, as ARM checks them) and `actionsUsed` records what was needed.
 * Other emulators extend it with `armRoute()` (auth, role check and lazy time included) and `startOperation()`.
 */

export const DEFAULT_SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const NETWORK_API = '2025-05-01';
const COMPUTE_API = '2026-03-01';

export type Health = 'Up' | 'Down' | 'Unknown' | 'Partial' | 'Draining';

export interface ArmEmulatorOptions {
  subscriptionId?: string;
  /** The token audience ARM accepts (the connection's `activeDirectoryServiceEndpointResourceId`). */
  audience?: string;
  location?: string;
  /** How long a gateway update runs: a fixed time or a [min, max] range (seeded random). */
  gatewayUpdateMs?: number | [number, number];
  /** How long a backend health query runs. */
  healthDelayMs?: number;
  /** How long a server put back into a pool takes to be probed Up. */
  probeDelayMs?: number;
  /** How long a server taken out of a pool shows as Draining in backend health. */
  drainReportMs?: number;
  /** `Retry-After` sent on long-running operations (real ARM sends 10 or more; tests send 0). */
  retryAfterSeconds?: number;
  /** How long installing patches takes, and a reboot after it. */
  patchMs?: number;
  rebootMs?: number;
  assessMs?: number;
  /** Whether a gateway or NIC PUT checks `If-Match` (Network RP's behaviour here is not documented). */
  honourIfMatch?: boolean;
  seed?: number;
}

export interface PoolSpec {
  name: string;
  /** IP addresses or FQDNs. */
  addresses?: string[];
}

export interface GatewaySpec {
  resourceGroup: string;
  name: string;
  pools: PoolSpec[];
  /** Connection draining on every pool's HTTP settings (seconds); 0 turns draining off. */
  drainTimeoutInSec?: number;
  /** Give the gateway a WAF policy and a Key Vault identity, as production gateways have (more join checks). */
  production?: boolean;
}

export interface PatchSpec {
  name: string;
  kbId?: string;
  classification: string;
  rebootBehavior?: 'NeverReboots' | 'AlwaysRequiresReboot' | 'CanRequestReboot';
}

export interface VmSpec {
  resourceGroup: string;
  name: string;
  privateIp: string;
  osType?: 'Windows' | 'Linux';
  /** Makes the VM's NIC IP configuration a member of a gateway's pool (a "virtual machine" target). */
  memberOf?: { gateway: string; pool: string };
  patches?: PatchSpec[];
}

interface VmState {
  resourceGroup: string;
  wire: any;
  patches: Array<PatchSpec & { patchId: string; version: string; publishedDate: string }>;
  /** Patch names that fail to install. */
  failingPatches: Set<string>;
  rebootFails: boolean;
  /** Patching or rebooting until then: Down in backend health. */
  busyUntil: number;
  /** After the busy time, probes need this long to see the server Up again. */
  lastInstall?: any;
}

interface Operation {
  id: string;
  provider: 'Microsoft.Network' | 'Microsoft.Compute';
  startedAt: number;
  completesAt: number;
  completed: boolean;
  onComplete?: () => void;
  result?: () => unknown;
  error?: { code: string; message: string };
}

interface NicState {
  resourceGroup: string;
  wire: any;
  /** The configuration the data plane serves (the last completed write). */
  effectiveWire: any;
  updatingUntil: number;
}

interface MemberState {
  address: string;
  ipConfigurationId?: string;
  since: number;
}

interface GatewayState {
  resourceGroup: string;
  wire: any;
  updatingUntil: number;
  /** What the data plane serves: pool name (lower case) → member key → member, applied when an update completes. */
  effective: Map<string, Map<string, MemberState>>;
  /** Members taken out: key → until when they show as Draining. */
  draining: Map<string, { address: string; ipConfigurationId?: string; until: number; pool: string }>;
  reads: number;
  readHooks: Array<{ afterReads: number; run: () => void }>;
}

/** A small seeded random number generator (mulberry32), so emulator timings and crash tests can be replayed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const lower = (value: string) => value.toLowerCase();
const newEtag = () => `W/"${crypto.randomUUID()}"`;

function armError(status: number, code: string, message: string, headers?: Record<string, string | number>): EmulatorResponse {
  return { status, headers, body: { error: { code, message } } };
}

/** Does a role's action pattern (with `*` wildcards, case-insensitive) allow this action? */
/** Azure's tag limits: at most 50 per resource, names up to 512 characters, values up to 256, none of <>%&\\?/ in a name. */
function tagProblem(body: any): EmulatorResponse | undefined {
  const tags = body?.tags;
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags))
    return armError(400, 'InvalidRequestFormat', 'The tags are not an object of names and values.');
  const entries = Object.entries(tags);
  if (entries.length > 50) return armError(400, 'InvalidTagCount', `The resource has ${entries.length} tags; at most 50 are allowed.`);
  for (const [name, value] of entries) {
    if (name.length > 512 || /[<>%&\\?/]/.test(name))
      return armError(400, 'InvalidTagName', `The tag name '${name}' is too long or has a character that is not allowed.`);
    if (typeof value !== 'string' || value.length > 256)
      return armError(400, 'InvalidTagValueLength', `The value of tag '${name}' is longer than 256 characters.`);
  }
  return undefined;
}

function allows(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(action);
}

export class ArmEmulator extends Emulator {
  readonly subscriptionId: string;
  readonly audience: string;
  readonly location: string;
  readonly options: Required<Omit<ArmEmulatorOptions, 'subscriptionId' | 'audience' | 'location' | 'seed'>>;
  /** Actions the caller's role grants; undefined lets everything through. */
  granted?: string[];
  /** The most VMs that were patching at the same time. */
  maxPatchingAtOnce = 0;
  /** Every action (and linked join action) calls needed, whether or not a role was enforced. */
  readonly actionsUsed = new Set<string>();
  private random: () => number;
  private readonly gateways = new Map<string, GatewayState>();
  private readonly nics = new Map<string, NicState>();
  private readonly vms = new Map<string, VmState>();
  private readonly operations = new Map<string, Operation>();
  private readonly forcedHealth = new Map<string, Health>();
  private readonly seed: number;
  private readonly initial: ArmEmulatorOptions;

  constructor(
    readonly entra: EntraEmulator,
    options: ArmEmulatorOptions = {},
  ) {
    super({ name: 'ARM', https: true });
    this.initial = options;
    this.subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION;
    this.audience = options.audience ?? 'https://management.core.windows.net/';
    this.location = options.location ?? 'eastus';
    this.options = ArmEmulator.defaults(options);
    this.seed = options.seed ?? 1;
    this.random = mulberry32(this.seed);
    this.onReset(() => {
      this.gateways.clear();
      this.nics.clear();
      this.vms.clear();
      this.operations.clear();
      this.forcedHealth.clear();
      this.actionsUsed.clear();
      this.granted = undefined;
      this.maxPatchingAtOnce = 0;
      Object.assign(this.options, ArmEmulator.defaults(this.initial));
      this.random = mulberry32(this.seed);
    });
    this.registerRoutes();
  }

  private static defaults(options: ArmEmulatorOptions): ArmEmulator['options'] {
    return {
      gatewayUpdateMs: options.gatewayUpdateMs ?? [50, 200],
      healthDelayMs: options.healthDelayMs ?? 20,
      probeDelayMs: options.probeDelayMs ?? 50,
      drainReportMs: options.drainReportMs ?? 0,
      retryAfterSeconds: options.retryAfterSeconds ?? 0,
      patchMs: options.patchMs ?? 100,
      rebootMs: options.rebootMs ?? 100,
      assessMs: options.assessMs ?? 50,
      honourIfMatch: options.honourIfMatch ?? true,
    };
  }

  // ---------------------------------------------------------------- ids

  resourceGroupId(resourceGroup: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}`;
  }

  gatewayId(resourceGroup: string, name: string): string {
    return `${this.resourceGroupId(resourceGroup)}/providers/Microsoft.Network/applicationGateways/${name}`;
  }

  nicId(resourceGroup: string, name: string): string {
    return `${this.resourceGroupId(resourceGroup)}/providers/Microsoft.Network/networkInterfaces/${name}`;
  }

  vmId(resourceGroup: string, name: string): string {
    return `${this.resourceGroupId(resourceGroup)}/providers/Microsoft.Compute/virtualMachines/${name}`;
  }

  private subnetId(resourceGroup: string, subnet: string): string {
    return `${this.resourceGroupId(resourceGroup)}/providers/Microsoft.Network/virtualNetworks/vnet-prd/subnets/${subnet}`;
  }

  // ---------------------------------------------------------------- seeding and inspection (tests)

  addGateway(spec: GatewaySpec): this {
    const id = this.gatewayId(spec.resourceGroup, spec.name);
    const sub = (collection: string, name: string) => `${id}/${collection}/${name}`;
    const etag = newEtag();
    const drain = spec.drainTimeoutInSec ?? 0;
    const wire: any = {
      id,
      name: spec.name,
      type: 'Microsoft.Network/applicationGateways',
      location: this.location,
      etag,
      tags: { environment: 'production' },
      properties: {
        provisioningState: 'Succeeded',
        resourceGuid: crypto.randomUUID(),
        operationalState: 'Running',
        sku: spec.production ? { name: 'WAF_v2', tier: 'WAF_v2', capacity: 2 } : { name: 'Standard_v2', tier: 'Standard_v2', capacity: 2 },
        gatewayIPConfigurations: [
          {
            id: sub('gatewayIPConfigurations', 'appGatewayIpConfig'),
            name: 'appGatewayIpConfig',
            etag,
            properties: { provisioningState: 'Succeeded', subnet: { id: this.subnetId(spec.resourceGroup, 'snet-appgw') } },
          },
        ],
        frontendIPConfigurations: [
          {
            id: sub('frontendIPConfigurations', 'appGwPublicFrontendIp'),
            name: 'appGwPublicFrontendIp',
            etag,
            properties: {
              provisioningState: 'Succeeded',
              privateIPAllocationMethod: 'Dynamic',
              publicIPAddress: {
                id: `${this.resourceGroupId(spec.resourceGroup)}/providers/Microsoft.Network/publicIPAddresses/pip-${spec.name}`,
              },
            },
          },
        ],
        frontendPorts: [
          { id: sub('frontendPorts', 'port_80'), name: 'port_80', etag, properties: { provisioningState: 'Succeeded', port: 80 } },
        ],
        backendAddressPools: spec.pools.map((pool) => ({
          id: sub('backendAddressPools', pool.name),
          name: pool.name,
          etag,
          properties: {
            provisioningState: 'Succeeded',
            backendAddresses: (pool.addresses ?? []).map((address) =>
              /^[\d.]+$/.test(address) ? { ipAddress: address } : { fqdn: address },
            ),
          },
        })),
        probes: spec.pools.map((pool) => ({
          id: sub('probes', `${pool.name}-probe`),
          name: `${pool.name}-probe`,
          etag,
          properties: {
            provisioningState: 'Succeeded',
            protocol: 'Http',
            host: '127.0.0.1',
            path: '/health',
            interval: 30,
            timeout: 30,
            unhealthyThreshold: 3,
            pickHostNameFromBackendHttpSettings: false,
            minServers: 0,
            match: { statusCodes: ['200-399'] },
          },
        })),
        backendHttpSettingsCollection: spec.pools.map((pool) => ({
          id: sub('backendHttpSettingsCollection', `${pool.name}-http`),
          name: `${pool.name}-http`,
          etag,
          properties: {
            provisioningState: 'Succeeded',
            port: 80,
            protocol: 'Http',
            cookieBasedAffinity: 'Disabled',
            requestTimeout: 30,
            connectionDraining: { enabled: drain > 0, drainTimeoutInSec: drain > 0 ? drain : 1 },
            probe: { id: sub('probes', `${pool.name}-probe`) },
          },
        })),
        httpListeners: spec.pools.map((pool, index) => ({
          id: sub('httpListeners', `${pool.name}-listener`),
          name: `${pool.name}-listener`,
          etag,
          properties: {
            provisioningState: 'Succeeded',
            frontendIPConfiguration: { id: sub('frontendIPConfigurations', 'appGwPublicFrontendIp') },
            frontendPort: { id: sub('frontendPorts', 'port_80') },
            protocol: 'Http',
            hostName: `${pool.name}${index}.example.com`,
            requireServerNameIndication: false,
          },
        })),
        requestRoutingRules: spec.pools.map((pool, index) => ({
          id: sub('requestRoutingRules', `${pool.name}-rule`),
          name: `${pool.name}-rule`,
          etag,
          properties: {
            provisioningState: 'Succeeded',
            ruleType: 'Basic',
            priority: 100 + index,
            httpListener: { id: sub('httpListeners', `${pool.name}-listener`) },
            backendAddressPool: { id: sub('backendAddressPools', pool.name) },
            backendHttpSettings: { id: sub('backendHttpSettingsCollection', `${pool.name}-http`) },
          },
        })),
        enableHttp2: true,
      },
    };
    if (spec.production) {
      wire.properties.firewallPolicy = {
        id:
          `${this.resourceGroupId(spec.resourceGroup)}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/` +
          `waf-${spec.name}`,
      };
      const identity =
        `${this.resourceGroupId(spec.resourceGroup)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/` + `id-${spec.name}-kv`;
      wire.identity = {
        type: 'UserAssigned',
        userAssignedIdentities: { [identity]: { principalId: crypto.randomUUID(), clientId: crypto.randomUUID() } },
      };
    }
    const state: GatewayState = {
      resourceGroup: spec.resourceGroup,
      wire,
      updatingUntil: 0,
      effective: new Map(),
      draining: new Map(),
      reads: 0,
      readHooks: [],
    };
    this.gateways.set(lower(id), state);
    this.applyEffective(state, 0);
    return this;
  }

  addVm(spec: VmSpec): this {
    const vmId = this.vmId(spec.resourceGroup, spec.name);
    const nicName = `${spec.name.toLowerCase()}-nic`;
    const nicId = this.nicId(spec.resourceGroup, nicName);
    const etag = newEtag();
    const pools = spec.memberOf
      ? [{ id: `${this.gatewayId(spec.resourceGroup, spec.memberOf.gateway)}/backendAddressPools/${spec.memberOf.pool}` }]
      : [];
    const nic = {
      id: nicId,
      name: nicName,
      type: 'Microsoft.Network/networkInterfaces',
      location: this.location,
      etag,
      properties: {
        provisioningState: 'Succeeded',
        resourceGuid: crypto.randomUUID(),
        ipConfigurations: [
          {
            id: `${nicId}/ipConfigurations/ipconfig1`,
            name: 'ipconfig1',
            etag,
            type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
            properties: {
              provisioningState: 'Succeeded',
              privateIPAddress: spec.privateIp,
              privateIPAllocationMethod: 'Static',
              privateIPAddressVersion: 'IPv4',
              subnet: { id: this.subnetId(spec.resourceGroup, 'snet-web') },
              primary: true,
              applicationGatewayBackendAddressPools: pools,
            },
          },
        ],
        dnsSettings: { dnsServers: [], appliedDnsServers: [] },
        macAddress: '00-0D-3A-' + crypto.randomBytes(3).toString('hex').toUpperCase().match(/../g)!.join('-'),
        enableAcceleratedNetworking: true,
        enableIPForwarding: false,
        primary: true,
        virtualMachine: { id: vmId },
        nicType: 'Standard',
      },
    };
    this.nics.set(lower(nicId), { resourceGroup: spec.resourceGroup, wire: nic, effectiveWire: clone(nic), updatingUntil: 0 });
    const osType = spec.osType ?? 'Windows';
    const vm = {
      id: vmId,
      name: spec.name,
      type: 'Microsoft.Compute/virtualMachines',
      location: this.location,
      properties: {
        vmId: crypto.randomUUID(),
        provisioningState: 'Succeeded',
        hardwareProfile: { vmSize: 'Standard_D4s_v5' },
        storageProfile: { osDisk: { osType, name: `${spec.name}-osdisk`, createOption: 'FromImage', caching: 'ReadWrite' } },
        osProfile:
          osType === 'Windows'
            ? {
                computerName: spec.name,
                adminUsername: 'azureadmin',
                windowsConfiguration: {
                  provisionVMAgent: true,
                  enableAutomaticUpdates: false,
                  patchSettings: { patchMode: 'Manual', assessmentMode: 'ImageDefault' },
                },
              }
            : {
                computerName: spec.name,
                adminUsername: 'azureadmin',
                linuxConfiguration: {
                  disablePasswordAuthentication: true,
                  patchSettings: { patchMode: 'ImageDefault', assessmentMode: 'ImageDefault' },
                },
              },
        networkProfile: { networkInterfaces: [{ id: nicId, properties: { primary: true } }] },
      },
    };
    const patches = (spec.patches ?? defaultPatches(osType)).map((patch, index) => ({
      ...patch,
      patchId: osType === 'Windows' ? crypto.randomUUID() : `${patch.name}_${index}`,
      version: osType === 'Windows' ? '' : `1.${index}.0`,
      publishedDate: '2025-04-08T17:00:00Z',
    }));
    this.vms.set(lower(vmId), {
      resourceGroup: spec.resourceGroup,
      wire: vm,
      patches,
      failingPatches: new Set(),
      rebootFails: false,
      busyUntil: 0,
    });
    for (const gateway of this.gateways.values()) this.applyEffective(gateway, 0);
    return this;
  }

  /** The pool as stored: its addresses (in order) and the NIC IP configurations that reference it (sorted). */
  pool(resourceGroup: string, gateway: string, pool: string): { addresses: string[]; ipConfigurations: string[] } {
    this.advance();
    const state = this.gatewayState(resourceGroup, gateway);
    const found = state.wire.properties.backendAddressPools.find((candidate: any) => lower(candidate.name) === lower(pool));
    if (!found) throw new Error(`no pool ${pool} on ${gateway}`);
    return {
      addresses: (found.properties.backendAddresses ?? []).map((address: any) => address.ipAddress ?? address.fqdn),
      ipConfigurations: this.nicMembers(found.id)
        .map((member) => member.ipConfigurationId)
        .sort(),
    };
  }

  /** The gateway's wire JSON as ARM would answer it. */
  gateway(resourceGroup: string, name: string): any {
    this.advance();
    return this.render(this.gatewayState(resourceGroup, name));
  }

  /**
   * Another writer changes the gateway (the portal, a script) right now: new etag; effective at once, or after
   * an update of `updatingMs` during which the gateway is Updating and refuses other writes with 409.
   */
  changeGateway(resourceGroup: string, name: string, change: (wire: any) => void, updatingMs = 0): void {
    this.advance();
    const state = this.gatewayState(resourceGroup, name);
    change(state.wire);
    this.stampWrite(state.wire);
    if (updatingMs <= 0) {
      this.applyEffective(state, Date.now());
      return;
    }
    state.updatingUntil = Date.now() + updatingMs;
    this.startOperation('Microsoft.Network', updatingMs, { onComplete: () => this.applyEffective(state, state.updatingUntil) });
  }

  /** A NIC's tags as stored (a copy). */
  nicTags(resourceGroup: string, nicName: string): Record<string, string> {
    this.advance();
    const nic = this.nics.get(lower(this.nicId(resourceGroup, nicName)));
    if (!nic) throw new Error(`no NIC ${nicName}`);
    return clone(nic.wire.tags ?? {});
  }

  /** Removes this pool's reference from a NIC's first IP configuration, as someone in the portal would. */
  removeNicPoolReference(resourceGroup: string, nicName: string, gateway: string, pool: string): void {
    const nic = this.nics.get(lower(this.nicId(resourceGroup, nicName)));
    if (!nic) throw new Error(`no NIC ${nicName}`);
    const poolId = lower(`${this.gatewayId(resourceGroup, gateway)}/backendAddressPools/${pool}`);
    const config = nic.wire.properties.ipConfigurations[0].properties;
    config.applicationGatewayBackendAddressPools = config.applicationGatewayBackendAddressPools.filter(
      (ref: any) => lower(ref.id) !== poolId,
    );
    this.stampWrite(nic.wire);
    nic.effectiveWire = clone(nic.wire);
    for (const state of this.gateways.values()) this.applyEffective(state, Date.now());
  }

  /** Runs `change` as another writer right after the gateway has been read `afterReads` more times. */
  changeGatewayAfterReads(resourceGroup: string, name: string, afterReads: number, change: (wire: any) => void, updatingMs = 0): void {
    const state = this.gatewayState(resourceGroup, name);
    state.readHooks.push({ afterReads: state.reads + afterReads, run: () => this.changeGateway(resourceGroup, name, change, updatingMs) });
  }

  /** Adds a pool reference to a NIC's first IP configuration (a NIC in two pools). */
  addNicPoolReference(resourceGroup: string, nicName: string, gateway: string, pool: string): void {
    const nic = this.nics.get(lower(this.nicId(resourceGroup, nicName)));
    if (!nic) throw new Error(`no NIC ${nicName}`);
    nic.wire.properties.ipConfigurations[0].properties.applicationGatewayBackendAddressPools.push({
      id: `${this.gatewayId(resourceGroup, gateway)}/backendAddressPools/${pool}`,
    });
    this.stampWrite(nic.wire);
    nic.effectiveWire = clone(nic.wire);
    for (const state of this.gateways.values()) this.applyEffective(state, Date.now());
  }

  /** The pool ids a NIC's first IP configuration references (lower case). */
  nicPoolReferences(resourceGroup: string, nicName: string): string[] {
    this.advance();
    const nic = this.nics.get(lower(this.nicId(resourceGroup, nicName)));
    if (!nic) throw new Error(`no NIC ${nicName}`);
    return nic.wire.properties.ipConfigurations[0].properties.applicationGatewayBackendAddressPools.map((ref: any) => lower(ref.id));
  }

  /** Forces a server's health (a server that will not come back), or clears it. */
  setHealth(address: string, health: Health | undefined): void {
    if (health) this.forcedHealth.set(address, health);
    else this.forcedHealth.delete(address);
  }

  /** Makes a VM's patching go wrong. */
  breakPatching(resourceGroup: string, vm: string, how: { failingPatches?: string[]; rebootFails?: boolean }): void {
    const state = this.vmState(resourceGroup, vm);
    for (const name of how.failingPatches ?? []) state.failingPatches.add(name);
    if (how.rebootFails !== undefined) state.rebootFails = how.rebootFails;
  }

  /** Patch names still to install on a VM. */
  pendingPatches(resourceGroup: string, vm: string): string[] {
    this.advance();
    return this.vmState(resourceGroup, vm).patches.map((patch) => patch.name);
  }

  /** Calls that change something (PUT, PATCH, DELETE, and POST actions other than read-only queries). */
  changes(): JournalEntry[] {
    return this.journal.filter(
      (entry) =>
        ['PUT', 'PATCH', 'DELETE'].includes(entry.method) ||
        (entry.method === 'POST' && !/\/(backendhealth|assessPatches)$/i.test(entry.path)),
    );
  }

  /** Writes (PUTs) answered with success on a gateway: what the gateway actually had to apply. */
  gatewayWrites(name?: string): number {
    return this.journal.filter(
      (entry) =>
        entry.method === 'PUT' &&
        /\/applicationGateways\/[^/]+$/i.test(entry.path) &&
        entry.status < 300 &&
        (!name || entry.path.toLowerCase().endsWith(`/${name.toLowerCase()}`)),
    ).length;
  }

  /** Backend health of a pool right now, as address → health. */
  healthOf(resourceGroup: string, gateway: string, pool: string): Record<string, Health> {
    this.advance();
    const body = this.backendHealth(this.gatewayState(resourceGroup, gateway));
    const out: Record<string, Health> = {};
    for (const entry of body.backendAddressPools) {
      if (lower(entry.backendAddressPool.id).endsWith(`/backendaddresspools/${lower(pool)}`)) {
        for (const server of entry.backendHttpSettingsCollection[0]?.servers ?? []) out[server.address] = server.health;
      }
    }
    return out;
  }

  /** Turns role checks on with the actions of a role definition (`Actions` of the JSON file). */
  grant(actions: string[]): void {
    this.granted = actions;
  }

  /** Runs all due completions now (timers are lazy: state moves on when anyone looks). */
  settle(): void {
    this.advance();
  }

  // ---------------------------------------------------------------- extension points

  /**
   * Registers an ARM route: the bearer token is checked against Entra's record for ARM's audience, the
   * caller's role (when one is granted) must allow `action` and every linked action the handler returns via
   * `requireLinked`, and due long-running work completes before the handler runs.
   */
  armRoute(method: string, pathPattern: string, action: string | ((request: EmulatorRequest) => string), handler: Handler): this {
    return this.route(method, pathPattern, async (request) => {
      const auth = this.entra.check(request.headers.authorization, this.audience);
      if (!auth.ok) {
        return armError(401, 'InvalidAuthenticationToken', auth.reason, {
          'WWW-Authenticate':
            `Bearer authorization_uri="${this.entra.url}/common/oauth2/authorize", error="invalid_token", ` +
            `error_description="${auth.reason}"`,
        });
      }
      if (request.params.subscription && lower(request.params.subscription) !== lower(this.subscriptionId)) {
        return armError(404, 'SubscriptionNotFound', `The subscription '${request.params.subscription}' could not be found.`);
      }
      const needed = typeof action === 'string' ? action : action(request);
      const refusal = this.authorize(needed, request.path, auth.grant.clientId, 'AuthorizationFailed');
      if (refusal) return refusal;
      this.advance();
      return handler(request);
    });
  }

  /** Checks an action (or a linked-access join action) against the granted role; records it as used. */
  authorize(action: string, scope: string, clientId = 'caller', code = 'LinkedAuthorizationFailed'): EmulatorResponse | undefined {
    this.actionsUsed.add(action);
    if (!this.granted || this.granted.some((pattern) => allows(pattern, action))) return undefined;
    return armError(
      403,
      code,
      `The client '${clientId}' with object id '${clientId}' does not have authorization to perform action '${action}' over scope ` +
        `'${scope}' or the scope is invalid.`,
    );
  }

  /** Starts a long-running operation that completes after `durationMs`. */
  startOperation(
    provider: Operation['provider'],
    durationMs: number,
    hooks: Pick<Operation, 'onComplete' | 'result' | 'error'> = {},
  ): Operation {
    const now = Date.now();
    const operation: Operation = {
      id: crypto.randomUUID(),
      provider,
      startedAt: now,
      completesAt: now + durationMs,
      completed: false,
      ...hooks,
    };
    this.operations.set(operation.id, operation);
    return operation;
  }

  /** `Azure-AsyncOperation` URL of an operation. */
  asyncOperationUrl(operation: Operation): string {
    return (
      `${this.url}/subscriptions/${this.subscriptionId}/providers/${operation.provider}/locations/${this.location}/operations/` +
      `${operation.id}?api-version=${operation.provider === 'Microsoft.Network' ? NETWORK_API : COMPUTE_API}`
    );
  }

  /** `Location` URL of an operation's result. */
  operationResultUrl(operation: Operation): string {
    return (
      `${this.url}/subscriptions/${this.subscriptionId}/providers/${operation.provider}/locations/${this.location}/` +
      `operationResults/${operation.id}?api-version=${operation.provider === 'Microsoft.Network' ? NETWORK_API : COMPUTE_API}`
    );
  }

  // ---------------------------------------------------------------- time

  private advance(): void {
    const now = Date.now();
    const due = [...this.operations.values()]
      .filter((op) => !op.completed && op.completesAt <= now)
      .sort((a, b) => a.completesAt - b.completesAt);
    for (const operation of due) {
      operation.completed = true;
      operation.onComplete?.();
    }
  }

  private updateDuration(): number {
    const setting = this.options.gatewayUpdateMs;
    if (typeof setting === 'number') return setting;
    return Math.round(setting[0] + this.random() * (setting[1] - setting[0]));
  }

  private retryAfter(): Record<string, string> {
    return { 'Retry-After': String(this.options.retryAfterSeconds) };
  }

  // ---------------------------------------------------------------- state helpers

  private gatewayState(resourceGroup: string, name: string): GatewayState {
    const state = this.gateways.get(lower(this.gatewayId(resourceGroup, name)));
    if (!state) throw new Error(`no gateway ${resourceGroup}/${name}`);
    return state;
  }

  private vmState(resourceGroup: string, name: string): VmState {
    const state = this.vms.get(lower(this.vmId(resourceGroup, name)));
    if (!state) throw new Error(`no VM ${resourceGroup}/${name}`);
    return state;
  }

  private stampWrite(wire: any): void {
    const etag = newEtag();
    wire.etag = etag;
    for (const value of Object.values(wire.properties ?? {})) {
      if (Array.isArray(value)) for (const item of value) if (item && typeof item === 'object' && 'name' in item) item.etag = etag;
    }
  }

  /** NIC IP configurations whose (stored) pool references include this pool. */
  private nicMembers(poolId: string, effective = false): Array<{ address: string; ipConfigurationId: string }> {
    const members: Array<{ address: string; ipConfigurationId: string }> = [];
    for (const nic of this.nics.values()) {
      const source = effective ? nic.effectiveWire : nic.wire;
      for (const config of source.properties.ipConfigurations ?? []) {
        const refs: any[] = config.properties?.applicationGatewayBackendAddressPools ?? [];
        if (refs.some((ref) => lower(ref.id) === lower(poolId))) {
          members.push({ address: config.properties.privateIPAddress, ipConfigurationId: config.id });
        }
      }
    }
    return members;
  }

  /** Makes the stored configuration the served one: new members start probing, removed ones drain. */
  private applyEffective(state: GatewayState, now: number): void {
    const seen = new Set<string>();
    for (const pool of state.wire.properties.backendAddressPools ?? []) {
      const key = lower(pool.name);
      seen.add(key);
      const before = state.effective.get(key) ?? new Map<string, MemberState>();
      const after = new Map<string, MemberState>();
      const members: Array<{ address: string; ipConfigurationId?: string }> = [
        ...(pool.properties?.backendAddresses ?? []).map((address: any) => ({ address: address.ipAddress ?? address.fqdn })),
        ...this.nicMembers(pool.id, true),
      ];
      for (const member of members) {
        const memberKey = lower(member.ipConfigurationId ?? member.address);
        after.set(memberKey, before.get(memberKey) ?? { ...member, since: now });
        state.draining.delete(memberKey);
      }
      for (const [memberKey, member] of before) {
        if (!after.has(memberKey)) state.draining.set(memberKey, { ...member, until: now + this.options.drainReportMs, pool: key });
      }
      state.effective.set(key, after);
    }
    for (const key of [...state.effective.keys()]) if (!seen.has(key)) state.effective.delete(key);
  }

  private healthOfServer(address: string, since: number): { health: Health; log: string } {
    const forced = this.forcedHealth.get(address);
    if (forced) return { health: forced, log: forced === 'Up' ? 'Success. Received 200 status code' : 'Cannot connect to backend server.' };
    const now = Date.now();
    for (const vm of this.vms.values()) {
      const nicId = vm.wire.properties.networkProfile.networkInterfaces[0].id;
      const nic = this.nics.get(lower(nicId));
      const ip = nic?.wire.properties.ipConfigurations[0].properties.privateIPAddress;
      if (ip !== address) continue;
      if (vm.busyUntil > now) return { health: 'Down', log: 'Cannot connect to backend server. The server is being patched or rebooted.' };
      since = Math.max(since, vm.busyUntil);
    }
    if (now - since < this.options.probeDelayMs) return { health: 'Unknown', log: 'The health of this server is being probed.' };
    return { health: 'Up', log: 'Success. Received 200 status code' };
  }

  private backendHealth(state: GatewayState): any {
    const now = Date.now();
    const props = state.wire.properties;
    return {
      backendAddressPools: (props.backendAddressPools ?? []).map((pool: any) => {
        const key = lower(pool.name);
        const settings = (props.requestRoutingRules ?? [])
          .filter((rule: any) => lower(rule.properties?.backendAddressPool?.id ?? '') === lower(pool.id))
          .map((rule: any) => rule.properties.backendHttpSettings.id);
        const servers = [...(state.effective.get(key)?.values() ?? [])].map((member) => {
          const { health, log } = this.healthOfServer(member.address, member.since);
          return {
            address: member.address,
            ...(member.ipConfigurationId ? { ipConfiguration: { id: member.ipConfigurationId } } : {}),
            health,
            healthProbeLog: log,
          };
        });
        for (const [memberKey, member] of state.draining) {
          if (member.pool !== key) continue;
          if (member.until <= now) state.draining.delete(memberKey);
          else
            servers.push({
              address: member.address,
              ...(member.ipConfigurationId ? { ipConfiguration: { id: member.ipConfigurationId } } : {}),
              health: 'Draining',
              healthProbeLog: 'Connection draining is in progress.',
            });
        }
        return {
          backendAddressPool: { id: pool.id },
          backendHttpSettingsCollection: [...new Set<string>(settings)].map((id) => ({
            backendHttpSettings: { id },
            servers: clone(servers),
          })),
        };
      }),
    };
  }

  /** The gateway as ARM answers it: stored state plus read-only fields derived from NICs. */
  private render(state: GatewayState): any {
    const wire = clone(state.wire);
    wire.properties.provisioningState = state.updatingUntil > Date.now() ? 'Updating' : 'Succeeded';
    for (const pool of wire.properties.backendAddressPools ?? []) {
      const members = this.nicMembers(pool.id);
      if (members.length) pool.properties.backendIPConfigurations = members.map((member) => ({ id: member.ipConfigurationId }));
      else delete pool.properties.backendIPConfigurations;
    }
    return wire;
  }

  private gatewayFromPath(request: EmulatorRequest): GatewayState | undefined {
    return this.gateways.get(lower(this.gatewayId(request.params.resourceGroup, request.params.name)));
  }

  private notFound(type: string, request: EmulatorRequest): EmulatorResponse {
    return armError(
      404,
      'ResourceNotFound',
      `The Resource '${type}/${request.params.name}' under resource group '${request.params.resourceGroup}' was not found. For more ` +
        `details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }

  /** The join actions a PUT of this body needs (ARM's linked access checks on referenced resources). */
  private linkedActions(body: any, ownId: string): Array<{ action: string; scope: string }> {
    const found: Array<{ action: string; scope: string }> = [];
    const visit = (value: any) => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (!value || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'id' && typeof inner === 'string') {
          const id = lower(inner);
          if (id.startsWith(lower(ownId))) continue;
          if (/\/virtualnetworks\/[^/]+\/subnets\/[^/]+$/.test(id))
            found.push({ action: 'Microsoft.Network/virtualNetworks/subnets/join/action', scope: inner });
          else if (/\/publicipaddresses\/[^/]+$/.test(id))
            found.push({ action: 'Microsoft.Network/publicIPAddresses/join/action', scope: inner });
          else if (/\/applicationgatewaywebapplicationfirewallpolicies\/[^/]+$/.test(id))
            found.push({ action: 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action', scope: inner });
          else if (/\/applicationgateways\/[^/]+\/backendaddresspools\/[^/]+$/.test(id)) {
            found.push({ action: 'Microsoft.Network/applicationGateways/backendAddressPools/join/action', scope: inner });
          }
        } else if (key === 'userAssignedIdentities' && inner && typeof inner === 'object') {
          for (const identity of Object.keys(inner))
            found.push({ action: 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action', scope: identity });
        } else visit(inner);
      }
    };
    visit(body);
    return found;
  }

  private checkLinked(body: any, ownId: string, request: EmulatorRequest): EmulatorResponse | undefined {
    const auth = this.entra.check(request.headers.authorization, this.audience);
    const clientId = auth.ok ? auth.grant.clientId : 'caller';
    for (const { action, scope } of this.linkedActions(body, ownId)) {
      const refusal = this.authorize(action, scope, clientId);
      if (refusal) return refusal;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- routes

  private registerRoutes(): void {
    const rg = '/subscriptions/:subscription/resourceGroups/:resourceGroup/providers';
    const gatewayPath = `${rg}/Microsoft.Network/applicationGateways/:name`;

    // The caller's effective permissions on a resource group (Permissions - List For Resource Group,
    // api-version 2022-04-01): what the granted role allows, or everything when no role is enforced. Any
    // signed-in caller may read its own permissions, so no action is checked (nor recorded as used).
    this.route('GET', `${rg}/Microsoft.Authorization/permissions`, (request) => {
      const auth = this.entra.check(request.headers.authorization, this.audience);
      if (!auth.ok) return armError(401, 'InvalidAuthenticationToken', auth.reason);
      if (lower(request.params.subscription) !== lower(this.subscriptionId))
        return armError(404, 'SubscriptionNotFound', `The subscription '${request.params.subscription}' could not be found.`);
      if (request.query.get('api-version') !== '2022-04-01')
        return armError(
          400,
          'InvalidApiVersionParameter',
          `The api-version '${request.query.get('api-version')}' is invalid for Microsoft.Authorization/permissions.`,
        );
      return {
        body: { value: [{ actions: this.granted ? [...this.granted] : ['*'], notActions: [], dataActions: [], notDataActions: [] }] },
      };
    });

    this.armRoute('GET', gatewayPath, 'Microsoft.Network/applicationGateways/read', (request) => {
      const state = this.gatewayFromPath(request);
      if (!state) return this.notFound('Microsoft.Network/applicationGateways', request);
      state.reads++;
      const body = this.render(state);
      // Another writer acting right after this read (the race the read-modify-write must survive).
      const due = state.readHooks.filter((hook) => hook.afterReads <= state.reads);
      state.readHooks = state.readHooks.filter((hook) => hook.afterReads > state.reads);
      for (const hook of due) hook.run();
      return { body, headers: { ETag: body.etag } };
    });

    this.armRoute('PUT', gatewayPath, 'Microsoft.Network/applicationGateways/write', (request) => this.putGateway(request));

    this.armRoute('POST', `${gatewayPath}/backendhealth`, 'Microsoft.Network/applicationGateways/backendhealth/action', (request) => {
      const state = this.gatewayFromPath(request);
      if (!state) return this.notFound('Microsoft.Network/applicationGateways', request);
      // The answer is taken when the query ends, like a real probe round.
      let answer: unknown;
      const operation = this.startOperation('Microsoft.Network', this.options.healthDelayMs, {
        onComplete: () => (answer = this.backendHealth(state)),
        result: () => answer,
      });
      return { status: 202, headers: { Location: this.operationResultUrl(operation), ...this.retryAfter() } };
    });

    const nicPath = `${rg}/Microsoft.Network/networkInterfaces/:name`;
    this.armRoute('GET', nicPath, 'Microsoft.Network/networkInterfaces/read', (request) => {
      const nic = this.nics.get(lower(this.nicId(request.params.resourceGroup, request.params.name)));
      if (!nic) return this.notFound('Microsoft.Network/networkInterfaces', request);
      const body = clone(nic.wire);
      body.properties.provisioningState = nic.updatingUntil > Date.now() ? 'Updating' : 'Succeeded';
      return { body, headers: { ETag: body.etag } };
    });
    this.armRoute('PUT', nicPath, 'Microsoft.Network/networkInterfaces/write', (request) => this.putNic(request));
    this.armRoute('GET', `${rg}/Microsoft.Network/networkInterfaces`, 'Microsoft.Network/networkInterfaces/read', (request) => {
      const group = `${lower(this.resourceGroupId(request.params.resourceGroup))}/`;
      const value = [...this.nics.values()]
        .filter((nic) => lower(nic.wire.id).startsWith(group))
        .map((nic) => {
          const body = clone(nic.wire);
          body.properties.provisioningState = nic.updatingUntil > Date.now() ? 'Updating' : 'Succeeded';
          return body;
        });
      return { body: { value } };
    });

    const vmPath = `${rg}/Microsoft.Compute/virtualMachines/:name`;
    this.armRoute('GET', vmPath, 'Microsoft.Compute/virtualMachines/read', (request) => {
      const vm = this.vms.get(lower(this.vmId(request.params.resourceGroup, request.params.name)));
      if (!vm) return this.notFound('Microsoft.Compute/virtualMachines', request);
      return { body: clone(vm.wire) };
    });
    this.armRoute('POST', `${vmPath}/installPatches`, 'Microsoft.Compute/virtualMachines/installPatches/action', (request) =>
      this.installPatches(request),
    );
    this.armRoute('POST', `${vmPath}/assessPatches`, 'Microsoft.Compute/virtualMachines/assessPatches/action', (request) =>
      this.assessPatches(request),
    );

    for (const provider of ['Microsoft.Network', 'Microsoft.Compute']) {
      this.armRoute(
        'GET',
        `/subscriptions/:subscription/providers/${provider}/locations/:location/operations/:id`,
        `${provider}/locations/operations/read`,
        (request) => {
          const operation = this.operations.get(request.params.id);
          if (!operation) return armError(404, 'OperationNotFound', `Operation ${request.params.id} was not found.`);
          const common = { name: operation.id, startTime: new Date(operation.startedAt).toISOString() };
          if (!operation.completed) return { body: { ...common, status: 'InProgress' }, headers: this.retryAfter() };
          if (operation.error)
            return {
              body: { ...common, status: 'Failed', endTime: new Date(operation.completesAt).toISOString(), error: operation.error },
            };
          const output = operation.result?.();
          return {
            body: {
              ...common,
              status: 'Succeeded',
              endTime: new Date(operation.completesAt).toISOString(),
              ...(output !== undefined ? { properties: { output } } : {}),
            },
          };
        },
      );
      const resultsAction =
        provider === 'Microsoft.Network'
          ? 'Microsoft.Network/locations/operationResults/read'
          : 'Microsoft.Compute/locations/operations/read';
      this.armRoute(
        'GET',
        `/subscriptions/:subscription/providers/${provider}/locations/:location/operationResults/:id`,
        resultsAction,
        (request) => {
          const operation = this.operations.get(request.params.id);
          if (!operation) return armError(404, 'OperationNotFound', `Operation ${request.params.id} was not found.`);
          if (!operation.completed) return { status: 202, headers: { Location: this.operationResultUrl(operation), ...this.retryAfter() } };
          if (operation.error) return armError(500, operation.error.code, operation.error.message);
          const output = operation.result?.();
          return output === undefined ? { status: 204 } : { body: output };
        },
      );
    }
  }

  private putGateway(request: EmulatorRequest): EmulatorResponse {
    const state = this.gatewayFromPath(request);
    if (!state) return armError(403, 'AuthorizationFailed', 'Creating application gateways is not part of this emulator.');
    const body = request.body;
    if (!body || typeof body !== 'object' || !body.properties)
      return armError(400, 'InvalidRequestFormat', 'Cannot parse the request: the body has no properties.');
    const now = Date.now();
    if (state.updatingUntil > now) {
      return armError(
        409,
        'AnotherOperationInProgress',
        `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ` +
          `${this.gatewayId(state.resourceGroup, state.wire.name)}.`,
      );
    }
    const ifMatch = request.headers['if-match'];
    if (this.options.honourIfMatch && ifMatch && ifMatch !== '*' && ifMatch !== state.wire.etag) {
      return armError(
        412,
        'PreconditionFailed',
        `The condition '${ifMatch}' in the If-Match header does not match the current etag '${state.wire.etag}' of the resource.`,
      );
    }
    const tags = tagProblem(body);
    if (tags) return tags;
    const pools: any[] = body.properties.backendAddressPools ?? [];
    for (const pool of pools) {
      for (const address of pool.properties?.backendAddresses ?? []) {
        if (!address.ipAddress && !address.fqdn)
          return armError(400, 'InvalidBackendAddress', `A backend address in pool '${pool.name}' has neither ipAddress nor fqdn.`);
      }
    }
    // A pool that NICs still reference cannot disappear.
    for (const old of state.wire.properties.backendAddressPools) {
      if (!pools.some((pool) => lower(pool.name) === lower(old.name)) && this.nicMembers(old.id).length) {
        return armError(
          400,
          'ApplicationGatewayBackendAddressPoolCannotBeDeleted',
          `Backend address pool ${old.id} is in use by network interface IP configurations and cannot be deleted.`,
        );
      }
    }
    const id = this.gatewayId(state.resourceGroup, state.wire.name);
    const linked = this.checkLinked(body, id, request);
    if (linked) return linked;

    const next = clone(body);
    next.id = id;
    next.name = state.wire.name;
    next.type = 'Microsoft.Network/applicationGateways';
    next.location = state.wire.location;
    next.properties.resourceGuid = state.wire.properties.resourceGuid;
    next.properties.operationalState = 'Running';
    for (const [collection, items] of Object.entries(next.properties)) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        if (item && typeof item === 'object' && item.name) {
          item.id ??= `${id}/${collection}/${item.name}`;
          item.properties ??= {};
          item.properties.provisioningState = 'Succeeded';
        }
      }
    }
    for (const pool of next.properties.backendAddressPools ?? []) delete pool.properties.backendIPConfigurations;
    state.wire = next;
    this.stampWrite(state.wire);
    const duration = this.updateDuration();
    state.updatingUntil = now + duration;
    const operation = this.startOperation('Microsoft.Network', duration, {
      onComplete: () => this.applyEffective(state, state.updatingUntil),
    });
    const rendered = this.render(state);
    return { status: 200, body: rendered, headers: { 'Azure-AsyncOperation': this.asyncOperationUrl(operation), ...this.retryAfter() } };
  }

  private putNic(request: EmulatorRequest): EmulatorResponse {
    const nic = this.nics.get(lower(this.nicId(request.params.resourceGroup, request.params.name)));
    if (!nic) return armError(403, 'AuthorizationFailed', 'Creating network interfaces is not part of this emulator.');
    const body = request.body;
    if (!body?.properties?.ipConfigurations) return armError(400, 'InvalidRequestFormat', 'The network interface has no ipConfigurations.');
    const now = Date.now();
    const ifMatch = request.headers['if-match'];
    if (this.options.honourIfMatch && ifMatch && ifMatch !== '*' && ifMatch !== nic.wire.etag) {
      return armError(
        412,
        'PreconditionFailed',
        `The condition '${ifMatch}' in the If-Match header does not match the current etag '${nic.wire.etag}' of the resource.`,
      );
    }
    if (nic.updatingUntil > now)
      return armError(409, 'AnotherOperationInProgress', 'Another operation on this or dependent resource is in progress.');
    const tags = tagProblem(body);
    if (tags) return tags;
    const poolRefs = (wire: any) =>
      new Set<string>(
        (wire.properties.ipConfigurations ?? []).flatMap((config: any) =>
          (config.properties?.applicationGatewayBackendAddressPools ?? []).map((ref: any) => lower(ref.id)),
        ),
      );
    const before = poolRefs(nic.wire);
    const after = poolRefs(body);
    const touched = new Set([...before, ...after].filter((ref) => before.has(ref) !== after.has(ref)));
    // The gateways whose pools change are updated with the NIC, one operation at a time.
    const gateways = new Set<GatewayState>();
    for (const ref of touched) {
      const gatewayId = ref.replace(/\/backendaddresspools\/[^/]+$/, '');
      const gateway = this.gateways.get(gatewayId);
      if (!gateway)
        return armError(400, 'InvalidResourceReference', `Resource ${ref} referenced by network interface ${nic.wire.id} was not found.`);
      if (!gateway.wire.properties.backendAddressPools.some((pool: any) => lower(pool.id) === ref)) {
        return armError(400, 'InvalidResourceReference', `Resource ${ref} referenced by network interface ${nic.wire.id} was not found.`);
      }
      if (gateway.updatingUntil > now) {
        return armError(
          409,
          'AnotherOperationInProgress',
          `Another operation on this or dependent resource is in progress (application gateway ${gateway.wire.name}).`,
        );
      }
      gateways.add(gateway);
    }
    const linked = this.checkLinked(body, nic.wire.id, request);
    if (linked) return linked;
    const next = clone(body);
    next.id = nic.wire.id;
    next.name = nic.wire.name;
    next.type = nic.wire.type;
    next.location = nic.wire.location;
    next.properties.resourceGuid = nic.wire.properties.resourceGuid;
    next.properties.macAddress = nic.wire.properties.macAddress;
    next.properties.virtualMachine = nic.wire.properties.virtualMachine;
    for (const config of next.properties.ipConfigurations) {
      config.id ??= `${nic.wire.id}/ipConfigurations/${config.name}`;
      config.type = 'Microsoft.Network/networkInterfaces/ipConfigurations';
      config.properties.provisioningState = 'Succeeded';
    }
    nic.wire = next;
    this.stampWrite(nic.wire);
    const duration = gateways.size ? this.updateDuration() : 10;
    nic.updatingUntil = now + duration;
    for (const gateway of gateways) {
      gateway.updatingUntil = now + duration;
      this.stampWrite(gateway.wire);
    }
    const operation = this.startOperation('Microsoft.Network', duration, {
      onComplete: () => {
        nic.effectiveWire = clone(nic.wire);
        for (const gateway of gateways) this.applyEffective(gateway, now + duration);
      },
    });
    const rendered = clone(nic.wire);
    rendered.properties.provisioningState = 'Updating';
    return { status: 200, body: rendered, headers: { 'Azure-AsyncOperation': this.asyncOperationUrl(operation), ...this.retryAfter() } };
  }

  private vmFromPath(request: EmulatorRequest): VmState | undefined {
    return this.vms.get(lower(this.vmId(request.params.resourceGroup, request.params.name)));
  }

  private installPatches(request: EmulatorRequest): EmulatorResponse {
    const vm = this.vmFromPath(request);
    if (!vm) return this.notFound('Microsoft.Compute/virtualMachines', request);
    const now = Date.now();
    if (vm.busyUntil > now) {
      return armError(409, 'OperationNotAllowed', 'Patch installation is already in progress on this virtual machine.');
    }
    const body = request.body ?? {};
    if (!/^P(T(\d+H)?(\d+M)?)$/.test(body.maximumDuration ?? '')) {
      return armError(
        400,
        'InvalidParameter',
        `The value '${body.maximumDuration}' of parameter 'maximumDuration' is not a valid ISO 8601 duration between PT1H and PT4H.`,
      );
    }
    if (!['IfRequired', 'Never', 'Always'].includes(body.rebootSetting)) {
      return armError(400, 'InvalidParameter', `The value '${body.rebootSetting}' of parameter 'rebootSetting' is not valid.`);
    }
    const windows = vm.wire.properties.storageProfile.osDisk.osType === 'Windows';
    const parameters = (windows ? body.windowsParameters : body.linuxParameters) ?? {};
    const classifications: string[] = parameters.classificationsToInclude ?? [];
    const excluded = new Set<string>((parameters.kbNumbersToExclude ?? []).map((kb: string) => kb.replace(/^KB/i, '')));
    const selected = vm.patches.filter(
      (patch) =>
        (classifications.length === 0 || classifications.includes(patch.classification)) &&
        !excluded.has((patch.kbId ?? '').replace(/^KB/i, '')),
    );
    const failed = selected.filter((patch) => vm.failingPatches.has(patch.name));
    const installed = selected.filter((patch) => !vm.failingPatches.has(patch.name));
    const excludedPatches = vm.patches.filter((patch) => excluded.has((patch.kbId ?? '').replace(/^KB/i, '')));
    const needsReboot = installed.some((patch) => patch.rebootBehavior !== 'NeverReboots');
    const rebooting = body.rebootSetting === 'Always' || (body.rebootSetting === 'IfRequired' && needsReboot);
    const rebootStatus = rebooting ? (vm.rebootFails ? 'Failed' : 'Completed') : needsReboot ? 'Required' : 'NotNeeded';
    const status =
      vm.rebootFails && rebooting
        ? 'Failed'
        : failed.length && !installed.length
          ? 'Failed'
          : failed.length
            ? 'CompletedWithWarnings'
            : 'Succeeded';
    const duration = this.options.patchMs + (rebooting ? this.options.rebootMs : 0);
    vm.busyUntil = now + duration;
    this.maxPatchingAtOnce = Math.max(this.maxPatchingAtOnce, [...this.vms.values()].filter((other) => other.busyUntil > now).length);
    const activityId = crypto.randomUUID();
    const patchRow = (patch: VmState['patches'][number], installationState: string) => ({
      patchId: patch.patchId,
      name: patch.name,
      version: patch.version,
      kbId: patch.kbId,
      classifications: [patch.classification],
      installationState,
    });
    const result = {
      status,
      installationActivityId: activityId,
      rebootStatus,
      maintenanceWindowExceeded: false,
      excludedPatchCount: excludedPatches.length,
      notSelectedPatchCount: vm.patches.length - selected.length - excludedPatches.length,
      pendingPatchCount: 0,
      installedPatchCount: installed.length,
      failedPatchCount: failed.length,
      patches: [
        ...installed.map((patch) => patchRow(patch, 'Installed')),
        ...failed.map((patch) => patchRow(patch, 'Failed')),
        ...excludedPatches.map((patch) => patchRow(patch, 'Excluded')),
      ],
      startDateTime: new Date(now).toISOString(),
      ...(status === 'Failed'
        ? {
            error: {
              code: rebootStatus === 'Failed' ? 'VMRebootFailed' : 'PatchInstallationFailed',
              message:
                rebootStatus === 'Failed'
                  ? 'The virtual machine did not come back after the reboot.'
                  : `${failed.length} patch(es) failed to install.`,
            },
          }
        : {}),
    };
    const operation = this.startOperation('Microsoft.Compute', duration, {
      onComplete: () => {
        vm.patches = vm.patches.filter((patch) => !installed.includes(patch));
        vm.lastInstall = result;
      },
      result: () => result,
    });
    return {
      status: 202,
      headers: {
        Location: `${this.operationResultUrl(operation)}&monitor=true`,
        'Azure-AsyncOperation': this.asyncOperationUrl(operation),
        ...this.retryAfter(),
      },
    };
  }

  private assessPatches(request: EmulatorRequest): EmulatorResponse {
    const vm = this.vmFromPath(request);
    if (!vm) return this.notFound('Microsoft.Compute/virtualMachines', request);
    const now = Date.now();
    let answer: unknown;
    const operation = this.startOperation('Microsoft.Compute', this.options.assessMs, {
      onComplete: () => {
        const critical = vm.patches.filter((patch) => ['Critical', 'Security'].includes(patch.classification));
        answer = {
          status: 'Succeeded',
          assessmentActivityId: crypto.randomUUID(),
          rebootPending: vm.patches.some((patch) => patch.rebootBehavior === 'AlwaysRequiresReboot'),
          criticalAndSecurityPatchCount: critical.length,
          otherPatchCount: vm.patches.length - critical.length,
          startDateTime: new Date(now).toISOString(),
          availablePatches: vm.patches.map((patch) => ({
            patchId: patch.patchId,
            name: patch.name,
            version: patch.version,
            kbId: patch.kbId,
            classifications: [patch.classification],
            rebootBehavior: patch.rebootBehavior ?? 'CanRequestReboot',
            activityId: crypto.randomUUID(),
            publishedDate: patch.publishedDate,
            lastModifiedDateTime: patch.publishedDate,
            assessmentState: 'Available',
          })),
        };
      },
      result: () => answer,
    });
    return {
      status: 202,
      headers: {
        Location: `${this.operationResultUrl(operation)}&monitor=true`,
        'Azure-AsyncOperation': this.asyncOperationUrl(operation),
        ...this.retryAfter(),
      },
    };
  }
}

function defaultPatches(osType: 'Windows' | 'Linux'): PatchSpec[] {
  if (osType === 'Linux') {
    return [
      { name: 'openssl', classification: 'Security', rebootBehavior: 'NeverReboots' },
      { name: 'linux-image-azure', classification: 'Critical', rebootBehavior: 'AlwaysRequiresReboot' },
      { name: 'curl', classification: 'Other', rebootBehavior: 'NeverReboots' },
    ];
  }
  return [
    {
      name: '2025-04 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5055526)',
      kbId: '5055526',
      classification: 'Security',
      rebootBehavior: 'CanRequestReboot',
    },
    {
      name: '2025-04 Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 (KB5054979)',
      kbId: '5054979',
      classification: 'Critical',
      rebootBehavior: 'CanRequestReboot',
    },
    {
      name: 'Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.427.155.0)',
      kbId: '2267602',
      classification: 'Definition',
      rebootBehavior: 'NeverReboots',
    },
    {
      name: 'Windows Malicious Software Removal Tool x64 - v5.133 (KB890830)',
      kbId: '890830',
      classification: 'UpdateRollUp',
      rebootBehavior: 'NeverReboots',
    },
  ];
}
