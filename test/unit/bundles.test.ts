import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { taskFolders } from '../helpers/task-contract';
import { bundlePath, repoRoot } from '../helpers/task-runner';

/**
 * What the build (extension/build.mjs) ships per task: `index.js` and, beside it, `lazy.js` with the packages
 * loaded on first use (shared/core/lazy.ts). The agent runs them with no node_modules, so they may require only
 * Node's own modules and each other; and a task carries only the lazy packages its code calls.
 */

const BUILTIN = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

function requiresOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...new Set([...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]))];
}

/** The packages a task's lazy.js serves (its `packages`; requiring the file loads none of them). */
function lazyTable(task: string): string[] {
  const file = path.join(path.dirname(bundlePath(task)), 'lazy.js');
  if (!fs.existsSync(file)) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built file, as the task loads it
  return (require(file) as { packages: string[] }).packages;
}

/**
 * ajv writes `require("ajv/dist/runtime/...")` into the source text of standalone validators; in lazy.js it is
 * text inside ajv's code templates, never run (validators are compiled in memory).
 */
const TEMPLATE_TEXT = /^ajv\/dist\/runtime\//;

function lazyLoaders(): string[] {
  const source = fs.readFileSync(path.join(repoRoot, 'shared', 'core', 'lazy.ts'), 'utf8');
  return [...source.matchAll(/return require\('([^']+)'\)/g)].map((match) => match[1]);
}

describe('task bundles as the build writes them', () => {
  const tasks = taskFolders(repoRoot).filter((task) => fs.existsSync(bundlePath(task)));

  it('are built for every task', () => {
    assert.equal(tasks.length, taskFolders(repoRoot).length, 'run node extension/build.mjs first');
  });

  it('require nothing but Node itself and their own lazy.js (the agent has no node_modules)', () => {
    for (const task of tasks) {
      const dir = path.dirname(bundlePath(task));
      const main = requiresOf(bundlePath(task)).filter((name) => !BUILTIN.has(name) && name !== './lazy.js');
      assert.deepEqual(main, [], `${task}/index.js requires packages it does not carry`);
      const lazy = path.join(dir, 'lazy.js');
      if (!fs.existsSync(lazy)) continue;
      const strays = requiresOf(lazy).filter((name) => !BUILTIN.has(name) && !TEMPLATE_TEXT.test(name));
      assert.deepEqual(strays, [], `${task}/lazy.js requires packages it does not carry`);
    }
  });

  it('serve from lazy.js only packages that shared/core/lazy.ts loads', () => {
    const loaders = new Set(lazyLoaders());
    assert.ok(loaders.size >= 10, `loaders found in lazy.ts: ${[...loaders].join(', ')}`);
    for (const task of tasks) for (const name of lazyTable(task)) assert.ok(loaders.has(name), `${task} lazy.js serves ${name}`);
  });

  it('carry only the SDKs their code calls', () => {
    const carried = (task: string) => new Set(lazyTable(task));
    for (const task of ['PatchVmsV1', 'AlertMuteV1', 'NotifyV1', 'SmokeTestV1', 'MaintenancePageV1', 'PingdomPauseV1']) {
      assert.equal(carried(task).has('@azure/arm-network'), false, `${task} carries the network SDK it never calls`);
    }
    assert.ok(carried('AppGatewayDrainV1').has('@azure/arm-network'), 'the drain does call the network SDK');
    assert.ok(carried('PatchVmsV1').has('@azure/arm-compute'));
    for (const task of ['NotifyV1', 'SmokeTestV1', 'MaintenancePageV1', 'PingdomPauseV1', 'AlertMuteV1']) {
      assert.equal(carried(task).has('azure-devops-node-api'), false, `${task} carries the Azure DevOps client it never calls`);
    }
  });
});
