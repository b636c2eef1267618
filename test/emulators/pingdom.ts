import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/**
 * Pingdom API 3.1 under `/api/3.1`: checks (list with tags, pause/unpause in bulk or one by one) and
 * maintenance windows, with the behaviours that bite: `PUT /checks` without `checkids` changes every check,
 * unknown check ids are ignored silently, a window's `from` must be in the future (`1` = now), a window that
 * has begun cannot be deleted (only its `to` moved, and never into the past), the error body
 * `{error:{statuscode,statusdesc,errormessage}}`, and `Req-Limit-Short` / `Req-Limit-Long` on every answer
 * with a 429 once a budget is spent.
 *
 * The emulator has its own clock (`advance()`), so a test can let a window run out without waiting.
 */

export interface EmulatedCheck {
  id: number;
  name: string;
  hostname: string;
  type: string;
  paused: boolean;
  tags: string[];
}

export interface EmulatedWindow {
  id: number;
  description: string;
  from: number;
  to: number;
  uptime: number[];
  tms: number[];
}

interface Budget {
  limit: number;
  windowSeconds: number;
  used: number;
  startedAt: number;
  /** Set by `spend`: the window is made to end this many seconds after the next call. */
  resetOnFirstCallInSeconds?: number;
}

export const PINGDOM_TOKEN = 'pdm-token-7c1e2a9b4f3d';

export const SEED_CHECKS: ReadonlyArray<EmulatedCheck> = [
  { id: 1001, name: 'www.invoicecloud.com', hostname: 'www.invoicecloud.com', type: 'http', paused: false, tags: ['web', 'public'] },
  { id: 1002, name: 'my.invoicecloud.com', hostname: 'my.invoicecloud.com', type: 'http', paused: false, tags: ['web', 'public'] },
  { id: 1003, name: 'api.invoicecloud.com', hostname: 'api.invoicecloud.com', type: 'http', paused: false, tags: ['api'] },
  { id: 1004, name: 'status page', hostname: 'status.invoicecloud.com', type: 'http', paused: true, tags: ['web'] },
  { id: 1005, name: 'sftp.invoicecloud.com', hostname: 'sftp.invoicecloud.com', type: 'tcp', paused: false, tags: ['sftp'] },
];

export class PingdomEmulator extends Emulator {
  token = PINGDOM_TOKEN;
  checks = new Map<number, EmulatedCheck>();
  windows = new Map<number, EmulatedWindow>();
  private nextWindowId = 5001;
  private offsetSeconds = 0;
  /** Real time, unless a rehearsal makes the emulator follow its simulated clock (`followClock`). */
  private clock: () => number = () => Date.now();
  readonly budgets: { short: Budget; long: Budget } = {
    short: { limit: 600, windowSeconds: 3600, used: 0, startedAt: 0 },
    long: { limit: 10_000, windowSeconds: 86_400, used: 0, startedAt: 0 },
  };

  /** Calls (method and path test) that are applied but whose answer is lost (a 502 instead), once each. */
  readonly lostAnswers: Array<{ method: string; path: string | RegExp }> = [];

  constructor(options: { https?: boolean } = {}) {
    super({ name: 'Pingdom', https: options.https ?? true });
    this.onReset(() => this.seed());
    this.seed();
    const api = '/api/3.1';
    this.guarded('GET', `${api}/checks`, (req) => this.listChecks(req));
    this.guarded('PUT', `${api}/checks`, (req) => this.pauseMany(req));
    this.guarded('GET', `${api}/checks/:id`, (req) => this.getCheck(req));
    this.guarded('PUT', `${api}/checks/:id`, (req) => this.pauseOne(req));
    this.guarded('GET', `${api}/maintenance`, (req) => this.listWindows(req));
    this.guarded('POST', `${api}/maintenance`, (req) => this.createWindow(req));
    this.guarded('DELETE', `${api}/maintenance`, (req) => this.deleteWindows(String(req.query.get('maintenanceids') ?? '').split(',')));
    this.guarded('GET', `${api}/maintenance/:id`, (req) => this.getWindow(req));
    this.guarded('PUT', `${api}/maintenance/:id`, (req) => this.updateWindow(req));
    this.guarded('DELETE', `${api}/maintenance/:id`, (req) => this.deleteWindows([req.params.id]));
  }

  private seed(): void {
    this.checks = new Map(SEED_CHECKS.map((check) => [check.id, { ...check, tags: [...check.tags] }]));
    this.windows = new Map();
    this.lostAnswers.length = 0;
    this.nextWindowId = 5001;
    this.offsetSeconds = 0;
    for (const budget of Object.values(this.budgets)) {
      budget.used = 0;
      budget.startedAt = 0;
      budget.resetOnFirstCallInSeconds = undefined;
    }
    this.budgets.short.limit = 600;
    this.budgets.long.limit = 10_000;
  }

  /** The emulator's clock in UNIX seconds. */
  now(): number {
    return Math.floor(this.clock() / 1000) + this.offsetSeconds;
  }

  /**
   * Makes the clock read `now` (plus any `advance`), as Pingdom would during a rehearsed night: a window then
   * starts at the simulated time the step asks for. Request budgets stay on real time (they meter real calls).
   */
  followClock(now: () => Date): void {
    this.clock = () => now().getTime();
  }

  /** Moves the emulator's clock forward (windows run out without waiting). */
  advance(seconds: number): void {
    this.offsetSeconds += seconds;
  }

  /** Checks that are silenced now: paused, or inside a running maintenance window. */
  silencedChecks(): number[] {
    const now = this.now();
    const inWindow = new Set([...this.windows.values()].filter((w) => w.from <= now && w.to > now).flatMap((w) => w.uptime));
    return [...this.checks.values()].filter((check) => check.paused || inWindow.has(check.id)).map((check) => check.id);
  }

  /** What a person would compare before and after: each check's paused flag and the windows not yet over. */
  effectiveState(): { paused: Record<number, boolean>; openWindows: Array<Omit<EmulatedWindow, 'id'>> } {
    const now = this.now();
    return {
      paused: Object.fromEntries([...this.checks.values()].map((check) => [check.id, check.paused])),
      openWindows: [...this.windows.values()].filter((w) => w.to > now).map(({ id: _id, ...rest }) => rest),
    };
  }

  private error(status: number, desc: string, message: string): EmulatorResponse {
    return { status, body: { error: { statuscode: status, statusdesc: desc, errormessage: message } } };
  }

  private limitHeaders(): Record<string, string> {
    const now = Math.floor(Date.now() / 1000);
    const header = (budget: Budget) =>
      `Remaining: ${Math.max(0, budget.limit - budget.used)} Time until reset: ` +
      `${Math.max(0, budget.startedAt + budget.windowSeconds - now)}`;
    return { 'Req-Limit-Short': header(this.budgets.short), 'Req-Limit-Long': header(this.budgets.long) };
  }

  /**
   * Spends part of a budget, as other users of the same token would. `resetInSeconds` counts from the next call
   * to the API (the step's first), not from now: a step that starts slowly on a busy machine still finds the
   * budget about to reset, as the test means it to.
   */
  spend(kind: 'short' | 'long', calls: number, resetInSeconds?: number): void {
    const budget = this.budgets[kind];
    const now = Math.floor(Date.now() / 1000);
    if (budget.startedAt + budget.windowSeconds <= now) {
      budget.used = 0;
      budget.startedAt = now;
    }
    budget.resetOnFirstCallInSeconds = resetInSeconds;
    budget.used += calls;
  }

  /** Authentication, request budgets and headers around every route. */
  private guarded(method: string, path: string, handler: (req: EmulatorRequest) => EmulatorResponse): void {
    this.route(method, path, (req) => {
      const auth = String(req.headers.authorization ?? '');
      const basic = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0] : undefined;
      if (auth !== `Bearer ${this.token}` && basic !== this.token) {
        return { ...this.error(401, 'Unauthorized', 'Invalid or missing API token'), headers: this.limitHeaders() };
      }
      const now = Math.floor(Date.now() / 1000);
      for (const budget of Object.values(this.budgets)) {
        if (budget.resetOnFirstCallInSeconds !== undefined) {
          budget.startedAt = now - budget.windowSeconds + budget.resetOnFirstCallInSeconds;
          budget.resetOnFirstCallInSeconds = undefined;
        }
        if (budget.startedAt + budget.windowSeconds <= now) {
          budget.used = 0;
          budget.startedAt = now;
        }
      }
      if (Object.values(this.budgets).some((budget) => budget.used >= budget.limit)) {
        return { ...this.error(429, 'Too Many Requests', 'Request limit exceeded, try again later'), headers: this.limitHeaders() };
      }
      for (const budget of Object.values(this.budgets)) budget.used++;
      const response = handler(req);
      const lost = this.lostAnswers.findIndex(
        (rule) => rule.method === req.method && (typeof rule.path === 'string' ? req.path.includes(rule.path) : rule.path.test(req.path)),
      );
      if (lost >= 0) {
        this.lostAnswers.splice(lost, 1);
        return { status: 502, headers: this.limitHeaders(), body: '<html><body>502 Bad Gateway</body></html>' };
      }
      return { ...response, headers: { ...this.limitHeaders(), ...response.headers } };
    });
  }

  private checkJson(check: EmulatedCheck, includeTags: boolean) {
    return {
      id: check.id,
      name: check.name,
      hostname: check.hostname,
      type: check.type,
      status: check.paused ? 'paused' : 'up',
      lasttesttime: this.now() - 30,
      resolution: 1,
      ...(includeTags ? { tags: check.tags.map((name) => ({ name, type: 'u', count: 1 })) } : {}),
    };
  }

  private listChecks(req: EmulatorRequest): EmulatorResponse {
    const includeTags = req.query.get('include_tags') === 'true';
    const tags = (req.query.get('tags') ?? '').split(',').filter(Boolean);
    const limit = Math.min(Number(req.query.get('limit') ?? 25_000), 25_000);
    const offset = Number(req.query.get('offset') ?? 0);
    const matching = [...this.checks.values()].filter((check) => !tags.length || check.tags.some((tag) => tags.includes(tag)));
    return { body: { checks: matching.slice(offset, offset + limit).map((check) => this.checkJson(check, includeTags)) } };
  }

  private getCheck(req: EmulatorRequest): EmulatorResponse {
    const check = this.checks.get(Number(req.params.id));
    if (!check) return this.error(404, 'Not Found', 'Check not found');
    return { body: { check: this.checkJson(check, true) } };
  }

  private pausedFlag(body: any): boolean | EmulatorResponse {
    const paused = body?.paused;
    if (paused !== true && paused !== false && paused !== 'true' && paused !== 'false') {
      return this.error(400, 'Bad Request', 'Invalid parameter value: paused');
    }
    return paused === true || paused === 'true';
  }

  /** Without `checkids` Pingdom changes EVERY check: the emulator does the same, so the tests can catch it. */
  private pauseMany(req: EmulatorRequest): EmulatorResponse {
    const paused = this.pausedFlag(req.body);
    if (typeof paused !== 'boolean') return paused;
    const ids = req.body?.checkids === undefined ? [...this.checks.keys()] : String(req.body.checkids).split(',').map(Number);
    let changed = 0;
    for (const id of ids) {
      const check = this.checks.get(id);
      if (check) {
        check.paused = paused;
        changed++;
      }
    }
    return { body: { message: `Modification of ${changed} checks was successful!` } };
  }

  /** `PUT /checks/{id}`: `paused` and/or `tags` (comma-separated, replaces the check's tags) or `addtags`. */
  private pauseOne(req: EmulatorRequest): EmulatorResponse {
    const check = this.checks.get(Number(req.params.id));
    if (!check) return this.error(404, 'Not Found', 'Check not found');
    const tagList = (value: unknown) =>
      String(value)
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean);
    if (req.body?.tags !== undefined && req.body?.addtags !== undefined)
      return this.error(400, 'Bad Request', 'Give tags or addtags, not both');
    const tags =
      req.body?.tags !== undefined
        ? tagList(req.body.tags)
        : req.body?.addtags !== undefined
          ? [...check.tags, ...tagList(req.body.addtags)]
          : undefined;
    if (tags?.some((tag) => tag.length > 64))
      return this.error(400, 'Bad Request', 'Invalid parameter value: tags (a tag is at most 64 characters)');
    let paused: boolean | undefined;
    if (req.body?.paused !== undefined || tags === undefined) {
      const flag = this.pausedFlag(req.body);
      if (typeof flag !== 'boolean') return flag;
      paused = flag;
    }
    if (paused !== undefined) check.paused = paused;
    if (tags) check.tags = [...new Set(tags)];
    return { body: { message: 'Modification of check was successful!' } };
  }

  private windowJson(window: EmulatedWindow) {
    return {
      id: window.id,
      description: window.description,
      from: window.from,
      to: window.to,
      recurrencetype: 'none',
      repeatevery: 0,
      effectiveto: window.to,
      checks: { uptime: window.uptime, tms: window.tms },
    };
  }

  private listWindows(req: EmulatorRequest): EmulatorResponse {
    const limit = Number(req.query.get('limit') ?? 1000);
    const offset = Number(req.query.get('offset') ?? 0);
    const all = [...this.windows.values()].sort((a, b) => a.id - b.id);
    return { body: { maintenance: all.slice(offset, offset + limit).map((w) => this.windowJson(w)) } };
  }

  private getWindow(req: EmulatorRequest): EmulatorResponse {
    const window = this.windows.get(Number(req.params.id));
    if (!window) return this.error(404, 'Not Found', 'Maintenance window not found');
    return { body: { maintenance: this.windowJson(window) } };
  }

  private ids(value: unknown): number[] {
    if (value === undefined || value === null || value === '') return [];
    const list = Array.isArray(value) ? value : String(value).split(',');
    return list.map(Number).filter((id) => Number.isInteger(id) && this.checks.has(id));
  }

  private createWindow(req: EmulatorRequest): EmulatorResponse {
    const body = req.body ?? {};
    const now = this.now();
    if (!body.description) return this.error(400, 'Bad Request', 'Missing parameter: description');
    const from = Number(body.from) === 1 ? now : Number(body.from);
    const to = Number(body.to);
    if (!Number.isInteger(from) || from < now)
      return this.error(400, 'Bad Request', 'Invalid parameter value: from (must be in the future, or 1 for now)');
    if (!Number.isInteger(to) || to <= from) return this.error(400, 'Bad Request', 'Invalid parameter value: to (must be after from)');
    const window: EmulatedWindow = {
      id: this.nextWindowId++,
      description: String(body.description),
      from,
      to,
      uptime: this.ids(body.uptimeids),
      tms: this.ids(body.tmsids),
    };
    this.windows.set(window.id, window);
    return { body: { maintenance: { id: window.id } } };
  }

  private updateWindow(req: EmulatorRequest): EmulatorResponse {
    const window = this.windows.get(Number(req.params.id));
    if (!window) return this.error(404, 'Not Found', 'Maintenance window not found');
    const body = req.body ?? {};
    const now = this.now();
    if (window.to <= now) return this.error(400, 'Bad Request', 'Maintenance window has already ended and cannot be changed');
    const running = window.from <= now;
    if (body.from !== undefined && Number(body.from) !== window.from && running) {
      return this.error(400, 'Bad Request', 'Invalid parameter value: from (the window has already started)');
    }
    const from = body.from === undefined ? window.from : Number(body.from) === 1 ? now : Number(body.from);
    const to = body.to === undefined ? window.to : Number(body.to);
    if (!running && from < now) return this.error(400, 'Bad Request', 'Invalid parameter value: from (must be in the future)');
    if (!Number.isInteger(to) || to <= from || to <= now)
      return this.error(400, 'Bad Request', 'Invalid parameter value: to (must be in the future and after from)');
    window.from = from;
    window.to = to;
    if (body.description !== undefined) window.description = String(body.description);
    if (body.uptimeids !== undefined) window.uptime = this.ids(body.uptimeids);
    return { body: { message: 'Maintenance window successfully modified!' } };
  }

  private deleteWindows(idTexts: string[]): EmulatorResponse {
    const now = this.now();
    const windows = idTexts.map((text) => this.windows.get(Number(text)));
    if (windows.some((w) => !w)) return this.error(404, 'Not Found', 'Maintenance window not found');
    if (windows.some((w) => w!.from <= now)) return this.error(403, 'Forbidden', 'Only future maintenance windows can be deleted');
    for (const window of windows) this.windows.delete(window!.id);
    return { body: { message: 'Maintenance window successfully deleted!' } };
  }
}
