import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { BUILD_AREA_ID, LOCATION_SERVICE } from '../../extension/report-tab/host';
import { NIGHT_ATTACHMENT_TYPE } from '../../shared/report';
import { fileUrl, launchBrowser, SCREENSHOTS, watchedPage } from './browser';
import { night } from './nights';

/**
 * The "Maintenance window" results tab: its page and bundle as extension/build.mjs builds them, with a stub in
 * place of azure-devops-extension-sdk, in Chromium. The tab's calls to the Build REST API are answered by the
 * test (any other request fails the test).
 */

const BUILD_AREA = 'https://ado.test/contoso/';
const LIST = `${BUILD_AREA}project-guid/_apis/build/builds/900/attachments/${NIGHT_ATTACHMENT_TYPE}?api-version=7.1`;
const CONTENT = `${BUILD_AREA}project-guid/_apis/build/builds/900/timeline/record/attachments/${NIGHT_ATTACHMENT_TYPE}/night.json`;

describe('the Maintenance window results tab (SDK stubbed) in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let page: string;

  before(async () => {
    const outDir = path.join(SCREENSHOTS, 'tab');
    // extension/build.mjs is an ES module; the test builds the tab the way the package does, with the stub.
    const { buildReportTab } = (await import(fileUrl(path.join(__dirname, '..', '..', 'extension', 'build.mjs')))) as {
      buildReportTab: (options: { outDir: string; alias: Record<string, string> }) => Promise<unknown>;
    };
    await buildReportTab({ outDir, alias: { 'azure-devops-extension-sdk': path.join(__dirname, 'sdk-stub.ts') } });
    page = path.join(outDir, 'tab.html');
    browser = await launchBrowser();
  });
  after(async () => browser?.close());

  async function openTab(
    name: string,
    answers: Record<string, unknown>,
    build = { id: 900, project: { id: 'project-guid' }, buildNumber: '20250412.1' },
  ) {
    const authorizations: string[] = [];
    const watched = await watchedPage(browser, {
      answer: (url) =>
        url in answers ? { body: typeof answers[url] === 'string' ? answers[url] : JSON.stringify(answers[url]) } : undefined,
    });
    watched.page.on('request', (request) => {
      if (request.url().startsWith(BUILD_AREA)) authorizations.push(request.headers().authorization ?? '');
    });
    await watched.page.addInitScript((settings) => Object.assign(globalThis, { __sdkStub: settings }), {
      build,
      buildAreaUrl: BUILD_AREA,
      token: 'stub-token',
    });
    await watched.page.goto(fileUrl(page));
    await watched.page.waitForFunction(() =>
      (globalThis as unknown as { __sdkCalls?: string[] }).__sdkCalls?.some((call) => call.startsWith('notifyLoad')),
    );
    await watched.page.screenshot({ path: path.join(SCREENSHOTS, `tab-${name}.png`), fullPage: true });
    const calls = await watched.page.evaluate(() => (globalThis as unknown as { __sdkCalls: string[] }).__sdkCalls);
    return { ...watched, calls, authorizations };
  }

  it('draws the night attached to the run with the same renderer', async () => {
    const report = night('failed');
    const tab = await openTab('night', {
      [LIST]: { count: 1, value: [{ name: 'night.json', _links: { self: { href: CONTENT } } }] },
      [CONTENT]: JSON.stringify(report),
    });
    assert.deepEqual(tab.calls.slice(0, 3), [
      'init loaded=false',
      `getService ${LOCATION_SERVICE}`,
      `getResourceAreaLocation ${BUILD_AREA_ID}`,
    ]);
    assert.ok(tab.calls.includes('notifyLoadSucceeded'), tab.calls.join(', '));
    assert.deepEqual(tab.authorizations, ['Bearer stub-token', 'Bearer stub-token']);
    assert.match((await tab.page.locator('#verdict').textContent()) ?? '', /1 thing\(s\) silenced or swapped are NOT back/);
    assert.equal(await tab.page.locator('#stages tbody tr').count(), report.stages.length);
    assert.equal(await tab.page.locator('#silences tbody tr').count(), report.silences.length);
    assert.match(await tab.page.title(), /Failed/);
    assert.deepEqual(tab.errors, []);
    assert.deepEqual(tab.network, []);
    await tab.page.close();
  });

  it('says plainly that a run without the attachment is not a maintenance window run', async () => {
    const tab = await openTab('other-run', { [LIST]: { count: 0, value: [] } });
    assert.match((await tab.page.locator('#night').textContent()) ?? '', /Run 20250412\.1 is not a maintenance window run/);
    assert.ok(tab.calls.includes('notifyLoadSucceeded'));
    assert.deepEqual(tab.errors, []);
    assert.deepEqual(tab.network, []);
    await tab.page.close();
  });

  it('names the problem when the attachment is not a night report', async () => {
    const tab = await openTab('broken', {
      [LIST]: { count: 1, value: [{ name: 'night.json', _links: { self: { href: CONTENT } } }] },
      [CONTENT]: '{"schemaVersion": 99}',
    });
    assert.match(
      (await tab.page.locator('#night').textContent()) ?? '',
      /could not be shown: the night report has schemaVersion 99; this page draws version 1/,
    );
    assert.ok(tab.calls.some((call) => call.startsWith('notifyLoadFailed')));
    assert.deepEqual(tab.network, []);
    await tab.page.close();
  });
});
