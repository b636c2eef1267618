import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { DateTime } from 'luxon';
import { renderNightHtml, type NightReport } from '../../shared/report';
import { fileUrl, launchBrowser, SCREENSHOTS, watchedPage, type WatchedPage } from './browser';
import { night, ZONE, type NightName } from './nights';

/** The night's page (shared/report) in headless Chromium: a succeeded night, a failed one with something left, a cancelled one. */

describe('the page of the night in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;

  before(async () => {
    browser = await launchBrowser();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => browser?.close());

  async function open(name: string, report: NightReport, colorScheme: 'light' | 'dark' = 'light'): Promise<WatchedPage> {
    const file = path.join(SCREENSHOTS, `night-${name}.html`);
    fs.writeFileSync(file, renderNightHtml(report));
    const watched = await watchedPage(browser, { colorScheme });
    await watched.page.goto(fileUrl(file));
    await watched.page.screenshot({
      path: path.join(SCREENSHOTS, `night-${name}${colorScheme === 'dark' ? '-dark' : ''}.png`),
      fullPage: true,
    });
    return watched;
  }

  function clean(watched: WatchedPage): void {
    assert.deepEqual(watched.errors, [], 'no console error');
    assert.deepEqual(watched.network, [], 'no network request');
  }

  /** Every stage row shows its start in Eastern time, and its UTC instant on hover. */
  async function checkStages(watched: WatchedPage, report: NightReport): Promise<void> {
    const rows = watched.page.locator('#stages tbody tr');
    assert.equal(await rows.count(), report.stages.length);
    for (const [index, stage] of report.stages.entries()) {
      const row = rows.nth(index);
      assert.equal((await row.locator('td').first().textContent())?.trim(), stage.displayName);
      assert.match((await row.locator('td').nth(1).textContent()) ?? '', new RegExp(stage.result));
      if (!stage.startedAt) continue;
      const time = row.locator('td').nth(2).locator('time');
      const expected = DateTime.fromISO(stage.startedAt, { zone: ZONE }).toFormat('ccc HH:mm ZZZZ');
      assert.equal(await time.textContent(), expected, `${stage.name} starts ${expected}`);
      assert.equal(await time.getAttribute('datetime'), stage.startedAt);
      assert.match((await time.getAttribute('title')) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      assert.equal(
        await watched.page.locator(`#timeline svg g[aria-label^="Stage ${stage.displayName}: ${stage.result}"]`).count(),
        1,
        `${stage.name} has its bar`,
      );
    }
  }

  /** Every silence shows its self-expiry (or says it has none) and, in words, whether it is back. */
  async function checkSilences(watched: WatchedPage, report: NightReport): Promise<void> {
    const rows = watched.page.locator('#silences tbody tr');
    assert.equal(await rows.count(), report.silences.length);
    for (const [index, silence] of report.silences.entries()) {
      const cells = rows.nth(index).locator('td');
      assert.equal((await cells.first().textContent())?.trim(), silence.description);
      const end = (await cells.nth(3).textContent())?.trim();
      assert.equal(
        end,
        silence.expiresAt ? DateTime.fromISO(silence.expiresAt, { zone: ZONE }).toFormat('ccc HH:mm ZZZZ') : 'never by itself',
      );
      assert.match((await cells.nth(5).textContent()) ?? '', silence.state === 'left' ? /NOT BACK/ : /back: (restored|ended by itself)/);
      const bar = watched.page.locator('#timeline svg g[role="img"][tabindex]', { hasText: silence.description });
      assert.equal(await bar.count(), 1, `${silence.description} has a bar`);
      assert.match((await bar.getAttribute('aria-label')) ?? '', silence.state === 'left' ? /NOT BACK/ : /back \(/);
    }
  }

  it('a succeeded night: every stage in Eastern time, every silence with its end, everything back', async () => {
    const report = night('succeeded');
    const watched = await open('succeeded', report);
    await checkStages(watched, report);
    await checkSilences(watched, report);
    assert.match((await watched.page.locator('#verdict').textContent()) ?? '', /everything silenced or swapped is back/i);
    assert.equal(await watched.page.locator('#verdict ol li').count(), 0);
    assert.match((await watched.page.locator('header').textContent()) ?? '', /Succeeded/);
    const marks = await watched.page.locator('#timeline svg g[aria-label^="Schedule mark"]').allTextContents();
    assert.deepEqual(marks.map((text) => text.split('(')[0].trim()).filter((text) => /^(Sat|Sun)/.test(text)).length, 5);
    assert.ok(marks.some((text) => text.includes('window end')));
    // The critical path is marked in words, not only drawn.
    assert.match((await watched.page.locator('#changes').textContent()) ?? '', /★ kong-infra-script/);
    // Keyboard: the bars take focus in order and say what they are.
    await watched.page.keyboard.press('Tab');
    await watched.page.keyboard.press('Tab');
    const focused = await watched.page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
    assert.match(focused, /^Stage /);
    assert.equal(await watched.page.locator('h1').count(), 1);
    assert.ok((await watched.page.locator('h2').count()) >= 4);
    clean(watched);
    await (await open('succeeded', report, 'dark')).page.close();
    await watched.page.close();
  });

  it('a failed night with something left: the verdict names it and how to restore it', async () => {
    const report = night('failed');
    assert.equal(report.state, 'failed');
    const watched = await open('failed', report);
    await checkStages(watched, report);
    await checkSilences(watched, report);
    const verdict = (await watched.page.locator('#verdict').textContent()) ?? '';
    assert.match(verdict, /1 thing\(s\) silenced or swapped are NOT back/);
    const left = watched.page.locator('#verdict ol li');
    assert.equal(await left.count(), 1);
    assert.match((await left.textContent()) ?? '', /IC-Web1\.\.5.*AppGatewayDrain@1 with action restore.*pipelines\/recover\.yml/);
    assert.match((await watched.page.locator('#changes').textContent()) ?? '', /failed[\s\S]*exit code 2[\s\S]*blocked/);
    assert.match((await watched.page.title()) ?? '', /Failed/);
    clean(watched);
    await watched.page.close();
  });

  it('a cancelled night: the cancelled stage, the skipped ones without times, everything back', async () => {
    const report = night('canceled');
    const watched = await open('canceled', report);
    await checkStages(watched, report);
    await checkSilences(watched, report);
    assert.equal(report.state, 'canceled');
    assert.match((await watched.page.locator('header').textContent()) ?? '', /Canceled/);
    assert.match((await watched.page.locator('#verdict').textContent()) ?? '', /Cancelled; everything silenced or swapped is back/);
    const skipped = watched.page.locator('#stages tbody tr', { hasText: 'Full regression' });
    assert.match((await skipped.textContent()) ?? '', /Skipped/);
    clean(watched);
    await watched.page.close();
  });

  it('a night still running draws the now-line', async () => {
    const report: NightReport = { ...night('succeeded'), state: 'running' };
    const watched = await open('running', report);
    const now = watched.page.locator('#timeline svg g[aria-label^="Now:"]');
    assert.equal(await now.count(), 1);
    assert.match((await now.getAttribute('aria-label')) ?? '', /Now: Sun 10:58 EDT/);
    clean(watched);
    await watched.page.close();
  });
});

export type { NightName };
