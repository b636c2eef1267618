import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AzureFixture, RESOURCE_GROUP } from '../helpers/azure-fixture';
import { repoRoot, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/**
 * The custom role shipped in extension/azure-role-maintenance-window.json is exactly what the Azure tasks
 * need: with ARM checking every call (and the join actions ARM checks on the resources a PUT references)
 * against it, every action of both tasks succeeds, every action in the role is used, and without one of
 * them the step is refused before it changes anything.
 */

const ROLE_FILE = path.join(repoRoot, 'extension', 'azure-role-maintenance-window.json');

describe('Least-privilege Azure role (extension/azure-role-maintenance-window.json)', function () {
  const azure = new AzureFixture({ gatewayUpdateMs: 30, probeDelayMs: 30, healthDelayMs: 10, patchMs: 40, rebootMs: 20, assessMs: 20 });
  const role = JSON.parse(fs.readFileSync(ROLE_FILE, 'utf8'));
  before(() => azure.start());
  after(() => azure.stop());
  beforeEach(() => azure.reset());

  const run = (task: string, inputs: RunTaskOptions['inputs']): Promise<TaskRun> =>
    azure.run(task, { healthTimeoutSeconds: 20, ...inputs });

  it('is a custom role definition Azure CLI can create: explicit actions, no data actions, no wildcards', () => {
    assert.equal(role.IsCustom, true);
    assert.ok(role.Name && role.Description);
    assert.ok(Array.isArray(role.AssignableScopes) && role.AssignableScopes.length > 0);
    assert.deepEqual(role.NotActions, []);
    assert.deepEqual(role.DataActions, []);
    for (const action of role.Actions) assert.match(action, /^Microsoft\.[A-Za-z]+\/[A-Za-z/]+$/, `${action} is one explicit action`);
    assert.equal(new Set(role.Actions).size, role.Actions.length, 'no duplicates');
  });

  it('lets every action of both tasks through, and every action it holds is needed', async () => {
    azure.arm.grant(role.Actions);
    const production = azure.seedWebFarm({ production: true, count: 4 });
    const nics = azure.seedWebFarm({ gateway: 'agw-vm-targets', kind: 'nics', count: 3, prefix: 'IC-Vm', subnet: 6 });

    const status = await run('AppGatewayDrainV1', { applicationGatewayName: production.gateway, backendPoolName: 'web', action: 'status' });
    assert.equal(status.result, 'Succeeded', status.stdout);
    const drain = await run('AppGatewayDrainV1', {
      applicationGatewayName: production.gateway,
      backendPoolName: 'web',
      action: 'drain',
      servers: 'IC-Web1, IC-Web2',
    });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    const restore = await run('AppGatewayDrainV1', {
      applicationGatewayName: production.gateway,
      backendPoolName: 'web',
      action: 'restore',
      undoRecord: drain.outputs.undoRecord,
    });
    assert.equal(restore.result, 'Succeeded', restore.stdout);
    const nicDrain = await run('AppGatewayDrainV1', {
      applicationGatewayName: nics.gateway,
      backendPoolName: 'web',
      action: 'drain',
      servers: 'IC-Vm1',
    });
    assert.equal(nicDrain.result, 'Succeeded', nicDrain.stdout);
    const nicRestore = await run('AppGatewayDrainV1', {
      applicationGatewayName: nics.gateway,
      backendPoolName: 'web',
      action: 'restore',
      undoRecord: nicDrain.outputs.undoRecord,
    });
    assert.equal(nicRestore.result, 'Succeeded', nicRestore.stdout);
    const install = await run('PatchVmsV1', { virtualMachines: 'IC-Web1, IC-Web2', serverGroup: 'web', action: 'install' });
    assert.equal(install.result, 'Succeeded', install.stdout);
    const assess = await run('PatchVmsV1', { virtualMachines: 'IC-Web3', serverGroup: 'web', action: 'assess' });
    assert.equal(assess.result, 'Succeeded', assess.stdout);

    assert.ok(
      azure.arm.journal.every((entry) => entry.status !== 403),
      'nothing was refused',
    );
    assert.deepEqual([...azure.arm.actionsUsed].sort(), [...role.Actions].sort(), 'the role holds exactly the actions the tasks needed');
  });

  it('without the subnet join a drain is refused by ARM before anything changes, pointing at the role', async () => {
    azure.arm.grant(role.Actions.filter((action: string) => action !== 'Microsoft.Network/virtualNetworks/subnets/join/action'));
    const farm = azure.seedWebFarm({ count: 3 });
    const before = azure.arm.pool(RESOURCE_GROUP, farm.gateway, 'web');
    const drain = await run('AppGatewayDrainV1', {
      applicationGatewayName: farm.gateway,
      backendPoolName: 'web',
      action: 'drain',
      servers: 'IC-Web1',
    });
    assert.equal(drain.result, 'Failed');
    assert.match(
      drain.errors.join('\n'),
      /403 LinkedAuthorizationFailed.*subnets\/join\/action.*extension\/azure-role-maintenance-window\.json/,
    );
    assert.deepEqual(azure.arm.pool(RESOURCE_GROUP, farm.gateway, 'web'), before);
  });
});
