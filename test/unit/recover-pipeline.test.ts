import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../helpers/task-runner';

/**
 * pipelines/recover.yml, the break-glass recovery, read as data: it takes the run id (and an optional window
 * id), downloads that run's window files, runs every kind's restore with no record (so each restores the
 * run's unrestored records and then whatever the window's marks name) under always(), and ends with the
 * finish report. Each restore step's behaviour with no record at all, from the marks alone, is proven per kind
 * in test/unit/undo-protocol.test.ts (the last stage of every row). The schema check is pipelines-yaml.test.ts.
 */
describe('pipelines/recover.yml (break-glass recovery)', () => {
  const text = fs.readFileSync(path.join(repoRoot, 'pipelines', 'recover.yml'), 'utf8');
  const pipeline = YAML.parse(text) as {
    parameters: Array<{ name: string; default?: unknown }>;
    variables: Array<{ name: string; value: string }>;
    stages: Array<{ jobs: Array<{ steps: Array<Record<string, any>>; cancelTimeoutInMinutes?: number }> }>;
  };
  const job = pipeline.stages[0].jobs[0];
  const flat = (steps: Array<Record<string, any>>): Array<Record<string, any>> =>
    steps.flatMap((step) => {
      const key = Object.keys(step)[0];
      return key.startsWith('${{') ? flat(step[key]) : [step];
    });
  const steps = flat(job.steps);
  const tasks = (name: string) => steps.filter((step) => step.task === name);

  it('takes runId (required) and an optional windowId, and restores that window', () => {
    const runId = pipeline.parameters.find((p) => p.name === 'runId')!;
    assert.ok(runId && runId.default === undefined, 'runId has no default: it must be given');
    assert.equal(pipeline.parameters.find((p) => p.name === 'windowId')!.default, '');
    assert.deepEqual(pipeline.variables, [
      { name: 'MaintenanceWindow.Id', value: '${{ coalesce(parameters.windowId, parameters.runId) }}' },
    ]);
  });

  it("downloads that run's window-files artifacts and gathers their records", () => {
    const [download] = tasks('DownloadPipelineArtifact@2');
    assert.equal(download.inputs.source, 'specific');
    assert.equal(download.inputs.runVersion, 'specific');
    assert.equal(download.inputs.runId, '${{ parameters.runId }}');
    assert.equal(download.inputs.itemPattern, 'window-*/**');
    const [copy] = tasks('CopyFiles@2');
    assert.equal(copy.inputs.TargetFolder, '$(Pipeline.Workspace)/maintenance-window/records');
    assert.equal(copy.condition, 'always()');
  });

  it('runs every restore with no record under always(), so one failing restore does not stop the others', () => {
    const restores = [
      ...tasks('AppGatewayDrain@1').map((s) => [s, 'restore']),
      ...tasks('MaintenancePage@1').map((s) => [s, 'disable']),
      ...tasks('PingdomPause@1').map((s) => [s, 'resume']),
      ...tasks('AlertMute@1').map((s) => [s, 'unmute']),
      ...tasks('RescheduleJobs@1').map((s) => [s, 'release']),
    ] as Array<[Record<string, any>, string]>;
    assert.equal(restores.length, 6, 'gateway pool, DNS, Pingdom, New Relic or Azure Monitor (two branches), held pipelines');
    for (const [step, action] of restores) {
      assert.equal(step.inputs.action, action, step.task);
      assert.equal(step.condition, 'always()', `${step.task} runs whatever failed before it`);
      assert.equal(step.inputs.undoRecord, undefined, `${step.task} is given no record: records folder, then the marks`);
    }
    assert.ok(
      tasks('MaintenancePage@1')[0].inputs.zoneName && tasks('MaintenancePage@1')[0].inputs.records,
      'the DNS marks are looked for where the page swaps',
    );
    assert.ok((job.cancelTimeoutInMinutes ?? 0) >= 30, 'a cancel leaves the restores time to finish');
  });

  it('ends with the finish report of what is back and what is not, then publishes its own receipts', () => {
    const finish = tasks('MaintenanceWindow@1');
    assert.equal(finish.length, 1);
    assert.equal(finish[0].inputs.action, 'finish');
    assert.equal(finish[0].condition, 'always()');
    const names = steps.map((step) => step.task ?? (step.publish ? 'publish' : step.checkout ? 'checkout' : '?'));
    assert.ok(names.indexOf('MaintenanceWindow@1') > names.lastIndexOf('RescheduleJobs@1'), 'the report comes after every restore');
    assert.equal(names.at(-1), 'publish');
  });
});
