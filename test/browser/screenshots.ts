import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderNightHtml, type NightReport } from '../../shared/report';
import { repoRoot } from '../helpers/task-runner';
import { fileUrl, launchBrowser } from './browser';
import { night } from './nights';

/**
 * `npm run screenshots`: the marketplace listing's pictures of the "Maintenance window" results tab, taken in
 * Debian's chromium from the page the tab draws (shared/report): the rehearsed night when `npm run rehearse` has
 * left one in out/rehearsal/night.json, and a failed night with something not back (the browser tests' fixture,
 * made through the finish step's own model builder). Written to extension/images/ at the listing's 1280 x 800.
 */

const IMAGES = path.join(repoRoot, 'extension', 'images');
const REHEARSED = path.join(repoRoot, 'out', 'rehearsal', 'night.json');

function nights(): Array<{ file: string; report: NightReport; source: string }> {
  const rehearsed = fs.existsSync(REHEARSED)
    ? { report: JSON.parse(fs.readFileSync(REHEARSED, 'utf8')) as NightReport, source: 'the rehearsal (out/rehearsal/night.json)' }
    : { report: night('succeeded'), source: 'the succeeded fixture (run npm run rehearse first for the rehearsed night)' };
  return [
    { file: 'screenshot-tab-night.png', ...rehearsed },
    { file: 'screenshot-tab-not-back.png', report: night('failed'), source: 'the failed fixture' },
  ];
}

async function main(): Promise<void> {
  const browser = await launchBrowser();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-screenshots-'));
  try {
    for (const { file, report, source } of nights()) {
      const html = path.join(scratch, file.replace(/\.png$/, '.html'));
      fs.writeFileSync(html, renderNightHtml(report));
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
      await page.goto(fileUrl(html));
      await page.screenshot({ path: path.join(IMAGES, file) });
      await page.close();
      console.log(`extension/images/${file}: ${report.window.name}, ${report.state}, from ${source}`);
    }
  } finally {
    await browser.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
