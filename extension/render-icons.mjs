// `npm run icons`: renders every icon SVG to the PNG beside it with the machine's Chromium (playwright-core,
// /usr/bin/chromium or CHROMIUM_PATH), so the PNGs the marketplace and the task assistant show are drawn from
// the SVGs we edit. Run it after changing an SVG and commit both; packaging never renders (no browser in CI).
//   tasks/<Name>/icon.svg            -> icon.png, 32 x 32 (the task assistant's size)
//   extension/images/endpoint-*.svg  -> .png, 64 x 64 (service connection icons)
//   extension/images/extension-icon.svg -> .png, 128 x 128 (the marketplace icon)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every SVG this script renders, with the PNG size it renders it at. */
export function iconSources() {
  const tasks = fs
    .readdirSync(path.join(root, 'tasks'))
    .filter((name) => fs.existsSync(path.join(root, 'tasks', name, 'icon.svg')))
    .map((name) => ({ svg: path.join('tasks', name, 'icon.svg'), size: 32 }));
  const images = fs
    .readdirSync(path.join(root, 'extension', 'images'))
    .filter((name) => name.endsWith('.svg'))
    .map((name) => ({ svg: path.join('extension', 'images', name), size: name === 'extension-icon.svg' ? 128 : 64 }));
  return [...tasks, ...images];
}

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    for (const { svg, size } of iconSources()) {
      // The SVGs are drawn on a 32 x 32 grid; a larger PNG is the same drawing at a higher device scale.
      const page = await browser.newPage({ viewport: { width: 32, height: 32 }, deviceScaleFactor: size / 32 });
      await page.goto(pathToFileURL(path.join(root, svg)).href);
      const png = svg.replace(/\.svg$/, '.png');
      await page.screenshot({ path: path.join(root, png), omitBackground: true });
      await page.close();
      console.log(`rendered ${png} (${size} x ${size})`);
    }
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
