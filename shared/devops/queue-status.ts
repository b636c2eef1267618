import type { BuildDefinition } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import type { Log } from '../core/log';
import { retry, STANDING_CLOCK } from '../core/retry';
import type { DevOpsClient } from './client';
import { queueStatusName, queueStatusValue, readDefinition, type DefinitionName, type QueueStatusName } from './held-marks';

const MAX_CONFLICT_RETRIES = 3;

/**
 * PUTs the definition with a new queue status, re-reading on a stale revision; does nothing when it already
 * has it. `onStatusChanged` decides, when the status is not the `expected` one (someone changed it
 * meanwhile), whether to go on (true) or leave it (false).
 */
export async function setQueueStatus(
  client: DevOpsClient,
  held: DefinitionName,
  definition: BuildDefinition,
  target: QueueStatusName,
  hooks: { log: Log; expected: QueueStatusName; onStatusChanged: (status: QueueStatusName, latest: BuildDefinition) => Promise<boolean> },
): Promise<QueueStatusName> {
  const build = await client.build();
  let latest = definition;
  let expected = hooks.expected;
  const attempt = async (attempt: number): Promise<QueueStatusName> => {
    if (attempt > 1) {
      const fresh = await readDefinition(client, held);
      if (!fresh) throw new Error('the definition was deleted meanwhile');
      const now = `now revision ${fresh.revision}, ${queueStatusName(fresh.queueStatus)}`;
      hooks.log.info(`${held.name} was edited by someone else meanwhile (${now}); read it again.`);
      latest = fresh;
    }
    const status = queueStatusName(latest.queueStatus);
    if (status === target) return status;
    if (status !== expected) {
      if (!(await hooks.onStatusChanged(status, latest))) return status;
      expected = status;
    }
    latest.queueStatus = queueStatusValue(target);
    let updated: BuildDefinition | null | undefined;
    try {
      updated = await client.call(`update pipeline ${held.name}`, () => build.updateDefinition(latest, client.project, held.id));
    } catch (error) {
      if ((error as { status?: number }).status !== 409) throw error;
    }
    // A stale revision is refused with 409, or with 404 on some versions (the client turns 404 into null).
    if (updated) return queueStatusName(updated.queueStatus);
    throw new RevisionConflict();
  };
  return retry(
    attempt,
    { maxRetries: MAX_CONFLICT_RETRIES, retryable: (failure) => failure instanceof RevisionConflict, backoff: { kind: 'none' } },
    {
      clock: STANDING_CLOCK,
      giveUp: (failure, reason, event) =>
        reason === 'out of attempts'
          ? new Error(`the definition kept changing under us (revision conflict ${event.attempt} times); try again`)
          : failure,
    },
  );
}

/** The definition's revision moved between our read and our write: read again and re-apply. */
class RevisionConflict extends Error {}
