import { InputError, messageOf } from '../core/errors';
import { loadYaml } from '../core/lazy';
import { HttpClient, type HttpMethod } from '../core/http';
import type { Log } from '../core/log';
import { textOf } from '../core/text';
import { retry, sleep, STANDING_CLOCK } from '../core/retry';

/**
 * HTTP smoke checks: a URL, what it must answer (status, body text or pattern) and how fast, retried with a
 * delay before a check counts as failed. Used for the Saturday and Sunday smoke tests of the window.
 */

export interface SmokeCheck {
  name: string;
  url: string;
  method: HttpMethod;
  expectStatus: number[];
  bodyContains?: string;
  bodyMatches?: string;
  maxLatencyMs?: number;
  headers?: Record<string, string>;
  retries: number;
  retryDelaySeconds: number;
}

export interface CheckDefaults {
  expectStatus: number[];
  bodyContains?: string;
  maxLatencyMs?: number;
  retries: number;
  retryDelaySeconds: number;
  baseUrl?: string;
}

export interface CheckResult {
  name: string;
  url: string;
  passed: boolean;
  status?: number;
  latencyMs?: number;
  attempts: number;
  /** Why it failed (the last attempt), or empty. */
  reasons: string[];
}

const METHODS: HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const CHECK_FIELDS = new Set([
  'name',
  'url',
  'method',
  'expectStatus',
  'bodyContains',
  'bodyMatches',
  'maxLatencyMs',
  'headers',
  'retries',
  'retryDelaySeconds',
]);

function statusList(inputName: string, value: unknown): number[] {
  const items = Array.isArray(value)
    ? value
    : String(value)
        .split(/[\s,]+/)
        .filter(Boolean);
  const statuses = items.map(Number);
  for (const status of statuses) {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new InputError(inputName, `expected status '${items.join(',')}' is not a list of HTTP statuses.`);
    }
  }
  return statuses;
}

function resolveUrl(inputName: string, url: string, baseUrl?: string): string {
  const full = /^https?:\/\//i.test(url) ? url : baseUrl ? `${baseUrl.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : url;
  try {
    const parsed = new URL(full);
    if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http');
  } catch {
    throw new InputError(inputName, `'${url}' is not an http(s) URL${baseUrl ? '' : ' (give a full URL or set baseUrl)'}.`);
  }
  return full;
}

/**
 * Parses checks given inline or from a file: either a YAML/JSON list of check objects, or one check per line
 * (`[METHOD] URL [STATUS,...]`). `source` names the input for messages.
 */
export function parseChecks(source: string, text: string, defaults: CheckDefaults): SmokeCheck[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  let items: unknown[] | undefined;
  if (/^[-[{]/.test(trimmed)) {
    let parsed: unknown;
    try {
      parsed = loadYaml().parse(trimmed);
    } catch (error) {
      throw new InputError(source, `is not valid YAML or JSON: ${messageOf(error)}`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { checks?: unknown })?.checks;
    if (!Array.isArray(list)) throw new InputError(source, 'must be a list of checks (or an object with a "checks" list).');
    items = list;
  }
  if (!items) {
    return trimmed
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => {
        const parts = line.split(/\s+/);
        const method = METHODS.includes(parts[0].toUpperCase() as HttpMethod) ? (parts.shift()!.toUpperCase() as HttpMethod) : 'GET';
        const url = resolveUrl(source, parts.shift() ?? '', defaults.baseUrl);
        const expectStatus = parts.length ? statusList(source, parts.join(',')) : defaults.expectStatus;
        return { ...defaults, name: `${method} ${url}`, url, method, expectStatus };
      });
  }
  return items.map((item, index) => {
    if (!item || typeof item !== 'object') throw new InputError(source, `check ${index + 1} is not an object.`);
    const check = item as Record<string, unknown>;
    const unknown = Object.keys(check).filter((key) => !CHECK_FIELDS.has(key));
    if (unknown.length) {
      throw new InputError(
        source,
        `check ${index + 1} has unknown field(s) ${unknown.join(', ')}; allowed: ${[...CHECK_FIELDS].join(', ')}.`,
      );
    }
    if (typeof check.url !== 'string') throw new InputError(source, `check ${index + 1} needs a "url".`);
    const url = resolveUrl(source, check.url, defaults.baseUrl);
    const method = textOf(check.method ?? 'GET').toUpperCase() as HttpMethod;
    if (!METHODS.includes(method))
      throw new InputError(source, `check ${index + 1} has method '${method}'; use one of ${METHODS.join(', ')}.`);
    if (check.bodyMatches !== undefined) {
      try {
        new RegExp(textOf(check.bodyMatches));
      } catch (error) {
        throw new InputError(source, `check ${index + 1} has an invalid bodyMatches pattern: ${messageOf(error)}`);
      }
    }
    const number = (field: string, fallback?: number) => {
      const value = check[field];
      if (value === undefined) return fallback;
      const parsed = Number(value);
      if (!Number.isFinite(parsed) || parsed < 0)
        throw new InputError(source, `check ${index + 1}: ${field} must be a number of 0 or more.`);
      return parsed;
    };
    return {
      name: typeof check.name === 'string' ? check.name : `${method} ${url}`,
      url,
      method,
      expectStatus: check.expectStatus !== undefined ? statusList(source, check.expectStatus) : defaults.expectStatus,
      bodyContains: check.bodyContains !== undefined ? textOf(check.bodyContains) : defaults.bodyContains,
      bodyMatches: check.bodyMatches !== undefined ? textOf(check.bodyMatches) : undefined,
      maxLatencyMs: number('maxLatencyMs', defaults.maxLatencyMs),
      headers: check.headers as Record<string, string> | undefined,
      retries: number('retries', defaults.retries)!,
      retryDelaySeconds: number('retryDelaySeconds', defaults.retryDelaySeconds)!,
    };
  });
}

export interface RunChecksOptions {
  log: Log;
  timeoutSeconds: number;
  /** How many checks run at once. */
  parallel?: number;
  wait?: (ms: number) => Promise<void>;
}

async function attempt(check: SmokeCheck, client: HttpClient): Promise<Omit<CheckResult, 'name' | 'url' | 'attempts'>> {
  const started = performance.now();
  try {
    const response = await client.request<string>({
      method: check.method,
      path: check.url,
      headers: check.headers,
      responseType: 'text',
      accept: () => true,
    });
    const latencyMs = Math.round(performance.now() - started);
    const reasons: string[] = [];
    if (!check.expectStatus.includes(response.status)) {
      reasons.push(`status ${response.status}, expected ${check.expectStatus.join(' or ')}`);
    }
    const body = typeof response.data === 'string' ? response.data : JSON.stringify(response.data ?? '');
    if (check.bodyContains !== undefined && !body.includes(check.bodyContains))
      reasons.push(`body does not contain "${check.bodyContains}"`);
    if (check.bodyMatches !== undefined && !new RegExp(check.bodyMatches).test(body))
      reasons.push(`body does not match /${check.bodyMatches}/`);
    if (check.maxLatencyMs !== undefined && latencyMs > check.maxLatencyMs)
      reasons.push(`took ${latencyMs} ms, more than ${check.maxLatencyMs} ms`);
    return { passed: reasons.length === 0, status: response.status, latencyMs, reasons };
  } catch (error) {
    return { passed: false, latencyMs: Math.round(performance.now() - started), reasons: [messageOf(error)] };
  }
}

export async function runCheck(check: SmokeCheck, options: RunChecksOptions): Promise<CheckResult> {
  const client = new HttpClient({
    baseUrl: check.url,
    service: check.name,
    retry: { maxRetries: 0 },
    attemptTimeoutMs: options.timeoutSeconds * 1000,
    log: options.log,
  });
  const wait = options.wait ?? sleep;
  let attempts = 0;
  try {
    return await retry<CheckResult, CheckFailed>(
      async () => {
        attempts++;
        const outcome = await attempt(check, client);
        if (!outcome.passed) throw new CheckFailed(outcome);
        return { name: check.name, url: check.url, attempts, ...outcome };
      },
      {
        maxRetries: check.retries,
        retryable: (failure) => failure instanceof CheckFailed,
        backoff: { kind: 'fixed', delayMs: check.retryDelaySeconds * 1000 },
      },
      {
        // No deadline, so only the wait matters: a real one unless the caller gives its own.
        clock: { now: STANDING_CLOCK.now, wait: (ms) => wait(ms) },
        onRetry: ({ failure }) =>
          options.log.info(
            `${check.name}: ${failure.outcome.reasons.join('; ')}; ` +
              `trying again in ${check.retryDelaySeconds} s (attempt ${attempts + 1} of ${check.retries + 1}).`,
          ),
      },
    );
  } catch (error) {
    if (error instanceof CheckFailed) return { name: check.name, url: check.url, attempts, ...error.outcome };
    throw error;
  }
}

/** A check's attempt that did not pass: retried, and its outcome is the result once out of retries. */
class CheckFailed extends Error {
  constructor(readonly outcome: Omit<CheckResult, 'name' | 'url' | 'attempts'>) {
    super(outcome.reasons.join('; '));
  }
}

/** Runs every check (a few at a time), logging each result as it comes. */
export async function runChecks(checks: SmokeCheck[], options: RunChecksOptions): Promise<CheckResult[]> {
  const results = new Array<CheckResult>(checks.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < checks.length) {
      const index = next++;
      const result = await runCheck(checks[index], options);
      results[index] = result;
      done++;
      options.log.progress((done / checks.length) * 100, `${done} of ${checks.length} checks done`);
      options.log.info(
        `${result.passed ? 'PASS' : 'FAIL'} ${result.name}: ${result.status ?? 'no answer'} in ${result.latencyMs ?? '-'} ms` +
          `${result.attempts > 1 ? ` after ${result.attempts} attempts` : ''}${result.passed ? '' : ` (${result.reasons.join('; ')})`}`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel ?? 4, checks.length)) }, worker));
  return results;
}
