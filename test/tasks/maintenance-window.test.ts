import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordStore, type UndoRecord } from '../../shared/core/records';
import { parseNightReport } from '../../shared/report';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { SlackEmulator } from '../emulators/slack';
import { newWorkDirectory, repoRoot, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/** A work directory that looks like a checkout: the plans (and their scripts) are there, as on the agent. */
function checkout(): string {
  const dir = newWorkDirectory('mw-window-');
  fs.cpSync(path.join(repoRoot, 'plans'), path.join(dir, 'plans'), { recursive: true });
  return dir;
}

function record(id: string, fields: Partial<UndoRecord> = {}): UndoRecord {
  return {
    kind: 'pingdom',
    version: 1,
    id,
    windowId: 'mw-1',
    createdAt: '2025-04-13T08:46:00.000Z',
    description: `Pingdom checks 101, 102 in maintenance (${id})`,
    data: {},
    ...fields,
  };
}

describe('MaintenanceWindowV1 (bundled, against the Slack emulator, on a simulated clock)', function () {
  const slack = new SlackEmulator();
  before(() => slack.start());
  after(() => slack.stop());
  beforeEach(() => slack.reset());

  /**
   * The displayName of the pipeline's cron entry that fires nearest before `now`: 23:00 UTC Saturday (UTC-4) or
   * 00:00 UTC Sunday (UTC-5).
   */
  function firedBy(now: string | undefined): string | undefined {
    const at = now ? new Date(now) : undefined;
    if (!at || Number.isNaN(at.getTime())) return undefined;
    return at.getUTCDay() === 6
      ? 'Saturday 19:00 New York time while daylight saving time (EDT, UTC-4) is in force'
      : 'Saturday 19:00 New York time while standard time (EST, UTC-5) is in force';
  }

  async function window(
    inputs: RunTaskOptions['inputs'],
    now: string | undefined,
    options: Omit<RunTaskOptions, 'inputs'> = {},
  ): Promise<TaskRun> {
    const run = await runBundledTask('MaintenanceWindowV1', {
      ...options,
      inputs: { provider: 'slack', slackConnection: 'slack-conn', ...inputs },
      endpoints: { 'slack-conn': { url: slack.url, scheme: 'Token', parameters: { apitoken: slack.token } }, ...options.endpoints },
      variables: {
        'Build.Reason': 'Schedule',
        'Build.CronSchedule.DisplayName': firedBy(now),
        'Build.BuildId': '77',
        'MaintenanceWindow.Now': now,
        'MaintenanceWindow.Id': 'mw-77',
        ...options.variables,
      },
    });
    assert.ok(!run.visibleOutput.includes(slack.token), 'the Slack token is never visible');
    return run;
  }

  describe('gate', () => {
    it('lets the matching UTC slot through and finds the weekend plan with planFile: auto', async () => {
      const dir = checkout();
      // 2025-04-12 is EDT: Sat 19:00 New York is 23:00 UTC.
      const run = await window({ action: 'gate', notBefore: 'Sat 19:00', scheduledStart: true, planFile: 'auto' }, '2025-04-12T23:02:00Z', {
        workDirectory: dir,
      });
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.open, 'true');
      assert.equal(run.outputs.planFile, 'plans/2025-04-13.yml');
      assert.equal(run.outputs.maintenancePage, 'true');
      assert.match(run.warnings.join('\n'), /SIMULATED CLOCK: pipeline variable MaintenanceWindow.Now=2025-04-12T23:02:00Z/);
    });

    it('skips the other UTC slot cleanly (output open=false, the step succeeds, nothing posted)', async () => {
      const run = await window({ action: 'gate', notBefore: 'Sat 19:00', scheduledStart: true, planFile: 'auto' }, '2025-04-13T00:01:00Z', {
        workDirectory: checkout(),
      });
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.open, 'false');
      assert.match(run.warnings.join('\n'), /late one of the two UTC schedules/);
      assert.equal(slack.journal.length, 0);
    });

    it('closes cleanly on a weekend without a plan, and is never skipped on a manual run', async () => {
      const noPlan = await window(
        { action: 'gate', notBefore: 'Sat 19:00', scheduledStart: true, planFile: 'auto' },
        '2025-05-03T23:00:30Z',
        { workDirectory: checkout() },
      );
      assert.equal(noPlan.outputs.open, 'false');
      assert.match(noPlan.warnings.join('\n'), /no plan for the weekend of 2025-05-04 \(plans\/2025-05-04.yml\)/);
      const manual = await window(
        { action: 'gate', notBefore: 'Sat 19:00', scheduledStart: true, lateToleranceMinutes: 90 },
        '2025-04-13T00:01:00Z',
        { variables: { 'Build.Reason': 'Manual' } },
      );
      assert.equal(manual.outputs.open, 'true', manual.stdout);
    });

    it('waits with progress when early (the simulated clock jumps), and reports when it opened', async () => {
      const run = await window({ action: 'gate', notBefore: 'Sun 04:30', maxWaitMinutes: 600 }, '2025-04-12T23:40:00Z');
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.match(run.outputs.openedAt, /^2025-04-13T08:30:0\d\.\d{3}Z$/, "opened at 04:30 EDT (plus the step's own real seconds)");
      const progress = run.commands.filter((command) => command.command === 'task.setprogress');
      assert.ok(progress.length >= 10, `progress reported while waiting (${progress.length})`);
      assert.match(progress[0].message, /Opens at 2025-04-13 04:30 EDT: 8 h 50 min to go/);
    });

    it('hands a long wait on as waitMinutes for an agentless Delay job (wait: output), without waiting', async () => {
      const run = await window({ action: 'gate', notBefore: 'Sun 04:30', maxWaitMinutes: 600, wait: 'output' }, '2025-04-12T23:40:00Z');
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.waitMinutes, '530');
      assert.equal(run.outputs.opensAt, '2025-04-13T08:30:00.000Z');
      assert.equal(run.outputs.openedAt, undefined, 'not open yet: the Delay job opens it');
      assert.equal(run.commands.filter((command) => command.command === 'task.setprogress').length, 0);
    });

    it('fails far too late or far too early, and refuses bad input naming it', async () => {
      const late = await window({ action: 'gate', notBefore: 'Sat 22:00', lateToleranceMinutes: 60 }, '2025-04-13T04:00:00Z');
      assert.equal(late.result, 'Failed');
      assert.match(late.errors.join('\n'), /Too late: the gate opened at 2025-04-12 22:00 EDT, 2 h ago/);
      const early = await window({ action: 'gate', notBefore: 'Sun 04:30', maxWaitMinutes: 30 }, '2025-04-12T23:40:00Z');
      assert.match(early.errors.join('\n'), /Too early/);
      for (const [inputs, message] of [
        [{ action: 'gate', notBefore: 'Funday 19:00' }, /Input 'notBefore': 'Funday' is not a weekday/],
        [{ action: 'gate', notBefore: 'Sat 19:00', timeZone: 'Eastern' }, /Input 'timeZone': 'Eastern' is not an IANA time zone/],
        [{ action: 'open' }, /Input 'action': 'open' is not allowed; use one of: gate, start, finish/],
        [{ action: 'start', notBefore: 'Sun 04:45' }, /Input 'planFile': is required/],
      ] as Array<[Record<string, string>, RegExp]>) {
        const run = await window(inputs, '2025-04-13T08:45:00Z');
        assert.equal(run.result, 'Failed', JSON.stringify(inputs));
        assert.match(run.errors.join('\n'), message);
      }
      const badClock = await window({ action: 'gate', notBefore: 'Sat 19:00' }, '2025-04-12 19:00');
      assert.match(badClock.errors.join('\n'), /MaintenanceWindow.Now is '2025-04-12 19:00'/);
      assert.equal(slack.journal.length, 0, 'nothing was posted');
    });
  });

  describe('gate, one run at a time (against the Azure DevOps emulator)', () => {
    const ado = new AzureDevOpsEmulator();
    before(() => ado.start());
    after(() => ado.stop());
    beforeEach(() => ado.reset());

    /** The first gate of a run of pipeline `definitionId` with build id `buildId`, on the job's own token. */
    function firstGate(buildId: number, definitionId: number, accessToken = ado.token): Promise<TaskRun> {
      return window(
        { action: 'gate', notBefore: 'Sat 19:00', scheduledStart: true, planFile: 'auto', oneRunAtATime: true },
        '2025-04-12T23:02:00Z',
        {
          workDirectory: checkout(),
          endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: accessToken } } },
          variables: {
            'System.CollectionUri': ado.collectionUrl,
            'System.TeamProject': ado.project,
            'System.DefinitionId': String(definitionId),
            'Build.BuildId': String(buildId),
          },
        },
      );
    }

    it('closes the gate for this run while an older run of the same pipeline is in progress, naming it, with zero writes', async () => {
      const older = ado.queueRun('monthly-maintenance', { durationMs: 3_600_000 });
      const run = await firstGate(older.id + 1, older.definitionId);
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.open, 'false');
      assert.equal(run.outputs.planFile, undefined, 'a closed gate hands no plan on');
      const warning = run.warnings.join('\n');
      assert.match(
        warning,
        new RegExp(
          `older run of this pipeline is still going: run ${older.buildNumber} \\(id ${older.id}, in progress, ` +
            `\\S+/_build/results\\?buildId=${older.id}\\)`,
        ),
      );
      assert.match(run.summaries.join('\n'), new RegExp(`Gate: this run does not open the window[\\s\\S]*buildId=${older.id}`));
      assert.equal(ado.writes().length, 0, 'nothing was written to Azure DevOps');
      assert.equal(slack.journal.length, 0, 'nothing was posted');
    });

    it('counts a queued older run too, and ignores runs of other pipelines and finished runs', async () => {
      const finished = ado.queueRun('monthly-maintenance', { durationMs: 0 });
      const queued = ado.queueRun('monthly-maintenance', { queued: true });
      ado.queueRun('Nightly export', { durationMs: 3_600_000 });
      const run = await firstGate(queued.id + 5, queued.definitionId);
      assert.equal(run.outputs.open, 'false', run.stdout);
      const warning = run.warnings.join('\n');
      assert.match(warning, new RegExp(`id ${queued.id}, queued`));
      assert.doesNotMatch(warning, new RegExp(`id ${finished.id}\\b`));
    });

    it('opens when only a newer run is in progress: a newer run never stops an older one', async () => {
      const mine = ado.queueRun('monthly-maintenance', { durationMs: 3_600_000 });
      ado.queueRun('monthly-maintenance', { durationMs: 3_600_000 });
      const run = await firstGate(mine.id, mine.definitionId);
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.open, 'true');
      assert.equal(run.outputs.planFile, 'plans/2025-04-13.yml');
      assert.match(run.stdout, /No older run of this pipeline is in progress or queued/);
      assert.match(run.summaries.join('\n'), /No older run of this pipeline is in progress or queued/);
      assert.equal(ado.writes().length, 0);
    });

    it('fails clearly, without opening, when Azure DevOps refuses the question (401, 403) or there is no token', async () => {
      const older = ado.queueRun('monthly-maintenance', { durationMs: 3_600_000 });
      const refused = await firstGate(older.id + 1, older.definitionId, 'not-the-token');
      assert.equal(refused.result, 'Failed');
      assert.equal(refused.outputs.open, undefined, 'no open output at all');
      assert.match(
        refused.errors.join('\n'),
        /cannot tell whether another run of this pipeline is going on \(401 from the job's access token\)[\s\S]*"View builds"/,
      );
      ado.fault({
        kind: 'status',
        status: 403,
        path: /_apis\/build\/builds/i,
        body: { message: 'TF215106: Access denied. Project Collection Build Service needs View builds permissions.' },
      });
      const forbidden = await firstGate(older.id + 1, older.definitionId);
      assert.equal(forbidden.result, 'Failed');
      assert.match(forbidden.errors.join('\n'), /\(403 from the job's access token\)[\s\S]*Build Service account "View builds"/);
      const noToken = await window(
        { action: 'gate', notBefore: 'Sat 19:00', scheduledStart: true, oneRunAtATime: true },
        '2025-04-12T23:02:00Z',
        {
          variables: {
            'System.CollectionUri': ado.collectionUrl,
            'System.TeamProject': ado.project,
            'System.DefinitionId': '1',
            'Build.BuildId': '1001',
          },
        },
      );
      assert.equal(noToken.result, 'Failed');
      assert.match(noToken.errors.join('\n'), /Input 'azureDevOpsConnection': is empty and the job's access token is not available/);
      const noDefinition = await firstGate(1001, 0);
      assert.match(noDefinition.errors.join('\n'), /Input 'oneRunAtATime': needs the predefined variable System.DefinitionId/);
      assert.equal(slack.journal.length, 0, 'nothing was posted');
    });
  });

  describe('start', () => {
    it('checks the plan, announces in dailyops and maintenance, and publishes the window times', async () => {
      const run = await window(
        { action: 'start', notBefore: 'Sun 04:45', planFile: 'plans/2025-04-13.yml', windowEnd: 'Sun 12:00', graceMinutes: 60 },
        '2025-04-13T08:40:00Z',
        { workDirectory: checkout() },
      );
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.windowId, 'mw-77');
      assert.equal(run.outputs.windowEnd, '2025-04-13T16:00:00.000Z');
      assert.equal(run.outputs.windowEndLocal, '2025-04-13 12:00 EDT');
      // Waited 5 minutes to 04:45, so the silences last from 04:45 (plus the step's own seconds) to 13:00.
      assert.ok(['495', '496'].includes(run.outputs.silenceMinutes), run.outputs.silenceMinutes);
      assert.equal(run.outputs.maintenancePage, 'true');
      for (const channel of ['dailyops', 'maintenance']) {
        const posted = slack.postedTo(channel);
        assert.equal(posted.length, 1, channel);
        assert.match(posted[0].text!, /Maintenance starting: 2025-04-13 Monthly/);
      }
      assert.match(JSON.stringify(slack.postedTo('maintenance')[0].blocks), /Until 2025-04-13 12:00 EDT/);
      assert.match(run.summaries.join('\n'), /Starting maintenance: 2025-04-13 Monthly/);
    });

    it("refuses another weekend's plan before announcing anything", async () => {
      const run = await window({ action: 'start', notBefore: 'Sun 04:45', planFile: 'plans/2025-03-23.yml' }, '2025-04-13T08:45:00Z', {
        workDirectory: checkout(),
      });
      assert.equal(run.result, 'Failed');
      assert.match(
        run.errors.join('\n'),
        /Input 'planFile': is the plan of 2025-03-23 .* but this run's window is the weekend of 2025-04-13/,
      );
      assert.equal(slack.messages.length, 0);
    });
  });

  describe('finish', () => {
    function workspace(): { dir: string; stageRecords: RecordStore; postRecords: RecordStore } {
      const dir = checkout();
      // As downloaded: one artifact per job, each with its own maintenance-window folder.
      const stageRecords = new RecordStore(path.join(dir, 'window-StartingMaintenance-start', 'records'));
      const postRecords = new RecordStore(path.join(dir, 'maintenance-window', 'records'));
      return { dir, stageRecords, postRecords };
    }

    it('passes when every record has a receipt (written by another job) or ended by itself, and announces the results', async () => {
      const { dir, stageRecords, postRecords } = workspace();
      const restored = record('pingdom-1');
      stageRecords.write(restored);
      postRecords.writeReceipt(restored, 'Pingdom maintenance window ended', new Date('2025-04-13T09:00:00Z'));
      stageRecords.write(
        record('newrelic-1', { kind: 'newrelic-muting', description: 'Muting rule for the window', expiresAt: '2025-04-13T17:00:00.000Z' }),
      );
      const run = await window(
        {
          action: 'finish',
          planFile: 'plans/2025-04-13.yml',
          recordsFolders: dir,
          stageResults: 'PreMaintenance: Succeeded\nChanges: Failed\nPostMaintenance: Succeeded',
        },
        '2025-04-13T17:30:00Z',
        { workDirectory: dir, variables: { 'Pipeline.Workspace': dir } },
      );
      assert.equal(run.result, 'Succeeded', run.stdout);
      assert.equal(run.outputs.restored, '2');
      assert.equal(run.outputs.leftBehind, '0');
      const summary = fs.readFileSync(run.outputs.summaryFile, 'utf8');
      assert.match(
        summary,
        /Maintenance window 2025-04-13 Monthly: finished with 1 failed stage\(s\); everything silenced or swapped is back/,
      );
      assert.match(summary, /✅ ended by itself/);
      assert.match(summary, /The runbook, line by line/);
      const posted = slack.postedTo('maintenance');
      assert.equal(posted.length, 1);
      assert.match(posted[0].text!, /Maintenance finished with problems: 2025-04-13 Monthly/);
      assert.match(JSON.stringify(posted[0].blocks), /Changes: failed/);
      const night = parseNightReport(fs.readFileSync(run.outputs.reportFile, 'utf8'));
      assert.deepEqual([night.state, night.verdict.everythingBack, night.stages.length, night.silences.length], ['failed', true, 3, 2]);
      assert.equal(night.marks.at(-1)?.at, '2025-04-13T16:00:00.000Z', 'the window ends Sun 12:00 EDT by default');
    });

    it('fails naming everything silenced or swapped that is not back, after announcing and attaching the summary', async () => {
      const { dir, stageRecords } = workspace();
      stageRecords.write(record('pingdom-2', { expiresAt: '2025-04-13T17:00:00.000Z' }));
      stageRecords.write(record('dns-1', { kind: 'cloudflare-dns', description: 'www and my point at icmaintenance.azurewebsites.net' }));
      stageRecords.write(
        record('pool-1', { kind: 'appgateway-pool', description: 'IC-Web6..10 drained from agw-pri-appgateway0-prd/web' }),
      );
      const run = await window({ action: 'finish', windowName: 'April window', recordsFolders: dir }, '2025-04-13T16:30:00Z', {
        workDirectory: dir,
      });
      assert.equal(run.result, 'Failed');
      assert.equal(run.outputs.leftBehind, '3');
      const error = run.errors.join('\n');
      assert.match(error, /3 thing\(s\) the window silenced or swapped are not back/);
      assert.match(error, /www and my point at icmaintenance.azurewebsites.net \[cloudflare-dns/);
      assert.match(error, /IC-Web6..10 drained/);
      assert.match(fs.readFileSync(run.outputs.summaryFile, 'utf8'), /❌ NOT BACK/);
      assert.equal(slack.postedTo('dailyops').length, 1, 'the finish is announced even so');
      // The night's JSON is attached to the run for its results tab, the verdict saying how to restore each.
      const attachment = run.commands.find((command) => command.command === 'task.addattachment');
      assert.deepEqual(attachment?.properties, { type: 'maintenance-window-night', name: 'night.json' });
      assert.equal(attachment?.message, run.outputs.reportFile);
      const night = parseNightReport(fs.readFileSync(run.outputs.reportFile, 'utf8'));
      assert.equal(night.state, 'failed');
      assert.deepEqual(night.verdict.left.map((item) => item.kind).sort(), ['appgateway-pool', 'cloudflare-dns', 'pingdom']);
      assert.match(
        night.verdict.left.find((item) => item.kind === 'cloudflare-dns')!.howToRestore,
        /MaintenancePage@1 with action disable/,
      );
    });

    describe("with the run's timeline (against the Azure DevOps emulator)", () => {
      const ado = new AzureDevOpsEmulator();
      before(() => ado.start());
      after(() => ado.stop());
      beforeEach(() => ado.reset());

      /** A finish of run 77 on the job's own token, with the pipeline's stage results. */
      function finishWithTimeline(): Promise<TaskRun> {
        const { dir } = workspace();
        return window(
          {
            action: 'finish',
            planFile: 'plans/2025-04-13.yml',
            recordsFolders: dir,
            stageResults: 'Pre-Maintenance: Succeeded\nStarting Maintenance: Succeeded',
          },
          '2025-04-13T15:30:00Z',
          {
            workDirectory: dir,
            endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
            variables: { 'System.CollectionUri': ado.collectionUrl, 'System.TeamProject': ado.project, 'Build.BuildId': '77' },
          },
        );
      }

      it("puts the stages' times, jobs, steps and approvals in the night, with the pipeline's results", async () => {
        const times = (start: string, finish?: string) => ({ startTime: start, finishTime: finish ?? null });
        ado.setTimeline(77, [
          {
            id: 's1',
            parentId: null,
            type: 'Stage',
            identifier: 'PreMaintenance',
            name: 'Pre-Maintenance',
            order: 1,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-12T23:00:05Z', '2025-04-12T23:12:00Z'),
          },
          {
            id: 'p1',
            parentId: 's1',
            type: 'Phase',
            name: 'hold',
            order: 1,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-12T23:00:05Z', '2025-04-12T23:12:00Z'),
          },
          {
            id: 'j1',
            parentId: 'p1',
            type: 'Job',
            name: 'Hold scheduled jobs',
            identifier: 'PreMaintenance.hold.__default',
            order: 1,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-12T23:00:10Z', '2025-04-12T23:12:00Z'),
          },
          {
            id: 't1',
            parentId: 'j1',
            type: 'Task',
            name: 'Hold the scheduled pipelines',
            order: 1,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-12T23:01:00Z', '2025-04-12T23:11:00Z'),
          },
          {
            id: 's2',
            parentId: null,
            type: 'Stage',
            identifier: 'StartingMaintenance',
            name: 'Starting Maintenance',
            order: 2,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-13T08:45:00Z', '2025-04-13T09:00:00Z'),
          },
          {
            id: 'c2',
            parentId: 's2',
            type: 'Checkpoint',
            name: 'Checkpoint',
            order: 1,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-13T08:45:00Z', '2025-04-13T08:52:00Z'),
          },
          {
            id: 'a2',
            parentId: 'c2',
            type: 'Checkpoint.Approval',
            name: 'Approval',
            order: 1,
            state: 'completed',
            result: 'succeeded',
            ...times('2025-04-13T08:45:00Z', '2025-04-13T08:52:00Z'),
          },
          {
            id: 's3',
            parentId: null,
            type: 'Stage',
            identifier: 'PostMaintenance',
            name: 'Post-Maintenance',
            order: 3,
            state: 'inProgress',
            result: null,
            ...times('2025-04-13T15:29:00Z'),
          },
        ]);
        const run = await finishWithTimeline();
        assert.equal(run.result, 'Succeeded', run.stdout);
        assert.deepEqual(
          run.warnings.filter((line) => /timeline/i.test(line)),
          [],
        );
        const night = parseNightReport(fs.readFileSync(run.outputs.reportFile, 'utf8'));
        assert.deepEqual(
          night.stages.map((stage) => [stage.name, stage.result, stage.startedAt, stage.finishedAt]),
          [
            ['Pre-Maintenance', 'Succeeded', '2025-04-12T23:00:05.000Z', '2025-04-12T23:12:00.000Z'],
            ['Starting Maintenance', 'Succeeded', '2025-04-13T08:45:00.000Z', '2025-04-13T09:00:00.000Z'],
            ['PostMaintenance', 'InProgress', '2025-04-13T15:29:00.000Z', undefined],
          ],
        );
        assert.deepEqual(
          night.stages[0].jobs?.map((job) => [job.name, job.steps?.map((step) => step.name)]),
          [['Hold scheduled jobs', ['Hold the scheduled pipelines']]],
        );
        assert.deepEqual(night.approvals, [{ stage: 'StartingMaintenance', at: '2025-04-13T08:52:00.000Z' }]);
        assert.equal(night.state, 'succeeded', "the finish's own stage, still running, does not make the night 'running'");
        assert.equal(ado.journal.filter((entry) => /\/_apis\/build\/builds\/77\/timeline$/i.test(entry.path)).length, 1);
        assert.equal(ado.writes().length, 0, 'the finish only reads Azure DevOps');
      });

      for (const fault of [
        { name: 'an HTML page at 200', rule: { kind: 'html' as const } },
        { name: 'a 500 on every attempt', rule: { kind: 'status' as const, status: 500 } },
      ]) {
        it(`still finishes and announces when the timeline route answers ${fault.name}, warning what the page lacks`, async () => {
          ado.fault({ ...fault.rule, path: /\/timeline/, times: 10 });
          const started = Date.now();
          const run = await finishWithTimeline();
          assert.equal(run.result, 'Succeeded', run.stdout);
          assert.match(run.warnings.join('\n'), /Could not read this run's timeline .*the page will show results without times/);
          assert.ok(Date.now() - started < 20_000, 'a few quick retries at most');
          const night = parseNightReport(fs.readFileSync(run.outputs.reportFile, 'utf8'));
          assert.deepEqual(
            night.stages.map((stage) => [stage.name, stage.result, stage.startedAt]),
            [
              ['Pre-Maintenance', 'Succeeded', undefined],
              ['Starting Maintenance', 'Succeeded', undefined],
            ],
          );
          assert.equal(slack.postedTo('maintenance').length, 1, 'the finish is announced');
        });
      }

      describe('and who approved (Approvals - Query)', () => {
        const START = 'a7c1e3f0-1111-4a2b-9c3d-000000000001';
        const CHANGES = 'a7c1e3f0-1111-4a2b-9c3d-000000000002';
        /** Two stages, each with its checkpoint and one approval whose record id is the approval's id. */
        function twoApprovals(): void {
          const done = { state: 'completed' as const, result: 'succeeded' as const };
          const stage = (id: string, identifier: string, name: string, order: number, approvalId: string, at: string) => [
            { id, parentId: null, type: 'Stage' as const, identifier, name, order, ...done, startTime: at, finishTime: at },
            {
              id: `${id}-c`,
              parentId: id,
              type: 'Checkpoint' as const,
              name: 'Checkpoint',
              order: 1,
              ...done,
              startTime: at,
              finishTime: at,
            },
            {
              id: approvalId,
              parentId: `${id}-c`,
              type: 'Checkpoint.Approval' as const,
              name: 'Approval',
              order: 1,
              ...done,
              startTime: at,
              finishTime: at,
            },
          ];
          ado.setTimeline(77, [
            ...stage('s2', 'StartingMaintenance', 'Starting Maintenance', 1, START, '2025-04-13T08:52:00Z'),
            ...stage('s4', 'Changes', 'Changes', 2, CHANGES, '2025-04-13T09:30:00Z'),
          ]);
        }

        it("names who gave each approval of this run, and no one for an answer that is another run's", async () => {
          twoApprovals();
          ado.setApprovals(77, [
            {
              id: START,
              runId: 77,
              status: 'approved',
              assignedApprover: 'Release Managers',
              approver: 'Ada Lovelace',
              createdOn: '2025-04-13T08:45:00Z',
              decidedOn: '2025-04-13T08:51:58Z',
            },
          ]);
          // The same id answered for another run: the id guess would be wrong, so no name.
          ado.setApprovals(78, [
            {
              id: CHANGES,
              runId: 78,
              status: 'approved',
              approver: 'Mallory',
              createdOn: '2025-04-13T09:00:00Z',
              decidedOn: '2025-04-13T09:29:00Z',
            },
          ]);
          const run = await finishWithTimeline();
          assert.equal(run.result, 'Succeeded', run.stdout);
          assert.deepEqual(
            run.warnings.filter((line) => /approv|timeline/i.test(line)),
            [],
          );
          assert.match(
            run.stdout,
            /Who approved: StartingMaintenance by Ada Lovelace \(1 of 2 approval\(s\) named\)\. 1 answer\(s\) were for another run/,
          );
          const night = parseNightReport(fs.readFileSync(run.outputs.reportFile, 'utf8'));
          assert.deepEqual(night.approvals, [
            { stage: 'StartingMaintenance', at: '2025-04-13T08:52:00.000Z', by: 'Ada Lovelace' },
            { stage: 'Changes', at: '2025-04-13T09:30:00.000Z' },
          ]);
          const asked = ado.journal.filter((entry) => /\/_apis\/pipelines\/approvals$/i.test(entry.path));
          assert.equal(asked.length, 1, 'one question for every approval');
          assert.equal(ado.writes().length, 0, 'the finish only reads Azure DevOps');
        });

        for (const fault of [
          { name: 'a 403 (a job token without the right)', rule: { kind: 'status' as const, status: 403 }, hint: /needs "View builds"/ },
          { name: 'an HTML page at 200', rule: { kind: 'html' as const }, hint: /text\/html/ },
          { name: 'a 500 on every attempt', rule: { kind: 'status' as const, status: 500 }, hint: /500/ },
        ]) {
          it(`still finishes with stages and times and one warning when the approvals route answers ${fault.name}`, async () => {
            twoApprovals();
            ado.setApprovals(77, [
              {
                id: START,
                runId: 77,
                status: 'approved',
                approver: 'Ada Lovelace',
                createdOn: '2025-04-13T08:45:00Z',
                decidedOn: '2025-04-13T08:52:00Z',
              },
            ]);
            ado.fault({ ...fault.rule, path: /\/pipelines\/approvals/, times: 10 });
            const started = Date.now();
            const run = await finishWithTimeline();
            assert.equal(run.result, 'Succeeded', run.stdout);
            assert.ok(Date.now() - started < 20_000, 'a few quick retries at most');
            const warnings = run.warnings.filter((line) => /approv|timeline/i.test(line));
            assert.equal(warnings.length, 1, warnings.join('\n'));
            assert.match(warnings[0], /Could not read who gave this run's approvals .*the approver "not recorded"\. The finish goes on/);
            assert.match(warnings[0], fault.hint);
            const night = parseNightReport(fs.readFileSync(run.outputs.reportFile, 'utf8'));
            assert.deepEqual(night.approvals, [
              { stage: 'StartingMaintenance', at: '2025-04-13T08:52:00.000Z' },
              { stage: 'Changes', at: '2025-04-13T09:30:00.000Z' },
            ]);
            assert.equal(slack.postedTo('maintenance').length, 1, 'the finish is announced');
          });
        }
      });
    });
  });
});
