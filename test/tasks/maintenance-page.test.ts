import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLOUDFLARE_TOKEN, CloudflareEmulator } from '../emulators/cloudflare';
import { newWorkDirectory, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

const TARGET = 'icmaintenance.azurewebsites.net';

describe('MaintenancePageV1 (bundled, against the Cloudflare emulator)', function () {
  const cloudflare = new CloudflareEmulator();
  before(() => cloudflare.start());
  after(() => cloudflare.stop());
  beforeEach(() => cloudflare.reset());

  const variables = { 'Build.BuildId': '4242' };
  const endpoints = (url = `${cloudflare.url}/client/v4`, token = CLOUDFLARE_TOKEN) => ({
    cf: { url, scheme: 'Token', parameters: { apitoken: token } },
  });

  async function run(inputs: Record<string, string | undefined>, options: Partial<RunTaskOptions> = {}): Promise<TaskRun> {
    const result = await runBundledTask('MaintenancePageV1', {
      inputs: { cloudflareConnection: 'cf', ...inputs },
      endpoints: endpoints(),
      variables,
      ...options,
    });
    assert.ok(!result.visibleOutput.includes(CLOUDFLARE_TOKEN), 'the token never reaches the output');
    return result;
  }
  const enable = (inputs: Record<string, string | undefined> = {}, options: Partial<RunTaskOptions> = {}) =>
    run({ action: 'enable', zoneName: 'invoicecloud.com', records: 'www\nmy', maintenanceTarget: TARGET, ...inputs }, options);
  const disable = (undoRecord: string, inputs: Record<string, string | undefined> = {}, options: Partial<RunTaskOptions> = {}) =>
    run({ action: 'disable', undoRecord, ...inputs }, options);

  it('points www and my at the maintenance site and restores them exactly, purging everything after disable', async () => {
    const start = cloudflare.dnsState();
    const dir = newWorkDirectory();
    const up = await enable({}, { workDirectory: dir });
    assert.equal(up.result, 'Succeeded', up.stdout);
    for (const name of ['www.invoicecloud.com', 'my.invoicecloud.com']) {
      const record = cloudflare.find(name)!;
      assert.equal(record.type, 'CNAME');
      assert.equal(record.content, TARGET);
    }
    assert.equal(cloudflare.find('www.invoicecloud.com')!.proxied, true, 'proxied flag kept');
    assert.equal(cloudflare.find('my.invoicecloud.com')!.ttl, 300, 'TTL kept');
    assert.equal(cloudflare.purges.length, 0, 'enable purges nothing unless asked');
    assert.equal(cloudflare.journal.length, 5, 'one zone lookup, one read and one PATCH per record');
    assert.ok(
      cloudflare.calls('GET', '/dns_records').every((c) => c.query['name.exact']),
      'reads use the name.exact filter',
    );
    assert.match(up.summaries[0], /Maintenance page up: www\.invoicecloud\.com, my\.invoicecloud\.com → icmaintenance\.azurewebsites\.net/);
    assert.match(
      up.summaries[0],
      /\| my\.invoicecloud\.com \| CNAME pal\.invoicecloud\.com \(proxied false, ttl 300\) \| CNAME icmaintenance\.azurewebsites\.net \| switched \|/,
    );
    const record = JSON.parse(up.outputs.undoRecord);
    assert.deepEqual(
      record.data.records.map((r: { original: unknown }) => r.original),
      [
        { type: 'CNAME', content: 'pal.invoicecloud.com', proxied: true, ttl: 1 },
        { type: 'CNAME', content: 'pal.invoicecloud.com', proxied: false, ttl: 300 },
      ],
    );

    cloudflare.journal.length = 0;
    const down = await disable(up.outputs.undoRecord, {}, { workDirectory: dir });
    assert.equal(down.result, 'Succeeded', down.stdout);
    assert.deepEqual(cloudflare.dnsState(), start, 'every record exactly as before');
    assert.deepEqual(
      cloudflare.purges.map((p) => p.body),
      [{ purge_everything: true }],
    );
    const order = cloudflare.journal.map((c) => c.method);
    assert.deepEqual(
      order,
      ['GET', 'GET', 'PATCH', 'PATCH', 'GET', 'GET', 'POST'],
      'read, restore, read back, then purge (only once DNS reads back restored)',
    );
    assert.equal(cloudflare.find('www.invoicecloud.com')!.comment, null, "the window's mark is gone with the swap");
    assert.match(down.summaries[0], /Maintenance page down: www\.invoicecloud\.com, my\.invoicecloud\.com restored/);
    assert.match(down.summaries[0], /restored, read back and verified/);
    assert.match(down.summaries[0], /Cache purge: everything, done/);
    assert.ok(fs.readdirSync(path.join(dir, 'records')).some((name) => name.endsWith('.restored.json')));
  });

  it('enable twice and disable twice end in the starting state, the second runs writing no DNS', async () => {
    const start = cloudflare.dnsState();
    const first = await enable({ records: 'www.invoicecloud.com, my' });
    const second = await enable({ records: 'www.invoicecloud.com, my' }, { workDirectory: first.workDirectory });
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.equal(cloudflare.writes('/dns_records').length, 2, 'the second enable patches nothing');
    assert.match(second.summaries[0], /already switched by an earlier run/);
    assert.deepEqual(
      JSON.parse(second.outputs.undoRecord).data.records,
      JSON.parse(first.outputs.undoRecord).data.records,
      'same originals',
    );
    const d1 = await disable(second.outputs.undoRecord, { purgeCache: 'hosts' });
    const d2 = await disable(first.outputs.undoRecord, { purgeCache: 'none' });
    assert.equal(d1.result, 'Succeeded', d1.stdout);
    assert.equal(d2.result, 'Succeeded', d2.stdout);
    assert.match(d2.summaries[0], /was already restored/);
    assert.equal(cloudflare.writes('/dns_records').length, 4, 'the second disable patches nothing');
    assert.deepEqual(
      cloudflare.purges.map((p) => p.body),
      [{ hosts: ['www.invoicecloud.com', 'my.invoicecloud.com'] }],
    );
    assert.deepEqual(cloudflare.dnsState(), start);
  });

  it('an enable killed half-way, run again, keeps the true originals; a killed disable run again restores them', async () => {
    const start = cloudflare.dnsState();
    const dir = newWorkDirectory();
    cloudflare.fault({ kind: 'slow', method: 'PATCH', delayMs: 300, times: 2 });
    const killed = await enable({}, { workDirectory: dir, killOnLine: (line) => line.startsWith('my.invoicecloud.com:') });
    assert.equal(killed.killed, true);
    assert.equal(cloudflare.find('www.invoicecloud.com')!.content, TARGET, 'www was switched before the kill');
    assert.equal(cloudflare.find('my.invoicecloud.com')!.content, 'pal.invoicecloud.com', 'my was not');

    assert.match(
      cloudflare.find('www.invoicecloud.com')!.comment ?? '',
      /^\[mw 4242\] was CNAME pal\.invoicecloud\.com proxied ttl=1$/,
      'the swap carries its mark',
    );
    const fresh = await enable({}, { workDirectory: newWorkDirectory() });
    assert.equal(fresh.result, 'Succeeded', "a re-run in a fresh workspace reads the true original from the window's mark");
    assert.deepEqual(
      JSON.parse(fresh.outputs.undoRecord).data.records.map((r: { original: unknown }) => r.original),
      [
        { type: 'CNAME', content: 'pal.invoicecloud.com', proxied: true, ttl: 1 },
        { type: 'CNAME', content: 'pal.invoicecloud.com', proxied: false, ttl: 300 },
      ],
    );
    const unmarked = cloudflare.find('www.invoicecloud.com')!;
    const markOfWww = unmarked.comment;
    unmarked.comment = null;
    const refused = await enable({}, { workDirectory: newWorkDirectory() });
    assert.equal(refused.result, 'Failed', 'without a record or a mark it will not take the maintenance page for the original');
    assert.match(
      refused.errors.join('\n'),
      /www\.invoicecloud\.com points at icmaintenance\.azurewebsites\.net already, and no undo record of this run says what it pointed to before/,
    );
    unmarked.comment = markOfWww;

    const again = await enable({}, { workDirectory: dir });
    assert.equal(again.result, 'Succeeded', again.stdout);
    const originals = JSON.parse(again.outputs.undoRecord).data.records.map((r: { original: { content: string } }) => r.original.content);
    assert.deepEqual(originals, ['pal.invoicecloud.com', 'pal.invoicecloud.com']);

    cloudflare.fault({ kind: 'slow', method: 'PATCH', delayMs: 300, times: 2 });
    const half = await disable(
      again.outputs.undoRecord,
      {},
      { workDirectory: dir, killOnLine: (line) => line.startsWith('my.invoicecloud.com:') },
    );
    assert.equal(half.killed, true);
    assert.notDeepEqual(cloudflare.dnsState(), start);
    const done = await disable(again.outputs.undoRecord, {}, { workDirectory: dir });
    assert.equal(done.result, 'Succeeded', done.stdout);
    assert.deepEqual(cloudflare.dnsState(), start);
  });

  it('a purge that fails after a successful restore fails the step loudly without touching DNS again', async () => {
    const start = cloudflare.dnsState();
    const up = await enable();
    cloudflare.tokens.get(CLOUDFLARE_TOKEN)!.purge = false;
    cloudflare.journal.length = 0;
    const down = await disable(up.outputs.undoRecord, { purgeCache: 'everything' });
    assert.equal(down.result, 'Failed');
    assert.match(
      down.errors.join('\n'),
      /DNS is restored and verified, but the cache purge failed: .*10000 Authentication error.*Purge the cache by hand/,
    );
    assert.deepEqual(cloudflare.dnsState(), start, 'DNS is restored');
    assert.equal(cloudflare.writes('/dns_records').length, 2, 'exactly one restore per record, nothing after the purge failed');
    assert.match(down.summaries[0], /Cache purge: \*\*FAILED\*\*/);
    cloudflare.tokens.get(CLOUDFLARE_TOKEN)!.purge = true;
    const retry = await disable(up.outputs.undoRecord);
    assert.equal(retry.result, 'Succeeded', retry.stdout);
    assert.equal(cloudflare.writes('/dns_records').length, 2, 'the re-run only purges');
    assert.equal(cloudflare.purges.length, 1);
  });

  it('survives a 429 (honouring Retry-After) and a 5xx on every call', async () => {
    const start = cloudflare.dnsState();
    const paths: Array<[string, RegExp]> = [
      ['GET', /\/zones$/],
      ['GET', /\/dns_records$/],
      ['PATCH', /\/dns_records\//],
      ['POST', /\/purge_cache$/],
      ['GET', /\/dns_records\/[0-9a-f]+$/],
    ];
    // Retry-After of a second on the writes (proving it is waited), none on the reads (keeping the test short).
    const waits = (method: string) => (method === 'GET' ? 0 : 1);
    for (const [method, p] of paths) {
      cloudflare.fault({
        kind: 'status',
        status: 429,
        retryAfter: waits(method),
        method,
        path: p,
        body: { success: false, errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }] },
      });
      cloudflare.fault({ kind: 'status', status: 502, method, path: p });
    }
    const up = await enable({ purgeCache: 'hosts' });
    assert.equal(up.result, 'Succeeded', up.stdout);
    const down = await disable(up.outputs.undoRecord);
    assert.equal(down.result, 'Succeeded', down.stdout);
    assert.deepEqual(cloudflare.dnsState(), start);
    for (const [method, p] of paths) {
      const calls = cloudflare.journal.filter((c) => c.method === method && p.test(c.path));
      const throttled = calls.findIndex((c) => c.status === 429);
      assert.ok(throttled >= 0 && calls.some((c) => c.status === 502), `${method} ${p} met a 429 and a 5xx`);
      assert.ok(calls[throttled + 1].at - calls[throttled].at >= waits(method) * 1000 - 50, `${method} ${p} waited as Retry-After asked`);
    }
  });

  it('stops before any change when the shared budget is nearly spent, and does not hammer a locked-out token', async () => {
    const start = cloudflare.dnsState();
    cloudflare.spend(1195);
    const low = await enable();
    assert.equal(low.result, 'Failed');
    assert.match(low.errors.join('\n'), /only 4 call\(s\) are left of the token's budget .* this step needs 7.*Nothing was changed/);
    assert.equal(cloudflare.journal.length, 1, 'one call, the zone lookup');
    assert.equal(cloudflare.isLockedOut(), false);

    // Dashboard users spent the whole budget: the step's first call goes over and starts the five-minute
    // lockout, whose Retry-After is the whole lockout (a wait that does not depend on how fast the step starts).
    cloudflare.reset();
    cloudflare.spend(1200);
    const locked = await enable();
    assert.equal(locked.result, 'Failed');
    assert.match(
      locked.errors.join('\n'),
      /971 Please wait.*budget \(1200 calls per 5 minutes, shared with dashboard users\) is spent; Cloudflare asks to wait 300 s/,
    );
    assert.equal(cloudflare.journal.length, 1, 'a five-minute Retry-After is not waited out or retried');
    assert.equal(cloudflare.isLockedOut(), true);
    assert.deepEqual(cloudflare.dnsState(), start);
  });

  it('refuses a missing record, an unknown zone, a clash and bad inputs before any change', async () => {
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{ records: 'www, nothere' }, /Input 'records': nothere\.invoicecloud\.com has no A, AAAA or CNAME record/],
      [{ zoneName: 'invoicecloud.net' }, /Input 'zoneName': zone 'invoicecloud\.net' was not found, or the token cannot see it/],
      [{ zoneName: 'example.org', records: 'www' }, /Input 'zoneName': zone 'example\.org' was not found/],
      [
        { records: 'my, api' },
        /Input 'records': api\.invoicecloud\.com has 2 address records .* a CNAME record cannot replace them one for one and cannot sit beside them/,
      ],
      [{ records: 'legacy' }, /Input 'records': legacy\.invoicecloud\.com also has TXT record\(s\): a CNAME cannot sit beside/],
      [{ records: 'www', maintenanceTarget: 'not a host' }, /Input 'maintenanceTarget': 'not a host' is neither a host name/],
      [{ records: 'w w w' }, /Input 'records': 'w w w' is not a DNS name/],
      [{ records: undefined }, /Input 'records': is required/],
      [{ zoneName: undefined }, /Input 'zoneName': is required/],
      [{ maintenanceTarget: undefined }, /Input 'maintenanceTarget': is required/],
      [{ purgeCache: 'some' }, /Input 'purgeCache': 'some' is not allowed/],
      [
        { action: 'disable', undoRecord: '{"kind":"pingdom","id":"x","data":{}}' },
        /Input 'undoRecord': is an undo record of kind 'pingdom'/,
      ],
      [
        {
          action: 'disable',
          undoRecord:
            '{"kind":"cloudflare-dns","id":"x","data":{"zoneId":"z","zoneName":"a","target":"t","records":[{"id":"1","name":"www"}]}}',
        },
        /Input 'undoRecord': is a malformed 'cloudflare-dns' undo record/,
      ],
      [{ action: 'disable', undoRecord: '/no/such/file.json' }, /Input 'undoRecord': is neither an undo record/],
    ];
    for (const [inputs, message] of cases) {
      const result = await enable(inputs);
      assert.equal(result.result, 'Failed', JSON.stringify(inputs));
      assert.match(result.errors.join('\n'), message, JSON.stringify(inputs));
    }
    assert.equal(cloudflare.writes().length, 0, 'nothing was changed');

    cloudflare.tokens.get(CLOUDFLARE_TOKEN)!.dnsEdit = false;
    const readOnly = await enable();
    assert.equal(readOnly.result, 'Failed');
    assert.match(
      readOnly.errors.join('\n'),
      /10000 Authentication error Check the Cloudflare service connection's API token: it needs Zone DNS Edit and Zone Cache Purge on this zone/,
    );
    const wrong = await runBundledTask('MaintenancePageV1', {
      inputs: { cloudflareConnection: 'cf', action: 'enable', zoneName: 'invoicecloud.com', records: 'www', maintenanceTarget: TARGET },
      endpoints: endpoints(undefined, 'not-the-token-0000'),
    });
    assert.equal(wrong.result, 'Failed');
    assert.ok(!wrong.visibleOutput.includes('not-the-token-0000'));
    assert.equal(cloudflare.find('www.invoicecloud.com')!.content, 'pal.invoicecloud.com');
  });

  it('takes the connection URL with or without the API path and a trailing slash, and an address as the target', async () => {
    const start = cloudflare.dnsState();
    for (const url of [cloudflare.url, `${cloudflare.url}/client/v4/`]) {
      const up = await runBundledTask('MaintenancePageV1', {
        inputs: {
          cloudflareConnection: 'cf',
          action: 'enable',
          zoneName: 'invoicecloud.com',
          records: 'legacy.invoicecloud.com',
          maintenanceTarget: '198.51.100.7',
        },
        endpoints: endpoints(url),
        variables,
      });
      assert.equal(up.result, 'Succeeded', `${url}: ${up.stdout}`);
      assert.equal(cloudflare.find('legacy.invoicecloud.com', 'A')!.content, '198.51.100.7');
      const down = await runBundledTask('MaintenancePageV1', {
        inputs: { cloudflareConnection: 'cf', action: 'disable', undoRecord: up.outputs.undoRecord },
        endpoints: endpoints(url),
        variables,
      });
      assert.equal(down.result, 'Succeeded', `${url}: ${down.stdout}`);
    }
    assert.deepEqual(cloudflare.dnsState(), start);
  });
});
