import type { ApplicationGateway, ApplicationGatewayBackendAddressPool } from '@azure/arm-network';
import { ServiceError } from '../../core/errors';
import { fullOrder, positioned, type AddressMember } from '../drain-tags';
import { describeMember, memberKey, type PoolMember } from '../pool-members';
import { waitForHealth } from './health';
import { membersToAddBack } from './matching';
import { membersOf, readGateway, readPool } from './reading';
import type { PoolSession } from './session';
import { addressMembersOf, backendAddressesOf, findPool, isAddress } from './shape';
import { drainedByUs, gatewayTag, nicTagNames, setGatewayTag } from './tags';
import type { MemberHealth, PoolUndoData, RestoreResult, RestoreSource } from './types';
import { updateGateway, updateNicReference } from './writing';

/**
 * A restore: decide what to put back (the undo record, the servers listed, or the drained tags), write it
 * back in the pool's old order keeping what others changed since, then wait until every one is healthy.
 */

/** What a restore puts back, and the order the pool had before the drain. */
interface RestorePlan {
  source: RestoreSource;
  before: PoolMember[];
  wanted: PoolMember[];
}

async function planRestore(
  session: PoolSession,
  source: { data?: PoolUndoData; servers?: string[] },
  now: { gateway: ApplicationGateway; pool: ApplicationGatewayBackendAddressPool; current: PoolMember[] },
): Promise<RestorePlan> {
  const { gateway, pool, current } = now;
  if (source.data) return { source: 'undo record', before: source.data.membersBefore, wanted: source.data.removed };
  if (source.servers?.length)
    return { source: 'servers', before: current, wanted: await membersToAddBack(session, source.servers, pool, current) };
  const tag = gatewayTag(session, gateway);
  if (tag.problem) {
    throw new ServiceError(
      'Azure',
      `${tag.problem}; it is not one this task wrote, so it cannot tell what was taken out of ${session.where}.`,
      {
        advice: 'Give the undo record of the drain, or list the servers to put back.',
      },
    );
  }
  const ours = await drainedByUs(session, gateway, current);
  session.log.info(
    ours.length
      ? `No undo record and no servers given: the drained tags say this task took ` +
          `${ours.map((entry) => `${describeMember(entry.member)} (window ${entry.windowId})`).join(', ')} out of ${session.where}.`
      : `No undo record and no servers given, and no drained tag names anything this task took out of ${session.where}: nothing to put ` +
          `back.`,
  );
  return {
    source: 'drained tags',
    wanted: ours.map((entry) => entry.member),
    before: [...fullOrder(addressMembersOf(pool), tag.entries), ...current.filter((member) => member.type === 'ipConfiguration')],
  };
}

/**
 * Puts back exactly what a drain removed (its undo record), or the servers listed, or, with neither, what
 * the drained tags say this task took out of the pool (any window); leaves everything else as it is now,
 * then waits until every one of them is healthy. The write that puts them back also drops them from the
 * drained tags. Idempotent: members already back (and no longer tagged) are not written again.
 */
export async function restoreServers(
  session: PoolSession,
  source: { data?: PoolUndoData; servers?: string[] },
  options: { healthTimeoutSeconds: number },
): Promise<RestoreResult> {
  const gateway = await readGateway(session);
  const pool = findPool(gateway, session.target);
  const current = await membersOf(session, pool);
  const plan = await planRestore(session, source, { gateway, pool, current });
  const { wanted } = plan;
  const currentKeys = new Set(current.map(memberKey));
  const missing = wanted.filter((member) => !currentKeys.has(memberKey(member)));
  const alreadyPresent = wanted.filter((member) => currentKeys.has(memberKey(member)));
  if (alreadyPresent.length) session.log.info(`Already in ${session.where}: ${alreadyPresent.map(describeMember).join(', ')}.`);
  if (missing.length) session.log.info(`Putting back into ${session.where}: ${missing.map(describeMember).join(', ')}.`);

  const addressesToAdd = missing.filter(isAddress);
  const tag = gatewayTag(session, gateway);
  const wantedKeys = new Set(wanted.map(memberKey));
  // A tag entry for a member that is (or is about to be) back in the pool is dropped in the same write.
  const tagToClean =
    !tag.problem && tag.entries.some((entry) => currentKeys.has(memberKey(entry.member)) || wantedKeys.has(memberKey(entry.member)));
  if (addressesToAdd.length || tagToClean) {
    await updateGateway(session, (fresh) => putBackAddresses(session, fresh, { before: plan.before, addressesToAdd }), gateway.etag);
  }
  for (const member of wanted) {
    if (member.type === 'ipConfiguration' && (!currentKeys.has(memberKey(member)) || nicTagNames(session, member)))
      await updateNicReference(session, member, pool.id!, true);
  }
  const health = await confirmRestored(session, wanted, options.healthTimeoutSeconds);
  return { source: plan.source, restored: missing, alreadyPresent, health, ...session.writes };
}

/**
 * Pure given the fresh gateway: the pool's order before the drain, keeping whatever others added or removed
 * since, with `addressesToAdd` back in it.
 */
export function addressesAfterRestore(before: PoolMember[], present: AddressMember[], addressesToAdd: AddressMember[]): AddressMember[] {
  const presentKeys = new Set(present.map(memberKey));
  const addKeys = new Set(addressesToAdd.map(memberKey));
  const ordered = before.filter(
    (member): member is AddressMember => isAddress(member) && (presentKeys.has(memberKey(member)) || addKeys.has(memberKey(member))),
  );
  const orderedKeys = new Set(ordered.map(memberKey));
  return [
    ...ordered,
    ...present.filter((member) => !orderedKeys.has(memberKey(member))),
    ...addressesToAdd.filter((member) => !orderedKeys.has(memberKey(member))),
  ];
}

/** The gateway change of a restore: the addresses back in their order, and the drained tag without them. */
function putBackAddresses(
  session: PoolSession,
  fresh: ApplicationGateway,
  change: { before: PoolMember[]; addressesToAdd: AddressMember[] },
): boolean {
  const freshPool = findPool(fresh, session.target);
  const present = addressMembersOf(freshPool);
  const presentKeys = new Set(present.map(memberKey));
  let written = present;
  const poolChanges = !change.addressesToAdd.every((member) => presentKeys.has(memberKey(member)));
  if (poolChanges) {
    written = addressesAfterRestore(change.before, present, change.addressesToAdd);
    freshPool.backendAddresses = backendAddressesOf(written);
  }
  const freshTag = gatewayTag(session, fresh);
  const writtenKeys = new Set(written.map(memberKey));
  const stillOut = freshTag.entries.filter((entry) => !writtenKeys.has(memberKey(entry.member)));
  const tagChanges = !freshTag.problem && stillOut.length !== freshTag.entries.length;
  if (tagChanges) setGatewayTag(session, fresh, positioned(fullOrder(written, stillOut), stillOut));
  return poolChanges || tagChanges;
}

/** Reads the pool back (every one of `wanted` listed) and waits until each is healthy. */
async function confirmRestored(session: PoolSession, wanted: PoolMember[], healthTimeoutSeconds: number) {
  const after = await readPool(session);
  const afterKeys = new Set(after.members.map(memberKey));
  const absent = wanted.filter((member) => !afterKeys.has(memberKey(member)));
  if (absent.length)
    throw new ServiceError('Azure', `after the update, ${session.where} still lacks ${absent.map(describeMember).join(', ')}.`);
  const waited = await waitForHealth(session, wanted, {
    done: (health) => health.every((entry) => entry.health === 'Up'),
    timeoutSeconds: healthTimeoutSeconds,
    describeWait: (health) =>
      `Waiting for ${health
        .filter((entry) => entry.health !== 'Up')
        .map((entry) => `${describeMember(entry.member)} (${entry.health})`)
        .join(', ')} to be healthy`,
  });
  if (!waited.ok) {
    const unhealthy = waited.health.filter((entry) => entry.health !== 'Up');
    const describe = (entry: MemberHealth) =>
      `${describeMember(entry.member)} is ${entry.health}${entry.detail ? ` (${entry.detail})` : ''}`;
    throw new ServiceError(
      'Azure',
      `${unhealthy.map(describe).join('; ')} in ${session.where} ${healthTimeoutSeconds} s after being put back.`,
      { advice: 'They are back in the pool; check the servers themselves.' },
    );
  }
  return waited.health;
}
