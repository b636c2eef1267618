import { DateTime } from 'luxon';
import type { Log } from './log';
import { sleep } from './retry';

/**
 * The clock the window's steps read: MaintenanceWindowV1's gates, and the silence steps (PingdomPauseV1,
 * AlertMuteV1), whose end times must be measured from the same "now" as the window they silence. In a real
 * run it is the agent's clock and a wait is a real wait.
 *
 * A rehearsal (or a dry run someone wants to try at another hour) sets the pipeline variable
 * `MaintenanceWindow.Now` to an ISO date-time: the clock then starts there and runs at real speed, and a
 * wait moves it forward instead of sleeping. That is the only way the gates can be rehearsed in a minute,
 * and the same code path is what a production run would take if the variable were set by mistake, so a
 * simulated clock is never silent: it logs a warning (which shows on the run's summary page) on first use.
 */

export const SIMULATED_NOW_VARIABLE = 'MaintenanceWindow.Now';

export interface WindowClock {
  readonly simulated: boolean;
  /** A property, not a method: callers pass `clock.now` on as a function. */
  now: () => Date;
  /** Waits `ms` (simulated: moves the clock forward at once), reporting progress every `progressEveryMs`. */
  wait(ms: number, onProgress?: (remainingMs: number) => void, progressEveryMs?: number): Promise<void>;
}

export function realClock(): WindowClock {
  return {
    simulated: false,
    now: () => new Date(),
    async wait(ms, onProgress, progressEveryMs = 60_000) {
      const until = Date.now() + ms;
      for (let remaining = ms; remaining > 0; remaining = until - Date.now()) {
        onProgress?.(remaining);
        await sleep(Math.min(remaining, progressEveryMs));
      }
    },
  };
}

/** A simulated clock that can also be moved by whoever drives the simulation (the rehearsal's agent). */
export interface SimulatedClock extends WindowClock {
  /** Moves the clock forward by `ms` at once (never back). */
  advance(ms: number): void;
  /** Moves the clock forward to `at`, if that is later than now. */
  advanceTo(at: Date): void;
}

/** A clock that starts at `start` and runs at real speed; waits jump forward. */
export function simulatedClock(start: Date): SimulatedClock {
  const startedAt = Date.now();
  let skipped = 0;
  const clock: SimulatedClock = {
    simulated: true,
    now: () => new Date(start.getTime() + (Date.now() - startedAt) + skipped),
    // Nothing to await when the clock jumps; async all the same, so that a throwing onProgress rejects the
    // promise exactly as the real clock's wait does.
    // eslint-disable-next-line @typescript-eslint/require-await
    async wait(ms, onProgress, progressEveryMs = 60_000) {
      for (let remaining = ms; remaining > 0; remaining -= progressEveryMs) {
        onProgress?.(remaining);
        clock.advance(Math.min(remaining, progressEveryMs));
      }
    },
    advance(ms) {
      skipped += Math.max(0, ms);
    },
    advanceTo(at) {
      clock.advance(at.getTime() - clock.now().getTime());
    },
  };
  return clock;
}

/**
 * The clock for this step: real, unless `MaintenanceWindow.Now` is set (warned about loudly). A value that
 * is not an ISO date-time with an offset is an error rather than a silent fallback to the real clock.
 */
export function windowClock(variable: (name: string) => string | undefined, log: Log): WindowClock {
  const value = variable(SIMULATED_NOW_VARIABLE);
  if (!value) return realClock();
  const parsed = DateTime.fromISO(value.trim(), { setZone: true });
  if (!parsed.isValid || !/([zZ]|[+-]\d\d:?\d\d)$/.test(value.trim())) {
    throw new Error(
      `Pipeline variable ${SIMULATED_NOW_VARIABLE} is '${value}': give an ISO date-time with an offset (2025-04-12T23:00:00Z), or ` +
        `remove the variable to use the real clock.`,
    );
  }
  log.warn(
    `SIMULATED CLOCK: pipeline variable ${SIMULATED_NOW_VARIABLE}=${value} is set, so this step takes ${parsed.toUTC().toISO()} as ` +
      `now and ` +
      'does not wait in real time. This is meant for rehearsals and dry runs only; remove the variable for a real window.',
  );
  return simulatedClock(parsed.toJSDate());
}
