import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../helpers/task-runner';

/**
 * What the rolling patch template promises beyond its schema (the schema test checks the shape): per batch,
 * drain → patch → restore → notify, the restore running whenever the drain wrote its undo record and fed that
 * record, the first batch alone taking the template's dependsOn/condition so each later batch waits for the
 * one before it and runs only if it succeeded.
 */

const FILE = path.join(repoRoot, 'pipelines', 'templates', 'rolling-patch.yml');

describe('pipelines/templates/rolling-patch.yml', () => {
  const template = YAML.parse(fs.readFileSync(FILE, 'utf8'));
  const parameter = (name: string) => template.parameters.find((p: { name: string }) => p.name === name);
  const loop = template.stages[0];
  const [loopKey] = Object.keys(loop);
  const stage = loop[loopKey][0];
  const steps: any[] = stage.jobs[0].steps;
  const task = (name: string) => steps.find((step) => step.name === name);
  const notifyBranch = steps.find((step) => Object.keys(step)[0].startsWith('${{ if ne(parameters.slackConnection'));
  const notifications: any[] = notifyBranch ? (Object.values(notifyBranch)[0] as any[]) : [];

  it('makes one stage per batch, in order', () => {
    assert.equal(loopKey, '${{ each batch in parameters.batches }}');
    assert.match(stage.stage, /format\('\{0\}_\{1\}', parameters\.stagePrefix, batch\.name\)/);
    assert.equal(parameter('batches').type, 'object');
  });

  it("gives the template's dependsOn and condition to the first batch only; later batches follow the one before", () => {
    assert.equal(stage.dependsOn, undefined, 'no explicit dependsOn on every batch');
    assert.equal(stage.condition, undefined, 'no explicit condition on every batch');
    const first = stage['${{ if eq(batch.name, parameters.batches[0].name) }}'];
    assert.ok(first, 'a first-batch branch');
    assert.deepEqual(
      Object.keys(first).sort(),
      ['${{ if ne(length(parameters.dependsOn), 0) }}', "${{ if ne(parameters.condition, '') }}"].sort(),
    );
  });

  it('drains, patches, restores, then notifies, in that order', () => {
    const order = steps.map((step) => step.name ?? step.checkout ?? step.template ?? Object.keys(step)[0]);
    const index = (name: string) => order.indexOf(name);
    assert.ok(index('drain') < index('patch') && index('patch') < index('restore'), order.join(' → '));
    assert.ok(
      index('restore') < order.findIndex((name) => String(name).startsWith('${{ if ne(parameters.slackConnection')),
      order.join(' → '),
    );
    assert.equal(order[order.length - 1], 'publish-window-files.yml', 'the window files are published last');
    assert.deepEqual(
      notifications.map((step) => [step.name, step.inputs.template, step.inputs.channels]),
      [
        ['backInService', 'batchBackInService', "${{ join(',', parameters.backInServiceChannels) }}"],
        ['testsRequested', 'testsRequested', "${{ join(',', parameters.testsChannels) }}"],
      ],
    );
    assert.deepEqual(parameter('backInServiceChannels').default, ['platform-int']);
    assert.deepEqual(parameter('testsChannels').default, ['engineering-maintenance']);
  });

  it('drains the batch in one step with the safety inputs wired', () => {
    const drain = task('drain');
    assert.equal(drain.task, 'AppGatewayDrain@1');
    assert.equal(drain.inputs.action, 'drain');
    assert.equal(drain.inputs.servers, "${{ join(',', batch.servers) }}");
    assert.equal(drain.inputs.minHealthyServers, '${{ parameters.minHealthyServers }}');
    assert.equal(drain.condition, undefined, 'the drain runs only if everything before it succeeded');
  });

  it('restores whenever the drain wrote its undo record, from that record, and waits for health', () => {
    const restore = task('restore');
    assert.equal(restore.task, 'AppGatewayDrain@1');
    assert.equal(restore.inputs.action, 'restore');
    assert.equal(restore.inputs.undoRecord, '$(drain.undoRecord)');
    assert.match(restore.condition, /^and\(always\(\), ne\(variables\['drain\.undoRecord'\], ''\)\)$/);
    assert.equal(restore.inputs.healthTimeoutSeconds, '${{ parameters.healthTimeoutSeconds }}');
    assert.equal(task('patch').condition, undefined, 'patching stops at a failed drain');
  });

  it("patches the batch's VMs (or its servers when no VMs are listed)", () => {
    const patch = task('patch');
    assert.equal(patch.task, 'PatchVms@1');
    assert.equal(patch.inputs.virtualMachines, "${{ coalesce(join(',', batch.vms), join(',', batch.servers)) }}");
    assert.equal(patch.inputs.action, 'install');
  });

  it('uses only inputs the tasks declare', () => {
    const declared = (taskName: string) =>
      JSON.parse(fs.readFileSync(path.join(repoRoot, 'tasks', `${taskName}V1`, 'task.json'), 'utf8')).inputs.map(
        (input: { name: string }) => input.name,
      );
    for (const [name, taskName] of [
      ['drain', 'AppGatewayDrain'],
      ['patch', 'PatchVms'],
      ['restore', 'AppGatewayDrain'],
    ]) {
      const inputs = Object.keys(task(name).inputs).filter((key) => !key.startsWith('${{'));
      for (const input of inputs) assert.ok(declared(taskName).includes(input), `${name}: ${input}`);
    }
    for (const step of notifications)
      for (const input of Object.keys(step.inputs)) assert.ok(declared('Notify').includes(input), `${step.name}: ${input}`);
  });
});
