import { InputError, ServiceError } from '../core/errors';
import { HttpError } from '../core/http';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';

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
  return error instanceof ServiceError && error.cause instanceof HttpError && (error.cause.failure !== 'status' || (error.status ?? 0) >= 500);
}

/**
 * Creates something with a call that is not safe to repeat blindly (a POST): when the answer is lost, looks
 * for what the call would have made before sending it again, so a lost answer never makes a duplicate.
 */
export async function createOnce<T>(options: { create: () => Promise<T>; find: () => Promise<T | undefined>; log: Log; attempts?: number }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await options.create();
    } catch (error) {
      if (!answerLost(error) || attempt >= (options.attempts ?? 3)) throw error;
      const existing = await options.find();
      if (existing !== undefined) return existing;
      options.log.info(`${(error as Error).message}; it was not created, trying again.`);
    }
  }
}
