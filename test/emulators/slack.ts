import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/**
 * Slack's Web API as a bot token sees it (api-facts §3): `chat.postMessage`, `conversations.list` with
 * cursors, `conversations.info`, `auth.test`. Errors are HTTP 200 with `{ok:false, error}`; rate limits are HTTP 429 with
 * `Retry-After` (from the kit's faults, or the built-in ~1 message/s per channel when switched on).
 * Args come as JSON or form bodies or the query string, the token as `Authorization: Bearer` or a `token` arg.
 */

export interface EmulatedChannel {
  id: string;
  name: string;
  is_member: boolean;
  is_archived: boolean;
  is_private: boolean;
}

export interface PostedSlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  at: number;
}

/** Slack's documented ceiling for `text` (longer is `msg_too_long`). */
const TEXT_MAX = 40_000;
const BLOCKS_MAX = 50;
const SECTION_TEXT_MAX = 3000;
const HEADER_TEXT_MAX = 150;

export const SLACK_BOT_TOKEN = 'xoxb-1111111111-2222222222-EmulatedBotTokenValue';

const DEFAULT_CHANNELS: Array<Partial<EmulatedChannel> & { name: string }> = [
  { name: 'general' },
  { name: 'dailyops' },
  { name: 'maintenance' },
  { name: 'platform-int' },
  { name: 'engineering-maintenance' },
  { name: 'random', is_member: false },
  { name: 'old-maintenance', is_archived: true },
  { name: 'platform-private', is_private: true },
];

export class SlackEmulator extends Emulator {
  token = SLACK_BOT_TOKEN;
  /** The bot's user name, as auth.test tells it. */
  botName = 'maintenance-bot';
  /** Scopes the token was granted. */
  scopes = new Set<string>();
  readonly channels = new Map<string, EmulatedChannel>();
  readonly messages: PostedSlackMessage[] = [];
  /** Switch on Slack's ~1 message/s per channel limit (429 with Retry-After: 1). */
  perChannelRateLimit = false;
  /** conversations.list returns at most this many per page, whatever `limit` asks (Slack may return fewer). */
  pageSizeCap = 1000;
  private lastPostAt = new Map<string, number>();
  private sequence = 0;

  constructor() {
    super({ name: 'Slack', https: true });
    this.onReset(() => this.seed());
    this.seed();
    for (const method of ['GET', 'POST']) {
      this.route(method, '/api/conversations.list', (request) => this.conversationsList(request));
      this.route(method, '/api/auth.test', (request) => this.authTest(request));
      this.route(method, '/api/conversations.info', (request) => this.conversationsInfo(request));
    }
    this.route('POST', '/api/chat.postMessage', (request) => this.postMessage(request));
  }

  private seed(): void {
    this.token = SLACK_BOT_TOKEN;
    this.botName = 'maintenance-bot';
    this.scopes = new Set(['chat:write', 'channels:read', 'groups:read']);
    this.channels.clear();
    this.messages.length = 0;
    this.lastPostAt.clear();
    this.perChannelRateLimit = false;
    this.pageSizeCap = 1000;
    this.sequence = 0;
    for (const channel of DEFAULT_CHANNELS) this.addChannel(channel);
  }

  /** Adds a channel (a member, public, live unless told otherwise) and returns it. */
  addChannel(channel: Partial<EmulatedChannel> & { name: string }): EmulatedChannel {
    const added: EmulatedChannel = {
      id: channel.id ?? `C0${(++this.sequence).toString(36).toUpperCase().padStart(8, '0')}`,
      name: channel.name,
      is_member: channel.is_member ?? true,
      is_archived: channel.is_archived ?? false,
      is_private: channel.is_private ?? false,
    };
    this.channels.set(added.id, added);
    return added;
  }

  channelByName(name: string): EmulatedChannel | undefined {
    return [...this.channels.values()].find((channel) => channel.name === name.replace(/^#/, ''));
  }

  /** Messages posted to a channel (by name or id). */
  postedTo(channel: string): PostedSlackMessage[] {
    const id = this.channels.has(channel) ? channel : this.channelByName(channel)?.id;
    return this.messages.filter((message) => message.channel === id);
  }

  private args(request: EmulatorRequest): Record<string, unknown> {
    const fromBody = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
    return { ...Object.fromEntries(request.query), ...fromBody };
  }

  /** `undefined` when the caller is the bot; otherwise the error answer. */
  private authenticate(request: EmulatorRequest, args: Record<string, unknown>): EmulatorResponse | undefined {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ')
      ? header.slice('Bearer '.length).trim()
      : typeof args.token === 'string'
        ? args.token
        : undefined;
    if (!token) return fail('not_authed');
    if (token !== this.token) return fail('invalid_auth');
    return undefined;
  }

  private needScope(scope: string): EmulatorResponse | undefined {
    if (this.scopes.has(scope)) return undefined;
    return { body: { ok: false, error: 'missing_scope', needed: scope, provided: [...this.scopes].join(',') } };
  }

  private authTest(request: EmulatorRequest): EmulatorResponse {
    const args = this.args(request);
    const refused = this.authenticate(request, args);
    if (refused) return refused;
    return {
      body: {
        ok: true,
        url: 'https://emulated.slack.com/',
        team: 'Emulated',
        user: this.botName,
        team_id: 'T0EMULATED',
        user_id: 'U0BOT',
        bot_id: 'B0BOT',
      },
    };
  }

  /** conversations.info: one channel by id (`channel_not_found` for a private one the bot is not in). */
  private conversationsInfo(request: EmulatorRequest): EmulatorResponse {
    const args = this.args(request);
    const refused = this.authenticate(request, args);
    if (refused) return refused;
    const channel = typeof args.channel === 'string' ? this.channels.get(args.channel) : undefined;
    if (!channel || (channel.is_private && !channel.is_member)) return fail('channel_not_found');
    const scopeProblem = this.needScope(channel.is_private ? 'groups:read' : 'channels:read');
    if (scopeProblem) return scopeProblem;
    return {
      body: {
        ok: true,
        channel: {
          id: channel.id,
          name: channel.name,
          is_channel: !channel.is_private,
          is_private: channel.is_private,
          is_archived: channel.is_archived,
          is_member: channel.is_member,
        },
      },
    };
  }

  private conversationsList(request: EmulatorRequest): EmulatorResponse {
    const args = this.args(request);
    const refused = this.authenticate(request, args);
    if (refused) return refused;
    const types = String(args.types ?? 'public_channel')
      .split(',')
      .map((type) => type.trim())
      .filter(Boolean);
    if (types.some((type) => !['public_channel', 'private_channel', 'mpim', 'im'].includes(type))) return fail('invalid_types');
    const scopeProblem = this.needScope('channels:read') ?? (types.includes('private_channel') ? this.needScope('groups:read') : undefined);
    if (scopeProblem) return scopeProblem;
    const limitText = args.limit === undefined || args.limit === '' ? '100' : String(args.limit);
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) return fail('invalid_limit');
    const limit = Math.min(Number(limitText), this.pageSizeCap);
    const excludeArchived = /^(true|1)$/i.test(String(args.exclude_archived ?? 'false'));
    let offset = 0;
    if (args.cursor) {
      const decoded = Buffer.from(String(args.cursor), 'base64').toString('utf8');
      const match = /^next:(\d+)$/.exec(decoded);
      if (!match) return fail('invalid_cursor');
      offset = Number(match[1]);
    }
    // Private channels are listed only where the bot is a member, as Slack does for bot tokens.
    const visible = [...this.channels.values()].filter(
      (channel) =>
        (channel.is_private ? types.includes('private_channel') && channel.is_member : types.includes('public_channel')) &&
        !(excludeArchived && channel.is_archived),
    );
    const page = visible.slice(offset, offset + limit);
    const next = offset + limit < visible.length ? Buffer.from(`next:${offset + limit}`).toString('base64') : '';
    return {
      body: {
        ok: true,
        channels: page.map((channel) => ({
          id: channel.id,
          name: channel.name,
          name_normalized: channel.name,
          is_channel: !channel.is_private,
          is_group: channel.is_private,
          is_im: false,
          is_private: channel.is_private,
          is_archived: channel.is_archived,
          is_member: channel.is_member,
          is_general: channel.name === 'general',
          created: 1_600_000_000,
        })),
        response_metadata: { next_cursor: next },
      },
    };
  }

  private findChannel(value: string): EmulatedChannel | undefined {
    return this.channels.get(value) ?? this.channelByName(value);
  }

  private postMessage(request: EmulatorRequest): EmulatorResponse {
    const args = this.args(request);
    const refused = this.authenticate(request, args);
    if (refused) return refused;
    const scopeProblem = this.needScope('chat:write');
    if (scopeProblem) return scopeProblem;
    const channel = typeof args.channel === 'string' ? this.findChannel(args.channel) : undefined;
    // A private channel the bot is not in does not exist as far as the bot can tell.
    if (!channel || (channel.is_private && !channel.is_member)) return fail('channel_not_found');
    if (channel.is_archived) return fail('is_archived');
    if (!channel.is_member && !(this.scopes.has('chat:write.public') && !channel.is_private)) return fail('not_in_channel');
    let blocks: unknown = args.blocks;
    if (typeof blocks === 'string') {
      try {
        blocks = JSON.parse(blocks);
      } catch {
        return fail('invalid_blocks_format');
      }
    }
    const text = typeof args.text === 'string' ? args.text : undefined;
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (!text?.trim() && !hasBlocks && !args.attachments) return fail('no_text');
    if (text && text.length > TEXT_MAX) return fail('msg_too_long');
    if (blocks !== undefined) {
      const problem = blockProblem(blocks);
      if (problem) return { body: { ok: false, error: 'invalid_blocks', errors: [problem] } };
    }
    if (this.perChannelRateLimit) {
      const last = this.lastPostAt.get(channel.id);
      const now = Date.now();
      if (last !== undefined && now - last < 1000) {
        return { status: 429, headers: { 'Retry-After': 1 }, body: { ok: false, error: 'ratelimited' } };
      }
      this.lastPostAt.set(channel.id, now);
    }
    const ts = this.nextTs();
    this.messages.push({ channel: channel.id, ts, text, blocks: hasBlocks ? (blocks as unknown[]) : undefined, at: Date.now() });
    return {
      body: {
        ok: true,
        channel: channel.id,
        ts,
        message: {
          type: 'message',
          subtype: 'bot_message',
          text: text ?? '',
          user: 'U0BOT',
          bot_id: 'B0BOT',
          ts,
          ...(hasBlocks ? { blocks } : {}),
        },
      },
    };
  }

  private lastTs = 0;

  /** Message timestamps are unique and increasing, as `seconds.micros`. */
  private nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastTs + 1);
    this.lastTs = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }
}

function fail(error: string): EmulatorResponse {
  return { body: { ok: false, error } };
}

/** The block-kit rules our messages could break: counts, lengths and the shape of each block type. */
export function blockProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  if (blocks.length > BLOCKS_MAX) return `more than ${BLOCKS_MAX} blocks`;
  for (const [index, block] of blocks.entries()) {
    const where = `blocks[${index}]`;
    if (!block || typeof block !== 'object') return `${where} is not an object`;
    const b = block as Record<string, any>;
    switch (b.type) {
      case 'header':
        if (b.text?.type !== 'plain_text' || typeof b.text.text !== 'string') return `${where}.text must be plain_text`;
        if (b.text.text.length > HEADER_TEXT_MAX) return `${where}.text is longer than ${HEADER_TEXT_MAX}`;
        break;
      case 'section': {
        if (!b.text && !b.fields) return `${where} needs text or fields`;
        const texts = [b.text, ...(b.fields ?? [])].filter(Boolean);
        if (b.fields && (!Array.isArray(b.fields) || b.fields.length > 10)) return `${where}.fields must be at most 10`;
        for (const text of texts) {
          if (!['mrkdwn', 'plain_text'].includes(text.type) || typeof text.text !== 'string' || text.text === '')
            return `${where} has an invalid text object`;
        }
        if (b.text && b.text.text.length > SECTION_TEXT_MAX) return `${where}.text is longer than ${SECTION_TEXT_MAX}`;
        if ((b.fields ?? []).some((field: any) => field.text.length > 2000)) return `${where}.fields has a text longer than 2000`;
        break;
      }
      case 'context':
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10)
          return `${where}.elements must hold 1 to 10 items`;
        break;
      case 'divider':
        break;
      default:
        return `${where} has unknown type '${String(b.type)}'`;
    }
  }
  return undefined;
}

/**
 * Slack incoming webhooks: `POST /services/T…/B…/secret` with `{text, blocks}` (JSON, or a form field
 * `payload`) answers 200 `ok`; errors are plain-text bodies with their documented statuses.
 */
export type WebhookState = 'active' | 'archived' | 'prohibited' | 'channel_deleted' | 'disabled' | 'rollup_error';

export interface EmulatedWebhook {
  path: string;
  channel: string;
  state: WebhookState;
}

export interface WebhookPost {
  path: string;
  channel: string;
  text?: string;
  blocks?: unknown[];
}

export class SlackWebhookEmulator extends Emulator {
  readonly hooks = new Map<string, EmulatedWebhook>();
  readonly posts: WebhookPost[] = [];
  private sequence = 0;

  constructor(options: { https?: boolean } = {}) {
    super({ name: 'Slack webhooks', https: options.https ?? true });
    this.onReset(() => {
      this.hooks.clear();
      this.posts.length = 0;
    });
    this.route('POST', '/services/:team/:bot/:secret', (request) => this.receive(request));
  }

  /** Creates a webhook for a channel and returns its full (secret) URL. */
  addHook(channel = 'maintenance', state: WebhookState = 'active'): string {
    const n = ++this.sequence;
    const path =
      `/services/T0EMULATED/B${String(n).padStart(8, '0')}/` + `${Buffer.from(`secret-${n}-${Date.now()}`).toString('hex').slice(0, 24)}`;
    this.hooks.set(path, { path, channel, state });
    return `${this.url}${path}`;
  }

  hookFor(url: string): EmulatedWebhook | undefined {
    return this.hooks.get(new URL(url).pathname);
  }

  private receive(request: EmulatorRequest): EmulatorResponse {
    const hook = this.hooks.get(request.path);
    if (!hook || hook.state === 'disabled') return text(404, 'no_service');
    let payload: any = request.body;
    if (payload && typeof payload === 'object' && typeof payload.payload === 'string') {
      try {
        payload = JSON.parse(payload.payload);
      } catch {
        return text(400, 'invalid_payload');
      }
    }
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return text(400, 'invalid_payload');
    if (payload.blocks !== undefined && blockProblem(payload.blocks)) return text(400, 'invalid_blocks');
    const hasBlocks = Array.isArray(payload.blocks) && payload.blocks.length > 0;
    if (!(typeof payload.text === 'string' && payload.text.trim()) && !hasBlocks) return text(400, 'no_text');
    switch (hook.state) {
      case 'prohibited':
        return text(403, 'action_prohibited');
      case 'channel_deleted':
        return text(404, 'channel_not_found');
      case 'archived':
        return text(410, 'channel_is_archived');
      case 'rollup_error':
        return text(500, 'rollup_error');
    }
    this.posts.push({ path: hook.path, channel: hook.channel, text: payload.text, blocks: hasBlocks ? payload.blocks : undefined });
    return text(200, 'ok');
  }
}

function text(status: number, body: string): EmulatorResponse {
  return { status, headers: { 'Content-Type': 'text/html' }, body };
}
