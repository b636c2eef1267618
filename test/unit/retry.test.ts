import { strict as assert } from 'node:assert';
import { backoffWait, poll, retry, type RetryClock, type RetryPolicy } from '../../shared/core/retry';

/** A clock that stands still but for its waits, which it remembers. */
function testClock(): RetryClock & { waits: number[] } {
  let now = Date.parse('2025-04-12T23:00:00Z');
  const waits: number[] = [];
  return {
    waits,
    now: () => new Date(now),
    wait: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  };
}

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`status ${status}`);
  }
}

const policy = (overrides: Partial<RetryPolicy<Failure>> = {}): RetryPolicy<Failure> => ({
  maxRetries: 3,
  retryable: (failure) => failure.status === 429 || failure.status >= 500,
  backoff: { kind: 'fixed', delayMs: 100 },
  retryAfterMs: (failure) => failure.retryAfterMs,
  ...overrides,
});

/** Work that fails with the given failures in turn, then answers `ok`. */
function failing(...failures: Failure[]) {
  const attempts: number[] = [];
  return {
    attempts,
    work: async (attempt: number) => {
      attempts.push(attempt);
      const failure = failures.shift();
      if (failure) throw failure;
      return 'ok';
    },
  };
}

describe('shared/core/retry: the retry helper', () => {
  it('retries retryable failures with the backoff, and answers the first success', async () => {
    const clock = testClock();
    const { work, attempts } = failing(new Failure(503), new Failure(429));
    const events: string[] = [];
    const result = await retry(work, policy(), {
      clock,
      onRetry: (event) => events.push(`${event.attempt}/${event.maxAttempts} ${event.delayMs}`),
    });
    assert.equal(result, 'ok');
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(clock.waits, [100, 100]);
    assert.deepEqual(events, ['1/4 100', '2/4 100']);
  });

  it('waits what the failure asks (Retry-After) instead of the backoff', async () => {
    const clock = testClock();
    const { work } = failing(new Failure(429, 2000));
    const asked: boolean[] = [];
    await retry(work, policy(), { clock, onRetry: (event) => asked.push(event.asked) });
    assert.deepEqual(clock.waits, [2000]);
    assert.deepEqual(asked, [true]);
  });

  it('gives up at once on a failure that is not retryable, with giveUp saying why', async () => {
    const clock = testClock();
    const { work, attempts } = failing(new Failure(400));
    await assert.rejects(
      retry(work, policy(), { clock, giveUp: (failure, reason) => new Error(`${failure.message}: ${reason}`) }),
      /status 400: not retryable/,
    );
    assert.deepEqual(attempts, [1]);
    assert.deepEqual(clock.waits, []);
  });

  it('makes at most maxRetries + 1 attempts, then throws the last failure itself', async () => {
    const clock = testClock();
    const last = new Failure(500);
    const { work, attempts } = failing(new Failure(500), new Failure(500), new Failure(500), last);
    await assert.rejects(retry(work, policy(), { clock }), (error) => error === last);
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    assert.equal(clock.waits.length, 3);
  });

  it('does not start a wait that would pass the deadline', async () => {
    const clock = testClock();
    const { work, attempts } = failing(new Failure(503), new Failure(503, 5000));
    const reasons: string[] = [];
    await assert.rejects(
      retry(work, policy({ deadlineMs: 1000 }), {
        clock,
        giveUp: (failure, reason, event) => (reasons.push(`${reason} after ${event.delayMs}`), failure),
      }),
      /status 503/,
    );
    assert.deepEqual(attempts, [1, 2]);
    assert.deepEqual(reasons, ['deadline after 5000']);
  });

  it('retries at once with no backoff, and still waits when the failure asks', async () => {
    const clock = testClock();
    const { work, attempts } = failing(new Failure(503), new Failure(503, 250));
    await retry(work, policy({ backoff: { kind: 'none' } }), { clock });
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(clock.waits, [250]);
  });

  it('stops after a wait once the signal is aborted', async () => {
    const clock = testClock();
    const controller = new AbortController();
    const { work, attempts } = failing(new Failure(503), new Failure(503));
    const waiting: RetryClock = { now: clock.now, wait: async () => controller.abort() };
    await assert.rejects(
      retry(work, policy(), { clock: waiting, signal: controller.signal, giveUp: (_, reason) => new Error(reason) }),
      /aborted/,
    );
    assert.deepEqual(attempts, [1]);
  });

  it('computes exponential backoff with jitter under its cap', () => {
    assert.equal(
      backoffWait({ kind: 'exponential', baseDelayMs: 100, maxDelayMs: 1000 }, 3, () => 1),
      400,
    );
    assert.equal(
      backoffWait({ kind: 'exponential', baseDelayMs: 100, maxDelayMs: 1000 }, 10, () => 1),
      1000,
    );
    assert.equal(backoffWait({ kind: 'fixed', delayMs: 70 }, 5), 70);
    assert.equal(backoffWait({ kind: 'none' }, 5), 0);
  });
});

describe('shared/core/retry: the poll helper', () => {
  it('reads until the answer is the one wanted, waiting the interval between readings', async () => {
    const clock = testClock();
    const readings = ['Updating', 'Updating', 'Succeeded'];
    const told: number[] = [];
    const result = await poll(
      async () => readings.shift()!,
      (state) => state !== 'Updating',
      { intervalMs: 10_000, timeoutMs: 60_000 },
      {
        clock,
        onWait: (_, round) => told.push(round),
      },
    );
    assert.deepEqual(result, { ok: true, value: 'Succeeded', elapsedMs: 20_000 });
    assert.deepEqual(clock.waits, [10_000, 10_000]);
    assert.deepEqual(told, [0, 1]);
  });

  it('reads once more at the timeout, then answers the last reading as not ok', async () => {
    const clock = testClock();
    let reads = 0;
    const result = await poll(
      async () => ++reads,
      () => false,
      { intervalMs: 10_000, timeoutMs: 30_000 },
      { clock },
    );
    assert.equal(result.ok, false);
    assert.equal(result.value, 4, 'reads at 0, 10, 20 and 30 s');
    assert.equal(result.elapsedMs, 30_000);
  });

  it('reads exactly once with no time to wait', async () => {
    const clock = testClock();
    const result = await poll(
      async () => 'Down',
      () => false,
      { intervalMs: 10_000, timeoutMs: 0 },
      { clock },
    );
    assert.deepEqual(result, { ok: false, value: 'Down', elapsedMs: 0 });
    assert.deepEqual(clock.waits, []);
  });
});
