import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNightReport } from '../../shared/report';
import { repoRoot } from '../helpers/task-runner';
import { expandPipeline, readYaml, type ExpandedPipeline } from './pipeline-expander';
import { DEFAULT_PIPELINE, runRehearsal, scheduledStart, type RehearseOptions, type RehearseOutcome } from './rehearse';

/** Every `task:` reference written in the pipeline and the templates it uses, read from the files themselves. */
function taskReferencesInFiles(files: string[]): Set<string> {
  const references = new Set<string>();
  for (const file of files) {
    for (const match of fs.readFileSync(file, 'utf8').matchAll(/^\s*-?\s*task:\s*([A-Za-z0-9_.-]+@\d+)\s*$/gm)) references.add(match[1]);
  }
  return references;
}

function expandedSteps(pipeline: ExpandedPipeline) {
  return pipeline.stages.flatMap((stage) =>
    stage.jobs.flatMap((job) =>
      job.steps.filter((step) => step.kind !== 'checkout').map((step) => ({ stage: stage.name, job: job.name, step })),
    ),
  );
}

async function rehearse(options: RehearseOptions): Promise<RehearseOutcome & { printed: string[] }> {
  const printed: string[] = [];
  // A folder of its own: other runs of the suite (or of npm run rehearse) may share this working tree.
  const outDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-rehearsal-'));
  const outcome = await runRehearsal({ outDirectory, print: (line) => printed.push(line), ...options });
  return { ...outcome, printed };
}

describe('the rehearsal (npm run rehearse): the whole window against the emulators', function () {
  // A whole night takes 10-20 s alone, and several times that on a machine shared with other test runs.
  this.timeout(180_000);

  describe('plans/2025-04-13.yml, nothing injected', () => {
    let outcome: RehearseOutcome & { printed: string[] };
    before(async () => {
      outcome = await rehearse({ plan: 'plans/2025-04-13.yml' });
    });

    it('runs the night cleanly, and leaves every emulated service as it found it', () => {
      assert.equal(outcome.ok, true, outcome.printed.join('\n'));
      assert.equal(outcome.result.result, 'Succeeded');
      assert.deepEqual(outcome.world.leftovers(), []);
      assert.ok(
        outcome.result.stages.every((stage) => stage.result === 'Succeeded'),
        JSON.stringify(outcome.result.stages),
      );
    });

    it("runs exactly the pipeline's steps, in its order, with its inputs: they cannot drift", () => {
      const expected = expandedSteps(outcome.pipeline);
      const ran = outcome.result.timeline.filter((entry) => entry.what !== 'approval' && entry.what !== 'job');
      assert.deepEqual(
        ran.map((entry) => `${entry.stage}.${entry.job}: ${entry.step}`),
        expected.map(({ stage, job, step }) => `${stage}.${job}: ${step.displayName}`),
      );
      ran.forEach((entry, index) => {
        const { step } = expected[index];
        if (step.kind !== 'task') return;
        assert.equal(entry.what, `${step.task}@${step.taskVersion}`);
        if (entry.result === 'Skipped') return;
        if (['PublishPipelineArtifact', 'DownloadPipelineArtifact', 'Delay', 'ManualValidation'].includes(step.task!)) return;
        assert.deepEqual(
          Object.keys(entry.inputs ?? {}).sort(),
          Object.keys(step.inputs).sort(),
          `${entry.step}: the inputs the YAML gives`,
        );
        for (const [name, value] of Object.entries(step.inputs)) {
          if (!value.includes('$(')) assert.equal(entry.inputs![name], value, `${entry.step}: input ${name}`);
          else
            assert.ok(
              !entry.inputs![name].match(/\$\((?!Pipeline|Build|System|Agent)[^)]*\)/) || entry.inputs![name] === value,
              `${entry.step}: ${name} = ${entry.inputs![name]}`,
            );
        }
      });
      // The expansion itself holds every task the files name, and nothing else.
      const fromFiles = taskReferencesInFiles(outcome.pipeline.files);
      const expanded = new Set(expected.filter(({ step }) => step.kind === 'task').map(({ step }) => `${step.task}@${step.taskVersion}`));
      assert.deepEqual([...expanded].sort(), [...fromFiles].sort());
      const raw = readYaml(path.join(repoRoot, DEFAULT_PIPELINE)) as { stages: Array<Record<string, unknown>> };
      assert.equal(outcome.pipeline.stages.length, raw.stages.length, 'one stage per stage entry or stage template of the file');
    });

    it('grants and prints the approvals, runs the gates on the simulated clock, and warns that it is simulated', () => {
      assert.deepEqual(
        outcome.result.approvals.map((approval) => `${approval.stage}: ${approval.environment}`),
        ['StartingMaintenance: maintenance-release-manager', 'Changes: maintenance-platform-approver'],
      );
      const manual = outcome.result.timeline.find((entry) => entry.what === 'ManualValidation@1')!;
      assert.match(manual.did, /manual validation approved \(rehearsal\): "Manual changes of the plan \(server-patching,apm-agent-web/);
      const approved =
        /Approval on environment .*approved \(rehearsal: granted automatically; in Azure DevOps an approver of 'maintenance-release-manager'/;
      assert.ok(outcome.printed.some((line) => approved.test(line)));
      const start = outcome.result.timeline.find((entry) => entry.stage === 'StartingMaintenance' && entry.what === 'MaintenanceWindow@1')!;
      assert.match(start.outputs.openedAt, /^2025-04-13T08:45:/, 'Starting Maintenance opened at 04:45 EDT on the simulated clock');
      assert.ok(start.warnings.some((warning) => /SIMULATED CLOCK/.test(warning)));
    });

    it(
      "times every silence on the simulated clock: each ends after it was set and no later than the rehearsed window's end " +
        'plus the grace',
      () => {
        const start = outcome.result.timeline.find(
          (entry) => entry.stage === 'StartingMaintenance' && entry.what === 'MaintenanceWindow@1',
        )!;
        const windowEnd = new Date(start.outputs.windowEnd);
        assert.match(start.outputs.windowEnd, /^2025-04-13T/, 'the rehearsed window ends on Sunday 2025-04-13');
        const grace = Number(outcome.pipeline.parameters.graceMinutes);
        assert.ok(Number.isInteger(grace) && grace >= 0, `graceMinutes parameter ${String(outcome.pipeline.parameters.graceMinutes)}`);
        const latest = windowEnd.getTime() + grace * 60_000;
        const silences = outcome.result.timeline.filter(
          (entry) => /^(PingdomPause|AlertMute)@1$/.test(entry.what) && entry.outputs.undoRecord,
        );
        assert.ok(silences.length >= 3, `silences set: ${silences.map((entry) => `${entry.stage}.${entry.step}`).join(', ')}`);
        for (const entry of silences) {
          const record = JSON.parse(entry.outputs.undoRecord) as { createdAt: string; expiresAt: string; data: { endsAt: string } };
          const label = `${entry.stage}.${entry.job}: ${entry.step}`;
          const endsAt = new Date(record.data.endsAt);
          assert.equal(record.expiresAt, record.data.endsAt, `${label}: the record expires when the silence ends`);
          assert.ok(
            new Date(record.createdAt).getTime() >= entry.at.getTime() - 1000,
            `${label}: record made at ${record.createdAt}, the step started at ${entry.at.toISOString()} (simulated)`,
          );
          assert.ok(
            endsAt.getTime() > entry.at.getTime(),
            `${label}: ends at ${record.data.endsAt}, before the step ran at ${entry.at.toISOString()}`,
          );
          assert.ok(
            endsAt.getTime() <= latest,
            `${label}: ends at ${record.data.endsAt}, after the window's end ${start.outputs.windowEnd} + ${grace} min`,
          );
          assert.ok(
            entry.warnings.some((warning) => /SIMULATED CLOCK/.test(warning)),
            `${label}: warns that its clock is simulated`,
          );
          assert.match(
            entry.summaries.join('\n'),
            /until 2025-04-1[23] /,
            `${label}: the summary names an end time in the rehearsed night`,
          );
        }
      },
    );

    it('announces start and finish in dailyops and maintenance, and never prints a token', () => {
      const { slack } = outcome.world;
      for (const channel of ['dailyops', 'maintenance']) {
        const texts = slack.postedTo(channel).map((message) => message.text ?? '');
        assert.ok(
          texts.some((text) => /^Maintenance starting: 2025-04-13 Monthly/.test(text)),
          channel,
        );
        assert.ok(
          texts.some((text) => /^Maintenance finished: 2025-04-13 Monthly/.test(text)),
          channel,
        );
      }
      for (const entry of outcome.result.timeline) {
        for (const secret of outcome.world.secrets) assert.ok(!entry.run?.visibleOutput.includes(secret), `${entry.step} printed a token`);
      }
    });

    it('starts the regression pipeline once and waits for it, and the finish summary reports it', () => {
      const regression = outcome.result.timeline.find((entry) => entry.stage === 'Regression' && entry.what === 'RunPipeline@1')!;
      assert.equal(regression.result, 'Succeeded', regression.did);
      const runs = outcome.world.devops.runsOf('Full Regression');
      assert.equal(runs.length, 1, 'one regression run');
      assert.equal(regression.outputs.runId, String(runs[0].id));
      assert.equal(regression.outputs.result, 'succeeded');
      assert.deepEqual(
        [...runs[0].tags].filter((tag) => tag.startsWith('run:')),
        [`run:pipeline-${outcome.world.devops.pipeline('Full Regression')!.id}`],
      );
      const summary = fs.readFileSync(outcome.summaryFile, 'utf8');
      assert.match(summary, /Regression \| ✅ Succeeded/);
      assert.match(summary, /Full Regression: ✅ succeeded/, "the step's own summary is in the whole-window summary");
      assert.match(summary, /Run the full regression tests \| Regression \| RunPipelineV1: starts the regression pipeline/);
    });

    it('writes the timeline and the whole-window summary to out/', () => {
      const summary = fs.readFileSync(outcome.summaryFile, 'utf8');
      assert.match(summary, /## Timeline/);
      assert.match(summary, /Maintenance window 2025-04-13 Monthly: finished; everything silenced or swapped is back/);
      assert.match(summary, /The runbook, line by line/);
      assert.match(summary, /✅ restored/);
      const timeline = JSON.parse(fs.readFileSync(outcome.timelineFile, 'utf8')) as unknown[];
      assert.equal(timeline.length, outcome.result.timeline.length);
      // The page of the night beside the summary, its path printed, every stage on it (browser tests: test/browser/).
      const page = fs.readFileSync(path.join(path.dirname(outcome.summaryFile), 'report.html'), 'utf8');
      assert.ok(outcome.printed.some((line) => /Page of the night: .*report\.html$/.test(line)));
      for (const stage of outcome.result.stages)
        assert.ok(page.includes(`aria-label="Stage ${stage.displayName}: ${stage.result}`), stage.name);
    });

    it("the finish step reads the run's timeline from the emulated Azure DevOps: stage times, jobs and approvals in its night.json", () => {
      const finish = outcome.result.timeline.find((entry) => entry.what.startsWith('MaintenanceWindow@') && entry.outputs.reportFile);
      assert.ok(finish, 'the finish step wrote the night');
      assert.deepEqual(
        finish.warnings.filter((line) => /timeline|approv/i.test(line)),
        [],
      );
      const night = parseNightReport(fs.readFileSync(finish.outputs.reportFile, 'utf8'));
      const ended = outcome.result.stages.filter((stage) => stage.name !== 'PostMaintenance');
      for (const stage of ended) {
        const found = night.stages.find((own) => (own.displayName ?? own.name) === stage.displayName);
        assert.ok(found?.startedAt && found.finishedAt && found.jobs?.length, `${stage.name}: ${JSON.stringify(found)}`);
        assert.equal(found.result, stage.result, stage.name);
      }
      assert.equal(night.stages.find((stage) => stage.name === 'PostMaintenance')?.result, 'InProgress', "the finish's own stage");
      assert.equal(night.state, 'succeeded', "the finish's own stage, still running, does not make the night 'running'");
      assert.deepEqual(
        night.approvals.map((approval) => approval.stage),
        outcome.result.approvals.map((approval) => approval.stage),
      );
      // Who approved, as the emulated Approvals - Query answered the finish for this run's approval ids.
      assert.deepEqual(
        night.approvals.map((approval) => [approval.stage, approval.by]),
        [
          ['StartingMaintenance', 'Release Manager (rehearsal)'],
          ['Changes', 'Platform Approver (rehearsal)'],
        ],
      );
    });
  });

  it('with a failure injected in the Changes stage, Post-Maintenance still restores everything and the failure is reported', async () => {
    const outcome = await rehearse({ plan: 'plans/2025-04-13.yml', failChanges: ['kong-infra-pipeline'] });
    assert.equal(outcome.ok, true, outcome.printed.join('\n'));
    assert.equal(outcome.result.result, 'Failed');
    const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
    assert.equal(stages.Changes, 'Failed');
    assert.equal(stages.Verify, 'Skipped');
    assert.equal(stages.PostMaintenance, 'Succeeded');
    assert.deepEqual(outcome.world.leftovers(), [], 'DNS, Pingdom and the held pipelines are all as before the window');
    assert.match(outcome.verdict, /everything it silenced or swapped is back; the finish step reported everything back/);
    assert.match(
      outcome.verdict,
      /Failures reported: Changes.changes_2 › Run the plan's changes: 1 change\(s\) did not succeed: kong-infra-pipeline/,
    );
    const summary = fs.readFileSync(outcome.summaryFile, 'utf8');
    assert.match(summary, /Changes \| ❌ Failed/);
    assert.match(summary, /finished with 1 failed stage\(s\); everything silenced or swapped is back/);
    const finished = outcome.world.slack.postedTo('maintenance').map((message) => message.text ?? '');
    assert.ok(
      finished.some((text) => /^Maintenance finished with problems: 2025-04-13 Monthly/.test(text)),
      finished.join('\n'),
    );
  });

  it(
    'with the regression run failing, the Regression stage fails naming the run, and the finish reports it with ' + 'everything restored',
    async () => {
      const outcome = await rehearse({ plan: 'plans/2025-04-13.yml', failPipelines: ['Full Regression'] });
      assert.equal(outcome.ok, true, outcome.printed.join('\n'));
      const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
      assert.equal(stages.Verify, 'Succeeded');
      assert.equal(stages.Regression, 'Failed');
      assert.equal(stages.PostMaintenance, 'Succeeded');
      assert.deepEqual(outcome.world.leftovers(), []);
      const [run] = outcome.world.devops.runsOf('Full Regression');
      assert.match(
        outcome.verdict,
        new RegExp(
          `Failures reported: Regression\\.regression › Run Full Regression and wait: Full Regression run ` +
            `${run.buildNumber.replace('.', '\\.')} \\(id ${run.id}\\) failed: http`,
        ),
      );
      const summary = fs.readFileSync(outcome.summaryFile, 'utf8');
      assert.match(summary, /Regression \| ❌ Failed/);
      assert.match(summary, /Full Regression: ❌ failed/);
      assert.match(summary, /finished with 1 failed stage\(s\); everything silenced or swapped is back/);
    },
  );

  it(
    'with patching failing in the first web batch, the batch goes back in the pool; with the jobs release left out, the finish step ' +
      'fails naming it',
    async () => {
      const outcome = await rehearse({
        plan: 'plans/2025-04-13.yml',
        failSteps: ['WebBatch_1.batch.patch'],
        skipSteps: ['PostMaintenance.post.releaseJobs'],
      });
      assert.equal(outcome.ok, true, outcome.printed.join('\n'));
      const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
      assert.equal(stages.WebBatch_1, 'Failed');
      assert.equal(stages.StartingMaintenance, 'Skipped');
      const restore = outcome.result.timeline.find(
        (entry) => entry.stage === 'WebBatch_1' && entry.what === 'AppGatewayDrain@1' && /back/.test(entry.step),
      )!;
      assert.equal(restore.result, 'Succeeded', 'the restore runs after the failed patch');
      const left = outcome.world.leftovers();
      assert.deepEqual(
        left.filter((line) => !/Scheduled pipelines/.test(line)),
        [],
        'the web servers, alerts and monitors are all back',
      );
      assert.match(left.join('\n'), /Scheduled pipelines not back to their queue status: .*Product Integrations.*paused/);
      const finish = outcome.result.timeline.find((entry) => entry.stage === 'PostMaintenance' && entry.what === 'MaintenanceWindow@1')!;
      assert.equal(finish.result, 'Failed');
      assert.match(finish.errors.join('\n'), /not back: .*devops-queue-status/);
      assert.match(fs.readFileSync(outcome.summaryFile, 'utf8'), /Web batch 1 \| ❌ Failed/);
    },
  );

  it('rehearses plans/2025-03-23.yml, whose window has no maintenance page: no Pingdom maintenance, no DNS swap', async () => {
    const outcome = await rehearse({ plan: 'plans/2025-03-23.yml' });
    assert.equal(outcome.ok, true, outcome.printed.join('\n'));
    const skipped = outcome.result.timeline
      .filter((entry) => entry.stage === 'StartingMaintenance' && entry.result === 'Skipped')
      .map((entry) => entry.what);
    assert.deepEqual(skipped.sort(), ['MaintenancePage@1', 'PingdomPause@1']);
    assert.equal(outcome.world.cloudflare.writes().length, 0);
    // Daylight saving began on 2025-03-09: the window starts from the 23:00 UTC schedule.
    assert.ok(
      outcome.printed.some((line) => /cron '0 23 \* \* 6'/.test(line)),
      outcome.printed.slice(0, 4).join('\n'),
    );
  });

  /** The 2025-03-23 plan moved to a weekend of standard time (EST), written under out/. */
  function winterPlan(): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-plan-')), '2025-11-09.yml');
    const text = fs
      .readFileSync(path.join(repoRoot, 'plans', '2025-03-23.yml'), 'utf8')
      .replace(/^ {2}date: 2025-03-23$/m, '  date: 2025-11-09')
      .replace(/^ {2}name: .*$/m, '  name: 2025-11-09 Monthly');
    fs.writeFileSync(file, text);
    return file;
  }

  it('starts a winter window (EST) from the 00:00 UTC schedule and a summer one from the 23:00 UTC one', () => {
    const pipeline = expandPipeline(path.join(repoRoot, DEFAULT_PIPELINE));
    const winter = scheduledStart(pipeline, { date: '2025-11-09', timeZone: 'America/New_York', name: 'winter' });
    assert.equal(winter.cron, '0 0 * * 0');
    assert.equal(winter.at.toISOString(), '2025-11-09T00:00:00.000Z');
    const summer = scheduledStart(pipeline, { date: '2025-04-13', timeZone: 'America/New_York', name: 'summer' });
    assert.equal(summer.cron, '0 23 * * 6');
    assert.equal(summer.at.toISOString(), '2025-04-12T23:00:00.000Z');
    assert.equal(scheduledStart(pipeline, { date: '2025-04-13', timeZone: 'America/New_York', name: 'summer' }, true).cron, '0 0 * * 0');
  });

  it('the run of the other UTC schedule closes at the gate and changes nothing', async () => {
    const outcome = await rehearse({ plan: 'plans/2025-04-13.yml', otherSlot: true });
    assert.equal(outcome.ok, true, outcome.printed.join('\n'));
    assert.match(
      outcome.verdict,
      /closed at the gate and changed nothing: Window closed for this run: This run was started by the schedule '[^']*UTC-5[^']*' \(UTC-5\), the late one of the two UTC schedules/,
    );
    assert.ok(
      outcome.printed.some((line) => /Simulated clock starts Sat 2025-04-12 20:01 EDT: the scheduled run of cron '0 0 \* \* 0'/.test(line)),
    );
    assert.deepEqual(outcome.world.slack.messages, []);
    assert.equal(outcome.world.devops.writes().length, 0);
  });

  it("refuses a pipeline whose schedules miss the slot of the plan's season", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-pipeline-')), 'monthly-maintenance.yml');
    const text = fs
      .readFileSync(path.join(repoRoot, DEFAULT_PIPELINE), 'utf8')
      .replace("  - cron: '0 0 * * 0'", "  - cron: '0 1 * * 0'")
      .replace(/template: templates\//g, `template: ${path.join(repoRoot, 'pipelines', 'templates')}/`);
    fs.writeFileSync(file, text);
    assert.equal(expandPipeline(file).schedules.length, 2);
    return assert.rejects(rehearse({ plan: winterPlan(), pipeline: file }), /schedules has no cron '0 0 \* \* 0'/);
  });
});
