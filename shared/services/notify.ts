import { InputError, messageOf, ServiceError } from '../core/errors';
import type { Endpoint } from '../core/inputs';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';
import { registerWebhookSecrets } from './connection';
import { renderSlack, renderTeams, type Notice } from './messages';
import { isChannelId, normalizeChannel, postSlackWebhook, SlackClient, type PostedMessage } from './slack';
import { postTeamsWorkflow } from './teams';

/**
 * Sends one notice to where the step points: Slack channels through the Web API, a Slack incoming webhook,
 * or a Teams workflow webhook. Channel names are all resolved before anything is posted, so a typo fails the
 * step with nothing sent (and a re-run sends nothing twice); a failure on one channel does not keep the
 * others from hearing, and the step then fails naming each channel that did not.
 */

export const PROVIDERS = ['slack', 'slackWebhook', 'teams'] as const;
export type Provider = (typeof PROVIDERS)[number];

export type Destination =
  | { provider: 'slack'; token: string; apiUrl?: string; channels: string[] }
  | { provider: 'slackWebhook'; webhookUrl: string }
  | { provider: 'teams'; webhookUrl: string };

export interface Delivery {
  /** `#channel`, or the webhook's description (never its URL). */
  target: string;
  ok: boolean;
  ts?: string;
  channelId?: string;
  error?: string;
}

export interface NotifyResult {
  deliveries: Delivery[];
  /** Slack only: channel as asked for (without `#`) → message ts. */
  messageIds: Record<string, string>;
}

export interface NotifyOptions {
  log: Log;
  retry?: RetryOptions;
  /** The window's clock: retries wait on it (ctx.clock). */
  clock: WindowClock;
}

/** Thrown when some deliveries failed; carries what was delivered so the step can still report it. */
export class NotifyError extends ServiceError {
  constructor(
    service: string,
    message: string,
    readonly result: NotifyResult,
  ) {
    super(service, message);
  }
}

export async function sendNotice(notice: Notice, destination: Destination, options: NotifyOptions): Promise<NotifyResult> {
  const { log } = options;
  switch (destination.provider) {
    case 'slack':
      return postToSlackChannels(notice, destination, options);
    case 'slackWebhook':
      log.info('Posting to the Slack incoming webhook.');
      await postSlackWebhook(destination.webhookUrl, renderSlack(notice), options);
      log.info('Slack accepted the message.');
      return { deliveries: [{ target: 'Slack incoming webhook', ok: true }], messageIds: {} };
    case 'teams':
      log.info('Posting an Adaptive Card to the Teams workflow webhook.');
      await postTeamsWorkflow(destination.webhookUrl, renderTeams(notice), options);
      log.info('The Teams workflow accepted the card.');
      return { deliveries: [{ target: 'Teams workflow webhook', ok: true }], messageIds: {} };
  }
}

async function postToSlackChannels(
  notice: Notice,
  destination: Extract<Destination, { provider: 'slack' }>,
  options: NotifyOptions,
): Promise<NotifyResult> {
  const { log } = options;
  const client = new SlackClient({
    token: destination.token,
    baseUrl: destination.apiUrl,
    log,
    retry: options.retry,
    clock: options.clock,
  });
  const requested = [...new Set(destination.channels.map(normalizeChannel))];
  const names = requested.filter((channel) => !isChannelId(channel));
  if (names.length) log.info(`Finding Slack channel${names.length > 1 ? 's' : ''} ${names.map((name) => `#${name}`).join(', ')} by name.`);
  const channels = await client.resolveChannels(requested);
  const message = renderSlack(notice);
  const result: NotifyResult = { deliveries: [], messageIds: {} };
  const posted = new Set<string>();
  for (const [index, name] of requested.entries()) {
    const channel = channels.get(name)!;
    const target = channel.name !== channel.id ? `#${channel.name}` : channel.id;
    // `#maintenance` and its id given together would otherwise post twice.
    if (posted.has(channel.id)) continue;
    posted.add(channel.id);
    log.progress((index / requested.length) * 100, `Posting to ${target}`);
    try {
      const sent: PostedMessage = { requested: name, ...(await client.postMessage(channel, message)), channelId: channel.id };
      result.messageIds[name] = sent.ts;
      result.deliveries.push({ target, ok: true, ts: sent.ts, channelId: sent.channelId });
      log.info(`Posted to ${target} (${sent.channelId}), message ts ${sent.ts}.`);
    } catch (error) {
      // A refused token or scope fails the same way everywhere: stop rather than repeat it per channel.
      if (error instanceof ServiceError && isWorkspaceWide(error.code)) throw error;
      const reason = messageOf(error).replace(/^Slack: /, '');
      result.deliveries.push({ target, ok: false, error: reason });
      log.warn(`Could not post to ${target}: ${reason}`);
    }
  }
  log.progress(100, 'Slack notification done');
  const failed = result.deliveries.filter((delivery) => !delivery.ok);
  if (failed.length) {
    const delivered = result.deliveries.filter((delivery) => delivery.ok).map((delivery) => delivery.target);
    const heading = delivered.length
      ? `posted to ${delivered.join(', ')}, but not to ${failed.length} channel(s)`
      : 'the message was not posted';
    const rerun = delivered.length
      ? ` A re-run posts to every listed channel again: list only ${failed.map((delivery) => delivery.target).join(', ')} to avoid ` +
        `duplicates.`
      : '';
    throw new NotifyError('Slack', `${heading}: ${failed.map((delivery) => delivery.error).join(' | ')}${rerun}`, result);
  }
  return result;
}

function isWorkspaceWide(code: string | undefined): boolean {
  return (
    code !== undefined &&
    ['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'missing_scope'].includes(code)
  );
}

/** A Slack connection's token must be a token, not a webhook URL pasted into the wrong kind of connection. */
export function botToken(inputName: string, endpoint: Endpoint): string {
  const token = endpoint.parameters.apitoken ?? '';
  if (!token) throw new InputError(inputName, "the service connection has no token: put the Slack app's bot token (xoxb-…) in it.");
  if (/^https?:\/\//i.test(token)) {
    throw new InputError(
      inputName,
      'the token is a URL (an incoming webhook?): use provider slackWebhook with a Slack webhook connection, or put the bot token ' +
        '(xoxb-…) here.',
    );
  }
  return token;
}

/**
 * For webhook connections the token is the whole URL; messages describe it without showing it. Given the log,
 * the URL's secret parts (a Slack path, a Teams `sig`) are masked alone too, as soon as the URL is read.
 */
export function webhookUrl(inputName: string, endpoint: Endpoint, provider: 'slackWebhook' | 'teams', log?: Log): string {
  const expected = provider === 'teams' ? "the workflow trigger's HTTP POST URL" : 'https://hooks.slack.com/services/T…/B…/…';
  const url = endpoint.parameters.apitoken ?? '';
  let valid: boolean;
  try {
    valid = /^https?:$/.test(new URL(url).protocol);
  } catch {
    valid = false;
  }
  if (!valid) throw new InputError(inputName, `the service connection's token must be the whole webhook URL (${expected}).`);
  registerWebhookSecrets(log, url);
  return url;
}
