import { formatGatewayTag, gatewayTagName } from '../../shared/azure/drain-tags';
import { MAINTENANCE_ROLE_ACTIONS } from '../../shared/azure/permissions-check';
import { loadPlan } from '../../shared/plan/plan';
import { CLIENT_SECRET } from './azure-fixture';
import type { World } from '../e2e/world';

/**
 * The documented faults of the Friday preflight (issue 13), injected into the emulated world before the
 * preflight runs. Each turns one thing the night needs into the problem a real Friday might find, and each is
 * what one check must report NO-GO, naming the object and the fix:
 *
 * | fault | what changes in the emulators | the check that finds it |
 * |---|---|---|
 * | `expired-secret` | Entra refuses the Azure connection's client secret as expired (AADSTS7000222) | every Azure task: `azure-sign-in` |
 * | `missing-permission` | the identity's role lacks `Microsoft.Network/applicationGateways/write` | AppGatewayDrain: `azure-permissions` |
 * | `bot-not-in-channel` | the Slack app is no member of #maintenance | Notify, MaintenanceWindow: `slack-channel` |
 * | `pingdom-check-missing` | the Pingdom check `my.invoicecloud.com` is renamed | PingdomPause: `pingdom-check` |
 * | `dns-record-missing` | the DNS record `my.invoicecloud.com` is deleted | MaintenancePage: `dns-record` |
 * | `pipeline-missing` | the first pipeline of the plan does not exist | RunChanges: `pipeline` |
 * | `leftover-drain` | a drained tag of an earlier window names a web server that is out of the pool | AppGatewayDrain: `drained-tags` |
 * | `no-approval-check` | the environments lose their approval checks | the environment check (preflight step) |
 * | `overrun` | the plan's pipelines run 4 h each, and their recent successful runs took that long | the forecast (preflight step) |
 */

export const FAULT_NAMES = [
  'expired-secret',
  'missing-permission',
  'bot-not-in-channel',
  'pingdom-check-missing',
  'dns-record-missing',
  'pipeline-missing',
  'leftover-drain',
  'no-approval-check',
  'overrun',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface FaultOptions {
  /** The plan rehearsed (needed by `pipeline-missing` and `overrun`). */
  planFile?: string;
  /** Where the gateway is (`leftover-drain`); the night's defaults when absent. */
  gateway?: { resourceGroup: string; name: string; pool: string };
  /** The window whose drained tag is left over (`leftover-drain`). */
  earlierWindowId?: string;
  /** How long each pipeline of the plan runs with `overrun` (default 4 h). */
  overrunMs?: number;
}

/** What a fault changed, in words, and the object a check must name. */
export interface AppliedFault {
  name: FaultName;
  description: string;
  /** A text the NO-GO finding's object (or why) contains. */
  object: string;
}

export const RENAMED_PINGDOM_CHECK = 'my.invoicecloud.com';
export const MISSING_DNS_RECORD = 'my.invoicecloud.com';
export const CHANNEL_WITHOUT_BOT = 'maintenance';
export const WITHHELD_ACTION = 'Microsoft.Network/applicationGateways/write';
const DEFAULT_GATEWAY = { resourceGroup: 'rg-web-prd', name: 'agw-pri-appgateway0-prd', pool: 'web' };

export function isFaultName(name: string): name is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(name);
}

function planOf(name: FaultName, options: FaultOptions) {
  if (!options.planFile) throw new Error(`fault ${name} needs the plan file (options.planFile): it changes the plan's pipelines`);
  return loadPlan(options.planFile);
}

function planPipelines(world: World, name: FaultName, options: FaultOptions) {
  const plan = planOf(name, options);
  return plan.changes.flatMap((change) => {
    if (change.action.kind !== 'pipeline') return [];
    const definition = world.devops.pipeline(change.action.name, change.action.folder);
    return definition ? [{ change, definition }] : [];
  });
}

/** Takes one web server out of the pool, as a drain of an earlier window did, with that drain's tag. */
function leaveDrain(world: World, options: FaultOptions): string {
  const where = options.gateway ?? DEFAULT_GATEWAY;
  const windowId = options.earlierWindowId ?? '2025-02-23';
  let address = '';
  world.azure.arm.changeGateway(where.resourceGroup, where.name, (wire) => {
    const pool = wire.properties.backendAddressPools.find((candidate: any) => candidate.name.toLowerCase() === where.pool.toLowerCase());
    if (!pool) throw new Error(`leftover-drain: gateway ${where.name} has no pool ${where.pool}`);
    const addresses = pool.properties.backendAddresses ?? [];
    const position = addresses.length - 1;
    address = addresses[position]?.ipAddress;
    if (!address) throw new Error(`leftover-drain: pool ${where.pool} holds no address to leave drained`);
    pool.properties.backendAddresses = addresses.slice(0, position);
    const value = formatGatewayTag([{ member: { type: 'ipAddress', ipAddress: address }, windowId, position }]);
    wire.tags = { ...(wire.tags ?? {}), [gatewayTagName(where.pool)]: value };
  });
  return `${address} out of pool ${where.pool} of ${where.name}, named by a drained tag of window ${windowId}`;
}

/** Applies the fault now, or for gateway faults once the world is seeded (the gateway exists from then on). */
export function applyFault(world: World, name: FaultName, options: FaultOptions = {}): AppliedFault {
  switch (name) {
    case 'expired-secret':
      world.azure.entra.expireClientSecret(CLIENT_SECRET);
      return { name, description: "the Azure connection's client secret has expired", object: 'Azure service connection' };
    case 'missing-permission':
      world.azure.arm.grant(MAINTENANCE_ROLE_ACTIONS.filter((action) => action !== WITHHELD_ACTION));
      return { name, description: `the identity's role lacks ${WITHHELD_ACTION}`, object: 'resource group' };
    case 'bot-not-in-channel': {
      const channel = world.slack.channelByName(CHANNEL_WITHOUT_BOT);
      if (!channel) throw new Error(`bot-not-in-channel: no channel #${CHANNEL_WITHOUT_BOT} in the Slack emulator`);
      channel.is_member = false;
      return { name, description: `the Slack app is not in #${CHANNEL_WITHOUT_BOT}`, object: `#${CHANNEL_WITHOUT_BOT}` };
    }
    case 'pingdom-check-missing': {
      const check = [...world.pingdom.checks.values()].find((candidate) => candidate.name === RENAMED_PINGDOM_CHECK);
      if (!check) throw new Error(`pingdom-check-missing: no check '${RENAMED_PINGDOM_CHECK}' in the Pingdom emulator`);
      check.name = `${RENAMED_PINGDOM_CHECK} (renamed)`;
      return { name, description: `the Pingdom check '${RENAMED_PINGDOM_CHECK}' was renamed`, object: RENAMED_PINGDOM_CHECK };
    }
    case 'dns-record-missing': {
      const record = world.cloudflare.find(MISSING_DNS_RECORD);
      if (!record) throw new Error(`dns-record-missing: no record ${MISSING_DNS_RECORD} in the Cloudflare emulator`);
      world.cloudflare.records.delete(record.id);
      return { name, description: `the DNS record ${MISSING_DNS_RECORD} was deleted`, object: MISSING_DNS_RECORD };
    }
    case 'pipeline-missing': {
      const [first] = planPipelines(world, name, options);
      if (!first) throw new Error('pipeline-missing: the plan runs no pipeline the emulated Azure DevOps knows');
      world.devops.definitions.delete(first.definition.id);
      return {
        name,
        description: `pipeline ${first.definition.name} of change ${first.change.id} does not exist`,
        object: first.definition.name,
      };
    }
    case 'leftover-drain':
      return deferUntilSeeded(world, name, () => leaveDrain(world, options));
    case 'no-approval-check': {
      let removed = 0;
      for (const [id, check] of world.devops.checks) {
        if (check.resource.type === 'environment' && /approval/i.test(check.type.name)) {
          world.devops.checks.delete(id);
          removed++;
        }
      }
      return { name, description: `${removed} approval check(s) removed from the environments`, object: 'environment' };
    }
    case 'overrun':
      return overrun(world, options);
  }
}

/** Long pipelines: their next runs take `overrunMs`, and each has recent successful runs that took as long. */
function overrun(world: World, options: FaultOptions): AppliedFault {
  const durationMs = options.overrunMs ?? 4 * 3600_000;
  const pipelines = planPipelines(world, 'overrun', options);
  for (const { definition } of pipelines) {
    definition.durationMs = durationMs;
    for (let n = 1; n <= 3; n++) {
      const run = world.devops.queueRun(definition.name, { durationMs });
      // Finished a week (and a few hours) apart in the past: history the forecast takes its median from.
      run.queuedAt = world.devops.now() - n * 7 * 24 * 3600_000;
      run.startedAt = run.queuedAt;
    }
  }
  return {
    name: 'overrun',
    description: `${pipelines.length} pipeline(s) of the plan take ${durationMs / 3600_000} h each`,
    object: 'window end',
  };
}

function deferUntilSeeded(world: World, name: FaultName, apply: () => string): AppliedFault {
  const seed = world.seed;
  const applied: AppliedFault = { name, description: 'applied once the world is seeded', object: 'drained tag' };
  world.seed = async (pipeline) => {
    await seed?.(pipeline);
    applied.description = apply();
  };
  return applied;
}

/** Applies a fault to a world that is already seeded (tests that seed by hand). */
export function applyFaultNow(world: World, name: FaultName, options: FaultOptions = {}): AppliedFault {
  if (name === 'leftover-drain') return { name, description: leaveDrain(world, options), object: 'drained tag' };
  return applyFault(world, name, options);
}
