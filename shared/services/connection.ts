import { InputError, ServiceError } from '../core/errors';
import { HttpError } from '../core/http';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { retry, STANDING_CLOCK } from '../core/retry';

/**
 * What the token-based service connections (Pingdom, Cloudflare, New Relic) have in common: a token in the
 * `apitoken` auth parameter and a server URL that people type in many shapes.
 */

/** The connection's token; refuses a connection without one, naming the task input. */
export function connectionToken(inputName: string, endpoint: Endpoint): string {
  const token = endpoint.parameters.apitoken ?? endpoint.parameters.apiToken ?? endpoint.parameters.APITOKEN;
  if (!token) throw new InputError(inputName, `service connection '${endpoint.id}' has no API token (auth parameter 'apitoken').`);
  return token;
}

/**
 * The API base URL from a connection's URL. Empty means the public API. A URL with no path gets the API's
 * usual path (`https://api.pingdom.com` → `https://api.pingdom.com/api/3.1`); a URL with a path is taken as
 * given; a trailing slash makes no difference.
 */
export function apiBaseUrl(inputName: string, typed: string | undefined, publicApi: string): string {
  const value = (typed ?? '').trim();
  if (!value) return publicApi;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(inputName, `the service connection's server URL '${value}' is not a URL.`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new InputError(inputName, `the service connection's server URL '${value}' is not http(s).`);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path || new URL(publicApi).pathname.replace(/\/+$/, '')}`;
}

/** A call that got no answer, or a 5xx: the server may have done what was asked. */
export function answerLost(error: unknown): boolean {
  return (
    error instanceof ServiceError && error.cause instanceof HttpError && (error.cause.failure !== 'status' || (error.status ?? 0) >= 500)
  );
}

/**
 * Creates something with a call that is not safe to repeat blindly (a POST): when the answer is lost, looks
 * for what the call would have made before sending it again, so a lost answer never makes a duplicate.
 */
export async function createOnce<T>(options: {
  create: () => Promise<T>;
  find: () => Promise<T | undefined>;
  log: Log;
  attempts?: number;
}): Promise<T> {
  let lost: unknown;
  return retry(
    async (attempt) => {
      if (attempt > 1) {
        const existing = await options.find();
        if (existing !== undefined) return existing;
        options.log.info(`${(lost as Error).message}; it was not created, trying again.`);
      }
      try {
        return await options.create();
      } catch (error) {
        lost = error;
        throw error;
      }
    },
    // No wait: the look for what the lost call made is the pause before sending it again.
    { maxRetries: (options.attempts ?? 3) - 1, retryable: answerLost, backoff: { kind: 'none' } },
    { clock: STANDING_CLOCK },
  );
}

/** Query parameters that carry a webhook's secret (Power Automate and Logic Apps sign with `sig`). */
const SECRET_QUERY_PARAMETERS = new Set(['sig', 'signature', 'code', 'token', 'key', 'secret']);

/**
 * The parts of a webhook URL that are secret on their own: an error body or a proxy's page may echo the path
 * or the query without the rest of the URL, and the agent (like our Log) masks only whole registered values.
 * A Slack incoming webhook's secret is its path (`/services/T…/B…/<token>`); a Teams or Power Automate
 * workflow's is the `sig` parameter.
 */
export function webhookSecretParts(webhookUrl: string): string[] {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    return [];
  }
  const parts = new Set<string>();
  const services = /\/services\/(.+?)\/*$/.exec(url.pathname);
  if (services) {
    parts.add(`/services/${services[1]}`);
    parts.add(services[1]);
    const token = services[1].split('/').pop() ?? '';
    if (token.length >= 8) parts.add(token);
  }
  for (const [name, value] of url.searchParams) {
    if (!SECRET_QUERY_PARAMETERS.has(name.toLowerCase()) || value.length < 8) continue;
    parts.add(value);
    // As written in the URL too, since a body may echo it encoded (%2B, %2F, %3D) or not.
    const raw = new RegExp(`(?:^|&)${name}=([^&]*)`, 'i').exec(url.search.slice(1))?.[1];
    if (raw) parts.add(raw);
  }
  return [...parts];
}

/** Masks the secret parts of a webhook URL (and the URL itself) in every line from here on. */
export function registerWebhookSecrets(log: Log | undefined, webhookUrl: string): void {
  if (!log) return;
  log.addSecret(webhookUrl);
  for (const part of webhookSecretParts(webhookUrl)) log.addSecret(part);
}
