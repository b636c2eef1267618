import type { ApplicationGateway, NetworkInterface } from '@azure/arm-network';
import { ServiceError } from '../../core/errors';
import { retry, type RetryPolicy } from '../../core/retry';
import { armFailure, describeArmError } from '../arm';
import { formatNicTag, withTag } from '../drain-tags';
import { serialized, untilDone } from './operations';
import { readGateway, readNic } from './reading';
import type { PoolSession } from './session';
import { lastSegment, nicOf, sameName } from './shape';
import { nicTag } from './tags';
import type { NicMember } from './types';

/**
 * The serialized, conditional writes: each applies a change to a fresh read and sends it with `If-Match`;
 * on 412 (someone wrote in between) it reads again and re-applies at once, on 409 (an update is running) it
 * waits a poll interval first.
 */

const MAX_WRITE_ATTEMPTS = 6;

/** A write refused because the resource changed (412) or is busy (409): read again and re-apply. */
class WriteConflict extends Error {
  constructor(
    readonly status: 409 | 412,
    readonly armError: unknown,
  ) {
    super(`write refused with ${status}`);
  }
}

function writePolicy(session: PoolSession): RetryPolicy<unknown> {
  return {
    maxRetries: MAX_WRITE_ATTEMPTS - 1,
    retryable: (failure) => failure instanceof WriteConflict,
    backoff: { kind: 'none' },
    retryAfterMs: (failure) => (failure instanceof WriteConflict && failure.status === 409 ? session.options.pollIntervalMs : undefined),
  };
}

/** Runs a write; a 412 or 409 becomes a WriteConflict (retried), anything else the described ARM error. */
async function conditionalWrite(write: () => Promise<void>, doing: string): Promise<void> {
  try {
    await write();
  } catch (error) {
    const { status } = armFailure(error);
    if (status === 412 || status === 409) throw new WriteConflict(status, error);
    throw describeArmError(error, doing);
  }
}

/** The error a write gives up with: the ARM error of the last conflict, or the failure itself. */
function giveUp(doing: string) {
  return (failure: unknown) => (failure instanceof WriteConflict ? describeArmError(failure.armError, doing) : failure);
}

/**
 * Applies `change` to a fresh read of the gateway and writes it, conditional on that read's etag; on 412
 * or 409 reads again and re-applies. `change` returns false when the gateway already is as wanted (no write).
 */
export async function updateGateway(
  session: PoolSession,
  change: (gateway: ApplicationGateway) => boolean,
  plannedEtag?: string,
): Promise<void> {
  const { resourceGroupName, applicationGatewayName } = session.target;
  const doing = `updating application gateway '${applicationGatewayName}'`;
  const attempt = async (attempt: number) => {
    const gateway = await readGateway(session);
    if (attempt === 1 && plannedEtag && gateway.etag !== plannedEtag) {
      session.log.info(
        `Application gateway '${applicationGatewayName}' changed since it was read (someone else wrote to it); applying only our change ` +
          `to its current configuration.`,
      );
    }
    if (!change(gateway)) return;
    await conditionalWrite(async () => {
      const poller = await session.clients.conditional.withEtag(gateway.id!, gateway.etag, () =>
        session.clients.network.applicationGateways.beginCreateOrUpdate(resourceGroupName, applicationGatewayName, gateway, {
          updateIntervalInMs: session.options.pollIntervalMs,
        }),
      );
      await untilDone(session, `Update of application gateway '${applicationGatewayName}'`, poller);
      session.gatewayWrites++;
    }, doing);
  };
  await serialized(session.gatewayKey, () =>
    retry(attempt, writePolicy(session), {
      clock: session.clock,
      giveUp: giveUp(doing),
      onRetry: ({ failure }) =>
        session.log.info(
          (failure as WriteConflict).status === 412
            ? `Application gateway '${applicationGatewayName}' was changed by someone else between our read and our write; reading it ` +
                `again and re-applying only our change.`
            : `Another update of application gateway '${applicationGatewayName}' is running; waiting for it, then applying our change ` +
                `to the result.`,
        ),
    }),
  );
}

/**
 * Adds or removes this pool's reference on one NIC IP configuration (read-modify-write, like the gateway),
 * and in the same write names the configuration in the NIC's drained tag (taken out) or drops it from
 * there (put back). Taking out a configuration that is already out writes nothing (we did not take it
 * out); putting back one that is already in only drops a tag that still names it.
 */
export async function updateNicReference(
  session: PoolSession,
  member: NicMember,
  poolId: string,
  present: boolean,
  windowId = 'unknown',
): Promise<void> {
  const { nicId, resourceGroup, nic: nicName } = nicOf(member.id);
  const doing = `updating network interface '${nicName}'`;
  const attempt = async () => {
    await readGateway(session);
    const nic = await readNic(session, nicId, true);
    if (!changeNicReference(session, { nic, member, poolId, present, windowId })) return;
    await conditionalWrite(async () => {
      const poller = await session.clients.conditional.withEtag(nic.id!, nic.etag, () =>
        session.clients.network.networkInterfaces.beginCreateOrUpdate(resourceGroup, nicName, nic, {
          updateIntervalInMs: session.options.pollIntervalMs,
        }),
      );
      await untilDone(session, `Update of network interface '${nicName}'`, poller);
      session.nicWrites++;
      session.nicCache.delete(nicId.toLowerCase());
    }, doing);
  };
  // A NIC write updates the gateway too, so it queues behind every other write to that gateway.
  await serialized(session.gatewayKey, () =>
    retry(attempt, writePolicy(session), {
      clock: session.clock,
      giveUp: giveUp(doing),
      onRetry: () => session.log.info(`Network interface '${nicName}' or its gateway changed or is busy; reading again and re-applying.`),
    }),
  );
}

/**
 * Applies the reference change (and its drained tag) to `nic`, the body about to be written; false when the
 * NIC already is as wanted.
 */
function changeNicReference(
  session: PoolSession,
  change: { nic: NetworkInterface; member: NicMember; poolId: string; present: boolean; windowId: string },
): boolean {
  const { nic, member, poolId, present, windowId } = change;
  const config = nic.ipConfigurations?.find((candidate) => sameName(candidate.id, member.id));
  if (!config)
    throw new ServiceError(
      'Azure',
      `network interface '${nicOf(member.id).nic}' no longer has IP configuration '${lastSegment(member.id)}'.`,
    );
  const references = config.applicationGatewayBackendAddressPools ?? [];
  const has = references.some((reference) => sameName(reference.id, poolId));
  const configName = config.name ?? lastSegment(member.id) ?? '';
  const tag = nicTag(session, nic);
  const named = tag.entries.some((entry) => sameName(entry.name, configName));
  if (present ? has && !named : !has) return false;
  if (has !== present)
    config.applicationGatewayBackendAddressPools = present
      ? [...references, { id: poolId }]
      : references.filter((reference) => !sameName(reference.id, poolId));
  if (tag.problem) {
    session.warnOnce(`Leaving a drained tag as it is: ${tag.problem}.`);
    return true;
  }
  const entries = present
    ? tag.entries.filter((entry) => !sameName(entry.name, configName))
    : named
      ? tag.entries
      : [...tag.entries, { name: configName, windowId }];
  const result = withTag(nic.tags, session.nicTagName, formatNicTag(entries));
  if ('problem' in result) {
    session.warnOnce(
      `Not recording on network interface '${nicOf(member.id).nic}' that it was taken out of ${session.where}: ${result.problem}. ` +
        `Restore from this step's undo record.`,
    );
  } else {
    nic.tags = result.tags;
  }
  return true;
}
