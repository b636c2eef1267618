import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

// Each layering rule of ARCHITECTURE.md, broken once by a few lines of fixture text linted as if it lived at a
// path in the repository, with the repository's own eslint.config.mjs. Only the layering rules run and without
// type information (they need none), so the whole file takes about a second.
const root = path.resolve(__dirname, '..', '..');

const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: path.join(root, 'eslint.config.mjs'),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId.startsWith('layering/'),
});

interface Finding {
  ruleId: string | null;
  message: string;
  line: number;
}

async function lint(filePath: string, text: string): Promise<Finding[]> {
  const [result] = await eslint.lintText(text, { filePath: path.join(root, filePath) });
  return result.messages.map(({ ruleId, message, line }) => ({ ruleId, message, line }));
}

/** Lints `text` at `filePath` and expects exactly one finding, from `rule`, whose message names the rule. */
async function expectBroken(rule: string, filePath: string, text: string, mentions: RegExp): Promise<void> {
  const findings = await lint(filePath, text);
  assert.equal(findings.length, 1, `${filePath}: expected one finding from ${rule}, got ${JSON.stringify(findings)}`);
  assert.equal(findings[0].ruleId, rule);
  assert.match(findings[0].message, new RegExp(`^${rule}: `), 'the message names the rule');
  assert.match(findings[0].message, mentions);
}

describe('lint: the layering as rules (eslint.config.mjs, lint/layering.mjs)', function () {
  this.timeout(30_000);

  it('passes imports that follow the layers, and type-only imports in emulators', async () => {
    const allowed: Array<[string, string]> = [
      ['tasks/NotifyV1/index.ts', "import { runTask } from '../../shared/core/task';\nimport { x } from '../../shared/window/actions';"],
      ['shared/window/fixture.ts', "import { loadPlan } from '../plan/plan';\nimport type { ActiveRun } from '../devops/active-runs';"],
      ['shared/plan/fixture.ts', "import { DevOpsClient } from '../devops/client';\nimport { sleep } from '../core/retry';"],
      ['shared/azure/fixture.ts', "import { Log } from '../core/log';\nimport { x } from './arm';"],
      ['shared/core/fixture.ts', "import * as tl from 'azure-pipelines-task-lib/task';\nexport const home = process.env.HOME;"],
      ['test/emulators/fixture.ts', "import type { TaskContext } from '../../shared/core/task';\nimport { Emulator } from './kit';"],
      ['test/helpers/fixture.ts', "import { runTask } from '../../shared/core/task';\nexport const home = process.env.HOME;"],
    ];
    for (const [filePath, text] of allowed) assert.deepEqual(await lint(filePath, text), [], filePath);
  });

  it('layering/layer-order: a lower layer importing a higher one fails', async () => {
    await expectBroken(
      'layering/layer-order',
      'shared/core/fixture.ts',
      "import { loadPlan } from '../plan/plan';",
      /shared\/core must not import shared\/plan/,
    );
    await expectBroken(
      'layering/layer-order',
      'shared/devops/fixture.ts',
      "export { gateAction } from '../window/actions';",
      /shared\/devops must not import shared\/window/,
    );
    await expectBroken(
      'layering/layer-order',
      'shared/plan/fixture.ts',
      "const w = require('../window/window');",
      /shared\/plan must not import shared\/window/,
    );
  });

  it('layering/layer-order: the system folders importing each other fails, types included', async () => {
    await expectBroken(
      'layering/layer-order',
      'shared/azure/fixture.ts',
      "import type { DevOpsClient } from '../devops/client';",
      /never each other/,
    );
    await expectBroken('layering/layer-order', 'shared/services/fixture.ts', "const m = import('../smoke/checks');", /never each other/);
  });

  it('layering/shared-not-tasks: shared importing a task fails', async () => {
    await expectBroken(
      'layering/shared-not-tasks',
      'shared/window/fixture.ts',
      "import '../../tasks/NotifyV1/index';",
      /shared\/window must not import tasks\/NotifyV1/,
    );
  });

  it('layering/no-task-to-task: a task importing another task fails', async () => {
    await expectBroken(
      'layering/no-task-to-task',
      'tasks/NotifyV1/index.ts',
      "import { x } from '../SmokeTestV1/index';",
      /tasks\/NotifyV1 must not import tasks\/SmokeTestV1/,
    );
  });

  it('layering/product-not-tests: product code importing test code fails', async () => {
    await expectBroken(
      'layering/product-not-tests',
      'shared/plan/fixture.ts',
      "import { runBundledTask } from '../../test/helpers/task-runner';",
      /test\/helpers\/task-runner/,
    );
  });

  it('layering/task-lib-only-in-core: azure-pipelines-task-lib outside shared/core fails', async () => {
    await expectBroken(
      'layering/task-lib-only-in-core',
      'tasks/NotifyV1/index.ts',
      "import * as tl from 'azure-pipelines-task-lib/task';",
      /only shared\/core/,
    );
    await expectBroken(
      'layering/task-lib-only-in-core',
      'shared/window/fixture.ts',
      "import tl = require('azure-pipelines-task-lib');",
      /only shared\/core/,
    );
  });

  it('layering/process-env-only-in-core: reading process.env outside shared/core fails', async () => {
    await expectBroken(
      'layering/process-env-only-in-core',
      'shared/services/fixture.ts',
      'export const token = process.env.SLACK_TOKEN;',
      /only shared\/core/,
    );
    await expectBroken(
      'layering/process-env-only-in-core',
      'tasks/NotifyV1/index.ts',
      "const { env } = process;\nexport const t = env['X'];",
      /only shared\/core/,
    );
    await expectBroken(
      'layering/process-env-only-in-core',
      'shared/plan/fixture.ts',
      "export const t = globalThis.process['env'].X;",
      /only shared\/core/,
    );
  });

  it('layering/emulators-types-only: an emulator importing product code (not as a type) fails', async () => {
    await expectBroken(
      'layering/emulators-types-only',
      'test/emulators/fixture.ts',
      "import { runTask } from '../../shared/core/task';",
      /product code from shared\/core\/task/,
    );
    await expectBroken(
      'layering/emulators-types-only',
      'test/emulators/fixture.ts',
      "import { runBundledTask } from '../helpers/task-runner';",
      /test\/helpers\/task-runner/,
    );
  });
});
