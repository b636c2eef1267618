import type * as Axios from 'axios';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { messageOf } from './errors';
import {
  BodyReadError,
  BodyTooLargeError,
  DEFAULT_MAX_BODY_BYTES,
  describeContentType,
  ERROR_BODY_BYTES,
  formatBytes,
  isJsonContentType,
  readBody,
} from './http-body';
import { HttpError } from './http-error';
import type { Log } from './log';
import { realClock } from './clock';
import { textOf } from './text';
import { agentNetwork, axiosAgentsFor } from './proxy';
import {
  DEFAULT_RETRY,
  parseRetryAfter,
  retry,
  type GiveUpReason,
  type RetryClock,
  type RetryEvent,
  type RetryOptions,
  type RetryPolicy,
} from './retry';
import { loadAxios } from './lazy';

export { DEFAULT_MAX_BODY_BYTES, isJsonContentType, shape } from './http-body';
export { answerFailure, notTheApiAdvice, unexpectedShape, withoutService } from './http-failures';
export { HttpError, type HttpErrorOptions, type HttpFailure } from './http-error';

/**
 * HTTP for services that have no SDK of their own (Slack, Teams, Pingdom, Cloudflare, New Relic, websites).
 * Retries 429 always (the server refused the call, so it did not happen), 5xx and dropped connections only
 * for idempotent calls (a POST that may have been applied is never sent twice blindly), waits what
 * `Retry-After` asks, and never crosses the call's deadline: the deadline (and each attempt's timeout) runs
 * from sending to the last byte of the answer, so a server dripping its body a byte at a time is cut off.
 *
 * A JSON call's 2xx answer must be JSON: another content type (a sign-in page, a proxy's HTML), an empty or
 * unparsable body is an `HttpError` naming the service, the status and the content type, never an empty
 * answer. Bodies larger than `maxBodyBytes` are refused, not read.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;

export interface HttpClientOptions {
  /** Base URL; with or without a trailing slash or a path. */
  baseUrl: string;
  /** Service name used in messages, e.g. `Slack`. */
  service: string;
  headers?: Record<string, string>;
  /** Retries and the call's overall deadline (`deadlineMs`, every attempt, wait and byte included). */
  retry?: RetryOptions;
  /** Longest single attempt, from sending to the last byte of the answer (not an idle timeout). */
  attemptTimeoutMs?: number;
  /** Largest answer body read (default 10 MiB); a larger one is refused. */
  maxBodyBytes?: number;
  log?: Log;
  /** Called with every response (rate-limit bookkeeping). */
  onResponse?: (response: HttpResponse<unknown>) => void | Promise<void>;
  /**
   * Replace how the client waits between attempts (tests). The call's budget is real time whatever the
   * window's clock says: a deadline bounds a real socket, so a simulated clock must not end it early.
   */
  sleep?: (ms: number) => Promise<void>;
  /** Shown instead of the URL in messages when the URL itself is a secret (webhooks). */
  describeTarget?: string;
}

export interface HttpRequest {
  method: HttpMethod;
  /** Path relative to the base URL (may be empty), or an absolute URL. */
  path?: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Override the method's default: GET/PUT/DELETE/HEAD/OPTIONS are idempotent, POST/PATCH are not. */
  idempotent?: boolean;
  /** `text` keeps the body as a string (webhooks answer plain text, websites HTML); `json` (default) insists on JSON. */
  responseType?: 'json' | 'text';
  /** Statuses that are an answer, not an error; default 2xx. */
  accept?: (status: number) => boolean;
  signal?: AbortSignal;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string>;
  data: T;
  attempts: number;
}

/** axios, loaded when the first client is made: a step that stops at its inputs starts without it. */
function axiosModule(): typeof Axios {
  return loadAxios();
}

const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** Network failures that happen before a request reaches the server: safe to retry whatever the method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EAI_AGAIN']);
const DROPPED = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ECONNREFUSED', 'EAI_AGAIN']);

/** Abort reasons of our own timers, told apart from a caller's signal. */
class CallDeadlineReached extends Error {}
class AttemptTimedOut extends Error {}

export function joinUrl(base: string, path = ''): string {
  if (/^https?:\/\//i.test(path)) return path;
  if (!path) return base;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function lowerCaseHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers && typeof headers === 'object') {
    for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
      if (value !== undefined && value !== null) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : textOf(value);
    }
  }
  return out;
}

/** What one call shares across its attempts. */
interface CallContext {
  request: HttpRequest;
  url: string;
  target: string;
  /** `GET /checks`, or the described target: for the messages about answers. */
  where: string;
  idempotent: boolean;
  accept: (status: number) => boolean;
  started: number;
  deadline: AbortSignal;
}

type FailedAttempt = { failure: HttpError; retryable: boolean; retryAfterMs?: number };
type AttemptOutcome<T> = { response: HttpResponse<T> } | FailedAttempt;

export class HttpClient {
  private readonly axios: AxiosInstance;
  private readonly retry: Required<RetryOptions>;
  private readonly clock: RetryClock;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: HttpClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const real = realClock();
    this.clock = options.sleep ? { now: real.now, wait: options.sleep } : real;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.axios = axiosModule().default.create({
      // Our own timers bound the whole attempt; axios's timeout only sees an idle socket.
      timeout: 0,
      validateStatus: () => true,
      maxRedirects: 5,
      maxContentLength: this.maxBodyBytes,
      maxBodyLength: this.maxBodyBytes,
      headers: { 'User-Agent': 'maintenance-window-tasks/1', ...options.headers },
      // The agent's proxy (shared/core/proxy.ts) is chosen per request below; axios's own reads HTTP(S)_PROXY
      // and cannot tunnel HTTPS.
      proxy: false,
    });
    const network = agentNetwork(options.log);
    this.axios.interceptors.request.use((config) => Object.assign(config, axiosAgentsFor(this.axios.getUri(config), network)));
  }

  get service(): string {
    return this.options.service;
  }

  private mask(text: string): string {
    return this.options.log ? this.options.log.mask(text) : text;
  }

  private target(request: HttpRequest): string {
    return this.options.describeTarget ?? this.mask(joinUrl(this.options.baseUrl, request.path ?? ''));
  }

  /** `GET /checks`: the method and the path without host or query, or the described target. */
  where(request: HttpRequest): string {
    if (this.options.describeTarget) return `${request.method} ${this.options.describeTarget}`;
    let path = request.path ?? '';
    if (!path || /^https?:\/\//i.test(path)) {
      try {
        path = new URL(joinUrl(this.options.baseUrl, path)).pathname;
      } catch {
        path = joinUrl(this.options.baseUrl, path);
      }
    }
    return `${request.method} /${this.mask(path).replace(/^\/+/, '')}`;
  }

  async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
    const deadline = new AbortController();
    const deadlineMs = this.retry.deadlineMs;
    const timer = setTimeout(() => deadline.abort(new CallDeadlineReached()), deadlineMs);
    const context: CallContext = {
      request,
      url: joinUrl(this.options.baseUrl, request.path ?? ''),
      target: this.target(request),
      where: this.where(request),
      idempotent: request.idempotent ?? IDEMPOTENT.has(request.method),
      accept: request.accept ?? ((status: number) => status >= 200 && status < 300),
      started: this.clock.now().getTime(),
      deadline: deadline.signal,
    };
    try {
      return await retry(
        async (attempt) => {
          const outcome = await this.attempt<T>(context, attempt);
          if ('response' in outcome) return outcome.response;
          // retry() takes the failed attempt itself as its failure (its policy reads `retryable` and
          // `retryAfterMs`); giveUp below turns it into the HttpError that reaches the caller.
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw outcome;
        },
        this.policy,
        {
          clock: this.clock,
          signal: deadline.signal,
          onRetry: (event) => this.sayRetry(event),
          giveUp: (outcome, reason, event) => this.giveUp(outcome, reason, event),
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The call's retry policy: 429 always, 5xx and dropped connections when idempotent (decided per attempt). */
  private get policy(): RetryPolicy<FailedAttempt> {
    return {
      maxRetries: this.retry.maxRetries,
      retryable: (outcome) => outcome.retryable,
      backoff: { kind: 'exponential', baseDelayMs: this.retry.baseDelayMs, maxDelayMs: this.retry.maxDelayMs },
      retryAfterMs: (outcome) => outcome.retryAfterMs,
      deadlineMs: this.retry.deadlineMs,
    };
  }

  private sayRetry({ failure: outcome, attempt, maxAttempts, delayMs, asked }: RetryEvent<FailedAttempt>): void {
    const wait = `${asked ? 'the server asked to wait' : 'waiting'} ${formatSeconds(delayMs)}`;
    this.options.log?.info(`${outcome.failure.message}; ${wait} before attempt ${attempt + 1} of ${maxAttempts}.`);
  }

  private giveUp(outcome: FailedAttempt, reason: GiveUpReason, event: RetryEvent<FailedAttempt>): HttpError {
    if (reason === 'deadline') {
      const deadline = formatSeconds(this.retry.deadlineMs);
      outcome.failure.message += `; giving up: waiting ${formatSeconds(event.delayMs)} more would pass the ${deadline} deadline`;
    }
    return outcome.failure;
  }

  /** One attempt, bounded from sending to the last byte by the attempt's timeout and the call's deadline. */
  private async attempt<T>(context: CallContext, attempt: number): Promise<AttemptOutcome<T>> {
    const { request } = context;
    const controller = new AbortController();
    const remaining = this.retry.deadlineMs - (this.clock.now().getTime() - context.started);
    const attemptLimit = this.options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    // When the call's deadline comes first, this timer and the deadline's fire together: name the deadline,
    // whichever of the two timers the event loop runs first, so the call gives up instead of retrying.
    const reason = remaining <= attemptLimit ? () => new CallDeadlineReached() : () => new AttemptTimedOut();
    const timer = setTimeout(() => controller.abort(reason()), Math.max(0, Math.min(attemptLimit, remaining)));
    const sources = [context.deadline, request.signal].filter((signal): signal is AbortSignal => signal !== undefined);
    const forward = (signal: AbortSignal) => () => controller.abort(signal.reason);
    const listeners = sources.map((signal) => {
      const listener = forward(signal);
      if (signal.aborted) listener();
      else signal.addEventListener('abort', listener, { once: true });
      return { signal, listener };
    });
    let received = 0;
    try {
      const response: AxiosResponse<Readable> = await this.axios.request({
        method: request.method,
        url: context.url,
        params: request.query,
        data: request.body,
        headers: request.headers,
        responseType: 'stream',
        signal: controller.signal,
      });
      const headers = lowerCaseHeaders(response.headers);
      const accepted = context.accept(response.status);
      const declared = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
      const body = await readBody(response.data, {
        limit: accepted ? this.maxBodyBytes : ERROR_BODY_BYTES,
        truncate: !accepted,
        signal: controller.signal,
        declaredLength: Number.isFinite(declared) ? declared : undefined,
      }).catch((error: unknown) => {
        if (error instanceof BodyReadError) received = error.received;
        throw error;
      });
      return await this.answer<T>(context, attempt, { status: response.status, headers, accepted, text: body.bytes.toString('utf8') });
    } catch (error) {
      return this.failed(context, attempt, controller.signal, error, received);
    } finally {
      clearTimeout(timer);
      for (const { signal, listener } of listeners) signal.removeEventListener('abort', listener);
    }
  }

  /** Turns a whole answer into the response, or into the failure it is. */
  private async answer<T>(
    context: CallContext,
    attempt: number,
    answer: { status: number; headers: Record<string, string>; accepted: boolean; text: string },
  ): Promise<AttemptOutcome<T>> {
    const { request } = context;
    const { status, headers } = answer;
    const contentType = headers['content-type'];
    const base = {
      service: this.options.service,
      method: request.method,
      target: context.target,
      status,
      headers,
      attempts: attempt,
      contentType,
    };
    let data: unknown = answer.text === '' ? undefined : answer.text;
    let notJson: Error | undefined;
    if (answer.accepted && request.responseType !== 'text') {
      const parsed = this.parseJson(context, status, contentType, answer.text);
      if (parsed instanceof Error) notJson = parsed;
      else data = parsed;
    } else if (!answer.accepted && answer.text !== '' && request.responseType !== 'text') {
      data = parseLeniently(answer.text);
    }
    const result: HttpResponse<T> = { status, headers, data: data as T, attempts: attempt };
    // Every answer counts for the rate-limit bookkeeping, whatever it turns out to be.
    await this.options.onResponse?.(result);
    if (notJson)
      return {
        failure: new HttpError({ ...base, message: notJson.message, failure: 'not-json', data: answer.text.slice(0, 2000) }),
        retryable: false,
      };
    if (answer.accepted) return { response: result };
    const failure = new HttpError({
      ...base,
      message: `${this.options.service} answered ${status} to ${request.method} ${context.target}`,
      failure: 'status',
      data,
    });
    const retryable = status === 429 || (context.idempotent && (status >= 500 || status === 408));
    return { failure, retryable, retryAfterMs: parseRetryAfter(headers['retry-after']) };
  }

  /** A 2xx of a JSON call: JSON by its content type and its body, or an Error saying what came instead. */
  private parseJson(context: CallContext, status: number, contentType: string | undefined, text: string): unknown {
    const method = context.request.method;
    if (text === '' && (status === 204 || status === 205 || method === 'HEAD')) return undefined;
    const answered = `${this.options.service} answered ${status} with ${describeContentType(contentType)}`;
    if (!isJsonContentType(contentType)) return new Error(`${answered} where JSON was expected (${context.where})`);
    if (text.trim() === '') return new Error(`${answered} but an empty body where JSON was expected (${context.where})`);
    try {
      return JSON.parse(text);
    } catch {
      return new Error(
        `${answered} that is not valid JSON (${formatBytes(Buffer.byteLength(text))}, cut short or malformed) (${context.where})`,
      );
    }
  }

  /** A thrown attempt: our deadline or timeout, a caller's abort, a body too large, or the network. */
  private failed<T>(context: CallContext, attempt: number, signal: AbortSignal, error: unknown, received: number): AttemptOutcome<T> {
    const { request } = context;
    const base = { service: this.options.service, method: request.method, target: context.target, attempts: attempt };
    const midBody = received > 0 ? ` after ${formatBytes(received)} of the body` : '';
    const unfinished = `${this.options.service} did not finish answering ${context.where}`;
    if (signal.aborted && signal.reason instanceof CallDeadlineReached) {
      const deadline = formatSeconds(this.retry.deadlineMs);
      const message = `${unfinished} within the ${deadline} deadline${midBody}; gave up`;
      return { failure: new HttpError({ ...base, message, failure: 'deadline', networkCode: 'ETIMEDOUT' }), retryable: false };
    }
    if (signal.aborted && signal.reason instanceof AttemptTimedOut) {
      const limit = formatSeconds(this.options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS);
      const message = `${unfinished} within ${limit}${midBody}`;
      return { failure: new HttpError({ ...base, message, failure: 'timeout', networkCode: 'ETIMEDOUT' }), retryable: context.idempotent };
    }
    // The caller's own signal: not ours to describe.
    if (signal.aborted) throw request.signal?.reason ?? error;
    if (error instanceof BodyTooLargeError || isAxiosSizeLimit(error)) {
      const detail = error instanceof BodyTooLargeError ? error.message : `grew past the ${formatBytes(this.maxBodyBytes)} limit`;
      const message = `${this.options.service} answered ${context.where} with a body that ${detail}; refused without reading it`;
      return { failure: new HttpError({ ...base, message, failure: 'too-large' }), retryable: false };
    }
    const cause = error instanceof BodyReadError ? error.reason : error;
    const code =
      cause instanceof axiosModule().AxiosError
        ? (cause.code ?? errnoCode(cause.cause))
        : (errnoCode(cause) ?? (error instanceof BodyReadError ? 'ECONNRESET' : undefined));
    const what =
      error instanceof BodyReadError
        ? `the connection broke while ${this.options.service} was answering ${context.where}${midBody}`
        : `${this.options.service} could not be reached (${request.method} ${context.target})`;
    const message = `${what}: ${code ?? this.mask(messageOf(cause))}`;
    const retryable = code !== undefined && DROPPED.has(code) && (context.idempotent || NOT_SENT.has(code));
    return { failure: new HttpError({ ...base, message: capitalize(message), failure: 'network', networkCode: code }), retryable };
  }
}

/** axios's own `maxContentLength` guard, which may see a growing body before ours does. */
function isAxiosSizeLimit(error: unknown): boolean {
  const cause = error instanceof BodyReadError ? error.reason : error;
  return cause instanceof axiosModule().AxiosError && /maxContentLength/i.test(cause.message);
}

/** An error answer's body: its JSON when it is JSON, otherwise the text. */
function parseLeniently(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The `code` of a Node system error (`ECONNRESET`), or of anything else that carries one as text. */
function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
