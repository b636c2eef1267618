import type { WindowClock } from '../../core/clock';
import type { Log } from '../../core/log';
import type { UndoRecord } from '../../core/records';
import type { PoolMember } from '../pool-members';

/** The types the pool client's modules share (see ../appgateway.ts for how the pieces fit). */

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
  /** The window clock: health and busy waits are measured and waited on it (simulated in a rehearsal). */
  clock: WindowClock;
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

/** A drained member found by an earlier drain's tag, and the window that took it out. */
export interface DrainedMember {
  member: PoolMember;
  windowId: string;
}

/** A NIC IP configuration member. */
export type NicMember = Extract<PoolMember, { type: 'ipConfiguration' }>;
