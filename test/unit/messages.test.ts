import { strict as assert } from 'node:assert';
import { InputError } from '../../shared/core/errors';
import {
  composeNotice,
  escapeSlack,
  MAX_RESULT_LINES,
  pipelineRunLink,
  renderSlack,
  renderTeams,
  summarizeResults,
  TEMPLATES,
  type Notice,
} from '../../shared/services/messages';
import { blockProblem } from '../emulators/slack';
import { messageProblems } from '../emulators/teams';

/** Every rendering must pass the emulators' checks of Slack's block kit and Teams' Adaptive Cards. */
function assertRendersCleanly(notice: Notice): void {
  const slack = renderSlack(notice);
  assert.equal(blockProblem(slack.blocks), undefined, JSON.stringify(slack.blocks));
  assert.ok(slack.text.trim().length > 0, 'Slack needs fallback text');
  assert.deepEqual(messageProblems(JSON.parse(JSON.stringify(renderTeams(notice)))), []);
}

function slackText(notice: Notice): string {
  return JSON.stringify(renderSlack(notice).blocks);
}

describe('notification messages', () => {
  const link = 'https://dev.azure.com/contoso/Platform/_build/results?buildId=42';

  it('free text is sent as written, with the run link', () => {
    const notice = composeNotice({ template: 'text', message: '<!here> Deploy of *Payer* paused', link });
    const slack = renderSlack(notice);
    assert.equal(slack.text, '<!here> Deploy of *Payer* paused');
    assert.deepEqual(slack.blocks![0], { type: 'section', text: { type: 'mrkdwn', text: '<!here> Deploy of *Payer* paused' } });
    assert.match(slackText(notice), /<https:\/\/dev\.azure\.com\/contoso\/Platform\/_build\/results\?buildId=42\|Open the pipeline run>/);
    const card = renderTeams(notice).attachments[0].content;
    assert.equal(card.body[0].type, 'TextBlock');
    assert.deepEqual(card.actions, [{ type: 'Action.OpenUrl', title: 'Open the pipeline run', url: link }]);
    assertRendersCleanly(notice);
  });

  it('refuses the text template without a message, naming the input', () => {
    assert.throws(
      () => composeNotice({ template: 'text', message: '  ' }),
      (error: unknown) => error instanceof InputError && error.input === 'message',
    );
  });

  it('window start names the window and appends the free text', () => {
    const notice = composeNotice({
      template: 'windowStart',
      windowName: '2025-04-13 monthly',
      message: 'Bridge: https://meet.example/abc',
    });
    assert.equal(notice.title, 'Maintenance starting: 2025-04-13 monthly');
    const slack = renderSlack(notice);
    assert.deepEqual(slack.blocks![0], {
      type: 'header',
      text: { type: 'plain_text', text: 'Maintenance starting: 2025-04-13 monthly', emoji: true },
    });
    assert.match(slack.text, /^Maintenance starting: 2025-04-13 monthly\nThe 2025-04-13 monthly maintenance window is starting now\./);
    assert.match(slack.text, /Bridge: https:\/\/meet\.example\/abc$/);
    assertRendersCleanly(notice);
  });

  it('batch back in service lists the servers and needs them', () => {
    const notice = composeNotice({ template: 'batchBackInService', servers: ['IC-Web1', 'IC-Web2'], windowName: 'April' });
    assert.equal(notice.title, 'Back in service: IC-Web1, IC-Web2');
    assert.equal(notice.tone, 'good');
    assert.match(notice.paragraphs[0], /^2 servers are patched and back in service \(April\)\.$/);
    assert.deepEqual(notice.facts, [
      { label: 'Window', value: 'April' },
      { label: 'Servers', value: 'IC-Web1, IC-Web2' },
    ]);
    assertRendersCleanly(notice);
    assert.throws(
      () => composeNotice({ template: 'batchBackInService', servers: [] }),
      (error: unknown) => error instanceof InputError && error.input === 'servers',
    );
  });

  it('tests requested works with and without servers', () => {
    assert.equal(composeNotice({ template: 'testsRequested' }).paragraphs[0], 'Please run the tests now.');
    const notice = composeNotice({ template: 'testsRequested', servers: ['IC-Web6'] });
    assert.equal(notice.paragraphs[0], 'Please run the tests now: IC-Web6 is back in service.');
    assertRendersCleanly(notice);
  });

  it('window finish reads SmokeTestV1 results and turns failures into "with problems"', () => {
    const results = JSON.stringify([
      { name: 'home', url: 'https://www/', passed: true, status: 200, reasons: [] },
      { name: 'login', url: 'https://www/login', passed: false, status: 500, reasons: ['status 500, expected 200'] },
    ]);
    const notice = composeNotice({ template: 'windowFinish', windowName: 'April', results });
    assert.equal(notice.title, 'Maintenance finished with problems: April');
    assert.equal(notice.tone, 'bad');
    assert.equal(notice.results!.summary, '1 passed, 1 failed');
    assert.deepEqual(notice.results!.lines, [
      { ok: true, text: 'home: passed' },
      { ok: false, text: 'login: failed, status 500, expected 200' },
    ]);
    assert.match(slackText(notice), /:x: login: failed, status 500, expected 200/);
    const card = renderTeams(notice).attachments[0].content;
    assert.equal(card.body[0].type === 'TextBlock' && card.body[0].color, 'Attention');
    assert.ok(card.body.some((element) => element.type === 'TextBlock' && element.text.includes('❌ login')));
    assertRendersCleanly(notice);
  });

  it('window finish with all passing, counts, maps and free text', () => {
    const good = composeNotice({ template: 'windowFinish', results: '{"passed": 12, "failed": 0}' });
    assert.equal(good.title, 'Maintenance finished');
    assert.equal(good.tone, 'good');
    assert.equal(good.results!.summary, '12 passed, 0 failed');
    const map = summarizeResults(
      '{"IC-Web1": "Succeeded", "IC-Web2": {"status": "Failed", "error": "reboot timed out"}, "note": "kb5034441"}',
    );
    assert.deepEqual(map.lines, [
      { ok: true, text: 'IC-Web1: Succeeded' },
      { ok: false, text: 'IC-Web2: failed, reboot timed out' },
      { ok: undefined, text: 'note: kb5034441' },
    ]);
    assert.equal(map.failed, 1);
    const free = composeNotice({ template: 'windowFinish', results: 'All changes done; PDF extract deferred to May.' });
    assert.equal(free.title, 'Maintenance finished');
    assert.equal(free.results!.freeText, 'All changes done; PDF extract deferred to May.');
    assertRendersCleanly(free);
    assertRendersCleanly(composeNotice({ template: 'windowFinish' }));
  });

  it('escapes field values for Slack but keeps them whole', () => {
    assert.equal(escapeSlack('a <b> & c'), 'a &lt;b&gt; &amp; c');
    const notice = composeNotice({ template: 'batchBackInService', servers: ['web<1>&2'] });
    assert.match(slackText(notice), /web&lt;1&gt;&amp;2/);
    assert.equal(
      renderSlack(notice).blocks![0].type === 'header' && (renderSlack(notice).blocks![0] as any).text.text,
      'Back in service: web<1>&2',
    );
  });

  it('stays within Slack limits for long input', () => {
    const servers = Array.from({ length: 120 }, (_, i) => `IC-Web-server-with-a-long-name-${i}`);
    const results = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ name: `check ${i} ${'x'.repeat(150)}`, passed: i % 7 !== 0 })));
    const notice = composeNotice({ template: 'windowFinish', servers, results, message: 'y'.repeat(7000) });
    assert.equal(notice.results!.lines.length, MAX_RESULT_LINES);
    assert.equal(notice.results!.hidden, 200 - MAX_RESULT_LINES);
    assert.match(slackText(notice), /…and 170 more/);
    assertRendersCleanly(notice);
    assertRendersCleanly(composeNotice({ template: 'batchBackInService', servers }));
    assertRendersCleanly(composeNotice({ template: 'text', message: 'z'.repeat(9000) }));
  });

  it('builds the run link from pipeline variables, and refuses a bad link', () => {
    assert.equal(
      pipelineRunLink('https://dev.azure.com/contoso/', 'Platform Ops', '42'),
      'https://dev.azure.com/contoso/Platform%20Ops/_build/results?buildId=42',
    );
    assert.equal(pipelineRunLink('https://dev.azure.com/contoso', 'P', '7'), 'https://dev.azure.com/contoso/P/_build/results?buildId=7');
    assert.equal(pipelineRunLink(undefined, 'P', '7'), undefined);
    assert.throws(
      () => composeNotice({ template: 'windowStart', link: 'not a url' }),
      (error: unknown) => error instanceof InputError && error.input === 'link',
    );
  });

  it('every template renders for both services', () => {
    for (const template of TEMPLATES) {
      assertRendersCleanly(composeNotice({ template, message: 'note', servers: ['IC-Web1'], windowName: 'W', results: '[]', link }));
    }
  });
});
