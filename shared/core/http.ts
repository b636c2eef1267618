import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { messageOf } from './errors';
import type { Log } from './log';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, sleep, type RetryOptions } from './retry';

/**
 * HTTP for services that have no SDK of their own (Slack, Teams, Pingdom, Cloudflare, New Relic, websites).
 * Retries 429 always (the server refused the call, so it did not happen), 5xx and dropped connections only
 * for idempotent calls (a POST that may have been applied is never sent twice blindly), waits what
 * `Retry-After` asks, and never crosses the call's deadline.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface HttpClientOptions {
  /** Base URL; with or without a trailing slash or a path. */
  baseUrl: string;
  /** Service name used in messages, e.g. `Slack`. */
  service: string;
  headers?: Record<string, string>;
  retry?: RetryOptions;
  /** Timeout of a single attempt. */
  attemptTimeoutInMs?: number;
  log?: Log;
  /** Called with every response (rate-limit bookkeeping). */
  onResponse?: (response: HttpResponse<unknown>) => void | Promise<void>;
  /** Replace how the client waits (tests, simulated clocks). */
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
  /** `text` keeps the body as a string (webhooks answer plain text). */
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

/** A call that ended in an error status or with no answer. Carries the response for the caller's mapping. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    readonly service: string,
    readonly method: HttpMethod,
    readonly target: string,
    readonly status?: number,
    readonly data?: unknown,
    readonly headers: Record<string, string> = {},
    readonly attempts = 1,
    readonly networkCode?: string,
  ) {
    super(message);
  }
}

const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** Network failures that happen before a request reaches the server: safe to retry whatever the method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EAI_AGAIN']);
const DROPPED = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ECONNREFUSED', 'EAI_AGAIN']);

export function joinUrl(base: string, path = ''): string {
  if (/^https?:\/\//i.test(path)) return path;
  if (!path) return base;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function lowerCaseHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers && typeof headers === 'object') {
    for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
      if (value !== undefined && value !== null) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  return out;
}

export class HttpClient {
  private readonly axios: AxiosInstance;
  private readonly retry: Required<RetryOptions>;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(private readonly options: HttpClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.wait = options.sleep ?? ((ms) => sleep(ms));
    this.axios = axios.create({
      timeout: options.attemptTimeoutInMs ?? 30_000,
      validateStatus: () => true,
      maxRedirects: 5,
      headers: { 'User-Agent': 'maintenance-window-tasks/1', ...options.headers },
    });
  }

  get service(): string {
    return this.options.service;
  }

  private target(request: HttpRequest): string {
    if (this.options.describeTarget) return this.options.describeTarget;
    const url = joinUrl(this.options.baseUrl, request.path ?? '');
    return this.options.log ? this.options.log.mask(url) : url;
  }

  async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
    const started = Date.now();
    const idempotent = request.idempotent ?? IDEMPOTENT.has(request.method);
    const accept = request.accept ?? ((status: number) => status >= 200 && status < 300);
    const target = this.target(request);
    const url = joinUrl(this.options.baseUrl, request.path ?? '');
    for (let attempt = 1; ; attempt++) {
      let failure: HttpError;
      let retryAfterMs: number | undefined;
      let retryable = false;
      try {
        const response: AxiosResponse = await this.axios.request({
          method: request.method,
          url,
          params: request.query,
          data: request.body,
          headers: request.headers,
          responseType: request.responseType === 'text' ? 'text' : 'json',
          transformResponse: request.responseType === 'text' ? [(data: unknown) => data] : undefined,
          signal: request.signal,
        });
        const result: HttpResponse<T> = {
          status: response.status,
          headers: lowerCaseHeaders(response.headers),
          data: response.data as T,
          attempts: attempt,
        };
        await this.options.onResponse?.(result as HttpResponse<unknown>);
        if (accept(response.status)) return result;
        failure = new HttpError(
          `${this.options.service} answered ${response.status} to ${request.method} ${target}`,
          this.options.service,
          request.method,
          target,
          response.status,
          response.data,
          result.headers,
          attempt,
        );
        retryAfterMs = parseRetryAfter(result.headers['retry-after']);
        retryable = response.status === 429 || (idempotent && (response.status >= 500 || response.status === 408));
      } catch (error) {
        if (request.signal?.aborted) throw error;
        const code = error instanceof AxiosError ? error.code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
        failure = new HttpError(
          `${this.options.service} could not be reached (${request.method} ${target}): ${code ?? this.options.log?.mask(messageOf(error)) ?? messageOf(error)}`,
          this.options.service,
          request.method,
          target,
          undefined,
          undefined,
          {},
          attempt,
          code,
        );
        retryable = code !== undefined && DROPPED.has(code) && (idempotent || NOT_SENT.has(code));
      }
      if (!retryable || attempt > this.retry.maxRetries) throw failure;
      const delay = retryAfterMs ?? backoffDelay(attempt, this.retry);
      const elapsed = Date.now() - started;
      if (elapsed + delay > this.retry.deadlineInMs) {
        failure.message += `; giving up: waiting ${formatSeconds(delay)} more would pass the ${formatSeconds(this.retry.deadlineInMs)} deadline`;
        throw failure;
      }
      this.options.log?.info(
        `${failure.message}; ${retryAfterMs !== undefined ? 'the server asked to wait' : 'waiting'} ${formatSeconds(delay)} before attempt ${attempt + 1} of ${this.retry.maxRetries + 1}.`,
      );
      await this.wait(delay);
    }
  }
}

export function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}
