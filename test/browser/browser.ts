import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/task-runner';

/**
 * Debian's chromium driven by playwright-core (which downloads nothing). Missing chromium fails the tests
 * with the command that installs it: CI's .ci/run installs it, and a test never skips silently.
 */

export const SCREENSHOTS = path.join(repoRoot, 'out', 'browser');

export function chromiumPath(): string {
  const names = ['chromium', 'chromium-browser'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  throw new Error(
    "Chromium is not installed (no 'chromium' on PATH): the browser tests drive Debian's chromium. " +
      'Install it with: apt-get install chromium (.ci/run does this on CI).',
  );
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Requests for anything but file: and data: URLs (each was refused). */
  network: string[];
}

/**
 * A page whose every request is routed: file: and data: go through, anything else is refused and noted,
 * unless `answer` answers it (a stubbed service the page is meant to call).
 */
export async function watchedPage(
  browser: Browser,
  options: {
    colorScheme?: 'light' | 'dark';
    answer?: (url: string) => { status?: number; body: string; contentType?: string } | undefined;
  } = {},
): Promise<WatchedPage> {
  const page = await browser.newPage({ colorScheme: options.colorScheme ?? 'light', viewport: { width: 1200, height: 900 } });
  const watched: WatchedPage = { page, errors: [], network: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(message.text());
  });
  page.on('pageerror', (error) => watched.errors.push(String(error)));
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (/^(file|data):/.test(url)) return route.continue();
    const answer = options.answer?.(url);
    if (answer)
      return route.fulfill({ status: answer.status ?? 200, body: answer.body, contentType: answer.contentType ?? 'application/json' });
    watched.network.push(url);
    return route.abort();
  });
  return watched;
}

export function fileUrl(file: string): string {
  return `file://${path.resolve(file).split(path.sep).join('/')}`;
}
