import { strict as assert } from 'node:assert';
import { setWriter } from '../../shared/core/commands';
import { DEFAULT_MAX_BODY_BYTES, HttpClient, HttpError, joinUrl } from '../../shared/core/http';
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
    await assert.rejects(
      client().request({ method: 'GET', path: 'items/5' }),
      (error: HttpError) => error.status === 503 && error.attempts === 4,
    );
  });

  it('takes a 200 with an HTML page as an error naming the service, the status and the content type', async () => {
    server.fault({ kind: 'html', path: '/items/6' });
    await assert.rejects(client().request({ method: 'GET', path: 'items/6' }), (error: HttpError) => {
      assert.equal(error.message, 'Echo answered 200 with text/html where JSON was expected (GET /items/6)');
      assert.equal(error.failure, 'not-json');
      assert.equal(error.status, 200);
      assert.equal(error.contentType, 'text/html; charset=utf-8');
      return true;
    });
    assert.equal(server.calls('GET', '/items/6').length, 1, 'an answer that is not the API is not retried');
  });

  it('takes truncated JSON, a wrong content type and an empty 200 as errors; a 204 is an empty answer', async () => {
    server.fault({ kind: 'truncated', path: '/items/7' });
    await assert.rejects(
      client().request({ method: 'GET', path: 'items/7' }),
      /Echo answered 200 with application\/json that is not valid JSON \(\d+ bytes, cut short or malformed\) \(GET \/items\/7\)/,
    );
    server.fault({ kind: 'content-type', path: '/items/8' });
    await assert.rejects(
      client().request({ method: 'GET', path: 'items/8' }),
      /Echo answered 200 with text\/plain where JSON was expected/,
    );
    server.route('GET', '/empty/:status', (req) => ({ status: Number(req.params.status) }));
    await assert.rejects(
      client().request({ method: 'GET', path: 'empty/200' }),
      /answered 200 with no content type where JSON was expected/,
    );
    assert.equal((await client().request({ method: 'GET', path: 'empty/204' })).data, undefined);
    // Text calls (webhooks, websites) take what comes.
    server.fault({ kind: 'html', path: '/items/9' });
    assert.match((await client().request<string>({ method: 'GET', path: 'items/9', responseType: 'text' })).data, /<!DOCTYPE html>/);
  });

  it('holds its deadline against a server dripping its body a byte at a time (not an idle timeout)', async () => {
    server.fault({ kind: 'drip', path: '/items/10', intervalMs: 50, times: 10 });
    const started = Date.now();
    await assert.rejects(
      client({ retry: { maxRetries: 3, baseDelayMs: 10, deadlineMs: 800 }, attemptTimeoutMs: 60_000 }).request({
        method: 'GET',
        path: 'items/10',
      }),
      (error: HttpError) => {
        assert.match(
          error.message,
          /^Echo did not finish answering GET \/items\/10 within the 0\.8 s deadline after \d+ bytes of the body; gave up$/,
        );
        assert.equal(error.failure, 'deadline');
        return true;
      },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 750 && elapsed < 1500, `ended after ${elapsed} ms`);
  });

  it('bounds each attempt from sending to the last byte, and retries an idempotent call that ran out', async () => {
    server.fault({ kind: 'drip', path: '/items/11', intervalMs: 50 });
    const started = Date.now();
    const response = await client({ attemptTimeoutMs: 400 }).request<{ id: string }>({ method: 'GET', path: 'items/11' });
    assert.equal(response.data.id, '11');
    assert.equal(response.attempts, 2);
    assert.ok(Date.now() - started < 1500);
    assert.ok(
      lines.some((line) => /Echo did not finish answering GET \/items\/11 within 0\.4 s after \d+ bytes of the body; waiting/.test(line)),
    );
  });

  it(`refuses a body past ${DEFAULT_MAX_BODY_BYTES / 1024 / 1024} MiB, declared or streamed, without reading it all`, async () => {
    server.fault({ kind: 'huge', path: '/items/12', declared: true, bytes: 64 * 1024 * 1024 });
    const started = Date.now();
    await assert.rejects(client().request({ method: 'GET', path: 'items/12' }), (error: HttpError) => {
      assert.equal(
        error.message,
        'Echo answered GET /items/12 with a body that declared 67108864 bytes, more than the 10 MiB limit; refused without reading it',
      );
      assert.equal(error.failure, 'too-large');
      return true;
    });
    assert.ok(Date.now() - started < 1000, 'refused from its headers');
    server.fault({ kind: 'huge', path: '/items/13', bytes: 11 * 1024 * 1024 });
    await assert.rejects(
      client().request({ method: 'GET', path: 'items/13' }),
      /Echo answered GET \/items\/13 with a body that grew past the 10 MiB limit; refused without reading it/,
    );
    server.fault({ kind: 'huge', path: '/items/14', bytes: 4096 });
    await assert.rejects(client({ maxBodyBytes: 1024 }).request({ method: 'GET', path: 'items/14' }), /grew past the 1 KiB limit/);
  });

  it('reports a connection broken mid-body, and retries it only when the call is idempotent', async () => {
    server.fault({ kind: 'reset-mid-body', path: '/items/15' });
    const read = await client().request<{ id: string }>({ method: 'GET', path: 'items/15' });
    assert.equal(read.attempts, 2);
    assert.ok(
      lines.some((line) =>
        /^The connection broke while Echo was answering GET \/items\/15 after \d+ bytes of the body: ECONNRESET/.test(line),
      ),
    );
    server.fault({ kind: 'reset-mid-body', method: 'POST', path: '/items' });
    await assert.rejects(
      client().request({ method: 'POST', path: 'items', body: {} }),
      (error: HttpError) => error.failure === 'network' && error.networkCode === 'ECONNRESET',
    );
    assert.equal(server.calls('POST', '/items').length, 1, 'a POST whose answer broke off is not sent again');
  });

  it('HttpError takes an options bag', () => {
    const error = new HttpError({ message: 'm', service: 'S', method: 'GET', target: 't', failure: 'status', status: 503 });
    assert.deepEqual([error.service, error.status, error.attempts, error.headers, error.unexpectedAnswer], ['S', 503, 1, {}, false]);
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
