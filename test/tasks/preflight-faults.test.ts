import { strict as assert } from 'node:assert';
import { FAULT_NAMES, applyFault, applyFaultNow, type FaultName } from '../helpers/faults';
import type { World } from '../e2e/world';
import { emptyRecordsFolder, FRIDAY, nightChecks, PLAN_FILE, runCheck, startPreflightWorld, writesIn } from '../helpers/preflight-world';

/**
 * Each documented fault of the Friday preflight, injected into a fresh emulated world: the check that must find
 * it says NO-GO, naming the object and the fix, the step still succeeds (with issues) so the night's other checks
 * run, and nothing is written while finding it.
 */
describe('preflight faults: the check that must find each one says NO-GO', function () {
  let world: World | undefined;
  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });

  const cases: Array<{ fault: FaultName; task: string; check: string; object: RegExp; fix: RegExp; why?: RegExp }> = [
    {
      fault: 'expired-secret',
      task: 'AppGatewayDrainV1',
      check: 'azure-sign-in',
      object: /Azure service connection/,
      fix: /client secret/i,
      why: /expired/,
    },
    {
      fault: 'missing-permission',
      task: 'AppGatewayDrainV1',
      check: 'azure-permissions',
      object: /resource group rg-web-prd/,
      fix: /azure-role-maintenance-window\.json/,
      why: /applicationGateways\/write/,
    },
    { fault: 'bot-not-in-channel', task: 'NotifyV1', check: 'slack-channel', object: /#maintenance/, fix: /\/invite/ },
    { fault: 'bot-not-in-channel', task: 'MaintenanceWindowV1', check: 'slack-channel', object: /#maintenance/, fix: /\/invite/ },
    { fault: 'pingdom-check-missing', task: 'PingdomPauseV1', check: 'pingdom-check', object: /my\.invoicecloud\.com/, fix: /checkNames/ },
    {
      fault: 'dns-record-missing',
      task: 'MaintenancePageV1',
      check: 'dns-record',
      object: /DNS record my\.invoicecloud\.com/,
      fix: /records/,
    },
    { fault: 'pipeline-missing', task: 'RunChangesV1', check: 'pipeline', object: /Kong_Infrastructure/, fix: /name or folder/ },
    {
      fault: 'leftover-drain',
      task: 'AppGatewayDrainV1',
      check: 'drained-tags',
      object: /agw-pri-appgateway0-prd/,
      fix: /restore/,
      why: /window 2025-02-23/,
    },
  ];

  for (const { fault, task, check, object, fix, why } of cases) {
    it(`${fault}: ${task} names the object and the fix`, async () => {
      world = await startPreflightWorld();
      const applied = fault === 'leftover-drain' ? applyFaultNow(world, fault) : applyFault(world, fault, { planFile: PLAN_FILE });
      for (const emulator of world.emulators) emulator.journal.length = 0;
      const step = nightChecks(emptyRecordsFolder()).find((candidate) => candidate.task === task)!;
      const { run, file } = await runCheck(world, step);
      assert.equal(run.result, 'SucceededWithIssues', run.stdout);
      assert.equal(run.outputs.preflightVerdict, 'NO-GO');
      const found = file.findings.find((finding) => finding.verdict === 'NO-GO' && finding.check === check);
      assert.ok(found, `${fault} (${applied.description}): no NO-GO ${check} finding in ${JSON.stringify(file.findings, null, 2)}`);
      assert.match(found.object, object);
      assert.match(found.fix, fix);
      if (why) assert.match(found.why, why);
      assert.match(run.summaries.join('\n'), new RegExp(`\\| ${check} \\| [^|]*\\| NO-GO \\|`));
      assert.deepEqual(writesIn(world), [], 'finding it wrote nothing');
    });
  }

  it('a pipeline the build service may not queue: RunChangesV1 says NO-GO naming it', async () => {
    world = await startPreflightWorld();
    world.devops.queueDenied.add(world.devops.pipeline('Biller_Infrastructure')!.id);
    const step = nightChecks(emptyRecordsFolder()).find((candidate) => candidate.task === 'RunChangesV1')!;
    const { run, file } = await runCheck(world, step);
    assert.equal(run.outputs.preflightVerdict, 'NO-GO', run.stdout);
    const found = file.findings.filter((finding) => finding.verdict === 'NO-GO');
    assert.equal(found.length, 1, JSON.stringify(file.findings, null, 2));
    assert.match(found[0].object, /^pipeline Biller_Infrastructure \(change [^)]+\)$/);
    assert.match(found[0].fix, /Queue builds/);
    assert.deepEqual(writesIn(world), []);
  });

  it("no-approval-check and overrun change the emulated world as documented (their checks are the preflight step's)", async () => {
    world = await startPreflightWorld();
    world.devops.checks.set(900, {
      id: 900,
      version: 1,
      type: { id: '8c6f20a7-a545-4486-9777-f762fafe0d4d', name: 'Approval' },
      settings: {},
      resource: { type: 'environment', id: '1', name: 'maintenance-approval' },
      timeout: 43200,
      createdOn: FRIDAY,
      modifiedOn: FRIDAY,
    });
    assert.match(applyFault(world, 'no-approval-check').description, /^1 approval check/);
    assert.equal(world.devops.checks.size, 0);
    const overrun = applyFault(world, 'overrun', { planFile: PLAN_FILE });
    assert.match(overrun.description, /3 pipeline\(s\) of the plan take 4 h each/);
    const kong = world.devops.pipeline('Kong_Infrastructure')!;
    assert.equal(kong.durationMs, 4 * 3600_000);
    assert.equal(world.devops.runsOf('Kong_Infrastructure').length, 3, 'three finished runs of 4 h as history');
    assert.throws(() => applyFault(world!, 'pipeline-missing'), /needs the plan file/);
    assert.deepEqual([...FAULT_NAMES].sort(), [
      'bot-not-in-channel',
      'dns-record-missing',
      'expired-secret',
      'leftover-drain',
      'missing-permission',
      'no-approval-check',
      'overrun',
      'pingdom-check-missing',
      'pipeline-missing',
    ]);
  });
});
