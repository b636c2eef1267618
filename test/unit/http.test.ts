import { strict as assert } from 'node:assert';
import { setWriter } from '../../shared/core/commands';
import { HttpClient, HttpError, joinUrl } from '../../shared/core/http';
import { Log } from '../../shared/core/log';
import { Emulator } from '../emulators/kit';

describe('shared/core/http against an emulator', () => {
  const server = new Emulator({ name: 'Echo' });
  let lines: string[] = [];
  let restoreWriter: ReturnType<typeof setWriter>;
  const waits: number[] = [];
  let counter = 0;

  server.route('GET', '/items/:id', (req) => ({ body: { id: req.params.id } }));
  server.route('POST', '/items', () => ({ status: 201, body: { created: ++counter } }));
  server.route('PUT', '/items/:id', (req) => ({ body: { id: req.params.id, ...req.body } }));

  before(() => server.start());
  after(() => server.stop());
  beforeEach(() => {
    server.reset();
    lines = [];
    waits.length = 0;
    restoreWriter = setWriter((line) => lines.push(line));
  });
  afterEach(() => setWriter(restoreWriter));

  function client(overrides: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
    return new HttpClient({
      baseUrl: `${server.url}/`,
      service: 'Echo',
      log: new Log(),
      retry: { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 60_000 },
      sleep: async (ms) => {
        waits.push(ms);
      },
      ...overrides,
    });
  }

  it('joins base URLs typed with or without a trailing slash or path', () => {
    assert.equal(joinUrl('https://a.example/api/3.1', 'checks'), 'https://a.example/api/3.1/checks');
    assert.equal(joinUrl('https://a.example/api/3.1/', '/checks'), 'https://a.example/api/3.1/checks');
    assert.equal(joinUrl('https://a.example/api/', ''), 'https://a.example/api/');
    assert.equal(joinUrl('https://a.example', 'https://b.example/x'), 'https://b.example/x');
  });

  it('waits what Retry-After asks (seconds) on a 429, then succeeds', async () => {
    server.fault({ kind: 'status', status: 429, retryAfter: 2, path: '/items/1' });
    const response = await client().request<{ id: string }>({ method: 'GET', path: 'items/1' });
    assert.equal(response.data.id, '1');
    assert.equal(response.attempts, 2);
    assert.deepEqual(waits, [2000]);
    assert.ok(lines.some((line) => /answered 429.*the server asked to wait 2\.0 s before attempt 2 of 4/.test(line)));
  });

  it('understands Retry-After given as an HTTP date', async () => {
    const inFiveSeconds = new Date(Date.now() + 5000).toUTCString();
    server.fault({ kind: 'status', status: 503, retryAfter: inFiveSeconds, path: '/items/2' });
    await client().request({ method: 'GET', path: 'items/2' });
    assert.equal(waits.length, 1);
    assert.ok(waits[0] > 3000 && waits[0] <= 5000, `waited ${waits[0]} ms`);
  });

  it('retries a 429 even for POST (the server refused it), but never a 5xx or a reset on POST', async () => {
    server.fault({ kind: 'status', status: 429, retryAfter: 0, method: 'POST' });
    const created = await client().request<{ created: number }>({ method: 'POST', path: 'items', body: {} });
    assert.equal(created.attempts, 2);

    server.fault({ kind: 'status', status: 502, method: 'POST' });
    await assert.rejects(client().request({ method: 'POST', path: 'items', body: {} }), (error: HttpError) => {
      assert.equal(error.status, 502);
      return true;
    });
    server.fault({ kind: 'reset', method: 'POST' });
    await assert.rejects(client().request({ method: 'POST', path: 'items', body: {} }), /could not be reached/);
    assert.equal(server.calls('POST').length, 4, 'the 502 and the reset were each sent once');
  });

  it('retries 5xx and resets for idempotent calls with growing, jittered backoff', async () => {
    server.fault({ kind: 'status', status: 500, path: '/items/3', times: 2 });
    server.fault({ kind: 'reset', path: '/items/3' });
    const response = await client().request({ method: 'PUT', path: 'items/3', body: { name: 'x' } });
    assert.equal(response.attempts, 4);
    assert.equal(waits.length, 3);
    for (const wait of waits) assert.ok(wait >= 2 && wait <= 50, `wait ${wait} within bounds`);
  });

  it('a POST marked idempotent is retried on 5xx', async () => {
    server.fault({ kind: 'status', status: 500, method: 'POST' });
    const response = await client().request({ method: 'POST', path: 'items', body: {}, idempotent: true });
    assert.equal(response.attempts, 2);
  });

  it('gives up when waiting would pass the deadline, saying so', async () => {
    server.fault({ kind: 'status', status: 429, retryAfter: 120, path: '/items/4' });
    await assert.rejects(
      client({ retry: { maxRetries: 3, deadlineMs: 10_000 } }).request({ method: 'GET', path: 'items/4' }),
      /answered 429.*giving up: waiting 120 s more would pass the 10 s deadline/,
    );
    assert.deepEqual(waits, []);
  });

  it('stops after the last retry with the last error', async () => {
    server.fault({ kind: 'status', status: 503, path: '/items/5', times: 10 });
    await assert.rejects(client().request({ method: 'GET', path: 'items/5' }), (error: HttpError) => error.status === 503 && error.attempts === 4);
  });

  it('never shows a secret URL in its messages', async () => {
    const secretPath = 'items/SECRET-TOKEN-123';
    server.fault({ kind: 'status', status: 404, path: '/items/SECRET' });
    await assert.rejects(client({ describeTarget: 'the webhook' }).request({ method: 'GET', path: secretPath }), (error: Error) => {
      assert.doesNotMatch(error.message, /SECRET-TOKEN/);
      assert.match(error.message, /the webhook/);
      return true;
    });
  });
});
