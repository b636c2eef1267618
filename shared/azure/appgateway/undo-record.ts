import type { ApplicationGateway } from '@azure/arm-network';
import { newUndoRecord, type UndoRecord } from '../../core/records';
import { fullOrder } from '../drain-tags';
import { describeMember, memberKey, type PoolMember } from '../pool-members';
import type { PoolSession } from './session';
import { addressMembersOf, findPool } from './shape';
import { gatewayTag } from './tags';
import { POOL_RECORD_KIND, type DrainedMember, type PoolUndoData } from './types';

/**
 * The undo record of a drain that takes out `removed` (some of them possibly `carried`: already out by an
 * earlier drain of ours). Its members before are the pool as it is plus the carried ones, in the order the
 * drained tag remembers, so a restore from it puts them back where they were.
 */
export function undoRecordFor(
  session: PoolSession,
  drain: {
    gateway: ApplicationGateway;
    members: PoolMember[];
    removed: PoolMember[];
    carried: DrainedMember[];
    windowId: string | undefined;
  },
): UndoRecord<PoolUndoData> {
  const { gateway, members, removed, carried, windowId } = drain;
  const known = new Map([...members, ...carried.map((entry) => entry.member)].map((member) => [memberKey(member), member]));
  const order = fullOrder(addressMembersOf(findPool(gateway, session.target)), gatewayTag(session, gateway).entries);
  const membersBefore = [
    ...order.flatMap((member) => known.get(memberKey(member)) ?? []),
    ...[...known.values()].filter(
      (member) => member.type === 'ipConfiguration' || !order.some((candidate) => memberKey(candidate) === memberKey(member)),
    ),
  ];
  const carriedText = carried.length
    ? ` (${carried.map((entry) => describeMember(entry.member)).join(', ')} taken out by an earlier drain)`
    : '';
  return newUndoRecord({
    kind: POOL_RECORD_KIND,
    windowId,
    now: session.clock.now(),
    description: `Put ${removed.map(describeMember).join(', ')} back into ${session.where}${carriedText}.`,
    data: { subscriptionId: session.clients.connection.subscriptionId, ...session.target, membersBefore, removed },
  });
}
