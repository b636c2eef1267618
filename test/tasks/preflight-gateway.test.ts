import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPreflightFiles } from '../../shared/core/preflight';
import { AzureFixture } from '../helpers/azure-fixture';
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
    const run = await azure.run('AppGatewayDrainV1', { applicationGatewayName: farm.gateway, backendPoolName: 'web', action: 'check', servers: 'IC-Web1\nIC-Web2\nIC-Web3\nIC-Web4\nIC-Web5', minHealthyServers: 5 }, { workDirectory: dir });
    assert.equal(run.result, 'Succeeded', run.stdout);
    assert.equal(run.outputs.preflightVerdict, 'GO');
    const [file] = readPreflightFiles(path.join(dir, 'preflight'));
    assert.equal(file!.task, 'AppGatewayDrain');
    assert.ok(fs.existsSync(path.join(dir, 'preflight', 'AppGatewayDrain-1.json')));
    assert.ok(file!.findings.some((f) => f.wouldDo === 'would drain IC-Web1..5 from pool web; 5 would stay healthy'), JSON.stringify(file!.findings, null, 2));
    assert.deepEqual(azure.arm.journal.filter((e) => e.method !== 'GET' && !/backendhealth/i.test(e.path)).map((e) => `${e.method} ${e.path}`), []);
    assert.match(run.summaries.join('\n'), /\| azure-permissions \|/);
  });
});
