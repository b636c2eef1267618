import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPlan } from '../../shared/plan/plan';
import { AzureDevOpsEmulator, type EmulatedRun } from '../emulators/azure-devops';
import { newWorkDirectory, repoRoot, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/** RunChangesV1 as the agent runs it, against the Azure DevOps emulator (real azure-devops-node-api client). */
describe('RunChangesV1 (bundled, against the Azure DevOps emulator)', function () {
  const ado = new AzureDevOpsEmulator();
  const planFile = path.join(repoRoot, 'plans', '2025-03-23.yml');
  const plan = loadPlan(planFile);
  const manualIds = plan.changes.filter((change) => change.action.kind === 'manual').map((change) => change.id);
  // Simulated durations: the long infrastructure pipelines first, then the short app deployments.
  const durations: Record<string, number> = {
    Global_Infrastructure: 700,
    Payer_Infrastructure: 700,
    Hub_Infrastructure: 200,
    'Seed KeyVault': 120,
    Deploy: 120,
  };

  before(() => ado.start());
  after(() => ado.stop());
  beforeEach(() => {
    ado.reset();
    ado.knowPipelinesOfPlan(plan, { durationMs: (name) => durations[name] ?? 100 });
  });

  const run = (
    inputs: Record<string, string>,
    options: { buildId?: string; workDirectory?: string } & Partial<RunTaskOptions> = {},
  ): Promise<TaskRun> =>
    runBundledTask('RunChangesV1', {
      endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
      variables: {
        'System.CollectionUri': ado.collectionUrl,
        'System.TeamProject': ado.project,
        'System.BuildId': options.buildId ?? '501',
        'System.StageAttempt': '1',
        'MaintenanceWindow.PollIntervalMs': '40',
      },
      timeoutMs: 60_000,
      ...options,
      inputs: { planFile, scriptRoot: repoRoot, ...inputs },
    });

  const runOf = (name: string, folder?: string): EmulatedRun => {
    const runs = ado.runsOf(name, folder);
    assert.equal(runs.length, 1, `${name} ${folder ?? ''} ran once`);
    return runs[0];
  };
  const runsNamed = (name: string) =>
    [...ado.runs.values()].filter((candidate) => ado.definitions.get(candidate.definitionId)!.name === name);
  const finishedAt = (run: EmulatedRun) => run.startedAt! + run.durationMs;
  const results = (taskRun: TaskRun) =>
    new Map((JSON.parse(taskRun.outputs.results) as Array<{ id: string; outcome: string; reason?: string }>).map((r) => [r.id, r]));

  it(
    'runs the 2025-03-23 plan in dependency order: Hub after Global, the app deployments after Payer_Infrastructure, ' +
      'the rest side by side',
    async () => {
      const taskRun = await run({ maxParallel: '4' });
      assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
      const global = runOf('Global_Infrastructure');
      const hub = runOf('Hub_Infrastructure');
      const payer = runOf('Payer_Infrastructure');
      assert.ok(hub.queuedAt >= finishedAt(global), 'Hub_Infrastructure starts only after Global_Infrastructure finished');
      const folders = [
        'OneTimePaymentService',
        'PayerPayByTextService',
        'PayerPortalUI',
        'Payer Account Service',
        'Payer Branding Service',
        'Payer User Service',
        'Payer Support Service',
        'Payer Support UI',
      ];
      for (const folder of folders) {
        const deploy = runOf('Deploy', `\\Payer\\${folder}`);
        assert.ok(deploy.queuedAt >= finishedAt(payer), `${folder} deploys after Payer_Infrastructure`);
        const seed = ado.runsOf('Seed KeyVault', `\\Payer\\${folder}`)[0];
        if (seed) {
          assert.ok(seed.queuedAt >= finishedAt(payer), `${folder} seeds after Payer_Infrastructure`);
          assert.ok(deploy.queuedAt >= finishedAt(seed), `${folder} deploys after its Seed KeyVault`);
          assert.equal(seed.templateParameters.environment, 'XAT');
        }
      }
      assert.ok(payer.queuedAt < finishedAt(global) && global.queuedAt < finishedAt(payer), 'independent changes run side by side');
      assert.equal(payer.templateParameters.version, '3.15.0');
      assert.equal(global.branch, 'refs/heads/main');
      // Never more than maxParallel runs at once.
      const runs = [...ado.runs.values()];
      for (const candidate of runs) {
        const overlapping = runs.filter((other) => other.startedAt! <= candidate.startedAt! && finishedAt(other) > candidate.startedAt!);
        assert.ok(overlapping.length <= 4, `at most 4 at once (${overlapping.length} at run ${candidate.id})`);
      }
      // Runs are tagged with the window, the change and the attempt.
      assert.deepEqual([...global.tags].sort(), ['attempt:501.1', 'change:global-infra', 'maintenance-window', 'window:2025-03-23']);
      // The script ran from the repository root; the manual changes wait for a person.
      const byId = results(taskRun);
      assert.equal(byId.get('k8s-cluster-upgrades')!.outcome, 'succeeded');
      assert.ok(
        taskRun.lines.some((line) => line.includes('[k8s-cluster-upgrades] k8s-node-image-upgrade: window')),
        'script output is streamed to the log',
      );
      for (const id of manualIds) assert.equal(byId.get(id)!.outcome, 'awaiting-confirmation');
      assert.deepEqual(taskRun.outputs.manualPending.split(','), manualIds);
      assert.match(taskRun.outputs.manualInstructions, /Remove Dead ADDS Records .*\(dead-adds-records\): ClickOps in the portal/);
      assert.equal(taskRun.outputs.finished, 'false');
      assert.equal(taskRun.outputs.succeeded, String(plan.changes.length - manualIds.length));
      assert.match(taskRun.summaries[0], /## Changes: 2025-03-23 Monthly/);
      assert.match(taskRun.summaries[0], /\[PLAT-1590\]\(https:\/\/invoicecloud\.atlassian\.net\/browse\/PLAT-1590\)/);
      assert.match(
        taskRun.summaries[0],
        /Hub_Infrastructure.*✅ succeeded.*\[\d{8}\.\d+\]\(http:\/\/127\.0\.0\.1:\d+\/contoso\/Platform\/_build\/results\?buildId=\d+\)/,
      );
      assert.ok(!taskRun.visibleOutput.includes(ado.token), 'the token never reaches the log');

      // Round two: a person confirmed the manual changes; nothing succeeded is started again.
      const before = ado.runs.size;
      const second = await run({ confirmedManualChanges: taskRun.outputs.manualPending });
      assert.equal(second.result, 'Succeeded', second.stdout);
      assert.equal(ado.runs.size, before, 'no pipeline is started twice');
      assert.equal(second.outputs.finished, 'true');
      assert.equal(second.outputs.manualPending, '');
      assert.deepEqual(second.outputs.manualConfirmed.split(','), manualIds);
    },
  );

  it('a failed change blocks only its dependents; a later run retries it and skips what succeeded', async () => {
    ado.failNextRuns('Payer_Infrastructure', 1);
    const first = await run({ confirmedManualChanges: manualIds.join('\n') });
    assert.equal(first.result, 'Failed', first.stdout);
    const byId = results(first);
    assert.equal(byId.get('payer-infra')!.outcome, 'failed');
    const blocked = plan.changes.filter((change) => change.dependsOn.includes('payer-infra')).map((change) => change.id);
    assert.equal(blocked.length, 13);
    for (const id of blocked) {
      assert.equal(byId.get(id)!.outcome, 'blocked', id);
      assert.match(byId.get(id)!.reason!, /payer-infra failed/);
    }
    for (const id of ['global-infra', 'hub-infra', 'k8s-cluster-upgrades']) assert.equal(byId.get(id)!.outcome, 'succeeded', id);
    assert.equal(first.outputs.blocked, '13');
    assert.equal(runsNamed('Deploy').length + runsNamed('Seed KeyVault').length, 0, 'no app deployment ran');
    assert.match(first.errors.join('\n'), /14 change\(s\) did not succeed: payer-infra \(failed/);
    assert.match(first.summaries[0], /⛔ blocked/);

    // The same attempt (a later round) does not retry the failure.
    const sameAttempt = await run({ confirmedManualChanges: manualIds.join(',') });
    assert.equal(sameAttempt.result, 'Failed');
    assert.equal(ado.runsOf('Payer_Infrastructure').length, 1);

    // A new run of the window retries the failure, runs what it blocked, and starts nothing that succeeded.
    const second = await run({ confirmedManualChanges: manualIds.join(',') }, { buildId: '502' });
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.equal(ado.runsOf('Payer_Infrastructure').length, 2);
    assert.equal(ado.runsOf('Global_Infrastructure').length, 1, 'Global_Infrastructure is not run twice');
    assert.equal(ado.runsOf('Hub_Infrastructure').length, 1, 'Hub_Infrastructure is not run twice');
    assert.equal(runsNamed('Deploy').length, 8);
    assert.equal(runsNamed('Seed KeyVault').length, 5);
    assert.match(results(second).get('global-infra')!.reason ?? '', /^$/);
  });

  it('resumes after a crash: runs still in flight are waited for, not started again', async () => {
    // Still running whatever the machine's speed, until the resumed step says it waits for it; then it ends.
    ado.pipeline('Payer_Infrastructure')!.durationMs = 600_000;
    const dir = newWorkDirectory();
    const crashed = await run({}, { workDirectory: dir, killOnLine: (line) => /^Started Payer_Infrastructure/.test(line) });
    assert.ok(crashed.killed);
    const startedBefore = ado.runs.size;
    assert.ok(startedBefore >= 1);
    const resumed = await run(
      { confirmedManualChanges: manualIds.join(',') },
      {
        workDirectory: dir,
        buildId: '501',
        onLine: (line) => {
          if (/^payer-infra: run .* started earlier is still running; waiting for it/.test(line))
            ado.runsOf('Payer_Infrastructure')[0].durationMs = 0;
        },
      },
    );
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    for (const name of ['Global_Infrastructure', 'Payer_Infrastructure', 'Hub_Infrastructure'])
      assert.equal(ado.runsOf(name).length, 1, `${name} ran once`);
    assert.ok(resumed.lines.some((line) => /started earlier is still running; waiting for it/.test(line)));
  });

  it('resumes after a crash between queueing a run and tagging it: the untagged run is taken over, not started again', async () => {
    const dir = newWorkDirectory();
    let queued: string | undefined;
    ado.holdTags();
    const crashed = await run(
      {},
      {
        workDirectory: dir,
        killOnLine: (line) => {
          queued = /^Queued (.+) run \d+ for (\S+); tagging it\.$/.exec(line)?.[2] ?? queued;
          return queued !== undefined;
        },
      },
    );
    assert.ok(crashed.killed && queued, crashed.stdout);
    ado.releaseTags({ apply: false });
    const pipeline = plan.changes.find((change) => change.id === queued)!.action;
    assert.equal(pipeline.kind, 'pipeline');
    const name = pipeline.kind === 'pipeline' ? pipeline.name : '';
    const [untagged] = ado.runsOf(name);
    assert.equal(untagged.tags.size, 0, 'the crash left the run untagged');

    const resumed = await run({ confirmedManualChanges: manualIds.join(',') }, { workDirectory: dir });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    for (const change of plan.changes) {
      if (change.action.kind === 'pipeline' && ['planned', 'doing'].includes(change.status))
        assert.equal(ado.runsOf(change.action.name, change.action.folder).length, 1, `${change.id} ran once`);
    }
    assert.deepEqual([...untagged.tags].sort(), ['attempt:501.1', `change:${queued}`, 'maintenance-window', 'window:2025-03-23']);
    assert.ok(
      resumed.lines.some((line) =>
        new RegExp(
          `^${queued}: an earlier run of this step was starting ${name} .* stopped before tagging the run; ` +
            `run \\S+ \\(id ${untagged.id}\\), queued since and untagged, is that run: tagged it and took it over`,
        ).test(line),
      ),
      resumed.stdout,
    );
    assert.equal(results(resumed).get(queued)!.outcome, 'succeeded');
  });

  it('starts a change whose start was interrupted before anything was queued, once', async () => {
    const dir = newWorkDirectory();
    const ledger = path.join(dir, 'records', 'changes-2025-03-23.json');
    fs.mkdirSync(path.dirname(ledger), { recursive: true });
    const intent = {
      outcome: 'starting',
      pipelineId: ado.pipeline('Global_Infrastructure')!.id,
      attemptId: '501.1',
      at: new Date().toISOString(),
    };
    fs.writeFileSync(ledger, JSON.stringify({ changes: { 'global-infra': intent } }));
    const taskRun = await run({ onlyKeys: 'global-infra' }, { workDirectory: dir });
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    assert.equal(ado.runsOf('Global_Infrastructure').length, 1);
    assert.ok(
      taskRun.lines.some((line) =>
        /^global-infra: .* no untagged run of it was queued since, so it never started: starting it now/.test(line),
      ),
    );
    assert.deepEqual(JSON.parse(fs.readFileSync(ledger, 'utf8')).changes, {}, 'the intent is closed once the run is tagged');
  });

  it('runs only the changes named in onlyKeys (ids or Jira keys), with their dependencies found from earlier runs', async () => {
    const first = await run({ onlyKeys: 'global-infra' });
    assert.equal(first.result, 'Succeeded', first.stdout);
    assert.equal(ado.runs.size, 1);
    assert.equal(results(first).get('hub-infra')!.outcome, 'skipped');
    const second = await run({ onlyKeys: 'PLAT-1603' }, { buildId: '777' });
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.equal(ado.runsOf('Hub_Infrastructure').length, 1);
    assert.equal(results(second).get('global-infra')!.outcome, 'succeeded');
    assert.equal(ado.runs.size, 2);
  });

  it('honours Retry-After and the rate-limit headers while polling', async () => {
    ado.rateLimit = { limit: 200, remaining: 150, resetInSeconds: 60, delaySeconds: 0.3 };
    ado.throttle({ times: 1, retryAfterSeconds: 1, path: '/_apis/build/Builds' });
    const taskRun = await run({ onlyKeys: 'global-infra,payer-infra' });
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    assert.ok(
      taskRun.lines.some((line) => /answered 429 to .* it asked to wait 1\.0 s/.test(line)),
      'waits what Retry-After asks',
    );
    // X-RateLimit-Delay of 0.3 s stretches the 40 ms poll interval: polls are at least ~300 ms apart.
    const polls = ado
      .calls('GET', '/_apis/build/Builds')
      .filter((call) => call.query.buildIds)
      .map((call) => call.at);
    assert.ok(polls.length >= 2);
    for (let i = 1; i < polls.length; i++) assert.ok(polls[i] - polls[i - 1] >= 250, `poll gap ${polls[i] - polls[i - 1]} ms`);
  });

  it('follows a run it could not tag, and says a later run will not recognise it', async () => {
    ado.fault({ kind: 'status', status: 403, method: 'POST', path: /\/tags$/i, times: 1 });
    const taskRun = await run({ onlyKeys: 'global-infra' });
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    assert.equal(results(taskRun).get('global-infra')!.outcome, 'succeeded');
    assert.match(taskRun.warnings.join('\n'), /could not be tagged .* a later run of this step will not recognise it/);
  });

  it('refuses a plan with a cycle and an unknown dependency, listing every problem, and starts nothing', async () => {
    const dir = newWorkDirectory();
    const bad = path.join(dir, 'bad.yml');
    fs.writeFileSync(
      bad,
      [
        'window: { name: Bad, date: 2025-03-23 }',
        'changes:',
        '  - { id: a, title: A, dependsOn: [b], pipeline: { name: Global_Infrastructure } }',
        '  - { id: b, title: B, dependsOn: [a], pipeline: { name: Hub_Infrastructure } }',
        '  - { id: c, title: C, dependsOn: [nowhere], pipeline: { name: Payer_Infrastructure } }',
      ].join('\n'),
    );
    const taskRun = await run({ planFile: bad }, { workDirectory: dir });
    assert.equal(taskRun.result, 'Failed');
    const message = taskRun.errors.join('\n');
    assert.match(message, /Input 'planFile': The plan has 2 problem\(s\)/);
    assert.match(message, /bad\.yml:4:\d+ changes\[1\]\.dependsOn\[0\]: dependency cycle: a -> b -> a/);
    assert.match(message, /bad\.yml:5:\d+ changes\[2\]\.dependsOn\[0\]: unknown change 'nowhere'/);
    assert.equal(ado.journal.length, 0, 'nothing was called, nothing started');
  });

  it('refuses a plan naming a pipeline that does not exist before starting anything', async () => {
    const dir = newWorkDirectory();
    const bad = path.join(dir, 'missing.yml');
    fs.writeFileSync(
      bad,
      'window: { name: M, date: 2025-03-23 }\nchanges:\n  - { id: a, title: A, pipeline: { name: Global_Infrastructure } }\n  - { ' +
        'id: b, title: B, pipeline: { name: Nope } }\n  - { id: c, title: C, pipeline: { name: Deploy, folder: "\\\\Elsewhere" } }\n',
    );
    const taskRun = await run({ planFile: bad }, { workDirectory: dir });
    assert.equal(taskRun.result, 'Failed');
    assert.match(
      taskRun.errors.join('\n'),
      /nothing was started[\s\S]*b: no pipeline 'Nope'[\s\S]*c: no pipeline 'Deploy' in folder \\Elsewhere in project Platform \(pipelines of that name are in \\Payer\\OneTimePaymentService/,
    );
    assert.equal(ado.writes().length, 0);
  });

  it('only validates when asked, attaching the checklist without calling Azure DevOps', async () => {
    const taskRun = await run({ validateOnly: 'true' }, { endpoints: {} });
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    assert.match(taskRun.summaries[0], /## Plan: 2025-03-23 Monthly/);
    assert.match(taskRun.summaries[0], /23 change\(s\) on 2025-03-23/);
    assert.equal(ado.journal.length, 0);
  });
});
