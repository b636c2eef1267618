import { cancellationSignal } from './cancel';

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
    if (aborted) return reject(aborted.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      for (const candidate of signals) candidate.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(this: AbortSignal) {
      clearTimeout(timer);
      for (const candidate of signals) candidate.removeEventListener('abort', onAbort);
      reject(this.reason ?? new Error('aborted'));
    }
    for (const candidate of signals) candidate.addEventListener('abort', onAbort, { once: true });
  });
}
