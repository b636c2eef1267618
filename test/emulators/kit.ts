import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';

/**
 * The base every emulator stands on: an HTTP or HTTPS server on 127.0.0.1 with a certificate made at start,
 * a router, a journal of every call, faults on demand (429 with Retry-After, 5xx, connection reset, slow
 * answers, and the hostile answers of `HOSTILE_FAULTS`: an HTML page at 200, JSON of the wrong shape, a body
 * dripped a byte at a time, a huge body, a reset mid-body, truncated JSON, a wrong content type) and a reset
 * between tests. Emulators follow the documented shapes of the real APIs; the real
 * clients talk to them over real sockets.
 */

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  params: Record<string, string>;
  /** Parsed JSON or form body when the content type says so; otherwise the text. */
  body: any;
  rawBody: string;
}

export interface EmulatorResponse {
  status?: number;
  headers?: Record<string, string | number>;
  /** Objects are sent as JSON; strings as given (text/plain unless a content type is set). */
  body?: unknown;
  /** Waits this long before answering (slow services, simulated work). */
  delayMs?: number;
}

export type Handler = (request: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

export interface JournalEntry {
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: any;
  status: number;
  fault?: FaultKind;
  /** The caller's port: a call that came through the proxy emulator has one of its outbound ports. */
  remotePort?: number;
}

/**
 * `status`, `reset` (before any answer) and `slow` (stall, then answer normally) are the plain faults. The
 * hostile ones: `html` (a sign-in page at 200, the route not run), `shape` (200 JSON of another shape, `body`,
 * default `{}`), `drip` (200 JSON headers, then one byte every `intervalMs`, never ending), `huge` (200 JSON
 * of `bytes`, default 12 MiB, streamed without a length, or with `declared: true` a Content-Length of that
 * size and a trickle), and, after running the route (a write is applied: the answer is what breaks):
 * `reset-mid-body` (headers and half the body, then the socket is destroyed), `truncated` (half the body with
 * a matching length), `content-type` (the body as `text/plain`, or `contentType`).
 */
export type FaultKind = 'status' | 'reset' | 'slow' | HostileFault;
export type HostileFault = 'html' | 'shape' | 'drip' | 'huge' | 'reset-mid-body' | 'truncated' | 'content-type';
export const HOSTILE_FAULTS: readonly HostileFault[] = ['html', 'shape', 'drip', 'huge', 'reset-mid-body', 'truncated', 'content-type'];
/** Faults that answer in place of the route: nothing the call asked for is done. */
const REPLACING: ReadonlySet<FaultKind> = new Set(['status', 'reset', 'html', 'shape', 'drip', 'huge']);

export interface FaultRule {
  /** Which calls it hits: method, and a path test (substring or RegExp). All calls when absent. */
  method?: string;
  path?: string | RegExp;
  kind: FaultKind;
  /** For `status`: the HTTP status to answer (429, 500, 503...); for `html`/`shape`: instead of 200. */
  status?: number;
  /** For 429 / 503: the Retry-After header to send (seconds, or an HTTP date string). */
  retryAfter?: string | number;
  /** Body sent with the fault status, or the wrong-shape JSON of `shape`. */
  body?: unknown;
  /** For `slow`: how long to stall before answering normally. */
  delayMs?: number;
  /** For `drip`: the pause between bytes (default 200 ms). */
  intervalMs?: number;
  /** For `huge`: the body's size (default 12 MiB); `declared` sends it as Content-Length. */
  bytes?: number;
  declared?: boolean;
  /** For `content-type`: the type sent instead of JSON's (default `text/plain`). */
  contentType?: string;
  /** How many matching calls it hits (default 1). */
  times?: number;
}

const SIGN_IN_PAGE =
  '<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><form method="post" action="/login">' +
  '<input name="loginfmt"><button>Next</button></form></body></html>';

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

interface Certificate {
  cert: string;
  key: string;
  file: string;
}

let certificate: Promise<Certificate> | undefined;

/** One certificate for every emulator of this process: CA:true with SANs for localhost and 127.0.0.1. */
export function emulatorCertificate(): Promise<Certificate> {
  certificate ??= (async () => {
    const pems = await generate([{ name: 'commonName', value: 'maintenance-window emulators' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 7 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-emulators-'));
    const file = path.join(dir, 'ca.pem');
    fs.writeFileSync(file, pems.cert);
    return { cert: pems.cert, key: pems.private, file };
  })();
  return certificate;
}

function compile(pathPattern: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = pathPattern
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        keys.push(segment.slice(1).replace(/\*$/, ''));
        return segment.endsWith('*') ? '(.+)' : '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { pattern: new RegExp(`^${source}/?$`, 'i'), keys };
}

function parseBody(raw: string, contentType: string | undefined): any {
  if (!raw) return undefined;
  if (contentType?.includes('application/json') || /^[[{]/.test(raw.trim())) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  return raw;
}

export interface EmulatorOptions {
  name: string;
  https?: boolean;
}

export class Emulator {
  readonly name: string;
  readonly journal: JournalEntry[] = [];
  private readonly routes: Route[] = [];
  private faults: Array<FaultRule & { remaining: number }> = [];
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly resetHooks: Array<() => void> = [];
  private baseUrl = '';
  readonly https: boolean;

  constructor(options: EmulatorOptions) {
    this.name = options.name;
    this.https = options.https ?? false;
  }

  /** The URL clients use, e.g. `https://127.0.0.1:40123`. */
  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.name} emulator is not started`);
    return this.baseUrl;
  }

  route(method: string, pathPattern: string, handler: Handler): this {
    const { pattern, keys } = compile(pathPattern);
    this.routes.push({ method: method.toUpperCase(), pattern, keys, handler });
    return this;
  }

  /** Registers state to be cleared by `reset()`. */
  onReset(hook: () => void): this {
    this.resetHooks.push(hook);
    return this;
  }

  /** Adds a fault for the next matching call(s). */
  fault(rule: FaultRule): this {
    this.faults.push({ ...rule, remaining: rule.times ?? 1 });
    return this;
  }

  clearFaults(): void {
    this.faults = [];
  }

  reset(): void {
    this.journal.length = 0;
    this.faults = [];
    for (const hook of this.resetHooks) hook();
  }

  /** Calls that changed something (anything but GET/HEAD/OPTIONS), optionally only those whose path matches. */
  writes(pathTest?: string | RegExp): JournalEntry[] {
    return this.journal.filter(
      (entry) => !['GET', 'HEAD', 'OPTIONS'].includes(entry.method) && (!pathTest || matches(pathTest, entry.path)),
    );
  }

  /** Writes that reached the route (not those a replacing fault answered instead): what changed state. */
  appliedWrites(pathTest?: string | RegExp): JournalEntry[] {
    return this.writes(pathTest).filter((entry) => !entry.fault || !REPLACING.has(entry.fault));
  }

  calls(method?: string, pathTest?: string | RegExp): JournalEntry[] {
    return this.journal.filter(
      (entry) => (!method || entry.method === method.toUpperCase()) && (!pathTest || matches(pathTest, entry.path)),
    );
  }

  async start(): Promise<string> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    if (this.https) {
      const { cert, key } = await emulatorCertificate();
      this.server = https.createServer({ cert, key }, handler);
    } else {
      this.server = http.createServer(handler);
    }
    this.server.keepAliveTimeout = 1000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `${this.https ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  private takeFault(method: string, pathname: string): FaultRule | undefined {
    const rule = this.faults.find(
      (fault) => fault.remaining > 0 && (!fault.method || fault.method === method) && (!fault.path || matches(fault.path, pathname)),
    );
    if (rule) rule.remaining--;
    return rule;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    // `//subscriptions/...` (what the generic ARM resource operations send) is a path, not a host.
    const url = new URL((req.url ?? '/').replace(/^\/{2,}/, '/'), 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: JournalEntry = {
      at: Date.now(),
      method,
      path: decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: parseBody(rawBody, req.headers['content-type']),
      status: 0,
      remotePort: req.socket.remotePort,
    };
    this.journal.push(entry);

    const fault = this.takeFault(method, entry.path);
    if (fault?.kind === 'reset') {
      entry.fault = 'reset';
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'slow') {
      entry.fault = 'slow';
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 5000));
    }
    if (fault?.kind === 'status') {
      entry.fault = 'status';
      entry.status = fault.status ?? 500;
      const headers: Record<string, string | number> = {};
      if (fault.retryAfter !== undefined) headers['Retry-After'] = fault.retryAfter;
      this.send(res, { status: entry.status, headers, body: fault.body ?? { error: `injected ${entry.status}` } });
      return;
    }
    if (fault && REPLACING.has(fault.kind)) {
      entry.fault = fault.kind;
      entry.status = fault.status ?? 200;
      return this.sendHostile(res, fault);
    }

    // Like real servers, a HEAD is answered by the GET route without its body.
    const route =
      this.routes.find((candidate) => candidate.method === method && candidate.pattern.test(entry.path)) ??
      (method === 'HEAD' ? this.routes.find((candidate) => candidate.method === 'GET' && candidate.pattern.test(entry.path)) : undefined);
    if (!route) {
      entry.status = 404;
      this.send(res, { status: 404, body: { error: `${this.name} emulator has no route for ${method} ${entry.path}` } });
      return;
    }
    const match = route.pattern.exec(entry.path)!;
    const params = Object.fromEntries(route.keys.map((key, index) => [key, decodeURIComponent(match[index + 1])]));
    try {
      const response = await route.handler({
        method,
        path: entry.path,
        query: url.searchParams,
        headers: req.headers,
        params,
        body: entry.body,
        rawBody,
      });
      if (response.delayMs) await new Promise((resolve) => setTimeout(resolve, response.delayMs));
      entry.status = response.status ?? 200;
      if (fault) entry.fault = fault.kind;
      if (fault && fault.kind !== 'slow') return this.sendMangled(res, fault, response);
      this.send(res, method === 'HEAD' ? { ...response, body: undefined } : response);
    } catch (error) {
      entry.status = 500;
      this.send(res, { status: 500, body: { error: `${this.name} emulator failed: ${(error as Error).message}` } });
    }
  }

  /** A hostile answer in place of the route's. */
  private sendHostile(res: http.ServerResponse, fault: FaultRule): void {
    const status = fault.status ?? 200;
    switch (fault.kind) {
      case 'reset':
        res.socket?.destroy();
        return;
      case 'html':
        return this.send(res, { status, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: SIGN_IN_PAGE });
      case 'shape':
        return this.send(res, { status, body: fault.body ?? {} });
      case 'drip':
        return this.drip(res, fault.intervalMs ?? 200);
      case 'huge':
        return this.huge(res, fault.bytes ?? 12 * 1024 * 1024, fault.declared ?? false);
    }
  }

  /** The route's answer, broken on the way out. */
  private sendMangled(res: http.ServerResponse, fault: FaultRule, response: EmulatorResponse): void {
    const payload = typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? {});
    const half = payload.slice(0, Math.max(1, Math.floor(payload.length / 2)));
    const json = { 'Content-Type': 'application/json; charset=utf-8' };
    switch (fault.kind) {
      case 'truncated':
        return this.send(res, { status: response.status, headers: { ...response.headers, ...json }, body: half });
      case 'content-type':
        return this.send(res, {
          status: response.status,
          headers: { ...response.headers, 'Content-Type': fault.contentType ?? 'text/plain; charset=utf-8' },
          body: payload,
        });
      case 'reset-mid-body':
        res.writeHead(response.status ?? 200, { ...json, 'Content-Length': Buffer.byteLength(payload) });
        res.write(half, () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      default:
        return this.sendHostile(res, fault);
    }
  }

  /** Headers at once, then one byte every `intervalMs` until the client goes away. */
  private drip(res: http.ServerResponse, intervalMs: number): void {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.write('{');
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), intervalMs);
    res.on('close', () => clearInterval(timer));
  }

  /** A body of `bytes` bytes of JSON-ish filler, with or without declaring its length. */
  private huge(res: http.ServerResponse, bytes: number, declared: boolean): void {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', ...(declared ? { 'Content-Length': bytes } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes && !res.destroyed) {
        const size = Math.min(chunk.length, bytes - sent);
        sent += size;
        // A declared body trickles: a client must refuse it from its headers, not by reading it.
        if (declared) return void setTimeout(() => res.write(chunk.subarray(0, 16), pump), 200);
        if (!res.write(chunk.subarray(0, size))) return void res.once('drain', pump);
      }
      if (!res.destroyed && sent >= bytes) res.end();
    };
    pump();
  }

  private send(res: http.ServerResponse, response: EmulatorResponse): void {
    if (res.destroyed) return;
    const headers: Record<string, string | number> = { ...(response.headers ?? {}) };
    let payload = '';
    if (response.body !== undefined) {
      if (typeof response.body === 'string') {
        payload = response.body;
        headers['Content-Type'] ??= 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(response.body);
        headers['Content-Type'] ??= 'application/json; charset=utf-8';
      }
    }
    res.writeHead(response.status ?? 200, headers);
    res.end(payload);
  }
}

function matches(test: string | RegExp, value: string): boolean {
  return typeof test === 'string' ? value.includes(test) : test.test(value);
}
