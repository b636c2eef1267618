import type { ApplicationGateway, ApplicationGatewayBackendHealth } from '@azure/arm-network';
import { beginActivity } from '../../core/cancel';
import { poll } from '../../core/retry';
import { describeArmError } from '../arm';
import { memberAddress, memberKey, type PoolMember } from '../pool-members';
import { untilDone } from './operations';
import { readGateway } from './reading';
import type { PoolSession } from './session';
import { findPool } from './shape';
import type { MemberHealth } from './types';

/** Backend health: one query read per member, the pool's draining timeout, and waits for a wanted health. */

/** Worse health ranks higher: a member served by several HTTP settings shows its worst. */
function rank(health: string): number {
  return health === 'Up' ? 0 : health === 'Unknown' ? 1 : health === 'Draining' ? 2 : 3;
}

/** The backend health report's entries for one pool, by their settings. */
function entriesOf(raw: ApplicationGatewayBackendHealth, poolId: string) {
  return (raw.backendAddressPools ?? []).filter((entry) => (entry.backendAddressPool?.id ?? '').toLowerCase() === poolId);
}

/** Pure: member key → worst health over the pool's HTTP settings (`Not listed` when the report omits it). */
export function healthByMember(raw: ApplicationGatewayBackendHealth, poolId: string, members: PoolMember[]): Map<string, MemberHealth> {
  const reported = new Map<string, { health: string; detail?: string }>();
  for (const entry of entriesOf(raw, poolId)) {
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
  return byMember;
}

/** Pure: the connection draining timeout of the HTTP settings this pool is served with (the longest). */
export function drainTimeoutOf(
  gateway: ApplicationGateway,
  raw: ApplicationGatewayBackendHealth,
  poolId: string,
): { seconds: number; settings: string[] } {
  const ids = new Set<string>();
  for (const entry of entriesOf(raw, poolId)) {
    for (const settings of entry.backendHttpSettingsCollection ?? [])
      if (settings.backendHttpSettings?.id) ids.add(settings.backendHttpSettings.id.toLowerCase());
  }
  for (const rule of gateway.requestRoutingRules ?? []) {
    if ((rule.backendAddressPool?.id ?? '').toLowerCase() === poolId && rule.backendHttpSettings?.id)
      ids.add(rule.backendHttpSettings.id.toLowerCase());
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

/** One backend health query: member key → worst health over the pool's HTTP settings. */
export async function readHealth(
  session: PoolSession,
  gateway: ApplicationGateway,
  members: PoolMember[],
): Promise<{ byMember: Map<string, MemberHealth>; raw: ApplicationGatewayBackendHealth; poolId: string }> {
  const { resourceGroupName, applicationGatewayName } = session.target;
  let raw: ApplicationGatewayBackendHealth;
  try {
    raw = await untilDone(
      session,
      `Backend health of '${applicationGatewayName}'`,
      await session.clients.network.applicationGateways.beginBackendHealth(resourceGroupName, applicationGatewayName, {
        updateIntervalInMs: session.options.pollIntervalMs,
      }),
    );
  } catch (error) {
    throw describeArmError(error, `reading backend health of application gateway '${applicationGatewayName}'`);
  }
  const poolId = (findPool(gateway, session.target).id ?? '').toLowerCase();
  return { byMember: healthByMember(raw, poolId, members), raw, poolId };
}

/** What a health wait waits for, and how it says so while it waits. */
export interface HealthWait {
  done: (health: MemberHealth[]) => boolean;
  timeoutSeconds: number;
  describeWait: (health: MemberHealth[]) => string;
}

/** Polls backend health until `done` says so or the time is up; returns the last reading. */
export async function waitForHealth(
  session: PoolSession,
  members: PoolMember[],
  wait: HealthWait,
): Promise<{ ok: boolean; health: MemberHealth[] }> {
  const { timeoutSeconds, describeWait } = wait;
  const endActivity = beginActivity({ what: `the health wait of ${session.where} (up to ${timeoutSeconds} s)` });
  const read = async () => {
    const gateway = await readGateway(session);
    const { byMember } = await readHealth(session, gateway, members);
    return members.map((member) => byMember.get(memberKey(member))!);
  };
  try {
    const result = await poll(
      read,
      wait.done,
      { intervalMs: session.options.pollIntervalMs, timeoutMs: timeoutSeconds * 1000 },
      {
        clock: session.clock,
        onWait: (health, round, elapsedMs) => {
          if (round % 10 !== 0) return;
          session.log.info(`${describeWait(health)} (${Math.round(elapsedMs / 1000)} s of at most ${timeoutSeconds} s).`);
          session.log.progress(timeoutSeconds ? (100 * elapsedMs) / (timeoutSeconds * 1000) : 100, describeWait(health));
        },
      },
    );
    return { ok: result.ok, health: result.value };
  } finally {
    endActivity();
  }
}
