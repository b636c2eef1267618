import { ServiceError } from '../core/errors';
import { HttpClient, HttpError, withoutService, type HttpResponse } from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';
import { registerWebhookSecrets } from './connection';

/**
 * Posting JSON to a webhook whose whole URL is the secret (a Slack incoming webhook, a Teams workflow): the URL
 * and its secret parts are masked before anything is sent, messages name the webhook instead of its URL, and a
 * POST that may have reached the service is never sent again (a second message in the channel is worse than
 * a step that says to look whether the first one arrived).
 */

export interface WebhookOptions {
  log?: Log;
  retry?: RetryOptions;
  /** Largest answer read (default 10 MiB). */
  maxBodyBytes?: number;
  /** The window's clock: retries wait on it (ctx.clock). */
  clock: WindowClock;
}

export interface SecretWebhookPost extends WebhookOptions {
  /** The service named in messages ('Slack'). */
  service: string;
  /** How the webhook is named in messages, since its URL may not be shown. */
  target: string;
  /** Turns a failed call into the service's own error (a message a person can act on). */
  describeFailure: (error: unknown) => unknown;
}

/** POSTs `payload` as JSON and returns the answer as text; a failure is thrown as `describeFailure` makes it. */
export async function postToSecretWebhook(webhookUrl: string, payload: unknown, post: SecretWebhookPost): Promise<HttpResponse<string>> {
  // Before any request: an error body that echoes only the path or the signature is masked too.
  registerWebhookSecrets(post.log, webhookUrl);
  const client = new HttpClient({
    baseUrl: webhookUrl,
    service: post.service,
    describeTarget: post.target,
    log: post.log,
    retry: post.retry,
    sleep: (ms) => post.clock.wait(ms),
    maxBodyBytes: post.maxBodyBytes,
  });
  try {
    return await client.request<string>({
      method: 'POST',
      body: payload,
      headers: { 'Content-Type': 'application/json' },
      responseType: 'text',
      // Only a 429, or a connection never made (refused, name not resolved), is tried again: anything else may have arrived.
      idempotent: false,
    });
  } catch (error) {
    throw post.describeFailure(error);
  }
}

/**
 * A failed post that is neither an answer nor a network failure (the deadline, a timeout, a body too large):
 * the request may have arrived, so it is not sent again and the person is told to look before re-running.
 */
export function mayHaveBeenPosted(error: HttpError, service: string, what: string, advice: string): ServiceError {
  return new ServiceError(service, `${withoutService(error)}; the ${what} may have been posted, so it was not sent again.`, {
    status: error.status,
    code: error.failure,
    cause: error,
    advice,
  });
}
