import type { ApplicationGateway, ApplicationGatewayBackendAddress } from '@azure/arm-network';
import { SafetyError, ServiceError } from '../../core/errors';
import type { UndoRecord } from '../../core/records';
import { fullOrder, positioned } from '../drain-tags';
import { describeMember, memberKey, type PoolMember } from '../pool-members';
import { drainTimeoutOf, readHealth, waitForHealth } from './health';
import { resolveServers } from './matching';
import { membersOf, readGateway, readPool } from './reading';
import type { PoolSession } from './session';
import { addressMembersOf, findPool, isAddress } from './shape';
import { drainedByUs, gatewayTag, setGatewayTag } from './tags';
import type { DrainedMember, DrainOptions, DrainResult, MemberHealth, PoolUndoData } from './types';
import { undoRecordFor } from './undo-record';
import { updateGateway, updateNicReference } from './writing';

/**
 * A drain in four steps: plan (resolve the servers, the undo record, refusals), check that enough healthy
 * servers stay in, write (one gateway write for addresses, one per NIC), confirm (read back, health, drain).
 */

/** Pure: throws the refusal when fewer than `minHealthyServers` healthy members would stay in. */
export function checkEnoughHealthy(check: {
  after: PoolMember[];
  batchKeys: Set<string>;
  byMember: Map<string, MemberHealth>;
  minHealthyServers: number;
  draining: PoolMember[];
  where: string;
}): void {
  const { batchKeys, byMember, minHealthyServers } = check;
  const healthyKeys = new Set([...byMember.values()].filter((entry) => entry.health === 'Up').map((entry) => memberKey(entry.member)));
  const left = check.after.filter((member) => !batchKeys.has(memberKey(member)));
  const healthy = left.filter((member) => healthyKeys.has(memberKey(member)));
  if (healthy.length >= minHealthyServers) return;
  const notHealthy = left.filter((member) => !healthyKeys.has(memberKey(member)));
  const describeUnhealthy = (member: PoolMember) => `${describeMember(member)} ${byMember.get(memberKey(member))?.health ?? 'new'}`;
  throw new SafetyError(
    `Refusing to drain ${check.draining.map(describeMember).join(', ')} from ${check.where}: only ${healthy.length} healthy server(s) ` +
      `would remain ` +
      `(minHealthyServers is ${minHealthyServers}). Healthy: ${healthy.map(describeMember).join(', ') || 'none'}` +
      `${notHealthy.length ? `; not healthy: ${notHealthy.map(describeUnhealthy).join(', ')}` : ''}. Nothing was changed.`,
  );
}

function addressMember(address: ApplicationGatewayBackendAddress): PoolMember {
  return address.ipAddress ? { type: 'ipAddress', ipAddress: address.ipAddress } : { type: 'fqdn', fqdn: address.fqdn ?? '' };
}

/** What the plan step found: who goes out now, who is carried, the record, and how to refuse. */
interface DrainPlan {
  gateway: ApplicationGateway;
  poolId: string;
  members: PoolMember[];
  /** In the pool now: this drain takes them out. */
  batch: PoolMember[];
  /** Every member the servers named (batch and carried). */
  named: PoolMember[];
  carried: DrainedMember[];
  record: UndoRecord<PoolUndoData>;
  /** Throws `error`, first recording what the carried members need (a refused re-run still leaves a record). */
  refuse: (error: Error) => never;
}

async function planDrain(session: PoolSession, servers: string[], options: DrainOptions): Promise<DrainPlan> {
  const gateway = await readGateway(session);
  const pool = findPool(gateway, session.target);
  const members = await membersOf(session, pool);
  let ours: Promise<DrainedMember[]> | undefined;
  const { resolved, refusals } = await resolveServers(session, {
    inputName: 'servers',
    servers,
    members,
    drained: () => (ours ??= drainedByUs(session, gateway, members)),
  });
  const batch = resolved.filter((entry) => entry.carriedFrom === undefined).map((entry) => entry.member);
  const carried = resolved.flatMap((entry) =>
    entry.carriedFrom === undefined ? [] : [{ member: entry.member, windowId: entry.carriedFrom }],
  );
  if (carried.length) {
    session.log.info(
      `Already out of ${session.where}: ` +
        `${carried.map((entry) => `${describeMember(entry.member)} (taken out by this task in window ${entry.windowId})`).join(', ')}. ` +
        'The drained tag says an earlier drain of ours took them out (a re-run, or a drain whose record was lost): they join this ' +
        "drain's undo record, so its restore puts them back.",
    );
  }
  const named = resolved.map((entry) => entry.member);
  const record = undoRecordFor(session, { gateway, members, removed: named, carried, windowId: options.windowId });
  const refuse = (error: Error): never => {
    if (carried.length) {
      options.publishUndoRecord(
        undoRecordFor(session, { gateway, members, removed: carried.map((entry) => entry.member), carried, windowId: options.windowId }),
      );
      session.log.info(
        `This drain is refused, but its undo record names ${carried.map((entry) => describeMember(entry.member)).join(', ')}, which an ` +
          `earlier drain took out: restore from it to put them back.`,
      );
    }
    throw error;
  };
  if (refusals.length) refuse(refusals[0]);
  return { gateway, poolId: pool.id!, members, batch, named, carried, record, refuse };
}

/**
 * Takes a batch of servers out of the pool in one gateway write (or one write per NIC for NIC targets),
 * after checking that enough healthy servers stay in and writing the undo record; then confirms with
 * backend health that they no longer take traffic and waits out connection draining.
 */
export async function drainServers(session: PoolSession, servers: string[], options: DrainOptions): Promise<DrainResult> {
  const plan = await planDrain(session, servers, options);
  const { gateway, members, batch, carried, record } = plan;
  const { byMember, raw } = await readHealth(session, gateway, members);
  const drain = drainTimeoutOf(gateway, raw, plan.poolId.toLowerCase());
  const drainSeconds = options.drainTimeoutSeconds ?? drain.seconds;
  const batchKeys = new Set(batch.map(memberKey));
  const remaining = members.filter((member) => !batchKeys.has(memberKey(member))).map((member) => byMember.get(memberKey(member))!);
  const checkRemaining = (after: PoolMember[]) =>
    checkEnoughHealthy({
      after,
      batchKeys,
      byMember,
      minHealthyServers: options.minHealthyServers,
      draining: plan.named,
      where: session.where,
    });
  try {
    checkRemaining(members);
  } catch (error) {
    plan.refuse(error as Error);
  }
  if (batch.length)
    session.log.info(
      `Taking ${batch.length} server(s) out of ${session.where}: ${batch.map(describeMember).join(', ')}. ` +
        `${remaining.filter((entry) => entry.health === 'Up').length} healthy server(s) stay in.`,
    );
  options.publishUndoRecord(record);

  await writeDrain(session, plan, { batchKeys, checkRemaining, windowId: options.windowId ?? 'unknown' });
  await confirmDrained(session, record.data.removed, options.healthTimeoutSeconds);
  if (drainSeconds > 0) {
    session.log.info(
      `Waiting ${drainSeconds} s for connection draining ` +
        `(${options.drainTimeoutSeconds !== undefined ? 'drainTimeoutSeconds' : `HTTP settings ${drain.settings.join(', ')}`}).`,
    );
    session.log.progress(0, `Connection draining: ${drainSeconds} s`);
    await session.clock.wait(drainSeconds * 1000);
  }
  return { record, removed: record.data.removed, carried, remaining, drainSeconds, ...session.writes };
}

/** The writes of a drain: the addresses in one gateway write (with the drained tag), then each NIC. */
async function writeDrain(
  session: PoolSession,
  plan: DrainPlan,
  write: { batchKeys: Set<string>; checkRemaining: (after: PoolMember[]) => void; windowId: string },
): Promise<void> {
  if (plan.batch.some(isAddress)) {
    const nicMembers = plan.members.filter((member) => member.type === 'ipConfiguration');
    await updateGateway(session, (fresh) => takeOutAddresses(session, fresh, { ...write, nicMembers }), plan.gateway.etag);
  }
  for (const member of plan.batch) {
    if (member.type === 'ipConfiguration') await updateNicReference(session, member, plan.poolId, false, write.windowId);
  }
}

/**
 * The gateway change of a drain, applied to a fresh read: drops the batch's addresses (checking again that
 * enough healthy servers stay, since someone may have changed the pool) and, in the same write, names what
 * it takes out in the drained tag. False when nothing is left to take out.
 */
function takeOutAddresses(
  session: PoolSession,
  fresh: ApplicationGateway,
  write: { batchKeys: Set<string>; checkRemaining: (after: PoolMember[]) => void; windowId: string; nicMembers: PoolMember[] },
): boolean {
  const { batchKeys } = write;
  const freshPool = findPool(fresh, session.target);
  const current = freshPool.backendAddresses ?? [];
  const kept = current.filter((address) => !batchKeys.has(memberKey(addressMember(address))));
  if (kept.length === current.length) return false;
  write.checkRemaining([...kept.map(addressMember), ...write.nicMembers]);
  freshPool.backendAddresses = kept;
  // The record's second copy rides in this same write: the drained tag gains what this write takes out.
  const tag = gatewayTag(session, fresh);
  if (tag.problem) {
    session.warnOnce(`Leaving the gateway's drained tag as it is: ${tag.problem}. Restore from this step's undo record.`);
    return true;
  }
  const before = addressMembersOf({ backendAddresses: current });
  const keptKeys = new Set(addressMembersOf(freshPool).map(memberKey));
  const takenNow = before.filter((member) => batchKeys.has(memberKey(member)));
  const out = [
    ...tag.entries.filter((entry) => !keptKeys.has(memberKey(entry.member)) && !batchKeys.has(memberKey(entry.member))),
    ...takenNow.map((member) => ({ member, windowId: write.windowId })),
  ];
  setGatewayTag(session, fresh, positioned(fullOrder(before, tag.entries), out));
  return true;
}

/** Reads the pool back (none of `removed` listed) and waits until backend health no longer serves them. */
async function confirmDrained(session: PoolSession, removed: PoolMember[], healthTimeoutSeconds: number): Promise<void> {
  const after = await readPool(session);
  const afterKeys = new Set(after.members.map(memberKey));
  const still = removed.filter((member) => afterKeys.has(memberKey(member)));
  if (still.length)
    throw new ServiceError('Azure', `after the update, ${session.where} still lists ${still.map(describeMember).join(', ')}.`);
  const confirmed = await waitForHealth(session, removed, {
    done: (health) => health.every((entry) => entry.health !== 'Up'),
    timeoutSeconds: healthTimeoutSeconds,
    describeWait: (health) =>
      `Waiting for backend health to stop serving ${health
        .filter((entry) => entry.health === 'Up')
        .map((entry) => describeMember(entry.member))
        .join(', ')}`,
  });
  if (!confirmed.ok) {
    const serving = confirmed.health.filter((entry) => entry.health === 'Up').map((entry) => describeMember(entry.member));
    throw new ServiceError(
      'Azure',
      `backend health still shows ${serving.join(', ')} Up in ${session.where} after ${healthTimeoutSeconds} s, though the pool no ` +
        `longer lists them.`,
      {
        advice: 'Do not patch them yet; check the gateway in the portal, then run restore.',
      },
    );
  }
}
