import { ServiceError } from '../core/errors';
import { HttpClient, shape, unexpectedShape, type HttpRequest, type HttpResponse } from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';
import { textOf } from '../core/text';
import { slackApiError, slackHttpError, type SlackAnswer } from './slack-errors';

/**
 * Slack, two ways: the Web API with a bot token (`chat.postMessage`, channel names resolved to ids through
 * `conversations.list`), and incoming webhooks (a secret URL bound to one channel).
 *
 * Slack fails in two shapes: HTTP 200 with `{ok:false, error}`, turned here into a ServiceError with advice a
 * person can act on, and HTTP 429 with `Retry-After`, which the HTTP layer waits out. Posting is not
 * idempotent: a 5xx or a dropped connection after sending is reported, never re-sent blindly, because a
 * duplicate announcement in a busy channel is worse than a missing one that the step's failure points at.
 */

export const SLACK_API_DEFAULT = 'https://slack.com/api';

/** The Slack block kit subset our messages use. */
export type SlackText = { type: 'mrkdwn'; text: string } | { type: 'plain_text'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

/** What is posted: `text` is the notification and fallback, `blocks` the layout. */
export interface SlackMessage {
  text: string;
  blocks?: SlackBlock[];
}

export interface SlackChannel {
  id: string;
  name: string;
  is_private?: boolean;
  is_archived?: boolean;
  is_member?: boolean;
}

export interface PostedMessage {
  /** The channel as asked for (name without `#`, or id). */
  requested: string;
  channelId: string;
  /** The message's timestamp: its id within the channel. */
  ts: string;
}

/**
 * The Web API base from a connection's server URL as people type it: `https://slack.com`, `https://slack.com/`,
 * `https://slack.com/api` and `https://slack.com/api/` all mean `https://slack.com/api`. Empty means Slack itself.
 */
export function slackApiBaseUrl(endpointUrl: string | undefined): string {
  const trimmed = (endpointUrl ?? '').trim().replace(/\/+$/, '');
  if (!trimmed) return SLACK_API_DEFAULT;
  return /\/api$/i.test(trimmed) ? trimmed : `${trimmed}/api`;
}

/** Channel ids look like `C0123ABCD` (public), `G…` (old private) or `D…` (direct); names are lower case. */
export function isChannelId(value: string): boolean {
  return /^[CGD][A-Z0-9]{6,}$/.test(value);
}

/** `#Dailyops` → `dailyops`; ids are kept as they are. */
export function normalizeChannel(value: string): string {
  const bare = value.trim().replace(/^#/, '');
  return isChannelId(bare) ? bare : bare.toLowerCase();
}

export interface SlackClientOptions {
  token: string;
  /** The connection's server URL (see `slackApiBaseUrl`). */
  baseUrl?: string;
  log?: Log;
  retry?: RetryOptions;
  /** The window's clock: retries wait on it (ctx.clock). */
  clock: WindowClock;
  /** Page size for conversations.list (Slack's maximum is 1000; it may return fewer). */
  pageSize?: number;
  /** Largest answer read (default 10 MiB). */
  maxBodyBytes?: number;
}

export class SlackClient {
  private readonly http: HttpClient;
  /** Channels seen so far, by name; filled page by page and kept for the rest of the run. */
  private readonly channelsByName = new Map<string, SlackChannel>();
  private listing?: { cursor: string; done: boolean; types: string };
  private botName?: string;

  constructor(private readonly options: SlackClientOptions) {
    this.http = new HttpClient({
      baseUrl: slackApiBaseUrl(options.baseUrl),
      service: 'Slack',
      headers: { Authorization: `Bearer ${options.token}` },
      log: options.log,
      retry: options.retry,
      maxBodyBytes: options.maxBodyBytes,
      sleep: (ms) => options.clock.wait(ms),
    });
  }

  /**
   * Calls a Web API method; `ok:false` becomes a ServiceError with advice. An answer without a boolean `ok`,
   * or an `ok:true` without what the method documents (`fields`), is a typed error, never an empty answer.
   */
  private async call(
    method: string,
    request: { http: 'GET' | 'POST'; args: Record<string, unknown> },
    channel?: string,
    fields: Record<string, 'string'> | { array: string } = {},
  ): Promise<SlackAnswer> {
    const httpRequest: HttpRequest =
      request.http === 'GET'
        ? { method: 'GET', path: method, query: request.args as Record<string, string> }
        : { method: 'POST', path: method, body: request.args, headers: { 'Content-Type': 'application/json; charset=utf-8' } };
    let response: HttpResponse<SlackAnswer>;
    try {
      response = await this.http.request<SlackAnswer>(httpRequest);
    } catch (error) {
      throw slackHttpError(method, error, channel);
    }
    const answer = response.data;
    const where = this.http.where(httpRequest);
    const notAnswer = shape.fields(answer, { ok: 'boolean' });
    if (notAnswer) throw unexpectedShape('Slack', where, response.status, `the answer ${notAnswer}`);
    if (!answer.ok)
      throw slackApiError(method, answer, {
        channel,
        botName: channel && answer.error === 'not_in_channel' ? await this.appName() : undefined,
      });
    const problem = 'array' in fields ? shape.arrayOf(answer, fields.array) : shape.fields(answer, fields);
    // ok:true without a `ts` still posted: say so, so nobody posts it twice.
    if (problem)
      throw unexpectedShape(
        'Slack',
        where,
        response.status,
        method === 'chat.postMessage' ? `${problem} (the message was probably posted)` : problem,
      );
    return answer;
  }

  /** The bot's own name, for advice such as `/invite @name`; best effort. */
  private async appName(): Promise<string | undefined> {
    if (this.botName !== undefined) return this.botName || undefined;
    try {
      const response = await this.http.request<SlackAnswer>({ method: 'POST', path: 'auth.test', idempotent: true });
      this.botName = response.data?.ok && typeof response.data.user === 'string' ? response.data.user : '';
    } catch {
      this.botName = '';
    }
    return this.botName || undefined;
  }

  /**
   * Resolves channel names (with or without `#`) and ids to channels. Ids pass through unchecked (posting
   * tells); names are looked up in conversations.list, paging only as far as needed. Unknown names are
   * reported together, before anything is posted.
   */
  async resolveChannels(channels: string[]): Promise<Map<string, SlackChannel>> {
    const resolved = new Map<string, SlackChannel>();
    const wanted = new Set<string>();
    for (const channel of channels.map(normalizeChannel)) {
      if (isChannelId(channel)) resolved.set(channel, { id: channel, name: channel });
      else wanted.add(channel);
    }
    const missing = () => [...wanted].filter((name) => !this.channelsByName.has(name));
    while (missing().length && !this.listing?.done) await this.nextChannelPage();
    const notFound = missing();
    if (notFound.length) {
      const names = notFound.map((name) => `#${name}`).join(', ');
      throw new ServiceError(
        'Slack',
        `channel${notFound.length > 1 ? 's' : ''} ${names} ${notFound.length > 1 ? 'were' : 'was'} not found.`,
        {
          code: 'channel_not_found',
          advice:
            'Check the spelling (channel names are lower case, without spaces). A private channel is only visible to the app once ' +
            'the app is a member: invite it there (/invite @app), or give the channel id (C…) instead of the name.',
        },
      );
    }
    for (const name of wanted) resolved.set(name, this.channelsByName.get(name)!);
    return resolved;
  }

  private async nextChannelPage(): Promise<void> {
    this.listing ??= { cursor: '', done: false, types: 'public_channel,private_channel' };
    const args: Record<string, string> = {
      types: this.listing.types,
      exclude_archived: 'false',
      limit: String(this.options.pageSize ?? 1000),
    };
    if (this.listing.cursor) args.cursor = this.listing.cursor;
    let answer: SlackAnswer;
    try {
      answer = await this.call('conversations.list', { http: 'GET', args }, undefined, { array: 'channels' });
    } catch (error) {
      // Without groups:read the app cannot list private channels; public ones are still worth finding.
      if (
        error instanceof ServiceError &&
        error.code === 'missing_scope' &&
        this.listing.types.includes('private_channel') &&
        !this.listing.cursor
      ) {
        this.options.log?.info('The Slack app may not list private channels (no groups:read scope); looking among public channels only.');
        this.listing.types = 'public_channel';
        return;
      }
      throw error;
    }
    for (const channel of (answer.channels as SlackChannel[] | undefined) ?? []) {
      const known = this.channelsByName.get(channel.name);
      // Names are unique among live channels; an archived namesake must not shadow the live one.
      if (!known || (known.is_archived && !channel.is_archived)) this.channelsByName.set(channel.name, channel);
    }
    const next = (answer.response_metadata as { next_cursor?: string } | undefined)?.next_cursor ?? '';
    this.listing.cursor = next;
    this.listing.done = next === '';
  }

  /** A channel by id (conversations.info): whether the bot is in it, for a preflight that posts nothing. */
  async channelInfo(id: string): Promise<SlackChannel> {
    const answer = await this.call('conversations.info', { http: 'GET', args: { channel: id } }, id);
    const channel = answer.channel as SlackChannel | undefined;
    if (!channel || typeof channel.id !== 'string') throw unexpectedShape('Slack', 'conversations.info', 200, 'the answer has no channel');
    return channel;
  }

  /** Posts a message to one channel (id, or a name already resolved). */
  async postMessage(channel: SlackChannel, message: SlackMessage): Promise<{ channel: string; ts: string }> {
    const label = channel.name && channel.name !== channel.id ? `#${channel.name}` : channel.id;
    const answer = await this.call(
      'chat.postMessage',
      { http: 'POST', args: { channel: channel.id, text: message.text, blocks: message.blocks, unfurl_links: false } },
      label,
      { ts: 'string' },
    );
    return { channel: textOf(answer.channel ?? channel.id), ts: textOf(answer.ts) };
  }
}

export { slackApiError } from './slack-errors';
export { postSlackWebhook, SLACK_WEBHOOK_TARGET, slackWebhookError, type SlackWebhookOptions } from './slack-webhook';
