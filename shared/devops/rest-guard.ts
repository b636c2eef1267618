import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { BodyReadError, BodyTooLargeError, describeContentType, formatBytes, isJsonContentType, readBody } from '../core/http-body';

/**
 * What `azure-devops-node-api` (typed-rest-client underneath) does not do by itself: it reads a body of any
 * size for as long as bytes keep coming (its socket timeout only sees an idle socket), and it takes a 2xx
 * that is not JSON (a sign-in page, a proxy's HTML) as an empty result, so "pipeline not found" or "no
 * runs". `guardRestClient` puts a bounded reader in front of each REST client's response handling: the body
 * is read under a size limit and a time limit counted from the answer's headers, and a 2xx whose body is
 * not JSON becomes an error naming Azure DevOps, the status and the content type.
 */

export interface RestGuardOptions {
  service: string;
  /** Largest body read; a larger one is refused. */
  maxBodyBytes: number;
  /** Longest time from the answer's headers to its last byte. */
  bodyTimeoutMs: number;
}

/** An Azure DevOps answer that is not its API's: carries what `DevOpsClient.call` reads from failures. */
export class NotTheApiError extends Error {
  override name = 'NotTheApiError';
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly code: 'not-json' | 'too-large' | 'deadline' | 'ETIMEDOUT' | 'ECONNRESET',
  ) {
    super(message);
  }
}

interface HttpClientResponse {
  message: IncomingMessage;
  readBody(): Promise<string>;
}

interface RestClientLike {
  processResponse(res: HttpClientResponse, options: unknown): Promise<unknown>;
}

/** Wraps one REST client (of the WebApi or of an API such as BuildApi) once. */
export function guardRestClient(rest: unknown, options: RestGuardOptions): void {
  const client = rest as RestClientLike & { guarded?: boolean };
  if (!client || typeof client.processResponse !== 'function' || client.guarded) return;
  const original = client.processResponse.bind(client);
  client.processResponse = async (res, requestOptions) => {
    const text = await boundedBody(res.message, options);
    const status = res.message.statusCode ?? 0;
    // The client answers a 404 as a null result (callers rely on it: "deleted", "stale revision"); it does
    // so only because its own body read is slower than its caller, so say it outright instead.
    if (status === 404) return { statusCode: status, result: null, headers: res.message.headers };
    res.readBody = () => Promise.resolve(text);
    const method = requestOf(res.message)?.method ?? '';
    const where = `${method} ${pathOf(res.message)}`.trim();
    const answered = `${options.service} answered ${status} with ${describeContentType(res.message.headers['content-type'])}`;
    // An empty 200 to a read would be taken as "not found": a read always has a body.
    if (status === 200 && text.length === 0 && method === 'GET')
      throw new NotTheApiError(`${answered} and an empty body where JSON was expected (${where})`, status, 'not-json');
    if (status >= 200 && status < 300 && text.length > 0) {
      if (!isJsonContentType(res.message.headers['content-type']))
        throw new NotTheApiError(`${answered} where JSON was expected (${where})`, status, 'not-json');
      try {
        JSON.parse(text);
      } catch {
        throw new NotTheApiError(
          `${answered} that is not valid JSON (${formatBytes(Buffer.byteLength(text))}, cut short or malformed) (${where})`,
          status,
          'not-json',
        );
      }
    }
    return original(res, requestOptions);
  };
  client.guarded = true;
}

async function boundedBody(message: IncomingMessage, options: RestGuardOptions): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('body timeout')), options.bodyTimeoutMs);
  const declared = Number(message.headers['content-length']);
  const where = pathOf(message);
  try {
    const { bytes } = await readBody(message, {
      limit: options.maxBodyBytes,
      signal: controller.signal,
      declaredLength: Number.isFinite(declared) ? declared : undefined,
    });
    const gzipped = /\bgzip\b/i.test(String(message.headers['content-encoding'] ?? ''));
    return (gzipped ? gunzipSync(bytes, { maxOutputLength: options.maxBodyBytes }) : bytes).toString('utf8');
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new NotTheApiError(
        `${options.service} answered ${where} with a body that ${error.message}; refused without reading it`,
        message.statusCode,
        'too-large',
      );
    }
    const received = error instanceof BodyReadError ? ` after ${formatBytes(error.received)} of the body` : '';
    if (controller.signal.aborted) {
      throw new NotTheApiError(
        `${options.service} did not finish answering ${where} within ${Math.round(options.bodyTimeoutMs / 100) / 10} s${received}`,
        undefined,
        'ETIMEDOUT',
      );
    }
    throw new NotTheApiError(`The connection broke while ${options.service} was answering ${where}${received}`, undefined, 'ECONNRESET');
  } finally {
    clearTimeout(timer);
  }
}

/** The request an answer belongs to (Node sets it on client responses; its typings do not say so). */
function requestOf(message: IncomingMessage): { method?: string; path?: string } | undefined {
  return (message as unknown as { req?: { method?: string; path?: string } }).req;
}

function pathOf(message: IncomingMessage): string {
  const path = requestOf(message)?.path ?? '';
  return path.split('?')[0] || 'the request';
}
