import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PINGDOM_TOKEN, PingdomEmulator } from '../emulators/pingdom';
import { newWorkDirectory, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

describe('PingdomPauseV1 (bundled, against the Pingdom emulator)', function () {
  const pingdom = new PingdomEmulator();
  before(() => pingdom.start());
  after(() => pingdom.stop());
  beforeEach(() => pingdom.reset());

  const endpoint = (url = `${pingdom.url}/api/3.1`) => ({ pingdom: { url, scheme: 'Token', parameters: { apitoken: PINGDOM_TOKEN } } });
  const variables = { 'Build.BuildId': '4242' };

  async function run(inputs: Record<string, string | number | undefined>, options: Partial<RunTaskOptions> = {}): Promise<TaskRun> {
    const result = await runBundledTask('PingdomPauseV1', {
      inputs: { pingdomConnection: 'pingdom', ...inputs },
      endpoints: endpoint(),
      variables,
      ...options,
    });
    assert.ok(!result.visibleOutput.includes(PINGDOM_TOKEN), 'the token never reaches the output');
    return result;
  }

  const pause = (inputs: Record<string, string | number | undefined>, options: Partial<RunTaskOptions> = {}) =>
    run({ action: 'pause', durationMinutes: 120, graceMinutes: 15, ...inputs }, options);
  const resume = (undoRecord: string, options: Partial<RunTaskOptions> = {}) => run({ action: 'resume', undoRecord }, options);

  it('opens one maintenance window for names and tags, ending no later than the window end plus grace, and resume ends it', async () => {
    const start = pingdom.effectiveState();
    const dir = newWorkDirectory();
    const before = Date.now();
    const paused = await pause({ checkNames: 'api.invoicecloud.com', checkTags: 'public' }, { workDirectory: dir });
    const after = Date.now();
    assert.equal(paused.result, 'Succeeded', paused.stdout);
    assert.equal(paused.outputs.checkIds, '1001,1002,1003');
    const windows = [...pingdom.windows.values()];
    assert.equal(windows.length, 1);
    assert.deepEqual(windows[0].uptime, [1001, 1002, 1003]);
    const bound = (at: number) => Math.floor((at + (120 + 15) * 60_000) / 1000);
    assert.ok(windows[0].to <= bound(after) && windows[0].to >= bound(before) - 1, 'ends at the window end plus grace, never later');
    assert.deepEqual(pingdom.silencedChecks().sort(), [1001, 1002, 1003, 1004]);
    assert.match(
      paused.summaries[0],
      /Pingdom: 3 check\(s\) in maintenance until \d{4}-\d\d-\d\d \d\d:\d\d E[DS]T \(window end .* \+ 15 min grace\)/,
    );
    assert.ok(paused.commands.some((c) => c.command === 'task.setvariable' && c.properties.variable === 'undoRecord'));
    assert.equal(
      pingdom.writes().filter((w) => w.method === 'PUT' && w.path.endsWith('/checks')).length,
      0,
      'the checks themselves are not touched',
    );

    const resumed = await resume(paused.outputs.undoRecord, { workDirectory: dir });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.match(resumed.summaries[0], /monitoring restored for 3 check\(s\)/);
    assert.match(resumed.summaries[0], /ended early, at .* \(Pingdom cannot delete a running window\)/);
    assert.match(resumed.summaries[0], /Undone from undo record/);
    assert.ok(
      fs.readdirSync(path.join(dir, 'records')).some((name) => name.endsWith('.restored.json')),
      'a receipt is written',
    );
    assert.ok(windows[0].to <= Math.floor(Date.now() / 1000) + 61, 'the running window ends within a minute');
    pingdom.advance(61);
    assert.deepEqual(pingdom.effectiveState(), start, 'back exactly where it started');
  });

  it('running pause twice keeps one window, and resume twice changes nothing more', async () => {
    const start = pingdom.effectiveState();
    const first = await pause({ checkIds: '1001,1002' });
    const second = await pause({ checkIds: '1002\n1001' });
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.equal(pingdom.windows.size, 1, 'the second run adopts the first window');
    assert.match(second.summaries[0], /kept from an earlier run/);
    assert.equal(pingdom.calls('POST').length, 1);
    assert.equal(JSON.parse(first.outputs.undoRecord).data.windowIds[0], JSON.parse(second.outputs.undoRecord).data.windowIds[0]);

    const r1 = await resume(second.outputs.undoRecord);
    const writesAfterFirst = pingdom.writes().length;
    const r2 = await resume(second.outputs.undoRecord);
    const r3 = await resume(first.outputs.undoRecord);
    for (const r of [r1, r2, r3]) assert.equal(r.result, 'Succeeded', r.stdout);
    assert.equal(pingdom.writes().length, writesAfterFirst, 'a second resume writes nothing');
    pingdom.advance(61);
    assert.deepEqual(pingdom.effectiveState(), start);
  });

  it('a pause killed after creating the window, run again, still leaves one window that resume ends', async () => {
    const start = pingdom.effectiveState();
    const dir = newWorkDirectory();
    let records = 0;
    pingdom.fault({ kind: 'slow', method: 'GET', path: '/maintenance', delayMs: 400, times: 2 });
    const killed = await pause(
      { checkTags: 'web' },
      { workDirectory: dir, killOnLine: (line) => /Undo record .* written/.test(line) && ++records === 2 },
    );
    assert.equal(killed.killed, true);
    assert.equal(killed.result, undefined, 'the kill came before the task finished');
    assert.equal(pingdom.windows.size, 1, 'the window was created before the kill');
    const again = await pause({ checkTags: 'web' }, { workDirectory: dir });
    assert.equal(again.result, 'Succeeded', again.stdout);
    assert.equal(pingdom.windows.size, 1);

    let resumeKilled = false;
    const half = await resume(again.outputs.undoRecord, {
      workDirectory: dir,
      killOnLine: (line) => (resumeKilled ||= /cannot delete it/.test(line)),
    });
    assert.equal(half.killed, true);
    const done = await resume(again.outputs.undoRecord, { workDirectory: dir });
    assert.equal(done.result, 'Succeeded', done.stdout);
    pingdom.advance(61);
    assert.deepEqual(pingdom.effectiveState(), start);
  });

  it('resume finds the window by its marker from the record file when the crash came before its id was recorded', async () => {
    const start = pingdom.effectiveState();
    const dir = newWorkDirectory();
    const killed = await pause(
      { checkIds: '1003' },
      { workDirectory: dir, killOnLine: (line) => /Opening a Pingdom maintenance window/.test(line) },
    );
    assert.equal(killed.killed, true);
    // Whether or not the POST got out before the kill, the record file on disk names no window id yet.
    const file = fs.readdirSync(path.join(dir, 'records')).map((name) => path.join(dir, 'records', name))[0];
    const record = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(record.data.windowIds, []);
    // Whether the POST got out before the kill is a race; make it certain that it did, beside someone else's window.
    pingdom.windows.clear();
    const now = pingdom.now();
    pingdom.windows.set(7001, {
      id: 7001,
      description: `Maintenance window 4242 ${record.data.marker}`,
      from: now,
      to: now + 3600,
      uptime: [1003],
      tms: [],
    });
    pingdom.windows.set(7002, { id: 7002, description: 'Someone else’s window', from: now, to: now + 3600, uptime: [1003], tms: [] });
    const resumed = await resume(file, { workDirectory: newWorkDirectory() });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    pingdom.advance(61);
    assert.deepEqual(
      [...pingdom.windows.values()].filter((w) => w.to > pingdom.now()).map((w) => w.id),
      [7002],
      'only our window ended; the other one is untouched',
    );
    pingdom.windows.delete(7002);
    assert.deepEqual(pingdom.effectiveState(), start);
  });

  it('pauseChecks pauses only what was running and resume leaves an already-paused check paused', async () => {
    const start = pingdom.effectiveState();
    assert.equal(start.paused[1004], true, 'the seed has check 1004 paused');
    const paused = await pause({ checkTags: 'web', mode: 'pauseChecks' });
    assert.equal(paused.result, 'Succeeded', paused.stdout);
    const put = pingdom.writes('/checks');
    assert.deepEqual(
      put.map((w) => [w.method, w.path.replace(/^.*\/checks/, '/checks'), w.body.paused]),
      [
        ['PUT', '/checks/1001', true],
        ['PUT', '/checks/1002', true],
      ],
      'only the running checks are paused, by id',
    );
    assert.ok(
      put.every((w) => String(w.body.tags).split(',').includes('mw-paused-4242')),
      "each pause carries the window's tag in the same write",
    );
    const record = JSON.parse(paused.outputs.undoRecord);
    assert.deepEqual(record.data.pausedByUs, [1001, 1002]);
    assert.deepEqual(record.data.alreadyPaused, [1004]);
    assert.match(paused.summaries[0], /was paused already; stays paused/);
    assert.ok(paused.warnings.some((w) => /do not resume by themselves/.test(w)));

    const resumed = await resume(paused.outputs.undoRecord);
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.deepEqual(
      pingdom
        .writes('/checks')
        .slice(2)
        .map((w) => [w.path.replace(/^.*\/checks/, '/checks'), w.body.paused]),
      [
        ['/checks/1001', false],
        ['/checks/1002', false],
      ],
      'exactly the checks this window paused are unpaused',
    );
    assert.ok(![...pingdom.checks.values()].some((c) => c.tags.includes('mw-paused-4242')), "the window's tags are gone");
    assert.match(resumed.summaries[0], /status page \| 1004 \| paused before the window: left paused/);
    assert.deepEqual(pingdom.effectiveState(), start);
    const again = await resume(paused.outputs.undoRecord);
    assert.equal(again.result, 'Succeeded');
    assert.equal(pingdom.writes().length, 4, 'the second resume writes nothing');
  });

  it('pauseChecks killed after pausing, run again, still unpauses what the first run paused', async () => {
    const start = pingdom.effectiveState();
    const dir = newWorkDirectory();
    pingdom.fault({ kind: 'slow', method: 'GET', path: '/checks', delayMs: 400, times: 2 });
    const killed = await pause(
      { checkTags: 'web', mode: 'pauseChecks' },
      { workDirectory: dir, killOnLine: (line) => /^Pausing 2 check/.test(line) },
    );
    assert.equal(killed.killed, true);
    // Make sure the pause reached Pingdom, as if the kill came just after it.
    pingdom.checks.get(1001)!.paused = true;
    pingdom.checks.get(1002)!.paused = true;
    const again = await pause({ checkTags: 'web', mode: 'pauseChecks' }, { workDirectory: dir });
    assert.equal(again.result, 'Succeeded', again.stdout);
    assert.deepEqual(JSON.parse(again.outputs.undoRecord).data.pausedByUs, [1001, 1002], 'what the killed run paused is still ours');
    const resumed = await resume(again.outputs.undoRecord, { workDirectory: dir });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.deepEqual(pingdom.effectiveState(), start);
  });

  it('survives a 429 and a 5xx on every call, and a lost answer to the POST, without a duplicate window', async () => {
    const start = pingdom.effectiveState();
    for (const [method, p] of [
      ['GET', '/checks'],
      ['GET', '/maintenance'],
      ['POST', '/maintenance'],
      ['PUT', '/maintenance/'],
    ] as const) {
      pingdom.fault({
        kind: 'status',
        status: 429,
        retryAfter: 0,
        method,
        path: p,
        body: { error: { statuscode: 429, statusdesc: 'Too Many Requests', errormessage: 'Request limit exceeded, try again later' } },
      });
      pingdom.fault({ kind: 'status', status: 503, method, path: p });
    }
    pingdom.lostAnswers.push({ method: 'POST', path: '/maintenance' });
    const paused = await pause({ checkIds: '1005' });
    assert.equal(paused.result, 'Succeeded', paused.stdout);
    assert.equal(pingdom.windows.size, 1, 'the lost answer did not lead to a second window');
    assert.equal(pingdom.calls('POST').filter((c) => c.status === 502).length, 1);
    assert.match(paused.stdout, /answered 429/);
    const resumed = await resume(paused.outputs.undoRecord);
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.ok(pingdom.calls('PUT').some((c) => c.status === 429) && pingdom.calls('PUT').some((c) => c.status === 503));
    pingdom.advance(61);
    assert.deepEqual(pingdom.effectiveState(), start);

    pingdom.reset();
    pingdom.fault({ kind: 'status', status: 429, method: 'PUT', path: '/checks', retryAfter: 0 });
    pingdom.fault({ kind: 'status', status: 500, method: 'PUT', path: '/checks' });
    const p2 = await pause({ checkIds: '1005', mode: 'pauseChecks' });
    assert.equal(p2.result, 'Succeeded', p2.stdout);
    pingdom.fault({ kind: 'status', status: 502, method: 'PUT', path: '/checks' });
    const r2 = await resume(p2.outputs.undoRecord);
    assert.equal(r2.result, 'Succeeded', r2.stdout);
    assert.deepEqual(pingdom.effectiveState(), start);
  });

  it('waits for a request budget that resets soon, and stops before any write when it does not', async () => {
    pingdom.spend('short', 598, 2);
    const waited = await pause({ checkIds: '1001' });
    assert.equal(waited.result, 'Succeeded', waited.stdout);
    assert.match(waited.stdout, /request budget has \d call\(s\) left; waiting \d s/);
    assert.equal(pingdom.calls().filter((c) => c.status === 429).length, 0, 'it never ran into the limit');

    pingdom.reset();
    pingdom.spend('long', 9_999, 50_000);
    const refused = await pause({ checkIds: '1001' });
    assert.equal(refused.result, 'Failed');
    assert.match(
      refused.errors.join('\n'),
      /only \d call\(s\) left in the long request budget, which resets in \d+ s.*Nothing was changed/,
    );
    assert.equal(pingdom.writes().length, 0);
  });

  it('refuses an empty selection and bad inputs before any write, naming the input', async () => {
    const cases: Array<[Record<string, string | number | undefined>, RegExp]> = [
      [
        {},
        /Input 'checkIds': checkIds, checkNames and checkTags select no check\. Refusing: Pingdom applies a change with no check ids to every check/,
      ],
      [{ checkTags: 'no-such-tag' }, /Input 'checkIds': .* select no check/],
      [{ checkIds: '1001,999' }, /Input 'checkIds': check 999 does not exist/],
      [{ checkIds: 'www' }, /Input 'checkIds': 'www' is not a check id/],
      [{ checkNames: 'nope' }, /Input 'checkNames': no Pingdom check is named 'nope'/],
      [{ checkIds: '1001', durationMinutes: undefined }, /Input 'durationMinutes': give 'durationMinutes' or 'until'/],
      [{ checkIds: '1001', until: '2030-01-01 10:00' }, /Input 'until': give either/],
      [{ checkIds: '1001', durationMinutes: undefined, until: '2001-01-01 10:00' }, /Input 'until': .* is already past/],
      [{ checkIds: '1001', timeZone: 'Eastern' }, /Input 'timeZone': 'Eastern' is not an IANA time zone/],
      [{ checkIds: '1001', graceMinutes: 500 }, /Input 'graceMinutes': must be between 0 and 240/],
      [{ checkIds: '1001', mode: 'forever' }, /Input 'mode': 'forever' is not allowed/],
      [
        { action: 'resume', undoRecord: '{"kind":"cloudflare-dns","id":"x","data":{}}' },
        /Input 'undoRecord': is an undo record of kind 'cloudflare-dns'/,
      ],
      [
        { action: 'resume', undoRecord: '{"kind":"pingdom","id":"x","data":{"mode":"maintenanceWindow"}}' },
        /Input 'undoRecord': is a malformed 'pingdom' undo record/,
      ],
    ];
    for (const [inputs, message] of cases) {
      const result = await pause(inputs);
      assert.equal(result.result, 'Failed', JSON.stringify(inputs));
      assert.match(result.errors.join('\n'), message, JSON.stringify(inputs));
    }
    assert.equal(pingdom.writes().length, 0, 'nothing was changed');
    const bad = await runBundledTask('PingdomPauseV1', {
      inputs: { pingdomConnection: 'pingdom', action: 'pause', checkIds: '1001', durationMinutes: 30 },
      endpoints: { pingdom: { url: `${pingdom.url}/api/3.1`, scheme: 'Token', parameters: { apitoken: 'wrong-token-123' } } },
    });
    assert.equal(bad.result, 'Failed');
    assert.match(
      bad.errors.join('\n'),
      /Pingdom: GET .* failed \(Unauthorized: Invalid or missing API token\) Check the Pingdom service connection's API token/,
    );
    assert.ok(!bad.visibleOutput.includes('wrong-token-123'));
  });

  it('takes the connection URL with or without the API path and trailing slash', async () => {
    for (const url of [pingdom.url, `${pingdom.url}/`, `${pingdom.url}/api/3.1/`]) {
      const result = await runBundledTask('PingdomPauseV1', {
        inputs: { pingdomConnection: 'pingdom', action: 'pause', checkIds: '1001', durationMinutes: 10, graceMinutes: 0 },
        endpoints: endpoint(url),
        variables,
      });
      assert.equal(result.result, 'Succeeded', `${url}: ${result.stdout}`);
    }
    assert.equal(pingdom.windows.size, 1, 'the same selection in the same window is one window');
  });
});
