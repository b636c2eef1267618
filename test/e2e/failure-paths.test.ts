import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runRehearsal, windowResultLine, type RehearseOptions, type RehearseOutcome } from './rehearse';

/**
 * The platform's failure paths, rehearsed against the emulators: a cancel, a job timeout, a rejected approval,
 * an agent that dies (and the break-glass recovery after it). Each picks a point early in the night so the
 * rehearsal stays short. Every one must end with the one closing line, and result.json must say the same,
 * counted from the emulators, and every path that the pipeline can bring back ends `left: none`. The whole
 * matrix of the issue (a cancel at every stage, both approvals, every kill with and without --recover) is
 * `npm run rehearse:failures`, too long for the suite.
 */

async function rehearse(options: RehearseOptions): Promise<RehearseOutcome & { printed: string[]; outDirectory: string }> {
  const printed: string[] = [];
  const outDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-failure-path-'));
  const outcome = await runRehearsal({ plan: 'plans/2025-04-13.yml', outDirectory, print: (line) => printed.push(line), ...options });
  return { ...outcome, printed, outDirectory };
}

/** The closing line is the last printed, result.json says the same, and the accounting agrees with the emulators. */
function assertClosing(outcome: RehearseOutcome & { printed: string[]; outDirectory: string }, result: string): void {
  const last = outcome.printed[outcome.printed.length - 1];
  assert.equal(outcome.printed.filter((line) => line.startsWith('Window result:')).length, 1, 'exactly one closing line');
  assert.equal(last, windowResultLine(outcome.window));
  assert.match(last, new RegExp(`^Window result: ${result}; back: \\d+/\\d+; left: (none|.+)$`));
  const written = JSON.parse(fs.readFileSync(path.join(outcome.outDirectory, 'result.json'), 'utf8')) as unknown;
  assert.deepEqual(written, { result, back: outcome.window.back, total: outcome.window.total, left: outcome.window.left });
  const account = outcome.world.account();
  assert.deepEqual(outcome.window.left, account.left);
  assert.equal(outcome.window.back + outcome.window.left.length, outcome.window.total);
  assert.equal(account.left.length === 0, outcome.world.leftovers().length === 0, 'leftovers() and the account agree');
}

describe("the rehearsal plays the platform's failure paths", function () {
  this.timeout(120_000);

  it(
    '--cancel-at a running drain: the drain gets SIGINT, succeeded() steps are skipped, always() ones run, ' + 'the run is Canceled',
    async () => {
      const outcome = await rehearse({ cancelAt: 'WebBatch_1.batch.drain' });
      assert.equal(outcome.result.result, 'Canceled');
      assert.equal(outcome.result.canceledAt, 'step WebBatch_1.batch.drain');
      const batch = outcome.result.timeline.filter((entry) => entry.stage === 'WebBatch_1');
      const drain = batch.find((entry) => entry.what === 'AppGatewayDrain@1' && /Drain/.test(entry.step))!;
      assert.equal(drain.result, 'Canceled', drain.did);
      assert.equal(drain.interrupted, 'cancel');
      assert.equal(drain.signals?.[0], 'SIGINT');
      const patch = batch.find((entry) => entry.what === 'PatchVms@1')!;
      assert.match(patch.did, /skipped: condition succeeded\(\) is false \(the run is cancelled\)/);
      const unmute = batch.filter((entry) => entry.what === 'AlertMute@1').pop()!;
      assert.equal(unmute.result, 'Succeeded', 'the batch alerts are unmuted: always()');
      const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
      assert.equal(stages.WebBatch_1, 'Canceled');
      assert.equal(stages.WebBatch_2, 'Skipped');
      assert.ok(
        !outcome.window.left.some((item) => /muting rule maintenance-20250412-web-batch-1/.test(item)),
        outcome.window.left.join(', '),
      );
      assertClosing(outcome, 'Canceled');
      // Post-Maintenance's job runs after a cancel (always() at job level), so the held jobs are released too.
      assert.deepEqual(outcome.window.left, []);
    },
  );

  it('--cancel-at a stage: the stage and the later succeeded() ones never start, the run is Canceled', async () => {
    const outcome = await rehearse({ cancelAt: 'WebBatch_1' });
    assert.equal(outcome.result.result, 'Canceled');
    const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
    assert.equal(stages.PreMaintenance, 'Succeeded');
    assert.equal(stages.WebBatch_1, 'Skipped');
    assert.equal(stages.StartingMaintenance, 'Skipped');
    assert.ok(
      outcome.printed.some((line) =>
        /Web servers batch 1 {2}\[WebBatch_1\] {2}skipped: condition .* is false \(the run is cancelled\)/.test(line),
      ),
    );
    assertClosing(outcome, 'Canceled');
    assert.equal(stages.PostMaintenance, 'Succeeded', 'Post-Maintenance runs after a cancel');
    assert.deepEqual(outcome.window.left, [], 'the held jobs are released after a cancel');
  });

  it(
    'a job timeout (Microsoft-hosted cap) while patching: the step is cancelled, ' +
      'the restore runs within the cancel timeout, everything is back',
    async () => {
      const outcome = await rehearse({ hostedCapMinutes: 60, slowSteps: [{ step: 'WebBatch_1.batch.patch', minutes: 90 }] });
      const batch = outcome.result.timeline.filter((entry) => entry.stage === 'WebBatch_1');
      const patch = batch.find((entry) => entry.what === 'PatchVms@1')!;
      assert.equal(patch.interrupted, 'timeout');
      assert.equal(patch.result, 'Canceled');
      const restore = batch.find((entry) => entry.what === 'AppGatewayDrain@1' && /back/.test(entry.step))!;
      assert.equal(restore.result, 'Succeeded', restore.did);
      const job = batch.find((entry) => entry.what === 'job')!;
      assert.match(job.did, /timed out: The job ran longer than the maximum time of 60 minutes \(Microsoft-hosted cap, --hosted-cap 60\)/);
      const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
      assert.equal(stages.WebBatch_1, 'Canceled');
      assert.equal(stages.PostMaintenance, 'Succeeded');
      assert.deepEqual(outcome.world.leftovers(), []);
      assert.equal(outcome.ok, true, outcome.printed.join('\n'));
      assertClosing(outcome, 'Canceled');
      assert.match(outcome.printed[outcome.printed.length - 1], /left: none$/);
    },
  );

  it(
    '--reject-approval maintenance-release-manager: Starting Maintenance fails before its jobs, Post-Maintenance brings ' +
      'everything back',
    async () => {
      const outcome = await rehearse({ rejectApprovals: ['maintenance-release-manager'] });
      const stages = Object.fromEntries(outcome.result.stages.map((stage) => [stage.name, stage.result]));
      assert.equal(stages.StartingMaintenance, 'Failed');
      assert.equal(stages.Changes, 'Skipped');
      assert.equal(stages.PostMaintenance, 'Succeeded');
      const approval = outcome.result.timeline.find((entry) => entry.what === 'approval' && entry.stage === 'StartingMaintenance')!;
      assert.match(approval.did, /REJECTED by an approver of 'maintenance-release-manager'/);
      assert.ok(
        !outcome.result.timeline.some((entry) => entry.stage === 'StartingMaintenance' && entry.what === 'MaintenanceWindow@1'),
        'no job of the stage ran',
      );
      assertClosing(outcome, 'Failed');
      assert.match(outcome.printed[outcome.printed.length - 1], /left: none$/);
    },
  );

  it('--kill-at the patch step: the agent dies, nothing later runs or publishes, and the end names what is left', async () => {
    const outcome = await rehearse({ killAt: 'WebBatch_1.batch.patch' });
    assert.equal(outcome.result.result, 'Failed');
    const last = outcome.result.timeline.filter((entry) => entry.what !== 'job').pop()!;
    assert.equal(last.what, 'PatchVms@1');
    assert.equal(last.interrupted, 'agent-lost');
    assert.deepEqual(fs.readdirSync(outcome.result.artifactsDirectory).sort(), [
      'window-PreMaintenance-hold-1',
      'window-PreMaintenance-window-1',
    ]);
    assert.equal(outcome.ok, false);
    assertClosing(outcome, 'Failed');
    for (const server of ['IC-Web1', 'IC-Web5'])
      assert.ok(outcome.window.left.includes(`pool member ${server}`), outcome.window.left.join(', '));
    assert.ok(outcome.window.left.some((item) => /^held pipeline \\Product Integrations\\/.test(item)));
    assert.ok(outcome.window.left.includes('New Relic muting rule maintenance-20250412-web-batch-1'));
  });

  it(
    "--kill-at a web batch's patch --recover: pipelines/recover.yml gets the dead run's artifacts by its id " + 'and puts everything back',
    async () => {
      const outcome = await rehearse({ killAt: 'WebBatch_1.batch.patch', recover: true });
      const recovery = outcome.recovery!;
      const download = recovery.timeline.find((entry) => entry.what === 'DownloadPipelineArtifact')!;
      assert.match(download.did, /of run 20250412: window-PreMaintenance-hold-1/);
      assert.ok(outcome.printed.some((line) => /^Recovering: pipelines\/recover\.yml with runId 20250412 \(run 20250413/.test(line)));
      // The drained servers (from the gateway's tags), the batch's muting rule (its mark) and the held jobs (records).
      assertClosing(outcome, 'Failed');
      assert.deepEqual(outcome.window.left, []);
      assert.ok(outcome.window.total >= 10, `counted ${outcome.window.total}`);
    },
  );

  it('--kill-at the Changes run --recover: DNS, Pingdom, muting and held jobs all come back from records and marks', async () => {
    const killed = await rehearse({ killAt: 'Changes.changes.run' });
    assertClosing(killed, 'Failed');
    assert.ok(
      killed.window.left.some((item) => /DNS/.test(item)),
      killed.window.left.join(', '),
    );
    const outcome = await rehearse({ killAt: 'Changes.changes.run', recover: true });
    assertClosing(outcome, 'Failed');
    assert.deepEqual(outcome.window.left, []);
    assert.equal(outcome.window.total, killed.window.total);
  });

  it('--cancel-at Changes: Post-Maintenance runs after the cancel and puts back the page, Pingdom, the mute and the jobs', async () => {
    const outcome = await rehearse({ cancelAt: 'Changes' });
    assertClosing(outcome, 'Canceled');
    assert.deepEqual(outcome.window.left, []);
    assert.ok(outcome.window.total >= 20, `counted ${outcome.window.total}`);
  });

  it('--recover without a recovery pipeline fails clearly before anything runs', async () => {
    await assert.rejects(
      rehearse({ killAt: 'WebBatch_1.batch.patch', recover: true, recoverPipeline: 'pipelines/no-such-recover.yml' }),
      /--recover: pipelines\/no-such-recover\.yml does not exist/,
    );
    await assert.rejects(
      rehearse({ cancelAt: 'NoSuchStage' }),
      /--cancel-at NoSuchStage: no stage, stage\.job or step of pipelines\/monthly-maintenance\.yml has that name/,
    );
  });
});
