import { SafetyError, ServiceError } from '../core/errors';
import { answerFailure, HttpClient, HttpError, shape, unexpectedShape, withoutService, type HttpRequest } from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';

/**
 * The Cloudflare API v4 client: zones, DNS records and cache purges, answers checked against the documented
 * envelope, the `Ratelimit` header read before a write, and a hard cap on calls per step.
 */

export const CLOUDFLARE_PUBLIC_API = 'https://api.cloudflare.com/client/v4';

/** No step of ours needs more calls than this; reaching it means something loops. */
const MAX_CALLS_PER_STEP = 100;

export interface DnsRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  ttl: number;
  /** Cloudflare's private note on the record; the window's mark goes here while the page is up. */
  comment?: string | null;
}

interface Envelope<T> {
  success: boolean;
  errors?: Array<{ code: number; message: string }>;
  result: T;
  result_info?: { page: number; per_page: number; count: number; total_count: number; total_pages: number };
}

/** Reads `"default";r=50;t=30`: calls left and seconds until the window resets. */
export function parseRateLimit(value: string | undefined): { remaining: number; resetInSeconds: number } | undefined {
  const remaining = /(?:^|;)\s*r=(\d+)/.exec(value ?? '');
  const reset = /(?:^|;)\s*t=(\d+)/.exec(value ?? '');
  if (!remaining) return undefined;
  return { remaining: Number(remaining[1]), resetInSeconds: Number(reset?.[1] ?? 0) };
}

export interface CloudflareClientOptions {
  baseUrl: string;
  token: string;
  log: Log;
  retry?: RetryOptions;
  /** Largest answer read (default 10 MiB). */
  maxBodyBytes?: number;
  /** The window's clock: `Retry-After` waits are waited on it. */
  clock: WindowClock;
}

export class CloudflareClient {
  private readonly http: HttpClient;
  private rateLimit?: { remaining: number; resetInSeconds: number };
  /** Calls sent, retries included: the budget this step spends. */
  calls = 0;

  constructor(options: CloudflareClientOptions) {
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      service: 'Cloudflare',
      headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' },
      // A lockout asks for up to 300 s: the deadline makes that fail at once instead of waiting it out.
      retry: { maxRetries: 4, deadlineMs: 90_000, ...options.retry },
      maxBodyBytes: options.maxBodyBytes,
      log: options.log,
      sleep: (ms) => options.clock.wait(ms),
      onResponse: (response) => {
        this.calls++;
        const limit = parseRateLimit(response.headers.ratelimit);
        if (limit) this.rateLimit = limit;
      },
    });
  }

  /** Refuses (before the caller changes anything) when fewer than `calls` calls are left in this 5-minute window. */
  ensureBudget(calls: number): void {
    if (!this.rateLimit || this.rateLimit.remaining >= calls) return;
    throw new ServiceError(
      'Cloudflare',
      `only ${this.rateLimit.remaining} call(s) are left of the token's budget for the next ` +
        `${this.rateLimit.resetInSeconds} s, and this step needs ${calls}.`,
      {
        advice:
          'Nothing was changed. The budget (1200 calls per 5 minutes) is shared with dashboard users; run the step again once it resets.',
      },
    );
  }

  /**
   * One call; the answer must be the v4 envelope (`success`, `result`) and `result` of the documented shape
   * (`check`), so an HTML page or `{}` never reads as "no such zone" or "no records".
   */
  private async call<T>(request: HttpRequest, check: (result: unknown) => string | undefined = () => undefined): Promise<Envelope<T>> {
    if (this.calls >= MAX_CALLS_PER_STEP) {
      throw new SafetyError(
        `Stopped after ${this.calls} Cloudflare calls in one step: something is looping, and the token's budget is shared with others.`,
      );
    }
    let response;
    try {
      response = await this.http.request<Envelope<T>>(request);
    } catch (error) {
      throw mapCloudflareError(error);
    }
    const envelope = response.data as unknown;
    const where = this.http.where(request);
    const notEnvelope = shape.fields(envelope, { success: 'boolean' });
    if (notEnvelope) throw unexpectedShape('Cloudflare', where, response.status, `the envelope ${notEnvelope}`);
    if (response.data.success === false) {
      throw mapCloudflareError(
        new HttpError({
          message: 'Cloudflare reported a failure',
          service: 'Cloudflare',
          method: request.method,
          target: request.path ?? '',
          failure: 'status',
          status: response.status,
          data: response.data,
          headers: response.headers,
        }),
      );
    }
    const problem = check(response.data.result);
    if (problem) throw unexpectedShape('Cloudflare', where, response.status, `'result' ${problem}`);
    return response.data;
  }

  async findZone(name: string): Promise<{ id: string; name: string } | undefined> {
    const page = await this.call<Array<{ id: string; name: string }>>(
      { method: 'GET', path: 'zones', query: { name, per_page: 5 } },
      zoneList,
    );
    return page.result.find((zone) => zone.name.toLowerCase() === name.toLowerCase());
  }

  /** Every record with exactly this name (all types), following pages. */
  async recordsNamed(zoneId: string, name: string): Promise<DnsRecord[]> {
    const records: DnsRecord[] = [];
    for (let page = 1; ; page++) {
      const answer = await this.call<DnsRecord[]>(
        {
          method: 'GET',
          path: `zones/${zoneId}/dns_records`,
          query: { 'name.exact': name, per_page: 100, page },
        },
        recordList,
      );
      records.push(...answer.result.map(toRecord));
      if (!answer.result_info || page >= answer.result_info.total_pages) return records;
    }
  }

  async getRecord(zoneId: string, id: string): Promise<DnsRecord | undefined> {
    try {
      return toRecord((await this.call<DnsRecord>({ method: 'GET', path: `zones/${zoneId}/dns_records/${id}` }, oneRecord)).result);
    } catch (error) {
      if (error instanceof ServiceError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Sets absolute values, so sending it twice is harmless: retried like any idempotent call. */
  async patchRecord(zoneId: string, id: string, changes: Partial<Omit<DnsRecord, 'id' | 'name'>>): Promise<DnsRecord> {
    return toRecord(
      (
        await this.call<DnsRecord>(
          { method: 'PATCH', path: `zones/${zoneId}/dns_records/${id}`, body: changes, idempotent: true },
          oneRecord,
        )
      ).result,
    );
  }

  async purge(zoneId: string, what: { everything: true } | { hosts: string[] }): Promise<void> {
    const body = 'everything' in what ? { purge_everything: true } : { hosts: what.hosts };
    await this.call({ method: 'POST', path: `zones/${zoneId}/purge_cache`, body, idempotent: true }, shape.object);
  }
}

const RECORD_FIELDS = { id: 'string', name: 'string', type: 'string', content: 'string', ttl: 'number' } as const;
const zoneList = (result: unknown) => shape.arrayOf({ result }, 'result', { id: 'string', name: 'string' });
const recordList = (result: unknown) => shape.arrayOf({ result }, 'result', RECORD_FIELDS);
const oneRecord = (result: unknown) => shape.fields(result, RECORD_FIELDS);

function toRecord(raw: DnsRecord): DnsRecord {
  return {
    id: raw.id,
    name: raw.name,
    type: raw.type,
    content: raw.content,
    proxied: !!raw.proxied,
    ttl: raw.ttl,
    comment: raw.comment ?? null,
  };
}

/** The v4 envelope's `errors[]` → a message a person can act on. */
export function mapCloudflareError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  const notAnAnswer = answerFailure(error);
  if (notAnAnswer) return notAnAnswer;
  const errors = (error.data as Envelope<unknown> | undefined)?.errors ?? [];
  const detail = errors.length
    ? errors.map((e) => `${e.code} ${e.message}`).join('; ')
    : error.status !== undefined
      ? `HTTP ${error.status}`
      : withoutService(error);
  let advice: string | undefined;
  if (error.status === 401 || error.status === 403 || errors.some((e) => e.code === 10000)) {
    advice = "Check the Cloudflare service connection's API token: it needs Zone DNS Edit and Zone Cache Purge on this zone.";
  } else if (error.status === 429) {
    const wait = error.headers['retry-after'];
    const asked = wait ? `; Cloudflare asks to wait ${wait} s` : '';
    advice = `The token's budget (1200 calls per 5 minutes, shared with dashboard users) is spent${asked}. Run the step again after that.`;
  }
  return new ServiceError('Cloudflare', `${error.method} ${error.target} failed: ${detail}`, {
    status: error.status,
    code: errors[0] ? String(errors[0].code) : undefined,
    advice,
    cause: error,
  });
}
