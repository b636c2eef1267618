import { Emulator, type EmulatorResponse } from './kit';

/**
 * A sample website for smoke tests: a home page, a health endpoint, a login page, and knobs to make a page
 * slow, broken or in maintenance, the way the real site looks during the window.
 */
export class WebsiteEmulator extends Emulator {
  /** Paths answering 503 with the maintenance page. */
  maintenance = false;
  /** With `maintenance`: how many more answers show the page before it lifts by itself (undefined: until told). */
  private maintenanceAnswersLeft?: number;
  readonly slowPaths = new Map<string, number>();
  readonly brokenPaths = new Map<string, number>();

  constructor() {
    super({ name: 'Website', https: true });
    this.onReset(() => {
      this.maintenance = false;
      this.maintenanceAnswersLeft = undefined;
      this.slowPaths.clear();
      this.brokenPaths.clear();
    });
    const page = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;
    const serve = (path: string, title: string, body: string) =>
      this.route('GET', path, (): EmulatorResponse => {
        if (this.maintenance) {
          if (this.maintenanceAnswersLeft !== undefined && --this.maintenanceAnswersLeft <= 0) this.maintenance = false;
          return {
            status: 503,
            headers: { 'Content-Type': 'text/html', 'Retry-After': 600 },
            body: page('Maintenance', '<h1>We are down for scheduled maintenance</h1>'),
          };
        }
        const broken = this.brokenPaths.get(path);
        if (broken) return { status: broken, headers: { 'Content-Type': 'text/html' }, body: page('Error', '<h1>Server Error</h1>') };
        return { status: 200, headers: { 'Content-Type': 'text/html' }, body: page(title, body), delayMs: this.slowPaths.get(path) };
      });
    serve('/', 'Invoice Cloud', '<h1>Pay your bills online</h1>');
    serve('/login', 'Sign in', '<form id="login">Sign in</form>');
    serve('/health', 'Health', 'Healthy');
    this.route('GET', '/api/status', () => ({ body: { status: 'ok', version: '2025.04.13' } }));
  }

  /** Shows the maintenance page for the next `answers` requests, then lifts it: counted, not timed, so load cannot race it. */
  maintenanceFor(answers: number): void {
    this.maintenance = true;
    this.maintenanceAnswersLeft = answers;
  }
}
