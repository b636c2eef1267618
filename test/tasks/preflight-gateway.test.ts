import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPreflightFiles } from '../../shared/core/preflight';
import { addActionRules } from '../emulators/arm-action-rules';
import { AzureFixture, RESOURCE_GROUP } from '../helpers/azure-fixture';
import { newWorkDirectory } from '../helpers/task-runner';

/** AppGatewayDrainV1's check against the ARM and Entra emulators: what it reads, says and never writes. */
describe('AppGatewayDrainV1 check (bundled, ARM and Entra emulators)', function () {
  const azure = new AzureFixture({ gatewayUpdateMs: 20, probeDelayMs: 10, healthDelayMs: 5, retryAfterSeconds: 0 });
  before(() => azure.start());
  after(() => azure.stop());
  beforeEach(() => azure.reset());

  it('says what the drain would do, GO, with only reads', async () => {
    const farm = azure.seedWebFarm();
    const dir = newWorkDirectory();
    const run = await azure.run(
      'AppGatewayDrainV1',
      {
        applicationGatewayName: farm.gateway,
        backendPoolName: 'web',
        action: 'check',
        servers: 'IC-Web1\nIC-Web2\nIC-Web3\nIC-Web4\nIC-Web5',
        minHealthyServers: 5,
      },
      { workDirectory: dir },
    );
    assert.equal(run.result, 'Succeeded', run.stdout);
    assert.equal(run.outputs.preflightVerdict, 'GO');
    const [file] = readPreflightFiles(path.join(dir, 'preflight'));
    assert.equal(file.task, 'AppGatewayDrain');
    assert.ok(fs.existsSync(path.join(dir, 'preflight', 'AppGatewayDrain-1.json')));
    assert.ok(
      file.findings.some((f) => f.wouldDo === 'would drain IC-Web1..5 from pool web; 5 would stay healthy'),
      JSON.stringify(file.findings, null, 2),
    );
    assert.deepEqual(
      azure.arm.journal.filter((e) => e.method !== 'GET' && !/backendhealth/i.test(e.path)).map((e) => `${e.method} ${e.path}`),
      [],
    );
    assert.match(run.summaries.join('\n'), /\| azure-permissions \|/);
  });
  it('PatchVmsV1 check: a VM missing from the group is NO-GO naming it, nothing written', async () => {
    azure.seedWebFarm({ count: 2 });
    const run = await azure.run('PatchVmsV1', { action: 'check', virtualMachines: 'IC-Web1\nIC-Web9', serverGroup: 'web' });
    assert.equal(run.result, 'SucceededWithIssues', run.stdout);
    assert.equal(run.outputs.preflightVerdict, 'NO-GO');
    assert.match(run.summaries.join('\n'), /\| vm \| virtual machine IC-Web9 \(resource group rg-web-prd\) \| NO-GO \|/);
    assert.match(run.summaries.join('\n'), /would install Critical, Security patches on IC-Web1, 5 at a time/);
    assert.deepEqual(azure.arm.changes(), []);
  });

  it('AlertMuteV1 check (Azure Monitor): reads the rule, says what the mute would do, writes nothing', async () => {
    addActionRules(azure.arm, [RESOURCE_GROUP]);
    const run = await azure.run('AlertMuteV1', {
      action: 'check',
      provider: 'azureMonitor',
      resourceGroup: RESOURCE_GROUP,
      scopes: RESOURCE_GROUP,
      durationMinutes: '120',
    });
    assert.equal(run.result, 'Succeeded', run.stdout);
    assert.match(
      run.summaries.join('\n'),
      /\| azure-monitor \| alert processing rule maintenance-window-\S+ \(resource group rg-web-prd\) \| GO \|.*would suppress notifications/,
    );
    assert.deepEqual(
      azure.arm.journal.filter((entry) => entry.method !== 'GET').map((entry) => `${entry.method} ${entry.path}`),
      [],
    );
  });
});
