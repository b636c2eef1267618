import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A corporate web proxy on 127.0.0.1, as self-hosted agents sit behind: HTTPS through a real `CONNECT` tunnel
 * (the proxy sees only host and port; TLS runs end to end), plain HTTP forwarded from an absolute-URI request
 * (`GET http://host/path`), optional Basic authentication (407 with `Proxy-Authenticate` without it), and a
 * journal of every request it took. Each connection it opens to a target is made from a port it notes, so a
 * test can tell a call that came through the proxy (the target saw one of those ports) from a direct one.
 */

export interface ProxyJournalEntry {
  at: number;
  kind: 'tunnel' | 'forward';
  /** `host:port` of a tunnel; the absolute URL of a forwarded request. */
  target: string;
  method: string;
  /** The user named in `Proxy-Authorization`, if any. */
  user?: string;
  /** 200 (tunnel open or forwarded), 407 (no or wrong credentials), 502 (target unreachable), 400. */
  status: number;
  /** The local port of the proxy's own connection to the target (what the target sees as remote port). */
  outboundPort?: number;
}

export interface ProxyEmulatorOptions {
  /** Requires these Basic credentials; without, any client is let through. */
  credentials?: { username: string; password: string };
}

export class ProxyEmulator {
  readonly journal: ProxyJournalEntry[] = [];
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private baseUrl = '';

  constructor(private readonly options: ProxyEmulatorOptions = {}) {}

  get url(): string {
    if (!this.baseUrl) throw new Error('proxy emulator is not started');
    return this.baseUrl;
  }

  /** Ports the proxy's connections to targets came from: a target's remote port in this set came through it. */
  outboundPorts(): Set<number> {
    return new Set(this.journal.map((entry) => entry.outboundPort).filter((port): port is number => port !== undefined));
  }

  /** `host:port` of every target reached through a tunnel or a forward. */
  targets(): string[] {
    return this.journal
      .filter((entry) => entry.status === 200)
      .map((entry) => (entry.kind === 'tunnel' ? entry.target : new URL(entry.target).host));
  }

  reset(): void {
    this.journal.length = 0;
  }

  async start(): Promise<string> {
    this.server = http.createServer((request, response) => this.forward(request, response));
    this.server.on('connect', (request: http.IncomingMessage, socket: Socket, head: Buffer) => this.tunnel(request, socket, head));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** The user when the credentials are right (or none are required); undefined when refused. */
  private authorize(request: http.IncomingMessage): { ok: boolean; user?: string } {
    const header = request.headers['proxy-authorization'];
    const decoded =
      typeof header === 'string' && /^Basic /i.test(header) ? Buffer.from(header.slice(6), 'base64').toString('utf8') : undefined;
    const user = decoded?.split(':')[0];
    const expected = this.options.credentials;
    if (!expected) return { ok: true, user };
    return { ok: decoded === `${expected.username}:${expected.password}`, user };
  }

  private tunnel(request: http.IncomingMessage, client: Socket, head: Buffer): void {
    const entry: ProxyJournalEntry = { at: Date.now(), kind: 'tunnel', target: request.url ?? '', method: 'CONNECT', status: 0 };
    this.journal.push(entry);
    const { ok, user } = this.authorize(request);
    entry.user = user;
    if (!ok) {
      entry.status = 407;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="emulator"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = splitHostPort(entry.target);
    const upstream = net.connect({ host, port });
    upstream.once('connect', () => {
      entry.status = 200;
      entry.outboundPort = upstream.localPort;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', () => {
      if (!entry.status) {
        entry.status = 502;
        client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      } else close();
    });
    client.on('error', close);
    client.on('close', () => upstream.destroy());
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    const entry: ProxyJournalEntry = {
      at: Date.now(),
      kind: 'forward',
      target: request.url ?? '',
      method: request.method ?? 'GET',
      status: 0,
    };
    this.journal.push(entry);
    if (!/^http:\/\//i.test(entry.target)) {
      entry.status = 400;
      response.writeHead(400, { 'Content-Type': 'text/plain' }).end('This is a proxy: send an absolute http:// URL, or CONNECT for https.');
      return;
    }
    const { ok, user } = this.authorize(request);
    entry.user = user;
    if (!ok) {
      entry.status = 407;
      response.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="emulator"', 'Content-Length': 0 }).end();
      return;
    }
    const headers = { ...request.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request(entry.target, { method: request.method, headers, agent: false }, (answer) => {
      entry.status = 200;
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.once('socket', (socket: Socket) => socket.once('connect', () => (entry.outboundPort = socket.localPort)));
    upstream.on('error', () => {
      if (!entry.status) entry.status = 502;
      if (!response.headersSent) response.writeHead(502, { 'Content-Type': 'text/plain' });
      response.end();
    });
    request.pipe(upstream);
  }
}

function splitHostPort(target: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
  if (!match) return [target, 443];
  return [match[1], Number(match[2])];
}
