import { strict as assert } from 'node:assert';
import axios from 'axios';
import { setWriter } from '../../shared/core/commands';
import { ServiceError } from '../../shared/core/errors';
import { Log } from '../../shared/core/log';
import { isChannelId, normalizeChannel, postSlackWebhook, SlackClient, slackApiBaseUrl, slackApiError } from '../../shared/services/slack';
import { splitList } from '../../shared/core/inputs';
import { postTeamsWorkflow, teamsMessage } from '../../shared/services/teams';
import { trustEmulatorsInProcess } from '../helpers/emulator-trust';
import { SlackEmulator, SlackWebhookEmulator } from '../emulators/slack';
import { TeamsEmulator } from '../emulators/teams';
import { testClock } from '../helpers/clock';

/** The Slack and Teams clients over real HTTPS against the emulators (in this process; the task test runs the bundle). */
describe('Slack and Teams clients', function () {
  const slack = new SlackEmulator();
  const hooks = new SlackWebhookEmulator();
  const teams = new TeamsEmulator();
  const lines: string[] = [];
  let restoreWriter: ((line: string) => void) | undefined;
  let untrust: (() => void) | undefined;

  before(async () => {
    await Promise.all([slack.start(), hooks.start(), teams.start()]);
    // The clients run in this process: trust the emulators' CA the way NODE_EXTRA_CA_CERTS does for children.
    untrust = await trustEmulatorsInProcess();
    restoreWriter = setWriter((line) => lines.push(line));
  });
  after(async () => {
    if (restoreWriter) setWriter(restoreWriter);
    untrust?.();
    await Promise.all([slack.stop(), hooks.stop(), teams.stop()]);
  });
  beforeEach(() => {
    slack.reset();
    hooks.reset();
    teams.reset();
    lines.length = 0;
  });

  const client = (options: { token?: string; pageSize?: number } = {}) =>
    new SlackClient({
      token: options.token ?? slack.token,
      baseUrl: slack.url,
      log: new Log(),
      clock: testClock(),
      pageSize: options.pageSize,
    });

  it('reads the API base URL however people type it', () => {
    for (const typed of [
      'https://slack.com',
      'https://slack.com/',
      'https://slack.com/api',
      'https://slack.com/api/',
      ' https://slack.com/api// ',
    ]) {
      assert.equal(slackApiBaseUrl(typed), 'https://slack.com/api', typed);
    }
    assert.equal(slackApiBaseUrl(''), 'https://slack.com/api');
    assert.equal(slackApiBaseUrl('https://proxy.corp/slack'), 'https://proxy.corp/slack/api');
  });

  it('tells channel ids from names', () => {
    assert.ok(isChannelId('C0123ABCD'));
    assert.ok(!isChannelId('dailyops'));
    assert.equal(normalizeChannel('#DailyOps'), 'dailyops');
    assert.equal(normalizeChannel('#C0123ABCD'), 'C0123ABCD');
    assert.deepEqual(splitList('#dailyops, maintenance\n# a comment\n\nC0123ABCD,'), ['#dailyops', 'maintenance', 'C0123ABCD']);
  });

  it('resolves names through every page, once per run', async () => {
    for (let i = 0; i < 7; i++) slack.addChannel({ name: `filler-${i}` });
    const late = slack.addChannel({ name: 'late-channel' });
    slack.pageSizeCap = 5;
    const c = client();
    const found = await c.resolveChannels(['#dailyops', 'late-channel', late.id]);
    assert.equal(found.get('late-channel')!.id, late.id);
    assert.equal(found.get(late.id)!.id, late.id);
    const listCalls = slack.calls('GET', '/api/conversations.list');
    assert.equal(listCalls.length, 4, 'paged to the last page, where late-channel is (16 channels, 5 a page)');
    assert.ok(
      listCalls.slice(1).every((call) => call.query.cursor),
      'later pages are asked for by cursor',
    );
    await c.resolveChannels(['dailyops', 'late-channel']);
    assert.equal(slack.calls('GET', '/api/conversations.list').length, 4, 'cached: no new listing');
  });

  it('reports every unknown name at once, before posting', async () => {
    await assert.rejects(client().resolveChannels(['nope', 'dailyops', 'nada']), (error: unknown) => {
      assert.ok(error instanceof ServiceError);
      assert.equal(error.code, 'channel_not_found');
      assert.match(error.message, /channels #nope, #nada were not found/);
      return true;
    });
  });

  it('falls back to public channels without groups:read', async () => {
    slack.scopes.delete('groups:read');
    const found = await client().resolveChannels(['maintenance']);
    assert.equal(found.get('maintenance')!.id, slack.channelByName('maintenance')!.id);
  });

  it('posts, and maps ok:false answers to advice', async () => {
    const c = client();
    const posted = await c.postMessage({ id: slack.channelByName('dailyops')!.id, name: 'dailyops' }, { text: 'hello' });
    assert.match(posted.ts, /^\d+\.\d{6}$/);
    assert.equal(slack.postedTo('dailyops').length, 1);

    const random = slack.channelByName('random')!;
    await assert.rejects(c.postMessage(random, { text: 'x' }), /not a member of #random.*\/invite @maintenance-bot/);
    slack.scopes.add('chat:write.public');
    await c.postMessage(random, { text: 'x' });
    await assert.rejects(c.postMessage(slack.channelByName('old-maintenance')!, { text: 'x' }), /#old-maintenance is archived/);
    await assert.rejects(c.postMessage({ id: 'C0NOTHERE1', name: 'C0NOTHERE1' }, { text: 'x' }), /C0NOTHERE1 was not found/);
    await assert.rejects(c.postMessage(slack.channelByName('dailyops')!, { text: ' ' }), /no_text/);
    await assert.rejects(c.postMessage(slack.channelByName('dailyops')!, { text: 'x'.repeat(40_001) }), /msg_too_long/);
    await assert.rejects(client({ token: 'xoxb-wrong' }).postMessage(random, { text: 'x' }), /bot token was refused \(invalid_auth\)/);
    slack.scopes.delete('chat:write');
    await assert.rejects(c.postMessage(random, { text: 'x' }), /lacks the chat:write scope.*Add the bot scope chat:write/);
  });

  it('explains missing_scope on listing, with the way around it', () => {
    const error = slackApiError('conversations.list', { ok: false, error: 'missing_scope', needed: 'channels:read' });
    assert.match(error.message, /lacks the channels:read scope/);
    assert.match(error.advice!, /give channel ids \(C…\) instead of names/);
  });

  it('waits out a 429 on posting, but never re-sends after a 5xx', async () => {
    const dailyops = slack.channelByName('dailyops')!;
    slack.fault({ kind: 'status', status: 429, retryAfter: 1, path: '/api/chat.postMessage', body: { ok: false, error: 'ratelimited' } });
    const clock = testClock();
    const waits = clock.waits;
    const c = new SlackClient({ token: slack.token, baseUrl: slack.url, log: new Log(), clock });
    await c.postMessage(dailyops, { text: 'once' });
    assert.deepEqual(waits, [1000]);
    assert.equal(slack.postedTo('dailyops').length, 1);

    slack.fault({ kind: 'status', status: 503, path: '/api/chat.postMessage' });
    await assert.rejects(c.postMessage(dailyops, { text: 'twice?' }), /may have been posted, so it was not sent again/);
    slack.fault({ kind: 'reset', path: '/api/chat.postMessage' });
    await assert.rejects(c.postMessage(dailyops, { text: 'twice?' }), /may have been posted/);
    assert.equal(slack.calls('POST', '/api/chat.postMessage').length, 4, '429 + retry, one 503, one reset');
  });

  it('applies the per-channel rate limit when switched on', async () => {
    slack.perChannelRateLimit = true;
    const dailyops = slack.channelByName('dailyops')!;
    const clock = testClock();
    const waits = clock.waits;
    const c = new SlackClient({ token: slack.token, baseUrl: slack.url, log: new Log(), clock });
    await c.postMessage(dailyops, { text: 'one' });
    await c.postMessage(slack.channelByName('maintenance')!, { text: 'other channel, no wait' });
    assert.deepEqual(waits, []);
    const second = c.postMessage(dailyops, { text: 'two' });
    // The fake sleep does not wait, so the retry lands inside the second too: it is refused again until a real second passes.
    await assert.rejects(second, /still rate-limited/);
    assert.ok(waits.length >= 1 && waits.every((ms) => ms === 1000));
  });

  it('emulates conversations.list and chat.postMessage the way Slack takes their arguments', async () => {
    const api = axios.create({ baseURL: `${slack.url}/api/`, validateStatus: () => true });
    const auth = { Authorization: `Bearer ${slack.token}` };
    const form = (args: Record<string, string>) => new URLSearchParams(args).toString();
    const formHeaders = { 'Content-Type': 'application/x-www-form-urlencoded' };
    // Form body with the token as an argument, as older clients send it.
    const listed = await api.post('conversations.list', form({ token: slack.token, limit: '3', exclude_archived: 'true' }), {
      headers: formHeaders,
    });
    assert.equal(listed.data.ok, true);
    assert.equal(listed.data.channels.length, 3);
    assert.ok(listed.data.response_metadata.next_cursor);
    let names: string[] = listed.data.channels.map((c: { name: string }) => c.name);
    for (let cursor = listed.data.response_metadata.next_cursor; cursor;) {
      const page = await api.get('conversations.list', { headers: auth, params: { limit: 3, cursor, exclude_archived: true } });
      names = names.concat(page.data.channels.map((c: { name: string }) => c.name));
      cursor = page.data.response_metadata.next_cursor;
    }
    assert.ok(!names.includes('old-maintenance'), 'archived channels excluded when asked');
    assert.ok(!names.includes('platform-private'), 'private channels only when asked for');
    assert.deepEqual((await api.get('conversations.list', { headers: auth, params: { cursor: 'bogus' } })).data, {
      ok: false,
      error: 'invalid_cursor',
    });
    assert.deepEqual((await api.get('conversations.list', { headers: auth, params: { limit: 0 } })).data, {
      ok: false,
      error: 'invalid_limit',
    });
    assert.deepEqual((await api.get('conversations.list', { headers: { Authorization: 'Bearer xoxb-nope' } })).data, {
      ok: false,
      error: 'invalid_auth',
    });
    const posted = await api.post(
      'chat.postMessage',
      form({ channel: '#dailyops', text: 'by form', blocks: JSON.stringify([{ type: 'divider' }]) }),
      { headers: { ...auth, ...formHeaders } },
    );
    assert.equal(posted.data.ok, true);
    assert.equal(posted.data.channel, slack.channelByName('dailyops')!.id);
    assert.equal(posted.data.message.text, 'by form');
    const bad = await api.post('chat.postMessage', { channel: 'dailyops', text: 'x', blocks: [{ type: 'section' }] }, { headers: auth });
    assert.equal(bad.data.error, 'invalid_blocks');
  });

  it('posts to incoming webhooks and maps each plain-text error', async () => {
    const url = hooks.addHook('platform-int');
    await postSlackWebhook(url, { text: 'hi' }, { clock: testClock() });
    assert.equal(hooks.posts.length, 1);
    const cases: Array<[Parameters<SlackWebhookEmulator['addHook']>[1], RegExp]> = [
      ['prohibited', /action_prohibited/],
      ['channel_deleted', /channel no longer exists \(channel_not_found\)/],
      ['disabled', /disabled, removed or invalid \(no_service\)/],
      ['archived', /archived \(channel_is_archived\)/],
      ['rollup_error', /rollup_error.*not sent again/],
    ];
    for (const [state, message] of cases) {
      const hook = hooks.addHook('x', state);
      await assert.rejects(postSlackWebhook(hook, { text: 'hi' }, { clock: testClock() }), (error: unknown) => {
        assert.match((error as Error).message, message);
        assert.ok(!(error as Error).message.includes(hook), 'the URL is never in a message');
        assert.ok(!(error as Error).message.includes(new URL(hook).pathname));
        return true;
      });
    }
    await assert.rejects(postSlackWebhook(url, { text: '' }, { clock: testClock() }), /no_text/);
    assert.equal(hooks.calls('POST').length, 2 + cases.length, 'one call per post: no error is re-sent');
  });

  it('posts an Adaptive Card to a Teams workflow and explains refusals', async () => {
    const url = teams.addWorkflow();
    const card = teamsMessage({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [{ type: 'TextBlock', text: 'hi', wrap: true }],
    });
    await postTeamsWorkflow(url, card, { clock: testClock() });
    assert.equal(teams.cards.length, 1);
    const broken = {
      ...card,
      attachments: [{ ...card.attachments[0], content: { ...card.attachments[0].content, body: [{ type: 'TextBlock' }] } }],
    };
    await assert.rejects(
      postTeamsWorkflow(url, broken as never, { clock: testClock() }),
      /refused the card \(InvalidRequestContent: .*text must be a non-empty string\)/,
    );
    await assert.rejects(postTeamsWorkflow(url.replace(/sig=[^&]+/, 'sig=forged'), card, { clock: testClock() }), /signature/);
    await assert.rejects(postTeamsWorkflow(teams.addWorkflow({ enabled: false }), card, { clock: testClock() }), /turned off/);
    teams.fault({ kind: 'status', status: 502 });
    await assert.rejects(postTeamsWorkflow(url, card, { clock: testClock() }), (error: unknown) => {
      assert.match((error as Error).message, /answered 502.*not sent again/);
      assert.ok(!(error as Error).message.includes('sig='));
      return true;
    });
    assert.equal(teams.cards.length, 1);
  });
});
