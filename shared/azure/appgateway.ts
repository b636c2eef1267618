import type { ArmClients } from './arm';
import { drainServers } from './appgateway/drain';
import { drainedMembers, judgeRemoved, poolStatus, stillOut, type RemovedVerdict } from './appgateway/inspect';
import { restoreServers } from './appgateway/restore';
import { PoolSession } from './appgateway/session';
import type {
  DrainedMember,
  DrainOptions,
  DrainResult,
  MemberHealth,
  PoolClientOptions,
  PoolTarget,
  PoolUndoData,
  RestoreResult,
} from './appgateway/types';
import { describeMember, memberAddress, memberKey, type PoolMember } from './pool-members';

export { describeMember, memberAddress, memberKey, type PoolMember };
export { validatePoolUndoData } from './appgateway/shape';
export {
  POOL_RECORD_KIND,
  type DrainOptions,
  type DrainResult,
  type MemberHealth,
  type PoolClientOptions,
  type PoolTarget,
  type PoolUndoData,
  type RestoreResult,
  type RestoreSource,
} from './appgateway/types';

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
 *
 * The pieces, one concern each, in ./appgateway/: `types` and `shape` (pure reading of the gateway's
 * shape), `session` (what one client's steps share), `reading` (gateway, NIC and VM reads that wait out an
 * update), `operations` (long-running operations, the per-gateway write queue), `writing` (the serialized
 * conditional writes with their 412/409 retry), `tags` (the drained tags), `matching` (which members the
 * listed servers are), `health` (backend health and its waits), `undo-record`, `drain`, `restore`, and
 * `inspect` (status and the undo protocol's questions). Every wait is on the window clock the caller gives.
 */
export class BackendPoolClient {
  private readonly session: PoolSession;

  constructor(clients: ArmClients, target: PoolTarget, options: PoolClientOptions) {
    this.session = new PoolSession(clients, target, options);
  }

  get target(): PoolTarget {
    return this.session.target;
  }

  /** The pool's members and their health. */
  status(): Promise<{ members: MemberHealth[]; drainTimeoutSeconds: number; settings: string[] }> {
    return poolStatus(this.session);
  }

  /** Takes a batch of servers out of the pool (see ./appgateway/drain.ts). */
  drain(servers: string[], options: DrainOptions): Promise<DrainResult> {
    return drainServers(this.session, servers, options);
  }

  /** Puts back what a drain took out (see ./appgateway/restore.ts). */
  restore(source: { data?: PoolUndoData; servers?: string[] }, options: { healthTimeoutSeconds: number }): Promise<RestoreResult> {
    return restoreServers(this.session, source, options);
  }

  /** For the undo protocol: how each member an undo record says was removed stands now. */
  judgeRemoved(removed: PoolMember[]): Promise<RemovedVerdict[]> {
    return judgeRemoved(this.session, removed);
  }

  /** For the undo protocol's read-back: members still out of the pool, and those a drained tag of `windowId` still names. */
  stillOut(members: PoolMember[], windowId: string): Promise<PoolMember[]> {
    return stillOut(this.session, members, windowId);
  }

  /** What the drained tags (any window) say this task took out of the pool and is still out. */
  drainedMembers(): Promise<DrainedMember[]> {
    return drainedMembers(this.session);
  }
}
