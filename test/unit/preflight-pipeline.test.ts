import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { writePreflightFile } from '../../shared/core/preflight';
import { cronSlots, parseNotBefore, scheduleOffset } from '../../shared/window/gate';
import { gatherPreflight, verdictLine } from '../../shared/window/preflight';
import { repoRoot } from '../helpers/task-runner';

/**
 * pipelines/preflight.yml against the night: the same parameters (Azure Pipelines takes runtime parameters only
 * from a pipeline's top file, so the preflight carries the night's block and this test keeps them one), the same
 * two-slot rule for its Eastern time, and a check for every task of the night that has one. And the go/no-go
 * aggregation over finding files laid out as downloaded artifacts.
 */

const read = (file: string) => parse(fs.readFileSync(path.join(repoRoot, 'pipelines', file), 'utf8'));
const night = read('monthly-maintenance.yml');
const preflight = read('preflight.yml');
const PREFLIGHT_ONLY = new Set(['preflightAt', 'preflightChannels', 'environments']);

function templateFiles(root: string): string[] {
  return [root, ...fs.readdirSync(path.join(repoRoot, 'pipelines', 'templates')).map((name) => `templates/${name}`)];
}

/** Every `task:` (name without version) with its `action` input, across a pipeline file and all templates. */
function tasksWithActions(file: string): Array<{ task: string; action?: string }> {
  const found: Array<{ task: string; action?: string }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const value = node as Record<string, unknown>;
      if (typeof value.task === 'string')
        found.push({ task: value.task.split('@')[0], action: (value.inputs as Record<string, string> | undefined)?.action });
      Object.values(value).forEach(walk);
    }
  };
  walk(read(file));
  return found;
}

describe('the Friday preflight pipeline', () => {
  it("declares exactly the night's parameters (name, type, default, values), plus its own", () => {
    const own = (preflight.parameters as Array<{ name: string }>).filter((parameter) => !PREFLIGHT_ONLY.has(parameter.name));
    assert.deepEqual(own, night.parameters);
    assert.deepEqual(
      (preflight.parameters as Array<{ name: string }>)
        .filter((parameter) => PREFLIGHT_ONLY.has(parameter.name))
        .map((parameter) => parameter.name),
      [...PREFLIGHT_ONLY],
    );
  });

  it('is scheduled at both UTC slots of preflightAt, each display name naming its offset, and runnable by hand', () => {
    const at = (preflight.parameters as Array<{ name: string; default: string }>).find(
      (parameter) => parameter.name === 'preflightAt',
    )!.default;
    const slots = cronSlots(parseNotBefore('preflightAt', at), 'America/New_York', 2026);
    assert.deepEqual(
      preflight.schedules.map((schedule: { cron: string }) => schedule.cron),
      slots.map((slot) => slot.cron),
    );
    for (const [index, schedule] of (preflight.schedules as Array<{ displayName: string; always: boolean }>).entries()) {
      assert.equal(scheduleOffset(schedule.displayName), slots[index].offsetMinutes, schedule.displayName);
      assert.equal(schedule.always, true);
    }
    assert.equal(preflight.trigger, 'none');
  });

  it('checks every task of the night that has a check action; every step is a check or a preflight action', () => {
    const tasksOf = (file: string) => templateFiles(file).flatMap((one) => tasksWithActions(one));
    const nightTasks = new Set(tasksOf('monthly-maintenance.yml').map((step) => step.task));
    const preflightSteps = [...tasksWithActions('preflight.yml'), ...tasksWithActions('templates/preflight-web-batch.yml')];
    for (const task of [
      'AppGatewayDrain',
      'PatchVms',
      'AlertMute',
      'PingdomPause',
      'MaintenancePage',
      'RescheduleJobs',
      'RunChanges',
      'RunPipeline',
      'Notify',
      'MaintenanceWindow',
    ]) {
      assert.ok(nightTasks.has(task), `the night runs ${task}`);
      assert.ok(
        preflightSteps.some((step) => step.task === task && step.action === 'check'),
        `the preflight checks ${task}`,
      );
    }
    for (const step of preflightSteps)
      assert.ok(
        ['check', 'gate', 'forecast', 'environments', 'preflight-report'].includes(step.action ?? ''),
        `${step.task} action ${step.action}`,
      );
  });

  it('ends with one go/no-go job after every check job, whatever they did', () => {
    const jobs = preflight.stages[0].jobs as Array<{ job?: string; template?: string; dependsOn?: string[]; condition?: string }>;
    const last = jobs[jobs.length - 1];
    assert.equal(last.job, 'goNoGo');
    assert.match(last.condition!, /always\(\)/);
    const named = jobs.filter((job) => job.job && job.job !== 'goNoGo').map((job) => job.job!);
    const batches = jobs
      .filter((job) => job.template)
      .map((job) => `WebBatch_${(job as { parameters: { name: string } }).parameters.name}`);
    assert.deepEqual([...last.dependsOn!].sort(), [...named, ...batches].sort());
  });
});

describe('the go/no-go over finding files', () => {
  it('reads only preflight folders of every downloaded artifact; NO-GO lists each problem with its fix', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-preflight-'));
    const job = (name: string) => path.join(root, `window-Preflight-${name}-1`);
    writePreflightFile(path.join(job('night'), 'preflight'), {
      schemaVersion: 1,
      task: 'MaintenanceWindow',
      step: 'Forecast the night',
      findings: [{ check: 'forecast', object: 'window end', verdict: 'GO', why: 'fits', fix: '' }],
    });
    fs.mkdirSync(path.join(job('night'), 'records'), { recursive: true });
    fs.writeFileSync(path.join(job('night'), 'records', 'undo.json'), '{"not": "a finding"}');
    assert.deepEqual(gatherPreflight([root]).verdict, 'GO');
    assert.equal(verdictLine(gatherPreflight([root])), 'Preflight: GO');

    writePreflightFile(path.join(job('Changes'), 'preflight'), {
      schemaVersion: 1,
      task: 'RunChanges',
      step: 'Check the plan',
      findings: [
        {
          check: 'pipeline-exists',
          object: 'pipeline Kong_Infrastructure',
          verdict: 'NO-GO',
          why: 'no such pipeline',
          fix: 'rename it in the plan',
        },
        { check: 'pipeline-exists', object: 'pipeline Payer', verdict: 'WARN', why: 'slow', fix: '' },
      ],
    });
    const report = gatherPreflight([root]);
    assert.equal(report.verdict, 'NO-GO');
    assert.deepEqual(report.problems, [
      { check: 'pipeline-exists', object: 'pipeline Kong_Infrastructure', why: 'no such pipeline', fix: 'rename it in the plan' },
    ]);
    assert.equal(verdictLine(report), 'Preflight: NO-GO (1 problem(s)): pipeline Kong_Infrastructure: no such pipeline');
  });
});
