import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/**
 * Cloudflare API v4 under `/client/v4`: zones, DNS records (list with paging and the `name.exact` filter,
 * get, PATCH with validation and the CNAME clash rule), cache purge, the `{success, errors, messages,
 * result, result_info}` envelope, API tokens scoped to zones and permissions, and the rate limit: 1200 calls
 * per 5 minutes per token (shared with the dashboard: `spend()`), with every call locked out for 5 minutes
 * once it is exceeded, `Ratelimit` / `Ratelimit-Policy` headers, and `Retry-After` only on a 429.
 */

export interface EmulatedDnsRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  modified_on: string;
}

export interface EmulatedToken {
  /** Zone ids it may use, or every zone. */
  zones: string[] | '*';
  dnsEdit: boolean;
  purge: boolean;
}

export const CLOUDFLARE_TOKEN = 'cf-token-Yq3v9ZL2mXw8Rt4K';
export const ZONE_ID = '023e105f4ecef8ad9ca31a8372d0c353';
export const OTHER_ZONE_ID = '9a7806061c88ada191ed06f989cc3dac';

type Seed = Pick<EmulatedDnsRecord, 'name' | 'type' | 'content' | 'proxied' | 'ttl'>;
const SEED_RECORDS: ReadonlyArray<Seed> = [
  { name: 'invoicecloud.com', type: 'A', content: '203.0.113.5', proxied: true, ttl: 1 },
  { name: 'www.invoicecloud.com', type: 'CNAME', content: 'pal.invoicecloud.com', proxied: true, ttl: 1 },
  { name: 'my.invoicecloud.com', type: 'CNAME', content: 'pal.invoicecloud.com', proxied: false, ttl: 300 },
  { name: 'pal.invoicecloud.com', type: 'A', content: '203.0.113.10', proxied: false, ttl: 300 },
  { name: 'api.invoicecloud.com', type: 'A', content: '203.0.113.20', proxied: false, ttl: 120 },
  { name: 'api.invoicecloud.com', type: 'A', content: '203.0.113.21', proxied: false, ttl: 120 },
  { name: 'legacy.invoicecloud.com', type: 'A', content: '203.0.113.30', proxied: false, ttl: 3600 },
  { name: 'legacy.invoicecloud.com', type: 'TXT', content: '"v=spf1 -all"', proxied: false, ttl: 3600 },
];

export class CloudflareEmulator extends Emulator {
  readonly zones = new Map<string, { id: string; name: string }>();
  records = new Map<string, EmulatedDnsRecord>();
  readonly tokens = new Map<string, EmulatedToken>();
  readonly purges: Array<{ zoneId: string; body: unknown }> = [];
  readonly limit = { calls: 1200, windowMs: 300_000, lockoutMs: 300_000 };
  private usage = new Map<string, { windowStart: number; used: number; lockedUntil: number }>();
  private recordCount = 0;

  constructor(options: { https?: boolean } = {}) {
    super({ name: 'Cloudflare', https: options.https ?? true });
    this.onReset(() => this.seed());
    this.seed();
    const api = '/client/v4';
    this.guarded(
      'GET',
      `${api}/zones`,
      () => true,
      (req) => this.listZones(req),
    );
    this.guarded(
      'GET',
      `${api}/zones/:zone/dns_records`,
      () => true,
      (req) => this.listRecords(req),
    );
    this.guarded(
      'GET',
      `${api}/zones/:zone/dns_records/:id`,
      () => true,
      (req) => this.getRecord(req),
    );
    this.guarded(
      'PATCH',
      `${api}/zones/:zone/dns_records/:id`,
      (t) => t.dnsEdit,
      (req) => this.patchRecord(req),
    );
    this.guarded(
      'POST',
      `${api}/zones/:zone/purge_cache`,
      (t) => t.purge,
      (req) => this.purge(req),
    );
  }

  private seed(): void {
    this.zones.clear();
    this.zones.set(ZONE_ID, { id: ZONE_ID, name: 'invoicecloud.com' });
    this.zones.set(OTHER_ZONE_ID, { id: OTHER_ZONE_ID, name: 'example.org' });
    this.records = new Map();
    this.recordCount = 0;
    for (const seed of SEED_RECORDS) this.addRecord(ZONE_ID, seed);
    this.addRecord(OTHER_ZONE_ID, { name: 'www.example.org', type: 'CNAME', content: 'origin.example.org', proxied: true, ttl: 1 });
    this.tokens.clear();
    // The least a maintenance-page token needs: DNS edit and cache purge on the one zone.
    this.tokens.set(CLOUDFLARE_TOKEN, { zones: [ZONE_ID], dnsEdit: true, purge: true });
    this.purges.length = 0;
    this.usage = new Map();
    Object.assign(this.limit, { calls: 1200, windowMs: 300_000, lockoutMs: 300_000 });
  }

  addRecord(zoneId: string, seed: Seed): EmulatedDnsRecord {
    const zone = this.zones.get(zoneId)!;
    // Ids are stable across resets, so a test can compare the DNS before and after one.
    const id = createHash('md5').update(`${zoneId}/${++this.recordCount}`).digest('hex');
    const record: EmulatedDnsRecord = {
      id,
      zone_id: zoneId,
      zone_name: zone.name,
      comment: null,
      modified_on: new Date().toISOString(),
      ...seed,
    };
    this.records.set(record.id, record);
    return record;
  }

  /** Every record of a zone as `name type content proxied ttl`, sorted: what "the same DNS" means in tests. */
  dnsState(zoneId = ZONE_ID): string[] {
    return [...this.records.values()]
      .filter((r) => r.zone_id === zoneId)
      .map((r) => `${r.id} ${r.name} ${r.type} ${r.content} proxied=${r.proxied} ttl=${r.ttl}`)
      .sort();
  }

  find(name: string, type?: string): EmulatedDnsRecord | undefined {
    return [...this.records.values()].find((r) => r.name === name && (!type || r.type === type));
  }

  /** Calls spent elsewhere with this token (dashboard users, other pipelines). */
  spend(calls: number, token = CLOUDFLARE_TOKEN): void {
    this.budget(token).used += calls;
  }

  /** Starts the 5-minute lockout now, as going over the budget does. */
  lockOut(token = CLOUDFLARE_TOKEN): void {
    this.budget(token).lockedUntil = Date.now() + this.limit.lockoutMs;
  }

  isLockedOut(token = CLOUDFLARE_TOKEN): boolean {
    return this.budget(token).lockedUntil > Date.now();
  }

  private budget(token: string) {
    const now = Date.now();
    let usage = this.usage.get(token);
    if (!usage || usage.windowStart + this.limit.windowMs <= now) {
      usage = { windowStart: now, used: 0, lockedUntil: usage?.lockedUntil ?? 0 };
      this.usage.set(token, usage);
    }
    return usage;
  }

  private envelope(result: unknown, info?: object): EmulatorResponse {
    return { body: { success: true, errors: [], messages: [], result, ...(info ? { result_info: info } : {}) } };
  }

  private failure(status: number, code: number, message: string): EmulatorResponse {
    return { status, body: { success: false, errors: [{ code, message }], messages: [], result: null } };
  }

  private guarded(
    method: string,
    path: string,
    allowed: (token: EmulatedToken) => boolean,
    handler: (req: EmulatorRequest) => EmulatorResponse,
  ): void {
    this.route(method, path, (req) => {
      const auth = String(req.headers.authorization ?? '');
      const tokenText = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      const token = this.tokens.get(tokenText);
      if (!token) return this.failure(401, 10000, 'Authentication error');
      const usage = this.budget(tokenText);
      const now = Date.now();
      const headers = () => {
        const secondsToReset = Math.max(0, Math.ceil((usage.windowStart + this.limit.windowMs - now) / 1000));
        return {
          Ratelimit: `"default";r=${Math.max(0, this.limit.calls - usage.used)};t=${secondsToReset}`,
          'Ratelimit-Policy': `"default";q=${this.limit.calls};w=${this.limit.windowMs / 1000}`,
        };
      };
      if (usage.lockedUntil > now) {
        return {
          ...this.failure(429, 971, 'Please wait and consider throttling your request speed'),
          headers: { ...headers(), 'Retry-After': Math.ceil((usage.lockedUntil - now) / 1000) },
        };
      }
      usage.used++;
      if (usage.used > this.limit.calls) {
        usage.lockedUntil = now + this.limit.lockoutMs;
        return {
          ...this.failure(429, 971, 'Please wait and consider throttling your request speed'),
          headers: { ...headers(), 'Retry-After': this.limit.lockoutMs / 1000 },
        };
      }
      const zone = req.params.zone;
      if (zone !== undefined && token.zones !== '*' && !token.zones.includes(zone))
        return { ...this.failure(403, 10000, 'Authentication error'), headers: headers() };
      if (!allowed(token)) return { ...this.failure(403, 10000, 'Authentication error'), headers: headers() };
      if (zone !== undefined && !this.zones.has(zone))
        return { ...this.failure(404, 7003, 'Could not route to /zones, perhaps your object identifier is invalid?'), headers: headers() };
      const response = handler(req);
      return { ...response, headers: { ...headers(), ...response.headers } };
    });
  }

  private page<T>(items: T[], req: EmulatorRequest, defaultPerPage: number): EmulatorResponse {
    const page = Math.max(1, Number(req.query.get('page') ?? 1));
    const perPage = Math.max(1, Number(req.query.get('per_page') ?? defaultPerPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return this.envelope(slice, {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.max(1, Math.ceil(items.length / perPage)),
    });
  }

  private listZones(req: EmulatorRequest): EmulatorResponse {
    const name = req.query.get('name')?.toLowerCase();
    const auth = String(req.headers.authorization ?? '').slice(7);
    const token = this.tokens.get(auth)!;
    const zones = [...this.zones.values()]
      .filter((zone) => !name || zone.name === name)
      .filter((zone) => token.zones === '*' || token.zones.includes(zone.id))
      .map((zone) => ({ ...zone, status: 'active', paused: false, type: 'full' }));
    return this.page(zones, req, 20);
  }

  private listRecords(req: EmulatorRequest): EmulatorResponse {
    const exact = (req.query.get('name.exact') ?? req.query.get('name'))?.toLowerCase();
    const type = req.query.get('type');
    const records = [...this.records.values()]
      .filter((r) => r.zone_id === req.params.zone && (!exact || r.name === exact) && (!type || r.type === type))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return this.page(
      records.map((r) => this.json(r)),
      req,
      100,
    );
  }

  private json(record: EmulatedDnsRecord) {
    return { ...record, proxiable: true, locked: false, meta: { auto_added: false }, created_on: '2024-01-01T00:00:00Z' };
  }

  private getRecord(req: EmulatorRequest): EmulatorResponse {
    const record = this.records.get(req.params.id);
    if (!record || record.zone_id !== req.params.zone) return this.failure(404, 81044, 'Record does not exist.');
    return this.envelope(this.json(record));
  }

  private patchRecord(req: EmulatorRequest): EmulatorResponse {
    const record = this.records.get(req.params.id);
    if (!record || record.zone_id !== req.params.zone) return this.failure(404, 81044, 'Record does not exist.');
    const body = (req.body ?? {}) as Partial<EmulatedDnsRecord>;
    const next = { ...record };
    for (const key of ['type', 'content', 'proxied', 'ttl', 'comment'] as const) {
      if (body[key] !== undefined) (next as Record<string, unknown>)[key] = body[key];
    }
    if (!['A', 'AAAA', 'CNAME', 'TXT', 'MX'].includes(next.type)) return this.failure(400, 9004, 'This record type is not supported.');
    if (next.type === 'A' && isIP(next.content) !== 4) return this.failure(400, 9005, 'Content for A record must be a valid IPv4 address.');
    if (next.type === 'AAAA' && isIP(next.content) !== 6)
      return this.failure(400, 9006, 'Content for AAAA record must be a valid IPv6 address.');
    if (next.type === 'CNAME' && !/^[a-z0-9.-]+$/i.test(next.content))
      return this.failure(400, 9007, 'Content for CNAME record is invalid.');
    if (!(next.ttl === 1 || (Number.isInteger(next.ttl) && next.ttl >= 60 && next.ttl <= 86_400))) {
      return this.failure(400, 9021, 'TTL must be between 30 and 86400 seconds, or 1 for Automatic.');
    }
    const others = [...this.records.values()].filter((r) => r.id !== record.id && r.zone_id === record.zone_id && r.name === record.name);
    if ((next.type === 'CNAME' && others.length) || others.some((r) => r.type === 'CNAME')) {
      return this.failure(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
    }
    next.modified_on = new Date().toISOString();
    this.records.set(record.id, next);
    return this.envelope(this.json(next));
  }

  private purge(req: EmulatorRequest): EmulatorResponse {
    const body = req.body ?? {};
    const kinds = ['purge_everything', 'files', 'hosts', 'tags', 'prefixes'].filter((key) => body[key] !== undefined);
    if (kinds.length !== 1)
      return this.failure(400, 1012, 'Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes".');
    if (Array.isArray(body.hosts) && body.hosts.length > 100)
      return this.failure(400, 1015, 'Too many hosts in one request (100 at most).');
    this.purges.push({ zoneId: req.params.zone, body });
    return this.envelope({ id: req.params.zone });
  }
}
