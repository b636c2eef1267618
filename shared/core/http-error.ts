import type { HttpMethod } from './http';

/**
 * Why a call failed: an error `status`; a `network` failure (refused, reset, also mid-body); an attempt's
 * `timeout`; the call's `deadline`; a 2xx that is `not-json` where JSON was expected; a body `too-large`.
 */
export type HttpFailure = 'status' | 'network' | 'timeout' | 'deadline' | 'not-json' | 'too-large';

export interface HttpErrorOptions {
  message: string;
  service: string;
  method: HttpMethod;
  /** The URL (masked) or the `describeTarget` when the URL is a secret. */
  target: string;
  failure: HttpFailure;
  status?: number;
  data?: unknown;
  headers?: Record<string, string>;
  attempts?: number;
  networkCode?: string;
  /** The answer's media type, when there was an answer. */
  contentType?: string;
}

/** A call that ended in an error status, with no answer, or with an answer that is not what was asked for. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly service: string;
  readonly method: HttpMethod;
  readonly target: string;
  readonly failure: HttpFailure;
  readonly status?: number;
  readonly data?: unknown;
  readonly headers: Record<string, string>;
  readonly attempts: number;
  readonly networkCode?: string;
  readonly contentType?: string;

  constructor(options: HttpErrorOptions) {
    super(options.message);
    this.service = options.service;
    this.method = options.method;
    this.target = options.target;
    this.failure = options.failure;
    this.status = options.status;
    this.data = options.data;
    this.headers = options.headers ?? {};
    this.attempts = options.attempts ?? 1;
    this.networkCode = options.networkCode;
    this.contentType = options.contentType;
  }

  /** A 2xx that is not what the API documents (not JSON, too large): the service answered, but not its API. */
  get unexpectedAnswer(): boolean {
    return this.failure === 'not-json' || this.failure === 'too-large';
  }
}
