// The test command: mocha over TypeScript tests (loaded through tsx, since TypeScript 7 has no JS API),
// ending with the one line CI reads: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const extra = process.argv.slice(2);
const specs = extra.length ? extra : ['test/**/*.test.ts'];
const result = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'),
    '--require', 'tsx/cjs',
    '--extension', 'ts',
    '--reporter', path.join(root, 'test', 'helpers', 'reporter.cjs'),
    '--timeout', '120000',
    '--exit',
    ...specs,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
