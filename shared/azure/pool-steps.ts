import type { WindowClock } from '../core/clock';
import { InputError } from '../core/errors';
import type { Log } from '../core/log';
import type { RecordStore, UndoRecord } from '../core/records';
import { mergeOutcomes, requireBack, restoreRecordOrMarks, type UndoItem, type UndoKind } from '../core/undo';
import { MarkdownSummary, type TableCell } from '../core/summary';
import {
  BackendPoolClient,
  describeMember,
  memberAddress,
  POOL_RECORD_KIND,
  validatePoolUndoData,
  type MemberHealth,
  type PoolMember,
  type PoolTarget,
  type PoolUndoData,
  type RestoreResult,
} from './appgateway';
import { armClients } from './arm';
import type { AzureConnection } from './credentials';

/**
 * The AppGatewayDrain step's work, from typed inputs to summary and outputs: drain a batch, restore it,
 * or show the pool. The task's index.ts only reads inputs and publishes what this returns.
 */

export type PoolAction = 'drain' | 'restore' | 'status';

export interface PoolStepOptions {
  connection: AzureConnection;
  target: PoolTarget;
  action: PoolAction;
  servers: string[];
  minHealthyServers: number;
  drainTimeoutSeconds?: number;
  healthTimeoutSeconds: number;
  /** The drain's undo record, for restore. */
  undoRecord?: UndoRecord<PoolUndoData>;
  pollIntervalMs: number;
  windowId?: string;
  log: Log;
  publishUndoRecord: (record: UndoRecord<PoolUndoData>) => void;
  /** Where the restore's receipt goes (written only once everything reads back in the pool and healthy). */
  receipts: RecordStore;
  /** The window's clock: the health waits, connection draining and the receipt's time. */
  clock: WindowClock;
}

export interface PoolStepResult {
  title: string;
  summary: MarkdownSummary;
  outputs: Record<string, string>;
}

function healthRows(entries: MemberHealth[]): TableCell[][] {
  return entries.map((entry) => [entry.member.label ?? '-', memberAddress(entry.member), entry.health, entry.detail ?? '']);
}

const HEALTH_HEADERS = ['Server', 'Address', 'Health', 'Probe'];

/** Checks that an undo record is for the gateway and pool this step names (the protocol checks again, generically). */
function checkRecordTarget(record: UndoRecord<PoolUndoData>, target: PoolTarget, subscriptionId: string): void {
  const mismatch = (['resourceGroupName', 'applicationGatewayName', 'backendPoolName'] as const).filter(
    (field) => record.data[field].toLowerCase() !== target[field].toLowerCase(),
  );
  if (mismatch.length) {
    throw new InputError(
      'undoRecord',
      `is for pool '${record.data.backendPoolName}' of gateway '${record.data.applicationGatewayName}' in ` +
        `'${record.data.resourceGroupName}', but this step names pool '${target.backendPoolName}' of ` +
        `'${target.applicationGatewayName}' in '${target.resourceGroupName}'.`,
    );
  }
  if (record.data.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
    throw new InputError(
      'undoRecord',
      `is for subscription ${record.data.subscriptionId}, but the service connection is for ${subscriptionId}.`,
    );
  }
}

/**
 * The gateway pool's kind of the undo protocol (address pools and NIC pools alike): a member is put back only
 * when it is out of the pool and a drained tag of ours names it (a foreign address slipped into a record is
 * refused); without a record, what the drained tags name. Read back: every member judged is in the pool and
 * healthy, and no drained tag of this window names a member still out, so no receipt while servers stay out.
 */
function poolUndoKind(
  pool: BackendPoolClient,
  healthTimeoutSeconds: number,
  log: Log,
  where: string,
): UndoKind<PoolUndoData, PoolMember> & { result?: RestoreResult } {
  let data: PoolUndoData | undefined;
  let windowId = '';
  let judged: Array<UndoItem<PoolMember>> = [];
  const kind: UndoKind<PoolUndoData, PoolMember> & { result?: RestoreResult } = {
    kind: POOL_RECORD_KIND,
    validate: validatePoolUndoData,
    targetOf: (d) => ({
      subscription: d.subscriptionId,
      resourceGroupName: d.resourceGroupName,
      applicationGatewayName: d.applicationGatewayName,
      backendPoolName: d.backendPoolName,
    }),
    async assess(given, id) {
      data = given;
      windowId = id;
      judged = given
        ? (await pool.judgeRemoved(given.removed)).map((j) => ({
            name: describeMember(j.member),
            verdict: j.verdict,
            reason: j.reason,
            item: j.member,
          }))
        : (await pool.drainedMembers()).map((e) => ({
            name: describeMember(e.member),
            verdict: 'restore' as const,
            reason: `the drained tag says window ${e.windowId} took it out`,
            item: e.member,
          }));
      if (!given) {
        log.info(
          judged.length
            ? `No undo record and no servers given: the drained tags say this task took ` +
                `${judged.map((item) => `${item.name} (${item.reason?.replace(/^the drained tag says /, '')})`).join(', ')} out of ` +
                `${where}.`
            : `No undo record and no servers given, and no drained tag names anything this task took out of ${where}: nothing to put back.`,
        );
      }
      return judged;
    },
    async restore() {
      const allowed = judged.filter((item) => item.verdict === 'restore' || item.verdict === 'back').map((item) => item.item);
      kind.result = await pool.restore({ data: data ? { ...data, removed: allowed } : undefined }, { healthTimeoutSeconds });
    },
    async readBack(items) {
      // Nothing was out: still wait for the members to be healthy (and drop any tag left), as a restore would.
      if (!kind.result && data && items.length)
        kind.result = await pool.restore({ data: { ...data, removed: items.map((item) => item.item) } }, { healthTimeoutSeconds });
      return (
        await pool.stillOut(
          items.map((item) => item.item),
          windowId,
        )
      ).map(describeMember);
    },
  };
  return kind;
}

export async function runPoolStep(options: PoolStepOptions): Promise<PoolStepResult> {
  const { log, target, action } = options;
  const where = `pool '${target.backendPoolName}' of application gateway '${target.applicationGatewayName}'`;
  if (action === 'drain' && options.servers.length === 0) throw new InputError('servers', 'lists no servers to drain.');
  if (options.undoRecord) checkRecordTarget(options.undoRecord, target, options.connection.subscriptionId);

  const pool = new BackendPoolClient(armClients(options.connection), target, {
    log,
    clock: options.clock,
    pollIntervalMs: options.pollIntervalMs,
  });
  if (action === 'status') return poolStatusStep(options, pool, where);
  if (action === 'drain') return drainStep(options, pool, where);
  return restoreStep(options, pool, where);
}

/** `status`: each server's health and the connection draining, nothing changed. */
async function poolStatusStep(options: PoolStepOptions, pool: BackendPoolClient, where: string): Promise<PoolStepResult> {
  const { log, target } = options;
  const summary = new MarkdownSummary();
  log.section(`Status of ${where}`);
  const status = await pool.status();
  const healthy = status.members.filter((entry) => entry.health === 'Up').length;
  for (const entry of status.members) log.info(`  ${describeMember(entry.member).padEnd(28)} ${entry.health}`);
  log.info(
    `${healthy} of ${status.members.length} server(s) healthy; connection draining ${status.drainTimeoutSeconds} s ` +
      `(${status.settings.join(', ') || 'no HTTP settings'}).`,
  );
  summary
    .heading(`${target.applicationGatewayName} / ${target.backendPoolName}: ${healthy} of ${status.members.length} healthy`)
    .table(HEALTH_HEADERS, healthRows(status.members))
    .paragraph(`Connection draining: ${status.drainTimeoutSeconds} s.`);
  return { title: `Pool ${target.backendPoolName}`, summary, outputs: { healthyServers: String(healthy) } };
}

/** `drain`: takes the servers out of the pool, record first. */
async function drainStep(options: PoolStepOptions, pool: BackendPoolClient, where: string): Promise<PoolStepResult> {
  const { log, target } = options;
  const summary = new MarkdownSummary();
  log.section(`Draining ${options.servers.length} server(s) from ${where}`);
  const result = await pool.drain(options.servers, {
    minHealthyServers: options.minHealthyServers,
    drainTimeoutSeconds: options.drainTimeoutSeconds,
    healthTimeoutSeconds: options.healthTimeoutSeconds,
    windowId: options.windowId,
    publishUndoRecord: options.publishUndoRecord,
  });
  const drained = result.removed.map(describeMember);
  log.info(
    `Drained ${drained.join(', ')} with ${result.gatewayWrites} gateway write(s) and ${result.nicWrites} network interface write(s).`,
  );
  summary
    .heading(`Drained ${result.removed.length} server(s) from ${target.applicationGatewayName} / ${target.backendPoolName}`)
    .list(drained);
  if (result.carried.length) {
    summary.paragraph(
      `Already out before this step, taken out by an earlier drain of this task (its drained tag says so), and carried into this ` +
        `undo record: ${result.carried.map((entry) => `${describeMember(entry.member)} (window ${entry.windowId})`).join(', ')}.`,
    );
  }
  summary
    .paragraph(`Still serving (${result.remaining.filter((entry) => entry.health === 'Up').length} healthy):`)
    .table(HEALTH_HEADERS, healthRows(result.remaining))
    .paragraph(
      `Gateway writes: ${result.gatewayWrites}; network interface writes: ${result.nicWrites}; connection draining waited: ` +
        `${result.drainSeconds} s. Undo record: \`${result.record.id}\`.`,
    );
  return {
    title: `Drain ${target.backendPoolName}`,
    summary,
    outputs: { drainedServers: result.removed.map((member) => member.label ?? memberAddress(member)).join(',') },
  };
}

/** `restore`: puts the servers back (see restorePool) and reports their health. */
async function restoreStep(options: PoolStepOptions, pool: BackendPoolClient, where: string): Promise<PoolStepResult> {
  const { log, target } = options;
  const summary = new MarkdownSummary();
  log.section(`Restoring ${where}`);
  const result = await restorePool(options, pool, where);
  const text = result.health.length
    ? `Back in ${where} and healthy (from the ${result.source}): ${result.health.map((entry) => describeMember(entry.member)).join(', ')}.`
    : `Nothing to put back into ${where} (from the ${result.source}).`;
  log.info(text);
  summary
    .heading(`Restored ${result.health.length} server(s) to ${target.applicationGatewayName} / ${target.backendPoolName}`)
    .table(HEALTH_HEADERS, healthRows(result.health))
    .paragraph(
      `What to put back came from the ${result.source}. Put back now: ${result.restored.map(describeMember).join(', ') || 'none'}; ` +
        `already in the pool: ${result.alreadyPresent.map(describeMember).join(', ') || 'none'}. ` +
        `Gateway writes: ${result.gatewayWrites}; network interface writes: ${result.nicWrites}.`,
    );
  return {
    title: `Restore ${target.backendPoolName}`,
    summary,
    outputs: { restoredServers: result.health.map((entry) => entry.member.label ?? memberAddress(entry.member)).join(',') },
  };
}

/** The restore: a person's list of servers as given, else through the undo protocol (record, records folder, drained tags). */
async function restorePool(options: PoolStepOptions, pool: BackendPoolClient, where: string): Promise<RestoreResult> {
  const { log, target } = options;
  let result: RestoreResult;
  if (options.servers.length && !options.undoRecord) {
    // A person's explicit list: no record to check, no marks to judge by.
    result = await pool.restore({ servers: options.servers }, { healthTimeoutSeconds: options.healthTimeoutSeconds });
  } else {
    const kind = poolUndoKind(pool, options.healthTimeoutSeconds, log, where);
    // No record given: the unrestored pool records of this window in the records folder, then the drained tags.
    const outcome = mergeOutcomes(
      await restoreRecordOrMarks({
        kind,
        record: options.undoRecord,
        store: options.receipts,
        windowId: options.windowId ?? '',
        target: { subscription: options.connection.subscriptionId, ...target },
        log,
        now: () => options.clock.now(),
        receipts: options.receipts,
        describe: (o) => `Back in ${where} and healthy: ${[...o.restored, ...o.back].join(', ') || 'nothing was out'}.`,
      }),
    );
    requireBack(outcome, `Not everything is back in ${where}`);
    result = kind.result ?? {
      source: options.undoRecord ? 'undo record' : 'drained tags',
      restored: [],
      alreadyPresent: [],
      health: [],
      gatewayWrites: 0,
      nicWrites: 0,
    };
  }
  return result;
}
