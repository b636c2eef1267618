import { cancellationSignal } from './cancel';
import type { WindowClock } from './clock';
import { textOf } from './text';

/**
 * Retry timing shared by the HTTP layer and by pollers: exponential backoff with full jitter, `Retry-After`
 * honoured (seconds or an HTTP date), and an overall deadline that no wait may cross.
 */

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries?: number;
  /** First backoff step; doubles each retry. */
  baseDelayMs?: number;
  /** Largest single wait we choose ourselves (a server's Retry-After may ask for longer, up to the deadline). */
  maxDelayMs?: number;
  /**
   * Overall time budget for the call including every retry, every wait and every byte of every answer: a
   * server that sends its headers and then one byte every few seconds is cut off when it runs out.
   */
  deadlineMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  deadlineMs: 5 * 60_000,
};

/** Parses a `Retry-After` header: delta-seconds or an HTTP date. Returns milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Full-jitter exponential backoff for retry number `attempt` (1-based). */
export function backoffDelay(attempt: number, options: RetryOptions = {}, random = Math.random): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
  // Never zero: a burst of clients retrying at once is what the jitter is there to spread.
  return Math.max(Math.round(base / 4), Math.round(ceiling * random()));
}

/**
 * Waits `ms`, or rejects as soon as `signal` or the process-wide cancellation (./cancel: the agent's SIGINT or
 * SIGTERM) is aborted, so no wait outlives a Cancel.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  const signals = [cancellationSignal(), ...(signal ? [signal] : [])];
  return new Promise((resolve, reject) => {
    const aborted = signals.find((candidate) => candidate.aborted);
    if (aborted) return reject(abortReason(aborted));
    const timer = setTimeout(() => {
      for (const candidate of signals) candidate.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(this: AbortSignal) {
      clearTimeout(timer);
      for (const candidate of signals) candidate.removeEventListener('abort', onAbort);
      reject(abortReason(this));
    }
    for (const candidate of signals) candidate.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Why a signal was aborted, as an Error: the reason itself when it is one (every abort in this code passes
 * one, and `abort()` alone gives a DOMException), otherwise an Error that carries it.
 */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  if (reason === undefined || reason === null) return new Error('aborted');
  return new Error(`aborted: ${textOf(reason)}`, { cause: reason });
}

// ------------------------------------------------------------------ the one retry loop

/**
 * The clock a retry or a poll reads and waits on: the window clock (`ctx.clock`), or the real one for calls
 * whose budget is real time (HTTP deadlines bound real sockets). Its `wait` is cancellable (./cancel).
 */
export type RetryClock = Pick<WindowClock, 'now' | 'wait'>;

/**
 * A clock that stands still and never waits, for retries that never wait and have no deadline (no backoff,
 * no Retry-After): re-reading after a conflict, looking for what a lost call made.
 */
export const STANDING_CLOCK: RetryClock = {
  now: () => new Date(0),
  wait: async () => {},
};

/** How long to wait before a retry when the failure asks for nothing itself. */
export type Backoff =
  | { kind: 'none' }
  | { kind: 'fixed'; delayMs: number }
  /** Full-jitter exponential backoff (see `backoffDelay`). */
  | { kind: 'exponential'; baseDelayMs: number; maxDelayMs: number };

/**
 * A retry policy as data: which failures are worth another attempt, how many attempts, how long to wait
 * between them, what a failure's own `Retry-After` asks, and the budget no wait may cross.
 */
export interface RetryPolicy<F = unknown> {
  /** Retries after the first attempt (so at most `maxRetries + 1` attempts). */
  maxRetries: number;
  /** Whether this failure may be tried again (the call did not happen, or repeating it is harmless). */
  retryable: (failure: F) => boolean;
  backoff: Backoff;
  /** The wait the failure itself asks for (a `Retry-After`); it takes the place of the backoff. */
  retryAfterMs?: (failure: F) => number | undefined;
  /** Budget from the first attempt: a retry whose wait would pass it is not made. */
  deadlineMs?: number;
}

export type GiveUpReason = 'not retryable' | 'out of attempts' | 'deadline' | 'aborted';

export interface RetryEvent<F> {
  failure: F;
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** `maxRetries + 1`. */
  maxAttempts: number;
  delayMs: number;
  /** True when the failure asked for the wait (Retry-After), false when it is our backoff. */
  asked: boolean;
}

/** How one retry runs: the clock, what to say before each wait, and what to throw when giving up. */
export interface RetryRun<F = unknown> {
  clock: RetryClock;
  /** Called before each wait (a log line). */
  onRetry?: (event: RetryEvent<F>) => void;
  /** The error to throw when giving up; by default the failure itself. */
  giveUp?: (failure: F, reason: GiveUpReason, event: RetryEvent<F>) => unknown;
  /** Checked after each wait: once aborted, no further attempt is made. */
  signal?: AbortSignal;
  /** For the jitter (tests pin it). */
  random?: () => number;
}

/** The backoff wait before retry number `attempt` (1-based). */
export function backoffWait(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  if (backoff.kind === 'none') return 0;
  if (backoff.kind === 'fixed') return backoff.delayMs;
  return backoffDelay(attempt, backoff, random);
}

/**
 * Runs `work` (given the attempt number) until it succeeds or the policy says stop: a failure that is not
 * retryable, the last attempt, or a wait that would pass the deadline ends it with `run.giveUp`'s error (the
 * failure itself by default). Every wait is the clock's, so a cancel or a simulated clock is honoured.
 */
export async function retry<T, F = unknown>(work: (attempt: number) => Promise<T>, policy: RetryPolicy<F>, run: RetryRun<F>): Promise<T> {
  const started = run.clock.now().getTime();
  const maxAttempts = policy.maxRetries + 1;
  for (let attempt = 1; ; attempt++) {
    let failure: F;
    try {
      return await work(attempt);
    } catch (caught) {
      failure = caught as F;
    }
    const asked = policy.retryAfterMs?.(failure);
    const event: RetryEvent<F> = {
      failure,
      attempt,
      maxAttempts,
      delayMs: asked ?? backoffWait(policy.backoff, attempt, run.random),
      asked: asked !== undefined,
    };
    const reason = stopReason(policy, event, run.clock.now().getTime() - started);
    if (reason) throw run.giveUp ? run.giveUp(failure, reason, event) : failure;
    run.onRetry?.(event);
    // A policy with no backoff retries at once unless the failure asks for a wait.
    if (event.asked || policy.backoff.kind !== 'none') await run.clock.wait(event.delayMs);
    if (run.signal?.aborted) throw run.giveUp ? run.giveUp(failure, 'aborted', event) : failure;
  }
}

function stopReason<F>(policy: RetryPolicy<F>, event: RetryEvent<F>, elapsedMs: number): GiveUpReason | undefined {
  if (!policy.retryable(event.failure)) return 'not retryable';
  if (event.attempt >= event.maxAttempts) return 'out of attempts';
  if (policy.deadlineMs !== undefined && elapsedMs + event.delayMs > policy.deadlineMs) return 'deadline';
  return undefined;
}

/** How a poll is paced: read every `intervalMs` until the answer is the one wanted or `timeoutMs` has passed. */
export interface PollPolicy {
  intervalMs: number;
  timeoutMs: number;
}

export interface PollResult<T> {
  /** False when the time ran out first. */
  ok: boolean;
  /** The last reading. */
  value: T;
  elapsedMs: number;
}

/**
 * Reads until `done` says so, or until the time is up (checked after each reading, so the last reading is at
 * or after the timeout); `onWait` is told each reading that is not yet the one wanted, before the wait.
 */
export async function poll<T>(
  read: (round: number) => Promise<T>,
  done: (value: T) => boolean,
  policy: PollPolicy,
  run: { clock: RetryClock; onWait?: (value: T, round: number, elapsedMs: number) => void },
): Promise<PollResult<T>> {
  const started = run.clock.now().getTime();
  for (let round = 0; ; round++) {
    const value = await read(round);
    const elapsedMs = run.clock.now().getTime() - started;
    if (done(value)) return { ok: true, value, elapsedMs };
    if (elapsedMs >= policy.timeoutMs) return { ok: false, value, elapsedMs };
    run.onWait?.(value, round, elapsedMs);
    await run.clock.wait(policy.intervalMs);
  }
}
