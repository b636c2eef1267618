import type { Readable } from 'node:stream';

/**
 * Reading an answer's body under a size limit and an abort signal, for `http.ts`. A body is refused, not
 * read, when it says it is larger than the limit, and cut off (the socket closed) the moment it grows past it
 * without saying so (chunked answers); the signal (the attempt's timeout or the call's deadline) stops a
 * server that sends one byte every few seconds, which an idle timeout never would.
 */

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Error answers are only read for their message: this much is plenty, the rest is dropped. */
export const ERROR_BODY_BYTES = 64 * 1024;

/** The body is larger than the limit: refused before (declared length) or while reading (chunked). */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(
    readonly limit: number,
    readonly declared?: number,
  ) {
    super(
      declared !== undefined
        ? `declared ${declared} bytes, more than the ${formatBytes(limit)} limit`
        : `grew past the ${formatBytes(limit)} limit`,
    );
  }
}

export interface ReadBodyOptions {
  limit: number;
  signal: AbortSignal;
  /** `Content-Length` as the server declared it, if it did. */
  declaredLength?: number;
  /** Keep the first `limit` bytes and drop the rest instead of failing (error answers). */
  truncate?: boolean;
}

export interface BodyRead {
  bytes: Buffer;
  /** Bytes received before the end, a limit or an abort; kept on errors for messages. */
  received: number;
}

/** Thrown by `readBody` when the stream fails or is aborted: what came in so far, and why it stopped. */
export class BodyReadError extends Error {
  override name = 'BodyReadError';
  constructor(
    readonly reason: unknown,
    readonly received: number,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

export function readBody(stream: Readable, options: ReadBodyOptions): Promise<BodyRead> {
  return new Promise<BodyRead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      options.signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (reason: unknown) => {
      stream.destroy();
      finish(() => reject(reason instanceof BodyTooLargeError ? reason : new BodyReadError(reason, received)));
    };
    const onAbort = () => fail(options.signal.reason ?? new Error('aborted'));
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (!options.truncate && options.declaredLength !== undefined && options.declaredLength > options.limit) {
      return fail(new BodyTooLargeError(options.limit, options.declaredLength));
    }
    stream.on('data', (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += buffer.length;
      if (received <= options.limit) return void chunks.push(buffer);
      if (!options.truncate) return fail(new BodyTooLargeError(options.limit));
      chunks.push(buffer.subarray(0, buffer.length - (received - options.limit)));
      stream.destroy();
      finish(() => resolve({ bytes: Buffer.concat(chunks), received }));
    });
    stream.on('end', () => finish(() => resolve({ bytes: Buffer.concat(chunks), received })));
    stream.on('error', (error) => fail(error));
    // A socket closed before the end without an 'error' event is a body cut short, not an answer.
    stream.on('close', () => fail(Object.assign(new Error('the connection closed before the end of the body'), { code: 'ECONNRESET' })));
  });
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** `application/json`, `application/problem+json`, `text/json`, with or without parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type === 'text/json' || /^application\/[\w.-]+\+json$/.test(type);
}

/** The media type without parameters, for messages: `text/html`, or `no content type`. */
export function describeContentType(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type ? type.slice(0, 80) : 'no content type';
}

/**
 * Shape checks for a client's boundary: each returns what is wrong, or undefined when the answer fits. They
 * use no `this` (`this: void`), so a client passes one on as its check (`shape.object`).
 */
export const shape = {
  object(this: void, data: unknown): string | undefined {
    return data !== null && typeof data === 'object' && !Array.isArray(data) ? undefined : `expected an object, got ${kindOf(data)}`;
  },
  /** `field` is an array of objects each having `keys` of the given types. */
  arrayOf(this: void, data: unknown, field: string, keys: Record<string, 'number' | 'string' | 'boolean'> = {}): string | undefined {
    const notObject = shape.object(data);
    if (notObject) return notObject;
    const list = (data as Record<string, unknown>)[field];
    if (!Array.isArray(list)) return `'${field}' is ${kindOf(list)}, not an array`;
    for (const [index, item] of list.entries()) {
      const problem = shape.fields(item, keys);
      if (problem) return `'${field}[${index}]' ${problem}`;
    }
    return undefined;
  },
  /** An object whose `keys` have the given types. */
  fields(this: void, data: unknown, keys: Record<string, 'number' | 'string' | 'boolean'>): string | undefined {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return `is ${kindOf(data)}, not an object`;
    for (const [key, type] of Object.entries(keys)) {
      const value = (data as Record<string, unknown>)[key];
      if (typeof value !== type) return `has '${key}' ${kindOf(value)}, not a ${type}`;
    }
    return undefined;
  },
};

function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
