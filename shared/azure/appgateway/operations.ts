import { beginActivity, cancellationSignal } from '../../core/cancel';
import type { PoolSession } from './session';

/** Long-running ARM operations and the per-gateway write queue. */

/** The part of the SDK's long-running-operation poller we use. */
export interface Poller<T> {
  onProgress(callback: (state: { status: string }) => void): unknown;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T>;
}

const gatewayLocks = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier write to the same gateway in this process has finished. */
export async function serialized<T>(gatewayKey: string, work: () => Promise<T>): Promise<T> {
  const key = gatewayKey.toLowerCase();
  const before = gatewayLocks.get(key) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(work);
  gatewayLocks.set(key, run);
  try {
    return await run;
  } finally {
    if (gatewayLocks.get(key) === run) gatewayLocks.delete(key);
  }
}

/**
 * Waits for a long-running operation, saying so: every poll in the debug log, and a line every 30 s
 * (a gateway update can take minutes).
 */
export async function untilDone<T>(session: PoolSession, what: string, poller: Poller<T>): Promise<T> {
  const now = () => session.clock.now().getTime();
  const started = now();
  let lastSaid = started;
  poller.onProgress((state) => {
    const seconds = Math.round((now() - started) / 1000);
    session.log.debug(`${what}: ${state.status} after ${seconds} s.`);
    if (now() - lastSaid >= 30_000) {
      lastSaid = now();
      session.log.info(`${what} is still running (${seconds} s).`);
    }
  });
  // A cancel stops the polling, not the operation: ARM finishes the write, and the restore that runs after
  // the cancel reads the gateway again rather than trusting what this step last saw.
  const endActivity = beginActivity({ what: `${what} (in flight: Azure completes it; the restore after the cancel re-reads the gateway)` });
  try {
    return await poller.pollUntilDone({ abortSignal: cancellationSignal() });
  } finally {
    endActivity();
  }
}
