import { strict as assert } from 'node:assert';
import { SlackEmulator, SlackWebhookEmulator } from '../emulators/slack';
import { TeamsEmulator } from '../emulators/teams';
import { runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

describe('NotifyV1 (bundled, against the Slack and Teams emulators)', function () {
  const slack = new SlackEmulator();
  const hooks = new SlackWebhookEmulator();
  const teams = new TeamsEmulator();
  /** Every secret handed to the task in this test; none may ever be visible in its output. */
  let secrets: string[] = [];

  before(() => Promise.all([slack.start(), hooks.start(), teams.start()]));
  after(() => Promise.all([slack.stop(), hooks.stop(), teams.stop()]));
  beforeEach(() => {
    slack.reset();
    hooks.reset();
    teams.reset();
    secrets = [slack.token];
  });

  /** Runs the bundle and checks, whatever the outcome, that no secret reached the visible output. */
  async function notify(inputs: RunTaskOptions['inputs'], options: Omit<RunTaskOptions, 'inputs'> = {}): Promise<TaskRun> {
    const run = await runBundledTask('NotifyV1', { ...options, inputs });
    for (const secret of secrets) {
      assert.ok(!run.visibleOutput.includes(secret), `a secret is visible in the output:\n${run.visibleOutput}`);
      // A webhook URL's path alone (its secret part) must not leak either.
      if (/^https?:/.test(secret)) assert.ok(!run.visibleOutput.includes(new URL(secret).pathname), 'a webhook path is visible');
    }
    return run;
  }

  function slackEndpoint(url = `${slack.url}/api/`, token = slack.token): RunTaskOptions['endpoints'] {
    return { 'slack-conn': { url, scheme: 'Token', parameters: { apitoken: token } } };
  }

  function webhookEndpoint(id: string, webhookUrl: string): RunTaskOptions['endpoints'] {
    secrets.push(webhookUrl);
    return { [id]: { url: 'https://hooks.slack.com/', scheme: 'Token', parameters: { apitoken: webhookUrl } } };
  }

  it('posts to channels by name (found on a later page) and by id, and reports their ts', async () => {
    for (let i = 0; i < 6; i++) slack.addChannel({ name: `filler-${i}` });
    const late = slack.addChannel({ name: 'late-channel' });
    slack.pageSizeCap = 10; // late-channel is the 15th channel: page 2
    const maintenance = slack.channelByName('maintenance')!;
    const run = await notify(
      {
        provider: 'slack',
        slackConnection: 'slack-conn',
        channels: `#dailyops\nlate-channel, ${maintenance.id}`,
        template: 'windowStart',
        windowName: '2025-04-13 monthly',
      },
      {
        endpoints: slackEndpoint(slack.url),
        variables: { 'System.CollectionUri': 'https://dev.azure.com/contoso/', 'System.TeamProject': 'Platform', 'Build.BuildId': '4242' },
      },
    );
    assert.equal(run.result, 'Succeeded', run.stdout);
    const listings = slack.calls('GET', '/api/conversations.list');
    assert.equal(listings.length, 2, 'paged to the second page and stopped');
    assert.ok(listings[1].query.cursor, 'the second page is asked for by cursor');
    for (const channel of ['dailyops', 'late-channel', 'maintenance']) assert.equal(slack.postedTo(channel).length, 1, channel);
    assert.equal(slack.messages.length, 3);
    const posted = slack.postedTo('late-channel')[0];
    assert.equal(posted.channel, late.id, 'posted by id once resolved');
    assert.match(posted.text!, /^Maintenance starting: 2025-04-13 monthly/);
    assert.match(
      JSON.stringify(posted.blocks),
      /https:\/\/dev\.azure\.com\/contoso\/Platform\/_build\/results\?buildId=4242\|Open the pipeline run/,
    );
    assert.equal(slack.calls('POST', '/api/chat.postMessage')[0].headers.authorization, `Bearer ${slack.token}`);
    const ids = JSON.parse(run.outputs.messageIds) as Record<string, string>;
    assert.deepEqual(Object.keys(ids).sort(), ['dailyops', 'late-channel', maintenance.id].sort());
    assert.equal(ids['late-channel'], posted.ts);
    assert.match(run.summaries[0], /\| #late-channel \| posted \|/);
    assert.ok(run.commands.some((c) => c.command === 'task.setprogress'));
  });

  it('waits out a 429 with Retry-After: 1 and posts exactly once', async () => {
    slack.fault({
      kind: 'status',
      status: 429,
      retryAfter: 1,
      method: 'POST',
      path: '/api/chat.postMessage',
      body: { ok: false, error: 'ratelimited' },
    });
    const run = await notify(
      { slackConnection: 'slack-conn', channels: 'dailyops', message: 'Jobs are on hold.' },
      { endpoints: slackEndpoint(`${slack.url}/api`) },
    );
    assert.equal(run.result, 'Succeeded', run.stdout);
    const posts = slack.calls('POST', '/api/chat.postMessage');
    assert.equal(posts.length, 2, 'the refused call and its retry');
    assert.ok(posts[1].at - posts[0].at >= 950, `waited ${posts[1].at - posts[0].at} ms, asked for 1000`);
    assert.equal(slack.messages.length, 1, 'one message, not two');
    assert.match(run.stdout, /the server asked to wait 1\.0 s/);
  });

  it('never re-sends chat.postMessage after a 5xx: one call, and a failure that says so', async () => {
    slack.fault({
      kind: 'status',
      status: 503,
      method: 'POST',
      path: '/api/chat.postMessage',
      body: { ok: false, error: 'service_unavailable' },
    });
    const run = await notify({ slackConnection: 'slack-conn', channels: 'dailyops', message: 'hello' }, { endpoints: slackEndpoint() });
    assert.equal(run.result, 'Failed');
    assert.equal(slack.calls('POST', '/api/chat.postMessage').length, 1);
    assert.match(run.errors.join('\n'), /answered 503 .*may have been posted, so it was not sent again/);
  });

  it('fails not_in_channel with advice to invite the app, still posting to the other channels', async () => {
    const run = await notify(
      { slackConnection: 'slack-conn', channels: 'random, dailyops', message: 'hello' },
      { endpoints: slackEndpoint() },
    );
    assert.equal(run.result, 'Failed');
    const error = run.errors.join('\n');
    assert.match(error, /posted to #dailyops, but not to 1 channel\(s\)/);
    assert.match(
      error,
      /the app is not a member of #random \(not_in_channel\)\. Invite the app to #random \(type \/invite @maintenance-bot in the channel\)/,
    );
    assert.match(error, /A re-run posts to every listed channel again: list only #random to avoid duplicates\./);
    assert.equal(slack.postedTo('dailyops').length, 1);
    assert.deepEqual(Object.keys(JSON.parse(run.outputs.messageIds)), ['dailyops'], 'what was posted is still reported');
    assert.match(run.summaries[0], /\| #random \| FAILED: /);
  });

  it('fails channel_not_found for an unknown name before posting anything, and for an unknown id', async () => {
    const byName = await notify(
      { slackConnection: 'slack-conn', channels: 'dailyops, no-such-channel', message: 'hello' },
      { endpoints: slackEndpoint() },
    );
    assert.equal(byName.result, 'Failed');
    assert.match(byName.errors.join('\n'), /channel #no-such-channel was not found\. Check the spelling/);
    assert.equal(slack.calls('POST', '/api/chat.postMessage').length, 0, 'nothing posted: a re-run sends nothing twice');

    const byId = await notify({ slackConnection: 'slack-conn', channels: 'C0NOSUCH99', message: 'hello' }, { endpoints: slackEndpoint() });
    assert.equal(byId.result, 'Failed');
    assert.match(byId.errors.join('\n'), /C0NOSUCH99 was not found \(channel_not_found\)/);
    assert.equal(slack.calls('GET', '/api/conversations.list').length, 1, 'an id needs no listing (the one listing is the by-name run)');
  });

  it('explains a refused token and a missing scope', async () => {
    secrets.push('xoxb-not-the-right-one');
    const refused = await notify(
      { slackConnection: 'slack-conn', channels: 'C0NOSUCH99', message: 'hello' },
      { endpoints: slackEndpoint(undefined, 'xoxb-not-the-right-one') },
    );
    assert.match(refused.errors.join('\n'), /bot token was refused \(invalid_auth\)\. Put a valid bot token/);
    slack.scopes.delete('channels:read');
    const scope = await notify({ slackConnection: 'slack-conn', channels: 'dailyops', message: 'hello' }, { endpoints: slackEndpoint() });
    assert.match(scope.errors.join('\n'), /lacks the channels:read scope for conversations\.list\. Add the bot scope channels:read/);
  });

  it("posts the finish announcement with results read from a step's JSON", async () => {
    const results = JSON.stringify([
      { name: 'home', passed: true, reasons: [] },
      { name: 'login', passed: false, reasons: ['status 500, expected 200'] },
    ]);
    const run = await notify(
      {
        slackConnection: 'slack-conn',
        channels: 'maintenance',
        template: 'windowFinish',
        windowName: 'April',
        results,
        message: 'Regression at 10:00.',
      },
      { endpoints: slackEndpoint() },
    );
    assert.equal(run.result, 'Succeeded', run.stdout);
    const [posted] = slack.postedTo('maintenance');
    assert.match(posted.text!, /^Maintenance finished with problems: April/);
    assert.match(JSON.stringify(posted.blocks), /:x: login: failed, status 500, expected 200/);
    assert.match(JSON.stringify(posted.blocks), /Regression at 10:00\./);
  });

  it('posts through a Slack incoming webhook', async () => {
    const url = hooks.addHook('platform-int');
    const run = await notify(
      {
        provider: 'slackWebhook',
        slackWebhookConnection: 'hook',
        template: 'batchBackInService',
        servers: 'IC-Web1\nIC-Web2',
        windowName: 'April',
      },
      { endpoints: webhookEndpoint('hook', url) },
    );
    assert.equal(run.result, 'Succeeded', run.stdout);
    assert.equal(hooks.posts.length, 1);
    assert.equal(hooks.posts[0].text!.split('\n')[0], 'Back in service: IC-Web1, IC-Web2');
    assert.equal(run.outputs.messageIds, '{}');
  });

  it('turns each incoming-webhook error into advice, never showing the URL', async () => {
    const cases: Array<[Parameters<SlackWebhookEmulator['addHook']>[1] | 'invalid_payload', RegExp]> = [
      ['invalid_payload', /could not read the message \(invalid_payload\)/],
      ['prohibited', /restricted posting .*\(action_prohibited\)\. Ask a workspace admin/],
      ['channel_deleted', /channel no longer exists \(channel_not_found\)\. Create a new incoming webhook/],
      ['disabled', /disabled, removed or invalid \(no_service\)/],
      ['archived', /archived \(channel_is_archived\)\. Unarchive the channel/],
      ['rollup_error', /\(rollup_error\); the message may have been posted, so it was not sent again/],
    ];
    for (const [state, message] of cases) {
      const url = hooks.addHook('maintenance', state === 'invalid_payload' ? 'active' : state);
      if (state === 'invalid_payload') hooks.fault({ kind: 'status', status: 400, body: 'invalid_payload', path: new URL(url).pathname });
      const run = await notify(
        { provider: 'slackWebhook', slackWebhookConnection: 'hook', message: 'hello' },
        { endpoints: webhookEndpoint('hook', url) },
      );
      assert.equal(run.result, 'Failed', state);
      assert.match(run.errors.join('\n'), message, state);
      assert.equal(hooks.calls('POST', new URL(url).pathname).length, 1, `${state}: one call, no blind re-send`);
    }
    assert.equal(hooks.posts.length, 0);
  });

  it('posts an Adaptive Card to a Teams workflow', async () => {
    const url = teams.addWorkflow();
    const run = await notify(
      {
        provider: 'teams',
        teamsConnection: 'teams-conn',
        template: 'testsRequested',
        windowName: 'April',
        servers: 'IC-Web1, IC-Web2',
        link: 'https://dev.azure.com/contoso/Platform/_build/results?buildId=7',
      },
      { endpoints: webhookEndpoint('teams-conn', url) },
    );
    assert.equal(run.result, 'Succeeded', run.stdout);
    const [call] = teams.calls('POST');
    assert.equal(call.status, 202);
    assert.equal(call.body.type, 'message');
    assert.equal(call.body.attachments.length, 1);
    assert.equal(call.body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    const card = teams.cards[0].card;
    assert.equal(card.type, 'AdaptiveCard');
    assert.equal(card.version, '1.4');
    assert.equal(card.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json');
    assert.deepEqual(card.body[0], {
      type: 'TextBlock',
      text: 'Tests requested: April',
      size: 'Large',
      weight: 'Bolder',
      color: 'Accent',
      style: 'heading',
      wrap: true,
    });
    assert.equal(card.body[1].text, 'Please run the tests now: IC-Web1, IC-Web2 are back in service.');
    assert.deepEqual(card.body[2], {
      type: 'FactSet',
      facts: [
        { title: 'Window', value: 'April' },
        { title: 'Servers', value: 'IC-Web1, IC-Web2' },
      ],
    });
    assert.deepEqual(card.actions, [
      { type: 'Action.OpenUrl', title: 'Open the pipeline run', url: 'https://dev.azure.com/contoso/Platform/_build/results?buildId=7' },
    ]);
  });

  it('explains a Teams workflow that refuses, never showing its URL', async () => {
    const url = teams.addWorkflow({ enabled: false });
    const off = await notify(
      { provider: 'teams', teamsConnection: 'teams-conn', message: 'hello' },
      { endpoints: webhookEndpoint('teams-conn', url) },
    );
    assert.equal(off.result, 'Failed');
    assert.match(off.errors.join('\n'), /the workflow is turned off .*Turn the workflow on in Power Automate/);
    const forged = url
      .replace(/sig=[^&]+/, 'sig=forged')
      .replace(/workflows\/[^/]+/, `workflows/${new URL(teams.addWorkflow()).pathname.split('/')[2]}`);
    const refused = await notify(
      { provider: 'teams', teamsConnection: 'teams-conn', message: 'hello' },
      { endpoints: webhookEndpoint('teams-conn', forged) },
    );
    assert.match(refused.errors.join('\n'), /refused the webhook URL's signature/);
    assert.equal(teams.cards.length, 0);
  });

  it('refuses bad input naming the input, with no call made', async () => {
    const hook = hooks.addHook();
    const cases: Array<[RunTaskOptions['inputs'], RunTaskOptions['endpoints'], RegExp]> = [
      [
        { slackConnection: 'slack-conn', channels: 'dailyops', template: 'announcement', message: 'x' },
        slackEndpoint(),
        /Input 'template': 'announcement' is not allowed; use one of: text, windowStart, batchBackInService, testsRequested, windowFinish/,
      ],
      [
        { slackConnection: 'slack-conn', channels: 'dailyops', template: 'text' },
        slackEndpoint(),
        /Input 'message': is required for the text template/,
      ],
      [{ slackConnection: 'slack-conn', message: 'x' }, slackEndpoint(), /Input 'channels': is required for provider slack/],
      [{ provider: 'email', message: 'x' }, undefined, /Input 'provider': 'email' is not allowed; use one of: slack, slackWebhook, teams/],
      [{ channels: 'dailyops', message: 'x' }, undefined, /Input 'slackConnection': is required/],
      [
        { slackConnection: 'slack-conn', channels: 'dailyops', message: 'x' },
        slackEndpoint(undefined, hook),
        /Input 'slackConnection': the token is a URL/,
      ],
      [
        { provider: 'slackWebhook', slackWebhookConnection: 'hook', message: 'x' },
        webhookEndpoint('hook', 'xoxb-pasted-in-the-wrong-place'),
        /Input 'slackWebhookConnection': the service connection's token must be the whole webhook URL/,
      ],
      [
        { provider: 'teams', template: 'batchBackInService', teamsConnection: 'teams-conn' },
        webhookEndpoint('teams-conn', teams.addWorkflow()),
        /Input 'servers': is required for the batchBackInService template/,
      ],
      [
        { slackConnection: 'slack-conn', channels: 'dailyops', message: 'x', link: 'dev.azure.com/run' },
        slackEndpoint(),
        /Input 'link': 'dev\.azure\.com\/run' is not an http\(s\) URL/,
      ],
    ];
    secrets.push(hook);
    for (const [inputs, endpoints, message] of cases) {
      const run = await notify(inputs, { endpoints });
      assert.equal(run.result, 'Failed', JSON.stringify(inputs));
      assert.match(run.errors.join('\n'), message);
    }
    assert.equal(slack.journal.length + hooks.journal.length + teams.journal.length, 0, 'no call was made');
  });
});
