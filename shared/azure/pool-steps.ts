import { InputError } from '../core/errors';
import type { Log } from '../core/log';
import type { UndoRecord } from '../core/records';
import { MarkdownSummary } from '../core/summary';
import { BackendPoolClient, describeMember, memberAddress, type MemberHealth, type PoolTarget, type PoolUndoData } from './appgateway';
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
  writeReceipt: (record: UndoRecord<PoolUndoData>, text: string) => void;
}

export interface PoolStepResult {
  title: string;
  summary: MarkdownSummary;
  outputs: Record<string, string>;
}

function healthRows(entries: MemberHealth[]): unknown[][] {
  return entries.map((entry) => [entry.member.label ?? '-', memberAddress(entry.member), entry.health, entry.detail ?? '']);
}

const HEALTH_HEADERS = ['Server', 'Address', 'Health', 'Probe'];

/** Checks that an undo record is for the gateway and pool this step names. */
function checkRecordTarget(record: UndoRecord<PoolUndoData>, target: PoolTarget, subscriptionId: string): void {
  const mismatch = (['resourceGroupName', 'applicationGatewayName', 'backendPoolName'] as const).filter(
    (field) => record.data[field].toLowerCase() !== target[field].toLowerCase(),
  );
  if (mismatch.length) {
    throw new InputError(
      'undoRecord',
      `is for pool '${record.data.backendPoolName}' of gateway '${record.data.applicationGatewayName}' in '${record.data.resourceGroupName}', but this step names pool '${target.backendPoolName}' of '${target.applicationGatewayName}' in '${target.resourceGroupName}'.`,
    );
  }
  if (record.data.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
    throw new InputError('undoRecord', `is for subscription ${record.data.subscriptionId}, but the service connection is for ${subscriptionId}.`);
  }
}

export async function runPoolStep(options: PoolStepOptions): Promise<PoolStepResult> {
  const { log, target, action } = options;
  const where = `pool '${target.backendPoolName}' of application gateway '${target.applicationGatewayName}'`;
  if (action === 'drain' && options.servers.length === 0) throw new InputError('servers', 'lists no servers to drain.');
  if (options.undoRecord) checkRecordTarget(options.undoRecord, target, options.connection.subscriptionId);

  const pool = new BackendPoolClient(armClients(options.connection), target, { log, pollIntervalMs: options.pollIntervalMs });
  const summary = new MarkdownSummary();

  if (action === 'status') {
    log.section(`Status of ${where}`);
    const status = await pool.status();
    const healthy = status.members.filter((entry) => entry.health === 'Up').length;
    for (const entry of status.members) log.info(`  ${describeMember(entry.member).padEnd(28)} ${entry.health}`);
    log.info(`${healthy} of ${status.members.length} server(s) healthy; connection draining ${status.drainTimeoutSeconds} s (${status.settings.join(', ') || 'no HTTP settings'}).`);
    summary
      .heading(`${target.applicationGatewayName} / ${target.backendPoolName}: ${healthy} of ${status.members.length} healthy`)
      .table(HEALTH_HEADERS, healthRows(status.members))
      .paragraph(`Connection draining: ${status.drainTimeoutSeconds} s.`);
    return { title: `Pool ${target.backendPoolName}`, summary, outputs: { healthyServers: String(healthy) } };
  }

  if (action === 'drain') {
    log.section(`Draining ${options.servers.length} server(s) from ${where}`);
    const result = await pool.drain(options.servers, {
      minHealthyServers: options.minHealthyServers,
      drainTimeoutSeconds: options.drainTimeoutSeconds,
      healthTimeoutSeconds: options.healthTimeoutSeconds,
      windowId: options.windowId,
      publishUndoRecord: options.publishUndoRecord,
    });
    const drained = result.removed.map(describeMember);
    log.info(`Drained ${drained.join(', ')} with ${result.gatewayWrites} gateway write(s) and ${result.nicWrites} network interface write(s).`);
    summary
      .heading(`Drained ${result.removed.length} server(s) from ${target.applicationGatewayName} / ${target.backendPoolName}`)
      .list(drained);
    if (result.carried.length) {
      summary.paragraph(
        `Already out before this step, taken out by an earlier drain of this task (its drained tag says so), and carried into this undo record: ${result.carried.map((entry) => `${describeMember(entry.member)} (window ${entry.windowId})`).join(', ')}.`,
      );
    }
    summary
      .paragraph(`Still serving (${result.remaining.filter((entry) => entry.health === 'Up').length} healthy):`)
      .table(HEALTH_HEADERS, healthRows(result.remaining))
      .paragraph(`Gateway writes: ${result.gatewayWrites}; network interface writes: ${result.nicWrites}; connection draining waited: ${result.drainSeconds} s. Undo record: \`${result.record.id}\`.`);
    return { title: `Drain ${target.backendPoolName}`, summary, outputs: { drainedServers: result.removed.map((member) => member.label ?? memberAddress(member)).join(',') } };
  }

  log.section(`Restoring ${where}`);
  const result = await pool.restore({ data: options.undoRecord?.data, servers: options.servers }, { healthTimeoutSeconds: options.healthTimeoutSeconds });
  const text = result.health.length
    ? `Back in ${where} and healthy (from the ${result.source}): ${result.health.map((entry) => describeMember(entry.member)).join(', ')}.`
    : `Nothing to put back into ${where} (from the ${result.source}).`;
  log.info(text);
  if (options.undoRecord) options.writeReceipt(options.undoRecord, text);
  summary
    .heading(`Restored ${result.health.length} server(s) to ${target.applicationGatewayName} / ${target.backendPoolName}`)
    .table(HEALTH_HEADERS, healthRows(result.health))
    .paragraph(
      `What to put back came from the ${result.source}. Put back now: ${result.restored.map(describeMember).join(', ') || 'none'}; already in the pool: ${result.alreadyPresent.map(describeMember).join(', ') || 'none'}. ` +
        `Gateway writes: ${result.gatewayWrites}; network interface writes: ${result.nicWrites}.`,
    );
  return {
    title: `Restore ${target.backendPoolName}`,
    summary,
    outputs: { restoredServers: result.health.map((entry) => entry.member.label ?? memberAddress(entry.member)).join(',') },
  };
}
