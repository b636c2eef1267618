import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { Emulator } from '../emulators/kit';
import { newWorkDirectory, repoRoot, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/** RescheduleJobsV1 as the agent runs it, against the Azure DevOps emulator (real azure-devops-node-api client). */
describe('RescheduleJobsV1 (bundled, against the Azure DevOps emulator)', function () {
  const ado = new AzureDevOpsEmulator();
  const plan = path.join(repoRoot, 'plans', '2025-04-13.yml');
  before(() => ado.start());
  after(() => ado.stop());
  beforeEach(() => ado.reset());

  /** The job's own token and collection URL, as the agent gives them to a step. */
  const jobToken = (): RunTaskOptions => ({
    endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
    variables: { 'System.CollectionUri': ado.collectionUrl, 'System.TeamProject': ado.project, 'MaintenanceWindow.Id': '2025-04-13' },
  });

  const run = (inputs: Record<string, string>, workDirectory: string, extra: Partial<RunTaskOptions> = {}): Promise<TaskRun> =>
    runBundledTask('RescheduleJobsV1', { ...jobToken(), ...extra, inputs, workDirectory });

  function seedJobs() {
    const pipelines = {
      export: ado.addPipeline({ name: 'Nightly export', folder: '\\Product Integrations' }),
      sync: ado.addPipeline({ name: 'Hourly sync', folder: '\\Product Integrations\\Partners' }),
      pausedBefore: ado.addPipeline({ name: 'Old feed', folder: '\\Product Integrations', queueStatus: 'paused' }),
      disabledBefore: ado.addPipeline({ name: 'Retired import', folder: '\\Product Engineering', queueStatus: 'disabled' }),
      reports: ado.addPipeline({ name: 'Usage reports', folder: '\\Product Engineering' }),
      unrelated: ado.addPipeline({ name: 'Global_Infrastructure', folder: '\\Platform' }),
    };
    return pipelines;
  }

  const statuses = () => Object.fromEntries([...ado.definitions.values()].map((definition) => [definition.name, definition.queueStatus]));

  function assertNoToken(...runs: TaskRun[]) {
    for (const taskRun of runs) assert.ok(!taskRun.visibleOutput.includes(ado.token), 'the token never reaches the log');
  }

  it("holds the plan's jobs (paused) and release restores every queue status exactly", async () => {
    seedJobs();
    const before = statuses();
    const dir = newWorkDirectory();
    const hold = await run({ action: 'hold', planFile: plan }, dir);
    assert.equal(hold.result, 'Succeeded', hold.stdout);
    assert.deepEqual(statuses(), { ...before, 'Nightly export': 'paused', 'Hourly sync': 'paused', 'Usage reports': 'paused' });
    assert.equal(hold.outputs.held, '3');
    const record = JSON.parse(hold.outputs.undoRecord);
    assert.equal(record.kind, 'devops-queue-status');
    assert.deepEqual(record.data.definitions.map((d: { name: string; previous: string }) => [d.name, d.previous]).sort(), [
      ['Hourly sync', 'enabled'],
      ['Nightly export', 'enabled'],
      ['Usage reports', 'enabled'],
    ]);
    const jobs = JSON.parse(hold.outputs.jobs) as Array<{ name: string; action: string }>;
    assert.equal(jobs.find((job) => job.name === 'Old feed')!.action, 'already paused');
    assert.equal(jobs.find((job) => job.name === 'Retired import')!.action, 'left alone');
    assert.match(hold.summaries[0], /Scheduled jobs: hold/);
    assert.match(hold.summaries[0], /\| Nightly export \| \\\\Product Integrations \| enabled \| paused \| held \|/);
    assert.ok(hold.lines.some((line) => /Undo record .* written .* before any change/.test(line)));
    // The record was written before the first change: its line comes before the first "->" line.
    const recordLine = hold.lines.findIndex((line) => /Undo record .* written/.test(line));
    const firstChange = hold.lines.findIndex((line) => / -> /.test(line));
    assert.ok(recordLine >= 0 && recordLine < firstChange);

    const release = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, dir);
    assert.equal(release.result, 'Succeeded', release.stdout);
    assert.deepEqual(statuses(), before, 'every definition is back to what it was, including the paused and disabled ones');
    assert.equal(release.outputs.released, '3');
    const receipts = fs.readdirSync(path.join(dir, 'records')).filter((name) => name.endsWith('.restored.json'));
    assert.equal(receipts.length, 1, 'release writes a receipt');
    assertNoToken(hold, release);
  });

  it('holds as disabled, restores a pipeline that was paused before to paused, and releasing twice changes nothing more', async () => {
    seedJobs();
    const before = statuses();
    const dir = newWorkDirectory();
    const hold = await run({ action: 'hold', planFile: plan, holdMode: 'disabled' }, dir);
    assert.equal(hold.result, 'Succeeded', hold.stdout);
    assert.equal(ado.pipeline('Old feed')!.queueStatus, 'disabled');
    assert.equal(hold.outputs.held, '4');

    // Release finds the record in the job's records folder when none is given.
    const first = await run({ action: 'release' }, dir);
    assert.equal(first.result, 'Succeeded', first.stdout);
    assert.deepEqual(statuses(), before);
    assert.equal(ado.pipeline('Old feed')!.queueStatus, 'paused', 'paused before the window, paused after it');

    ado.journal.length = 0;
    const second = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, dir);
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.equal(ado.writes().length, 0, 'a second release changes nothing');
    assert.equal(second.outputs.released, '0');
    assert.deepEqual(statuses(), before);
  });

  it('after a crash half-way through the hold, release from the record file restores only what was changed', async () => {
    const jobs = seedJobs();
    const before = statuses();
    const dir = newWorkDirectory();
    // Holds go in folder order: Usage reports first, then Nightly export, whose updates never get through.
    ado.fault({ kind: 'reset', method: 'PUT', path: `/Definitions/${jobs.export.id}`, times: 20 });
    const hold = await run({ action: 'hold', planFile: plan }, dir, { killOnLine: (line) => / -> paused/.test(line) });
    assert.ok(hold.killed, 'the hold was killed after its first change');
    const changed = Object.entries(statuses()).filter(([name, status]) => status !== before[name]);
    assert.deepEqual(changed, [['Usage reports', 'paused']], 'exactly one definition changed before the crash');
    const recordFile = fs.readdirSync(path.join(dir, 'records')).find((name) => name.startsWith('devops-queue-status'))!;

    const release = await run({ action: 'release', undoRecord: path.join(dir, 'records', recordFile) }, newWorkDirectory());
    assert.equal(release.result, 'Succeeded', release.stdout);
    assert.equal(release.outputs.released, '1');
    assert.deepEqual(statuses(), before);
  });

  /** A call as `METHOD what`, the path after `_apis/build/` with the Tags resource in one case. */
  const wire = (call: { method: string; path: string }) =>
    `${call.method} ${call.path.replace(/^.*\/_apis\/build\//, '').replace(/\/tags\b/i, '/tags')}`;
  const mark = (previous: string) => `maintenance-window.held:2025-04-13:${previous}:paused`;

  it("marks each held pipeline through the Tags API before its status PUT, and removes the mark after release's", async () => {
    const jobs = seedJobs();
    const before = statuses();
    const dir = newWorkDirectory();
    const hold = await run({ action: 'hold', pipelines: 'Nightly export' }, dir);
    assert.equal(hold.result, 'Succeeded', hold.stdout);
    const id = jobs.export.id;
    assert.deepEqual(
      ado.writes().map(wire),
      [`PUT definitions/${id}/tags/${mark('enabled')}`, `PUT Definitions/${id}`],
      'the mark first (record before change), then the status',
    );
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, [mark('enabled')]);
    const held = ado.writes().length;
    const release = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, dir);
    assert.equal(release.result, 'Succeeded', release.stdout);
    assert.deepEqual(
      ado.writes().slice(held).map(wire),
      [`PUT Definitions/${id}`, `DELETE definitions/${id}/tags/${mark('enabled')}`],
      'the status back first, then the mark',
    );
    assert.deepEqual(statuses(), before);
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, []);
  });

  it('after a crash between mark and status, hold again records the true status before and release removes every mark', async () => {
    const jobs = seedJobs();
    const before = statuses();
    // The status PUT never gets through: the mark is on, the status unchanged (what a crash just after the mark leaves).
    ado.fault({ kind: 'status', status: 400, method: 'PUT', path: `/Definitions/${jobs.export.id}`, times: 1 });
    const broken = await run({ action: 'hold', pipelines: 'Nightly export' }, newWorkDirectory());
    assert.equal(broken.result, 'Failed');
    assert.equal(ado.pipeline('Nightly export')!.queueStatus, 'enabled');
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, [mark('enabled')]);

    const hold = await run({ action: 'hold', pipelines: 'Nightly export' }, newWorkDirectory());
    assert.equal(hold.result, 'Succeeded', hold.stdout);
    assert.deepEqual(
      JSON.parse(hold.outputs.undoRecord).data.definitions.map((d: { previous: string }) => d.previous),
      ['enabled'],
    );
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, [mark('enabled')], 'still one mark');
    const release = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, newWorkDirectory());
    assert.equal(release.result, 'Succeeded', release.stdout);
    assert.deepEqual(statuses(), before);
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, []);

    // Released from the first, failed hold's record: nothing to put back but the mark.
    ado.fault({ kind: 'status', status: 400, method: 'PUT', path: `/Definitions/${jobs.export.id}`, times: 1 });
    const failed = await run({ action: 'hold', pipelines: 'Nightly export' }, newWorkDirectory());
    const writes = ado.writes().length;
    const cleanup = await run({ action: 'release', undoRecord: failed.outputs.undoRecord }, newWorkDirectory());
    assert.equal(cleanup.result, 'Succeeded', cleanup.stdout);
    assert.deepEqual(
      ado.writes().slice(writes).map(wire),
      [`DELETE definitions/${jobs.export.id}/tags/${mark('enabled')}`],
      'no status PUT, only the mark removed',
    );
    assert.deepEqual(statuses(), before);
  });

  it('after a crash between status restored and mark removed, release again removes the mark and reads back', async () => {
    seedJobs();
    const before = statuses();
    const hold = await run({ action: 'hold', pipelines: 'Nightly export' }, newWorkDirectory());
    ado.fault({ kind: 'status', status: 400, method: 'DELETE', path: /\/tags\//i, times: 1 });
    const first = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, newWorkDirectory());
    assert.equal(first.result, 'Failed', 'a mark left on is not back');
    assert.equal(ado.pipeline('Nightly export')!.queueStatus, 'enabled');
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, [mark('enabled')]);
    const writes = ado.writes().length;
    const again = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, newWorkDirectory());
    assert.equal(again.result, 'Succeeded', again.stdout);
    assert.deepEqual(
      ado
        .writes()
        .slice(writes)
        .map(wire)
        .map((line) => line.split(' ')[0]),
      ['DELETE'],
      'only the mark goes; the status is not written again',
    );
    assert.deepEqual(statuses(), before);
    assert.deepEqual(ado.pipeline('Nightly export')!.tags, []);
  });

  it('a hold run twice keeps the true previous statuses, so releasing with the second record restores everything', async () => {
    seedJobs();
    const before = statuses();
    const dir = newWorkDirectory();
    const first = await run({ action: 'hold', planFile: plan }, dir);
    assert.equal(first.outputs.held, '3');
    const writesAfterFirst = ado.writes().length;
    const again = await run({ action: 'hold', planFile: plan }, dir);
    assert.equal(again.result, 'Succeeded', again.stdout);
    assert.equal(
      ado.writes().filter((call) => call.method === 'PUT' && /\/Definitions\/\d+$/.test(call.path)).length,
      3,
      'one status PUT per held pipeline',
    );
    assert.equal(ado.writes().length, writesAfterFirst, 'the second hold changes nothing (no status, no mark)');
    const release = await run({ action: 'release', undoRecord: again.outputs.undoRecord }, dir);
    assert.equal(release.result, 'Succeeded', release.stdout);
    assert.deepEqual(statuses(), before);
  });

  it('re-reads a definition saved by someone else meanwhile instead of overwriting it (409 and 404 answers)', async () => {
    const jobs = seedJobs();
    for (const status of [409, 404] as const) {
      ado.staleRevisionStatus = status;
      ado.editBeforeNextUpdate(jobs.export.id, { name: 'Nightly export' });
      const dir = newWorkDirectory();
      const hold = await run({ action: 'hold', pipelines: 'Nightly export' }, dir);
      assert.equal(hold.result, 'Succeeded', hold.stdout);
      assert.equal(ado.pipeline('Nightly export')!.queueStatus, 'paused');
      assert.ok(
        hold.lines.some((line) => /edited by someone else meanwhile/.test(line)),
        `reports the concurrent edit (${status})`,
      );
      assert.equal(ado.calls('PUT', `/Definitions/${jobs.export.id}`).filter((call) => call.status === status).length, 1);
      const release = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, dir);
      assert.equal(release.result, 'Succeeded', release.stdout);
      assert.equal(ado.pipeline('Nightly export')!.queueStatus, 'enabled');
    }
  });

  it('leaves alone, on release, a pipeline someone re-enabled or disabled after the hold', async () => {
    const jobs = seedJobs();
    const dir = newWorkDirectory();
    const hold = await run({ action: 'hold', pipelines: '\\Product Integrations' }, dir);
    assert.equal(hold.outputs.held, '2');
    ado.editDefinition(jobs.sync.id, { queueStatus: 'disabled' });
    const release = await run({ action: 'release', undoRecord: hold.outputs.undoRecord }, dir);
    assert.equal(release.result, 'Succeeded', release.stdout);
    assert.equal(ado.pipeline('Hourly sync')!.queueStatus, 'disabled', 'the later choice of a person stands');
    assert.equal(ado.pipeline('Nightly export')!.queueStatus, 'enabled');
    assert.match(release.warnings.join('\n'), /Hourly sync is disabled, not paused as the hold left it/);
  });

  it('uses a PAT service connection, selects by folder, pattern and name, and honours exclusions and throttling', async () => {
    seedJobs();
    ado.throttle({ times: 1, retryAfterSeconds: 1, path: '/Definitions' });
    const dir = newWorkDirectory();
    const hold = await runBundledTask('RescheduleJobsV1', {
      inputs: {
        action: 'hold',
        azureDevOpsConnection: 'ado',
        project: ado.project,
        pipelines: '\\Product Engineering\n*sync*\nNightly export\n!Usage reports',
      },
      endpoints: { ado: { url: ado.collectionUrl.replace(/\/$/, ''), scheme: 'Token', parameters: { apitoken: ado.token } } },
      workDirectory: dir,
    });
    assert.equal(hold.result, 'Succeeded', hold.stdout);
    assert.equal(hold.outputs.held, '2');
    assert.deepEqual(
      [...ado.definitions.values()]
        .filter((d) => d.queueStatus === 'paused')
        .map((d) => d.name)
        .sort(),
      ['Hourly sync', 'Nightly export', 'Old feed'],
    );
    assert.ok(
      hold.lines.some((line) => /answered 429 .* it asked to wait 1\.0 s/.test(line)),
      'waits what Retry-After asks',
    );
    assert.ok(
      ado.journal.every((call) => String(call.headers.authorization).startsWith('Basic ')),
      'a PAT goes as Basic auth',
    );
    assertNoToken(hold);
  });

  it('refuses bad input before changing anything, naming the input', async () => {
    seedJobs();
    const cases: Array<[Record<string, string>, RegExp, Partial<RunTaskOptions>?]> = [
      [{ action: 'hold', pipelines: 'Nightly export\nNo such pipeline' }, /Input 'pipelines': no pipeline named 'No such pipeline'/],
      [{ action: 'hold' }, /Input 'pipelines': nothing to hold/],
      [{ action: 'hold', holdMode: 'stopped', pipelines: 'Nightly export' }, /Input 'holdMode': 'stopped' is not allowed/],
      [
        { action: 'release', undoRecord: '{"kind":"pingdom","id":"x","data":{}}' },
        /Input 'undoRecord': is an undo record of kind 'pingdom'/,
      ],
      [
        { action: 'hold', pipelines: 'Nightly export' },
        /Input 'azureDevOpsConnection': is empty and the job's access token is not available/,
        { endpoints: {}, variables: { 'System.TeamProject': ado.project } },
      ],
    ];
    const badPlan = path.join(newWorkDirectory(), 'bad.yml');
    fs.writeFileSync(badPlan, 'window: { name: x, date: 2025-04-13 }\njobs:\n  - pipelines: { folder: Product }\nchanges: []\n');
    cases.push([{ action: 'hold', planFile: badPlan }, /Input 'planFile': [\s\S]*bad\.yml:3:\d+ jobs\[0\]\.pipelines\.folder/]);
    for (const [inputs, message, extra] of cases) {
      const taskRun = await run(inputs, newWorkDirectory(), extra);
      assert.equal(taskRun.result, 'Failed', JSON.stringify(inputs));
      assert.match(taskRun.errors.join('\n'), message);
    }
    assert.equal(ado.writes().length, 0, 'nothing was changed');
  });

  it('holds and releases an outside scheduler with one configurable HTTP call each way (Basic auth)', async () => {
    const scheduler = new Emulator({ name: 'Automate Schedule', https: true });
    const calls: Array<{ path: string; body: unknown; auth?: string; header?: string }> = [];
    const answer = (request: { path: string; body: unknown; headers: Record<string, unknown> }) => {
      calls.push({
        path: request.path,
        body: request.body,
        auth: String(request.headers.authorization),
        header: String(request.headers['x-tenant']),
      });
      return { status: 200, body: { ok: true } };
    };
    scheduler.route('POST', '/automate-schedule/ws/jobs/hold', answer).route('POST', '/automate-schedule/ws/jobs/release', answer);
    await scheduler.start();
    try {
      const dir = newWorkDirectory();
      const common = {
        provider: 'http',
        schedulerName: 'Automate Schedule',
        schedulerConnection: 'skybot',
        releaseUrl: 'jobs/release',
        releaseBody: '{"window":"{{windowId}}"}',
      };
      const endpoints = {
        skybot: {
          url: `${scheduler.url}/automate-schedule/ws/`,
          scheme: 'UsernamePassword',
          parameters: { username: 'svc-window', password: 'skybot-secret-pw' },
        },
      };
      const hold = await runBundledTask('RescheduleJobsV1', {
        inputs: {
          ...common,
          action: 'hold',
          holdUrl: 'jobs/hold',
          holdBody: '{"window":"{{windowId}}","reason":"maintenance"}',
          holdHeaders: 'X-Tenant: platform',
        },
        endpoints,
        variables: { 'MaintenanceWindow.Id': '2025-04-13' },
        workDirectory: dir,
      });
      assert.equal(hold.result, 'Succeeded', hold.stdout);
      assert.deepEqual(calls[0].body, { window: '2025-04-13', reason: 'maintenance' });
      assert.equal(calls[0].auth, `Basic ${Buffer.from('svc-window:skybot-secret-pw').toString('base64')}`);
      assert.equal(calls[0].header, 'platform');
      const record = JSON.parse(hold.outputs.undoRecord);
      assert.equal(record.kind, 'scheduler-hold');
      assert.ok(!hold.outputs.undoRecord.includes('skybot-secret-pw'));

      const release = await runBundledTask('RescheduleJobsV1', {
        inputs: { ...common, action: 'release', undoRecord: hold.outputs.undoRecord },
        endpoints,
        variables: { 'MaintenanceWindow.Id': '2025-04-13' },
        workDirectory: dir,
      });
      assert.equal(release.result, 'Succeeded', release.stdout);
      assert.equal(calls[1].path, '/automate-schedule/ws/jobs/release');
      assert.deepEqual(calls[1].body, { window: '2025-04-13' });
      assert.ok(fs.readdirSync(path.join(dir, 'records')).some((name) => name.endsWith('.restored.json')));
      for (const taskRun of [hold, release]) assert.ok(!taskRun.visibleOutput.includes('skybot-secret-pw'));
    } finally {
      await scheduler.stop();
    }
  });
});
