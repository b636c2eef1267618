import { tagValue, withTag } from '../drain-tags';
import { memberKey, type PoolMember } from '../pool-members';
import { drainTimeoutOf, readHealth } from './health';
import { membersOf, readGateway, readNic } from './reading';
import type { PoolSession } from './session';
import { findPool, nicOf } from './shape';
import { drainedByUs } from './tags';
import type { DrainedMember, MemberHealth } from './types';

/** Read-only questions about the pool: its members and health, and how each member an undo record names stands. */

/** The pool's members and their health. */
export async function poolStatus(
  session: PoolSession,
): Promise<{ members: MemberHealth[]; drainTimeoutSeconds: number; settings: string[] }> {
  const gateway = await readGateway(session);
  const members = await membersOf(session, findPool(gateway, session.target));
  const { byMember, raw, poolId } = await readHealth(session, gateway, members);
  const drain = drainTimeoutOf(gateway, raw, poolId);
  return {
    members: members.map((member) => byMember.get(memberKey(member))!),
    drainTimeoutSeconds: drain.seconds,
    settings: drain.settings,
  };
}

export type RemovedVerdict = { member: PoolMember; verdict: 'restore' | 'back' | 'refuse'; reason?: string };

/**
 * For the undo protocol: how each member an undo record says was removed stands now. Back in the pool:
 * back. Out and named by a drained tag of ours (the gateway's, or its NIC's): to restore. Out and named by
 * no tag: refused (this task did not take it out), unless the resource cannot carry the tag at all (50 tags
 * already), when the drain warned that the record is all there is.
 */
export async function judgeRemoved(session: PoolSession, removed: PoolMember[]): Promise<RemovedVerdict[]> {
  const gateway = await readGateway(session);
  const current = await membersOf(session, findPool(gateway, session.target));
  const present = new Set(current.map(memberKey));
  const tagged = new Map((await drainedByUs(session, gateway, current)).map((entry) => [memberKey(entry.member), entry.windowId]));
  const untaggable = async (member: PoolMember) => {
    const tags =
      member.type === 'ipConfiguration' ? (await readNic(session, nicOf(member.id).nicId).catch(() => undefined))?.tags : gateway.tags;
    const name = member.type === 'ipConfiguration' ? session.nicTagName : session.gatewayTagName;
    return tagValue(tags, name) === undefined && 'problem' in withTag(tags, name, '{}');
  };
  const out: RemovedVerdict[] = [];
  for (const member of removed) {
    const key = memberKey(member);
    if (present.has(key)) out.push({ member, verdict: 'back' });
    else if (tagged.has(key))
      out.push({ member, verdict: 'restore', reason: `the drained tag says window ${tagged.get(key)} took it out` });
    else if (await untaggable(member))
      out.push({
        member,
        verdict: 'restore',
        reason: 'the resource cannot carry the drained tag (tag limit); the undo record is all there is',
      });
    else out.push({ member, verdict: 'refuse', reason: `no drained tag names it: this task did not take it out of ${session.where}` });
  }
  return out;
}

/** For the undo protocol's read-back: members still out of the pool among `members`, and those a drained tag of `windowId` still names. */
export async function stillOut(session: PoolSession, members: PoolMember[], windowId: string): Promise<PoolMember[]> {
  const gateway = await readGateway(session);
  const current = await membersOf(session, findPool(gateway, session.target));
  const present = new Set(current.map(memberKey));
  const out = members.filter((member) => !present.has(memberKey(member)));
  for (const entry of await drainedByUs(session, gateway, current)) {
    if (entry.windowId === windowId && !out.some((member) => memberKey(member) === memberKey(entry.member))) out.push(entry.member);
  }
  return out;
}

/** What the drained tags (any window) say this task took out of the pool and is still out. */
export async function drainedMembers(session: PoolSession): Promise<DrainedMember[]> {
  const gateway = await readGateway(session);
  return drainedByUs(session, gateway, await membersOf(session, findPool(gateway, session.target)));
}
