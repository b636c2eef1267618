import { ServiceError, SafetyError } from '../core/errors';
import { answerFailure, HttpClient, HttpError, shape, unexpectedShape, type HttpRequest } from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';

/**
 * The Pingdom API 3.1 client: checks and maintenance windows, answers checked against the documented shapes,
 * and the `Req-Limit-Short` / `Req-Limit-Long` request budgets, waited for or refused before the last call.
 */

export const PINGDOM_PUBLIC_API = 'https://api.pingdom.com/api/3.1';

export interface PingdomCheck {
  id: number;
  name: string;
  hostname?: string;
  status: string;
  tags: string[];
}

export interface PingdomWindow {
  id: number;
  description: string;
  /** UNIX seconds. */
  from: number;
  to: number;
  uptimeIds: number[];
}

interface RateLimit {
  remaining: number;
  /** When the budget is whole again (ms since epoch). */
  resetsAt: number;
}

export interface PingdomClientOptions {
  baseUrl: string;
  token: string;
  log: Log;
  retry?: RetryOptions;
  /** Longest wait for a spent request budget to reset before giving up. */
  maxBudgetWaitMs?: number;
  /** Largest answer read (default 10 MiB). */
  maxBodyBytes?: number;
  /** The window's clock: budget resets and retries are waited on it (a rehearsal's waits jump). */
  clock: WindowClock;
}

/** Reads `Remaining: 394 Time until reset: 3589`. */
export function parseRequestLimit(value: string | undefined, now: number): RateLimit | undefined {
  const match = /Remaining:\s*(\d+).*?reset:\s*(\d+)/i.exec(value ?? '');
  if (!match) return undefined;
  return { remaining: Number(match[1]), resetsAt: now + Number(match[2]) * 1000 };
}

export class PingdomClient {
  private readonly http: HttpClient;
  private readonly limits = new Map<'short' | 'long', RateLimit>();
  private readonly maxBudgetWaitMs: number;

  constructor(private readonly options: PingdomClientOptions) {
    this.maxBudgetWaitMs = options.maxBudgetWaitMs ?? 60_000;
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      service: 'Pingdom',
      headers: { Authorization: `Bearer ${options.token}`, Accept: 'application/json' },
      retry: options.retry,
      maxBodyBytes: options.maxBodyBytes,
      log: options.log,
      sleep: (ms) => options.clock.wait(ms),
      onResponse: (response) => {
        for (const kind of ['short', 'long'] as const) {
          const limit = parseRequestLimit(response.headers[`req-limit-${kind}`], options.clock.now().getTime());
          if (limit) this.limits.set(kind, limit);
        }
      },
    });
  }

  /**
   * Makes sure `calls` more calls fit in both request budgets, waiting for a reset when it is near, and
   * failing (before the caller changes anything) when it is not.
   */
  async ensureBudget(calls: number): Promise<void> {
    for (const [kind, limit] of this.limits) {
      if (limit.remaining >= calls) continue;
      const waitMs = limit.resetsAt - this.options.clock.now().getTime();
      if (waitMs <= 0) continue;
      if (waitMs > this.maxBudgetWaitMs) {
        throw new ServiceError(
          'Pingdom',
          `only ${limit.remaining} call(s) left in the ${kind} request budget, which resets in ${Math.ceil(waitMs / 1000)} s.`,
          {
            advice: 'Nothing was changed by this call; run the step again after the reset.',
          },
        );
      }
      this.options.log.info(
        `Pingdom's ${kind} request budget has ${limit.remaining} call(s) left; waiting ${Math.ceil(waitMs / 1000)} s for it to reset.`,
      );
      await this.options.clock.wait(waitMs);
      this.limits.delete(kind);
    }
  }

  /**
   * One call; its answer must be JSON of the documented shape (`check` says what is wrong, if anything), so an
   * HTML page or `{}` never reads as "no checks" or "no windows".
   */
  private async call<T>(request: HttpRequest, check: (data: unknown) => string | undefined = shape.object): Promise<T> {
    await this.ensureBudget(1);
    let response;
    try {
      response = await this.http.request<unknown>(request);
    } catch (error) {
      throw mapPingdomError(error);
    }
    const problem = check(response.data);
    if (problem) throw unexpectedShape('Pingdom', this.http.where(request), response.status, problem);
    return response.data as T;
  }

  async listChecks(): Promise<PingdomCheck[]> {
    const pageSize = 25_000;
    const checks: PingdomCheck[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.call<{ checks: RawCheck[] }>(
        { method: 'GET', path: 'checks', query: { include_tags: true, limit: pageSize, offset } },
        (data) => shape.arrayOf(data, 'checks', { id: 'number', name: 'string' }),
      );
      checks.push(...page.checks.map(toCheck));
      if (page.checks.length < pageSize) return checks;
    }
  }

  /** Pauses or unpauses exactly these checks. Never called with an empty list: Pingdom would change all. */
  async setPaused(checkIds: number[], paused: boolean): Promise<void> {
    if (checkIds.length === 0)
      throw new SafetyError('Refusing PUT /checks with no check ids: Pingdom would change every check on the account.');
    await this.call({ method: 'PUT', path: 'checks', body: { paused, checkids: checkIds.join(',') } }, modified);
  }

  async listWindows(): Promise<PingdomWindow[]> {
    const pageSize = 1000;
    const windows: PingdomWindow[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.call<{ maintenance: RawWindow[] }>(
        { method: 'GET', path: 'maintenance', query: { limit: pageSize, offset } },
        (data) => shape.arrayOf(data, 'maintenance', { id: 'number', from: 'number', to: 'number' }),
      );
      windows.push(...page.maintenance.map(toWindow));
      if (page.maintenance.length < pageSize) return windows;
    }
  }

  /** Creates a window starting now (`from: 1`). A POST: the caller looks for it before sending it again. */
  async createWindow(window: { description: string; to: number; checkIds: number[] }): Promise<number> {
    if (window.checkIds.length === 0) throw new SafetyError('Refusing to create a Pingdom maintenance window for no checks.');
    const created = await this.call<{ maintenance: { id: number } }>(
      {
        method: 'POST',
        path: 'maintenance',
        body: { description: window.description, from: 1, to: window.to, uptimeids: window.checkIds },
      },
      (data) =>
        shape.object(data) ??
        (shape.fields((data as { maintenance?: unknown }).maintenance, { id: 'number' }) &&
          "'maintenance.id' is not a number (the window may have been created)"),
    );
    return created.maintenance.id;
  }

  /** Sets one check's paused flag and/or its whole tag list, in one write (`PUT /checks/{id}`). */
  async updateCheck(id: number, change: { paused?: boolean; tags?: string[] }): Promise<void> {
    const body: Record<string, unknown> = {};
    if (change.paused !== undefined) body.paused = change.paused;
    if (change.tags) body.tags = change.tags.join(',');
    await this.call({ method: 'PUT', path: `checks/${id}`, body });
  }

  async setWindowEnd(id: number, to: number): Promise<void> {
    await this.call({ method: 'PUT', path: `maintenance/${id}`, body: { to } }, modified);
  }

  async deleteWindow(id: number): Promise<void> {
    await this.call({ method: 'DELETE', path: `maintenance/${id}` }, modified);
  }
}

/** Pingdom answers a change with `{ message: "Modification of … was successful!" }`. */
const modified = (data: unknown) => shape.fields(data, { message: 'string' }) && `the answer ${shape.fields(data, { message: 'string' })}`;

interface RawCheck {
  id: number;
  name: string;
  hostname?: string;
  status?: string;
  tags?: Array<{ name: string } | string>;
}

interface RawWindow {
  id: number;
  description?: string;
  from: number;
  to: number;
  checks?: { uptime?: number[]; tms?: number[] };
}

function toCheck(raw: RawCheck): PingdomCheck {
  return {
    id: raw.id,
    name: raw.name,
    hostname: raw.hostname,
    status: raw.status ?? 'unknown',
    tags: (raw.tags ?? []).map((tag) => (typeof tag === 'string' ? tag : tag.name)),
  };
}

function toWindow(raw: RawWindow): PingdomWindow {
  return { id: raw.id, description: raw.description ?? '', from: raw.from, to: raw.to, uptimeIds: raw.checks?.uptime ?? [] };
}

/** Pingdom's error body `{error:{statuscode,statusdesc,errormessage}}` → a message a person can act on. */
export function mapPingdomError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  const notAnAnswer = answerFailure(error);
  if (notAnAnswer) return notAnAnswer;
  const body = (error.data as { error?: { statuscode?: number; statusdesc?: string; errormessage?: string } } | undefined)?.error;
  const detail = body?.errormessage ? `${body.statusdesc ?? error.status}: ${body.errormessage}` : error.message;
  const advice =
    error.status === 401 || error.status === 403
      ? "Check the Pingdom service connection's API token: it must be valid and have Read/Write access."
      : error.status === 429
        ? 'Pingdom rate-limited the token; wait a while and run the step again.'
        : undefined;
  return new ServiceError('Pingdom', `${error.method} ${error.target} failed (${detail})`, { status: error.status, advice, cause: error });
}
