import { strict as assert } from 'node:assert';
import type { World } from '../e2e/world';
import { emptyRecordsFolder, nightChecks, runCheck, startPreflightWorld, writesIn } from '../helpers/preflight-world';

/**
 * Every mutating task's `check` action, through its bundle, against the emulated world of the night: each
 * says GO with what the real action would do, and the emulators' journals show that not one call changed
 * anything (no PUT/PATCH/POST/DELETE beyond sign-in and the read-only POSTs of reading APIs).
 */
describe('check action of every mutating task (bundled, emulated world)', function () {
  let world: World;
  before(async () => {
    world = await startPreflightWorld();
  });
  after(() => world?.stop());

  const expectations: Record<string, RegExp> = {
    AppGatewayDrainV1: /would drain IC-Web1\.\.5 from pool web; 5 would stay healthy/,
    MaintenancePageV1: /would point www and my at icmaintenance\.azurewebsites\.net/,
    RescheduleJobsV1: /would hold \d+ scheduled pipeline\(s\)/,
    NotifyV1: /would post to #maintenance/,
    PingdomPauseV1: /would silence 2 check\(s\)/,
    RunChangesV1: /would run \d+ change\(s\)/,
    RunPipelineV1: /would run Full Regression/,
    PatchVmsV1: /would install Critical, Security patches on IC-App1, IC-App2/,
    AlertMuteV1: /would create muting rule/,
    MaintenanceWindowV1: /would open window/,
  };

  it('says GO, says what each real action would do, and writes nothing anywhere', async () => {
    const records = emptyRecordsFolder();
    for (const emulator of world.emulators) emulator.journal.length = 0;
    const steps = nightChecks(records);
    // Two at a time: each is a process of its own, and the machine is shared.
    const results = [];
    for (let index = 0; index < steps.length; index += 2)
      results.push(...(await Promise.all(steps.slice(index, index + 2).map((step) => runCheck(world, step)))));
    for (const [index, { run, file }] of results.entries()) {
      const step = steps[index];
      if (process.env.SHOW_PREFLIGHT) console.log(step.task, JSON.stringify(file.findings, null, 1));
      const notGo = file.findings.filter((finding) => finding.verdict !== 'GO');
      assert.deepEqual(notGo, [], `${step.task}: ${run.stdout}`);
      assert.equal(run.result, 'Succeeded', `${step.task}: ${run.stdout}`);
      assert.equal(run.outputs.preflightVerdict, 'GO', step.task);
      assert.match(
        file.findings.map((finding) => finding.wouldDo ?? '').join('\n'),
        expectations[step.task],
        `${step.task}: ${JSON.stringify(file.findings, null, 2)}`,
      );
      assert.match(run.summaries.join('\n'), /\| Check \| Object \| Verdict \| Why \| Fix \| Would do \|/, step.task);
    }
    assert.deepEqual(writesIn(world), [], 'no emulator saw a write');
    assert.ok(
      world.emulators.every(
        (emulator) => emulator.journal.length === 0 || emulator.journal.some((entry) => entry.method === 'GET' || entry.method === 'POST'),
      ),
    );
    assert.deepEqual(world.leftovers(), [], 'the world is as it was');
  });
});
