import type { WindowClock } from '../../shared/core/clock';

/**
 * A clock for tests: stands still at `start` (default: the real time when made) unless a wait moves it, never
 * sleeps, and remembers every wait it was asked for, so a test can assert on the waits and stay fast.
 */
export interface TestClock extends WindowClock {
  /** Every wait asked for, in ms, in order. */
  readonly waits: number[];
  /** Moves the clock by `ms` without a wait being asked for. */
  advance(ms: number): void;
  /** Sets the time. */
  set(at: Date): void;
}

export function testClock(start: Date = new Date()): TestClock {
  let now = start.getTime();
  const waits: number[] = [];
  return {
    simulated: true,
    waits,
    now: () => new Date(now),
    async wait(ms, onProgress, progressEveryMs = 60_000) {
      waits.push(ms);
      for (let remaining = ms; remaining > 0; remaining -= progressEveryMs) {
        onProgress?.(remaining);
        now += Math.min(remaining, progressEveryMs);
      }
    },
    advance(ms) {
      now += ms;
    },
    set(at) {
      now = at.getTime();
    },
  };
}
