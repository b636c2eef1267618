import { ServiceError } from '../core/errors';
import {
  answerFailure,
  HttpClient,
  HttpError,
  shape,
  unexpectedShape,
  withoutService,
  type HttpRequest,
  type HttpResponse,
} from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';
import { textOf } from '../core/text';
import { registerWebhookSecrets } from './connection';

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

interface SlackAnswer {
  ok: boolean;
  error?: string;
  needed?: string;
  provided?: string;
  warning?: string;
  [key: string]: unknown;
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

interface ErrorContext {
  channel?: string;
  botName?: string;
}

const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'no_permission',
  'ekm_access_denied',
]);

/** The advice for each `ok:false` error a person can do something about. */
export function slackApiError(method: string, answer: SlackAnswer, context: ErrorContext = {}): ServiceError {
  const code = answer.error ?? 'unknown_error';
  const where = context.channel ?? 'the channel';
  const app = context.botName ? `@${context.botName}` : '@your-app';
  const fail = (message: string, advice?: string) => new ServiceError('Slack', message, { code, advice });
  if (AUTH_ERRORS.has(code)) {
    return fail(
      `the bot token was refused (${code}).`,
      "Put a valid bot token (xoxb-…) from the Slack app's OAuth & Permissions page into the service connection; reinstall the app " +
        'if it was removed from the workspace.',
    );
  }
  switch (code) {
    case 'not_in_channel':
      return fail(
        `the app is not a member of ${where} (not_in_channel).`,
        `Invite the app to ${where} (type /invite ${app} in the channel).`,
      );
    case 'channel_not_found':
      return fail(
        `${where} was not found (channel_not_found).`,
        'Check the channel id or name; a private channel is only visible to the app once it is a member (/invite @app).',
      );
    case 'is_archived':
      return fail(`${where} is archived (is_archived).`, 'Unarchive the channel, or post to another one.');
    case 'missing_scope': {
      const scope = answer.needed ?? 'the scope this call needs';
      const why = method === 'conversations.list' ? ' (to find channels by name; or give channel ids (C…) instead of names)' : '';
      return fail(
        `the Slack app lacks the ${scope} scope for ${method}.`,
        `Add the bot scope ${scope}${why} on the app's OAuth & Permissions page and reinstall the app to the workspace.`,
      );
    }
    case 'msg_too_long':
      return fail('the message is too long (msg_too_long).', 'Shorten the message or the results given to the step.');
    case 'no_text':
      return fail('the message is empty (no_text).', 'Give the step a message.');
    case 'posting_to_general_channel_denied':
    case 'restricted_action':
      return fail(
        `the workspace does not let the app post to ${where} (${code}).`,
        'Ask a workspace admin to allow it, or post to another channel.',
      );
    case 'invalid_blocks':
    case 'invalid_blocks_format':
      return fail(
        `Slack refused the message layout (${code}).`,
        'The layout is built by this task, so this is a bug: report it with the step log.',
      );
    case 'ratelimited':
      return fail(`Slack rate-limited ${method} (ratelimited).`, 'Re-run the step in a minute.');
    case 'invalid_cursor':
    case 'invalid_limit':
    case 'invalid_types':
      return fail(`Slack refused the channel listing (${code}).`, 'This is a bug in the task: report it with the step log.');
    default:
      return fail(`${method} failed: ${code}.`, `See https://api.slack.com/methods/${method}#errors for what '${code}' means.`);
  }
}

/** Errors with no Slack answer: an HTTP status (after the HTTP layer's retries) or a dropped connection. */
function slackHttpError(method: string, error: unknown, channel?: string): unknown {
  if (!(error instanceof HttpError)) return error;
  const posting = method === 'chat.postMessage';
  if (error.failure !== 'status' && error.failure !== 'network') {
    // Not Slack's answer, or no end to it: a post may still have reached the channel.
    if (!posting) return answerFailure(error);
    return new ServiceError(
      'Slack',
      `${withoutService(error)}. The message to ${channel ?? 'the channel'} may have been posted, so it was not sent again.`,
      {
        status: error.status,
        code: error.failure,
        advice: 'Look in the channel and re-run the step only if the message is missing.',
        cause: error,
      },
    );
  }
  if (error.status === 429) {
    return new ServiceError('Slack', `${error.message}: still rate-limited after waiting.`, {
      status: 429,
      cause: error,
      advice: 'Re-run the step in a minute.',
    });
  }
  const mayHavePosted =
    posting &&
    (error.status === undefined ? error.networkCode !== 'ECONNREFUSED' && error.networkCode !== 'EAI_AGAIN' : error.status >= 500);
  if (mayHavePosted) {
    return new ServiceError(
      'Slack',
      `${error.message}. The message to ${channel ?? 'the channel'} may have been posted, so it was not sent again.`,
      {
        status: error.status,
        cause: error,
        advice: 'Look in the channel and re-run the step only if the message is missing.',
      },
    );
  }
  if (error.status === 404) {
    return new ServiceError('Slack', `${error.message}.`, {
      status: 404,
      cause: error,
      advice: "Check the service connection's server URL: it should be https://slack.com/api (or a proxy of it).",
    });
  }
  return new ServiceError('Slack', `${error.message}.`, { status: error.status, cause: error });
}

/** How a webhook is named in messages, since its URL may not be shown. */
export const SLACK_WEBHOOK_TARGET = 'the Slack incoming webhook (URL hidden: it is a secret)';

/** Advice for each plain-text error an incoming webhook answers. */
const WEBHOOK_ERRORS: Record<string, { message: string; advice: string }> = {
  invalid_payload: {
    message: 'Slack could not read the message (invalid_payload).',
    advice: 'The message is built by this task, so this is a bug: report it with the step log.',
  },
  no_text: { message: 'the message is empty (no_text).', advice: 'Give the step a message.' },
  user_not_found: {
    message: 'the webhook names a user that does not exist (user_not_found).',
    advice: 'Create a new incoming webhook and put its URL in the service connection.',
  },
  action_prohibited: {
    message: "a workspace admin has restricted posting to the webhook's channel (action_prohibited).",
    advice: 'Ask a workspace admin to allow the app to post there, or make a webhook for another channel.',
  },
  channel_not_found: {
    message: "the webhook's channel no longer exists (channel_not_found).",
    advice: 'Create a new incoming webhook for an existing channel and put its URL in the service connection.',
  },
  no_service: {
    message: 'the webhook is disabled, removed or invalid (no_service).',
    advice:
      "Check that the whole webhook URL is in the service connection's token; if it is, the app or the webhook was removed: create " +
      'a new incoming webhook.',
  },
  no_team: {
    message: "the webhook's workspace was not found (no_team).",
    advice: 'Create a new incoming webhook and put its URL in the service connection.',
  },
  team_disabled: { message: "the webhook's workspace is disabled (team_disabled).", advice: 'Ask a Slack admin about the workspace.' },
  invalid_token: {
    message: 'the webhook URL is not valid (invalid_token).',
    advice: "Copy the whole webhook URL into the service connection's token.",
  },
  channel_is_archived: {
    message: "the webhook's channel is archived (channel_is_archived).",
    advice: 'Unarchive the channel, or create a webhook for another channel.',
  },
  rollup_error: {
    message: 'the webhook call failed inside Slack (rollup_error); the message may have been posted, so it was not sent again.',
    advice: 'Look in the channel and re-run the step only if the message is missing.',
  },
};

export interface SlackWebhookOptions {
  log?: Log;
  retry?: RetryOptions;
  /** Largest answer read (default 10 MiB). */
  maxBodyBytes?: number;
  /** The window's clock: retries wait on it (ctx.clock). */
  clock: WindowClock;
}

/** Posts to an incoming webhook; success is HTTP 200 with the plain body `ok`. */
export async function postSlackWebhook(webhookUrl: string, message: SlackMessage, options: SlackWebhookOptions): Promise<void> {
  // Before any request: an error body that echoes only the path or the signature is masked too.
  registerWebhookSecrets(options.log, webhookUrl);
  const client = new HttpClient({
    baseUrl: webhookUrl,
    service: 'Slack',
    describeTarget: SLACK_WEBHOOK_TARGET,
    log: options.log,
    retry: options.retry,
    sleep: (ms) => options.clock.wait(ms),
    maxBodyBytes: options.maxBodyBytes,
  });
  let response: HttpResponse<string>;
  try {
    response = await client.request<string>({
      method: 'POST',
      body: message,
      headers: { 'Content-Type': 'application/json' },
      responseType: 'text',
    });
  } catch (error) {
    throw slackWebhookError(error);
  }
  // The documented answer is the plain body `ok`; anything else (a proxy's or sign-in page) is not Slack's.
  const body = String(response.data ?? '').trim();
  if (body !== 'ok') {
    const type = (response.headers['content-type'] ?? 'no content type').split(';')[0];
    const snippet = body.slice(0, 60).replace(/\s+/g, ' ');
    throw new ServiceError(
      'Slack',
      `answered ${response.status} with ${type} ('${options.log?.mask(snippet) ?? snippet}') where the webhook's 'ok' was expected ` +
        `(POST ${SLACK_WEBHOOK_TARGET}).`,
      {
        status: response.status,
        code: 'unexpected-answer',
        advice:
          'Something other than Slack may have answered (a proxy, a sign-in page): look in the channel, check the webhook URL, and ' +
          're-run the step only if the message is missing.',
      },
    );
  }
}

export function slackWebhookError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  if (error.failure !== 'status' && error.failure !== 'network') {
    return new ServiceError('Slack', `${withoutService(error)}; the message may have been posted, so it was not sent again.`, {
      status: error.status,
      code: error.failure,
      cause: error,
      advice: 'Look in the channel and re-run the step only if the message is missing.',
    });
  }
  const code = typeof error.data === 'string' ? error.data.trim() : '';
  const known = WEBHOOK_ERRORS[code];
  if (known) return new ServiceError('Slack', known.message, { status: error.status, code, cause: error, advice: known.advice });
  if (error.status === 429)
    return new ServiceError('Slack', `${error.message}: still rate-limited after waiting.`, {
      status: 429,
      cause: error,
      advice: 'Re-run the step in a minute.',
    });
  if (error.status === undefined || error.status >= 500) {
    const refused = error.networkCode === 'ECONNREFUSED' || error.networkCode === 'EAI_AGAIN';
    return new ServiceError('Slack', `${error.message}${refused ? '.' : '; the message may have been posted, so it was not sent again.'}`, {
      status: error.status,
      cause: error,
      advice: refused
        ? 'Check that the agent can reach hooks.slack.com.'
        : 'Look in the channel and re-run the step only if the message is missing.',
    });
  }
  return new ServiceError('Slack', `${error.message}${code ? ` (${code.slice(0, 100)})` : ''}.`, { status: error.status, cause: error });
}
