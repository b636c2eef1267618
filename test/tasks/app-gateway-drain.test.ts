import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AzureFixture, RESOURCE_GROUP, type WebFarm } from '../helpers/azure-fixture';
import { newWorkDirectory, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

const TASK = 'AppGatewayDrainV1';

describe('AppGatewayDrainV1 (bundled, against the ARM and Entra emulators)', function () {
  const azure = new AzureFixture({ gatewayUpdateMs: [50, 200], probeDelayMs: 50, healthDelayMs: 20, retryAfterSeconds: 0 });
  before(() => azure.start());
  after(() => azure.stop());
  beforeEach(() => azure.reset());

  const run = (inputs: RunTaskOptions['inputs'], options: Omit<RunTaskOptions, 'inputs' | 'endpoints'> = {}): Promise<TaskRun> =>
    azure.run(TASK, { backendPoolName: 'web', healthTimeoutSeconds: 20, ...inputs }, options);

  const pool = (farm: WebFarm) => azure.arm.pool(RESOURCE_GROUP, farm.gateway, farm.pool);
  const names = (farm: WebFarm, from: number, to: number) => farm.servers.slice(from - 1, to).map((server) => server.name);
  const ips = (farm: WebFarm, from: number, to: number) => farm.servers.slice(from - 1, to).map((server) => server.ip);

  it('shows the pool and its health (status)', async () => {
    const farm = azure.seedWebFarm({ drainTimeoutInSec: 30 });
    azure.arm.setHealth(farm.servers[2].ip, 'Down');
    const status = await run({ applicationGatewayName: farm.gateway, action: 'status' });
    assert.equal(status.result, 'Succeeded', status.stdout);
    assert.equal(status.outputs.healthyServers, '9');
    assert.match(status.summaries[0], /9 of 10 healthy/);
    assert.match(status.summaries[0], /\| 10\.0\.2\.6 \| Down \|/);
    assert.match(status.stdout, /connection draining 30 s \(web-http\)/);
    assert.equal(azure.arm.changes().length, 0);
  });

  it('drains an address pool in one gateway write and restores it exactly, idempotently', async () => {
    const farm = azure.seedWebFarm();
    const before = pool(farm);
    const dir = newWorkDirectory();
    const drain = await run(
      { applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 5).join('\n'), minHealthyServers: 5 },
      { workDirectory: dir },
    );
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    assert.equal(azure.arm.gatewayWrites(farm.gateway), 1, 'the whole batch in one gateway write');
    assert.deepEqual(pool(farm).addresses, ips(farm, 6, 10));
    assert.equal(drain.outputs.drainedServers, names(farm, 1, 5).join(','));
    const record = JSON.parse(drain.outputs.undoRecord);
    assert.equal(record.kind, 'appgateway-pool');
    assert.deepEqual(
      record.data.membersBefore.map((m: any) => m.ipAddress),
      before.addresses,
      'the undo record holds the exact members before',
    );
    assert.deepEqual(
      record.data.removed.map((m: any) => m.ipAddress),
      ips(farm, 1, 5),
    );
    assert.ok(fs.existsSync(path.join(dir, 'records', `${record.id}.json`)), 'the record file is written');
    const recordLine = drain.lines.findIndex((line) => line.includes('before any change'));
    const firstPut = azure.arm.journal.findIndex((entry) => entry.method === 'PUT');
    assert.ok(recordLine >= 0 && firstPut >= 0, 'the record was announced and a write happened');
    assert.ok(
      azure.arm.journal[firstPut].at >= fs.statSync(path.join(dir, 'records', `${record.id}.json`)).mtimeMs - 5,
      'the record was on disk before the write',
    );
    for (const ip of ips(farm, 1, 5)) assert.notEqual(azure.arm.healthOf(RESOURCE_GROUP, farm.gateway, 'web')[ip], 'Up');

    const restore = await run(
      { applicationGatewayName: farm.gateway, action: 'restore', undoRecord: drain.outputs.undoRecord },
      { workDirectory: dir },
    );
    assert.equal(restore.result, 'Succeeded', restore.stdout);
    assert.equal(azure.arm.gatewayWrites(farm.gateway), 2, 'one write to put the batch back');
    assert.deepEqual(pool(farm), before, 'the pool is exactly as it began, in the same order');
    assert.ok(
      Object.values(azure.arm.healthOf(RESOURCE_GROUP, farm.gateway, 'web')).every((health) => health === 'Up'),
      'every server healthy',
    );
    assert.ok(fs.existsSync(path.join(dir, 'records', `${record.id}.restored.json`)), 'a receipt is written');
    assert.equal(restore.outputs.restoredServers, names(farm, 1, 5).join(','));

    const again = await run({
      applicationGatewayName: farm.gateway,
      action: 'restore',
      undoRecord: path.join(dir, 'records', `${record.id}.json`),
    });
    assert.equal(again.result, 'Succeeded', again.stdout);
    assert.equal(azure.arm.gatewayWrites(farm.gateway), 2, 'a second restore writes nothing');
    assert.deepEqual(pool(farm), before);
    assert.match(again.stdout, /Already in pool 'web'/);
  });

  it("drains and restores a pool of virtual machine (NIC) targets, touching only this pool's reference", async () => {
    const farm = azure.seedWebFarm({ kind: 'nics' });
    // IC-Web1's NIC is also in the 'api' pool: that reference must survive.
    azure.arm.addNicPoolReference(RESOURCE_GROUP, 'ic-web1-nic', farm.gateway, 'api');
    const gatewayId = azure.arm.gatewayId(RESOURCE_GROUP, farm.gateway).toLowerCase();
    const references = () => azure.arm.nicPoolReferences(RESOURCE_GROUP, 'ic-web1-nic');
    assert.deepEqual(references(), [`${gatewayId}/backendaddresspools/web`, `${gatewayId}/backendaddresspools/api`]);
    const before = pool(farm);
    assert.equal(before.ipConfigurations.length, 10);

    const drain = await run({
      applicationGatewayName: farm.gateway,
      action: 'drain',
      servers: `${farm.servers[0].name}, ${farm.servers[1].ip}, ${farm.servers[2].name.toLowerCase()}`,
    });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    assert.equal(azure.arm.gatewayWrites(farm.gateway), 0, 'NIC targets change on the NICs, not by a gateway PUT');
    assert.equal(azure.arm.calls('PUT', /networkInterfaces/).length, 3);
    assert.equal(pool(farm).ipConfigurations.length, 7);
    assert.deepEqual(references(), [`${gatewayId}/backendaddresspools/api`], 'only the web pool reference was removed');

    const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: drain.outputs.undoRecord });
    assert.equal(restore.result, 'Succeeded', restore.stdout);
    assert.deepEqual(pool(farm), before);
    assert.deepEqual(references().sort(), [`${gatewayId}/backendaddresspools/api`, `${gatewayId}/backendaddresspools/web`]);
  });

  it('refuses a drain that would leave too few healthy servers, with zero writes', async () => {
    const farm = azure.seedWebFarm();
    for (const ip of ips(farm, 6, 9)) azure.arm.setHealth(ip, 'Down');
    const drain = await run({
      applicationGatewayName: farm.gateway,
      action: 'drain',
      servers: names(farm, 1, 5).join(','),
      minHealthyServers: 2,
    });
    assert.equal(drain.result, 'Failed');
    assert.match(drain.errors.join('\n'), /only 1 healthy server\(s\) would remain \(minHealthyServers is 2\)/);
    assert.match(drain.errors.join('\n'), /not healthy: 10\.0\.2\.9 Down/);
    assert.equal(azure.arm.changes().length, 0, 'nothing was written');
    assert.equal(drain.outputs.undoRecord, undefined, 'no undo record for a change that did not happen');
  });

  it('never reverts a change another writer made between our read and our write (If-Match honoured: 412, re-read, re-apply)', async () => {
    const farm = azure.seedWebFarm();
    // Read 1 plans the drain; read 2 is the fresh read of the write; the other writer acts right after it.
    azure.arm.changeGatewayAfterReads(RESOURCE_GROUP, farm.gateway, 2, (wire) => {
      wire.properties.backendAddressPools.find((p: any) => p.name === 'web').properties.backendAddresses.push({ ipAddress: '10.0.2.99' });
      wire.properties.probes[0].properties.path = '/healthz';
      wire.tags.owner = 'platform';
    });
    const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    assert.match(drain.stdout, /changed by someone else between our read and our write/);
    assert.equal(azure.arm.gateway(RESOURCE_GROUP, farm.gateway).tags.owner, 'platform', 'their tag is kept beside ours');
    assert.ok(azure.arm.gateway(RESOURCE_GROUP, farm.gateway).tags['maintenance-window.drained.web']);
    assert.equal(azure.arm.calls('PUT').filter((call) => call.status === 412).length, 1, 'the stale write was refused');
    assert.deepEqual(pool(farm).addresses, [...ips(farm, 3, 10), '10.0.2.99'], "the other writer's server is kept");
    assert.equal(
      azure.arm.gateway(RESOURCE_GROUP, farm.gateway).properties.probes[0].properties.path,
      '/healthz',
      'and so is their probe change',
    );

    const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: drain.outputs.undoRecord });
    assert.equal(restore.result, 'Succeeded', restore.stdout);
    assert.deepEqual(pool(farm).addresses, [...ips(farm, 1, 10), '10.0.2.99'], 'restore puts ours back and keeps theirs');
    assert.equal(azure.arm.gateway(RESOURCE_GROUP, farm.gateway).properties.probes[0].properties.path, '/healthz');
    assert.deepEqual(azure.arm.gateway(RESOURCE_GROUP, farm.gateway).tags, { environment: 'production', owner: 'platform' });
  });

  it('never reverts a change made between planning and writing when the service ignores If-Match (re-read before the write)', async () => {
    const farm = azure.seedWebFarm();
    azure.arm.options.honourIfMatch = false;
    azure.arm.changeGatewayAfterReads(RESOURCE_GROUP, farm.gateway, 1, (wire) => {
      wire.properties.backendAddressPools.find((p: any) => p.name === 'web').properties.backendAddresses =
        wire.properties.backendAddressPools
          .find((p: any) => p.name === 'web')
          .properties.backendAddresses.filter((a: any) => a.ipAddress !== farm.servers[9].ip);
    });
    const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    assert.match(drain.stdout, /changed since it was read/);
    assert.deepEqual(pool(farm).addresses, ips(farm, 3, 9), "the other writer's removal stays removed");
    const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: drain.outputs.undoRecord });
    assert.equal(restore.result, 'Succeeded', restore.stdout);
    assert.deepEqual(pool(farm).addresses, ips(farm, 1, 9), 'only what we removed comes back');
  });

  it("waits out another writer's update that is running when we write (409), then applies on top of it", async () => {
    const farm = azure.seedWebFarm();
    // Right after our fresh read, someone starts a 300 ms update that adds a server: our PUT meets 409.
    azure.arm.changeGatewayAfterReads(
      RESOURCE_GROUP,
      farm.gateway,
      2,
      (wire) => {
        wire.properties.backendAddressPools.find((p: any) => p.name === 'web').properties.backendAddresses.push({ ipAddress: '10.0.2.98' });
      },
      300,
    );
    const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    assert.equal(azure.arm.calls('PUT').filter((call) => call.status === 409).length, 1, 'our first write met the running update');
    assert.match(drain.stdout, /Another update of application gateway .* is running; waiting for it/);
    assert.deepEqual(pool(farm).addresses, [...ips(farm, 3, 10), '10.0.2.98'], 'their server is kept, ours are out');
  });

  const faultTargets: Array<[string, RegExp, 'arm' | 'entra']> = [
    ['GET', /\/applicationGateways\/[^/]+$/i, 'arm'],
    ['PUT', /\/applicationGateways\/[^/]+$/i, 'arm'],
    ['POST', /\/backendhealth$/i, 'arm'],
    ['GET', /\/operationResults\//i, 'arm'],
    ['GET', /\/operations\//i, 'arm'],
    ['GET', /\/virtualMachines\//i, 'arm'],
    ['GET', /\/networkInterfaces\//i, 'arm'],
    ['POST', /\/oauth2\/v2\.0\/token$/i, 'entra'],
  ];
  type Fault = { kind: 'status' | 'reset'; status?: number; retryAfter?: number };

  /** Puts one fault on the next call of every kind the task makes. */
  function faultEveryCall(fault: Fault): void {
    for (const [method, pathTest, where] of faultTargets)
      (where === 'arm' ? azure.arm : azure.entra).fault({ method, path: pathTest, ...fault });
  }

  for (const [drainFault, restoreFault, label] of [
    [
      { kind: 'status', status: 429, retryAfter: 0 },
      { kind: 'status', status: 503, retryAfter: 0 },
      '429 (drain) and 503 (restore) with Retry-After',
    ],
    [{ kind: 'status', status: 500 }, { kind: 'reset' }, '500 (drain) and connection resets (restore)'],
  ] as Array<[Fault, Fault, string]>) {
    it(`survives ${label} on every kind of ARM and Entra call`, async () => {
      const farm = azure.seedWebFarm();
      const before = pool(farm);
      const faultsHit = () => [...azure.arm.journal, ...azure.entra.journal].filter((entry) => entry.fault).length;
      faultEveryCall(drainFault);
      const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 3).join(',') });
      assert.equal(drain.result, 'Succeeded', drain.stdout + drain.stderr);
      assert.equal(faultsHit(), faultTargets.length, 'every kind of call met the fault once and was retried');
      assert.deepEqual(pool(farm).addresses, ips(farm, 4, 10));
      faultEveryCall(restoreFault);
      const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: drain.outputs.undoRecord });
      assert.equal(restore.result, 'Succeeded', restore.stdout + restore.stderr);
      assert.equal(faultsHit(), 2 * faultTargets.length - 2, 'again on restore (which reads no VM or NIC for an address pool)');
      assert.deepEqual(pool(farm), before);
    });
  }

  it('fails naming the servers that do not come back healthy, with them back in the pool', async () => {
    const farm = azure.seedWebFarm();
    const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 3).join(',') });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    azure.arm.setHealth(farm.servers[1].ip, 'Down');
    const restore = await run({
      applicationGatewayName: farm.gateway,
      action: 'restore',
      undoRecord: drain.outputs.undoRecord,
      healthTimeoutSeconds: 1,
    });
    assert.equal(restore.result, 'Failed');
    assert.match(restore.errors.join('\n'), /IC-Web2 \(10\.0\.2\.5\) is Down/);
    assert.doesNotMatch(restore.errors.join('\n'), /IC-Web1 /);
    assert.deepEqual(pool(farm).addresses, ips(farm, 1, 10), 'they are back in the pool');
  });

  it("waits out the connection draining of the pool's HTTP settings by default", async () => {
    const farm = azure.seedWebFarm({ drainTimeoutInSec: 1 });
    const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: farm.servers[0].ip });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    assert.match(drain.stdout, /Waiting 1 s for connection draining \(HTTP settings web-http\)/);
    const override = await run({
      applicationGatewayName: farm.gateway,
      action: 'drain',
      servers: farm.servers[1].ip,
      drainTimeoutSeconds: 0,
    });
    assert.doesNotMatch(override.stdout, /for connection draining/);
  });

  it('restores listed servers when there is no undo record', async () => {
    const farm = azure.seedWebFarm();
    const before = pool(farm);
    const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 4, 5).join(',') });
    assert.equal(drain.result, 'Succeeded', drain.stdout);
    const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', servers: names(farm, 4, 5).join(',') });
    assert.equal(restore.result, 'Succeeded', restore.stdout);
    assert.deepEqual([...pool(farm).addresses].sort(), [...before.addresses].sort());
  });

  describe('a re-run after the drain succeeded (the record lost with the old workspace): the drained tag', () => {
    const TAG = 'maintenance-window.drained.web';
    const tags = (farm: WebFarm) => azure.arm.gateway(RESOURCE_GROUP, farm.gateway).tags as Record<string, string>;
    const otherWriterTags = (farm: WebFarm, add: Record<string, string>) =>
      azure.arm.changeGateway(RESOURCE_GROUP, farm.gateway, (wire) => Object.assign(wire.tags, add));
    const recordOf = (run: TaskRun) => JSON.parse(run.outputs.undoRecord);

    it(
      'drain, lose the record, drain again, restore: the pool ends exactly as it began, ' + "the tag is gone, others' tags untouched",
      async () => {
        const farm = azure.seedWebFarm();
        otherWriterTags(farm, { owner: 'platform' });
        const before = pool(farm);
        const first = await run(
          { applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 5).join('\n') },
          { variables: { 'Build.BuildId': '4711' } },
        );
        assert.equal(first.result, 'Succeeded', first.stdout);
        assert.equal(azure.arm.gatewayWrites(farm.gateway), 1, 'the tag rides in the one write that takes the batch out');
        assert.deepEqual(JSON.parse(tags(farm)[TAG]), {
          4711: Object.fromEntries(ips(farm, 1, 5).map((address, index) => [address, index])),
        });
        // Someone tags the gateway between the two attempts.
        otherWriterTags(farm, { reviewed: 'yes' });

        // The job is re-run in a fresh workspace: no record file, the servers are out.
        const again = await run(
          { applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 5).join('\n') },
          { variables: { 'Build.BuildId': '4711' } },
        );
        assert.equal(again.result, 'Succeeded', again.stdout);
        assert.match(again.stdout, /Already out of pool 'web'.*IC-Web1 \(10\.0\.2\.4\) \(taken out by this task in window 4711\)/);
        assert.equal(azure.arm.gatewayWrites(farm.gateway), 1, 'nothing left to take out: no write');
        const record = recordOf(again);
        assert.deepEqual(
          record.data.removed.map((m: any) => m.ipAddress),
          ips(farm, 1, 5),
          "the re-run's record carries them",
        );
        assert.deepEqual(
          record.data.membersBefore.map((m: any) => m.ipAddress),
          before.addresses,
          'in the order the tag remembers',
        );
        assert.equal(again.outputs.drainedServers, names(farm, 1, 5).join(','));
        assert.match(again.summaries[0], /carried into this undo record: IC-Web1 \(10\.0\.2\.4\) \(window 4711\)/);

        // The restore belongs to the same window (a record of another window is refused by the undo protocol).
        const restore = await run(
          { applicationGatewayName: farm.gateway, action: 'restore', undoRecord: again.outputs.undoRecord },
          { variables: { 'Build.BuildId': '4711' } },
        );
        assert.equal(restore.result, 'Succeeded', restore.stdout);
        assert.equal(azure.arm.gatewayWrites(farm.gateway), 2, 'one write puts them back and drops the tag');
        assert.deepEqual(pool(farm), before, 'exactly as it began, in the same order');
        assert.deepEqual(
          tags(farm),
          { environment: 'production', owner: 'platform', reviewed: 'yes' },
          "our tag is gone; everyone else's is as they left it",
        );
        assert.ok(Object.values(azure.arm.healthOf(RESOURCE_GROUP, farm.gateway, 'web')).every((health) => health === 'Up'));
      },
    );

    it(
      'a server out of the pool that no tag of ours names is still refused, naming it; what the tag names is recorded ' + 'for the restore',
      async () => {
        const farm = azure.seedWebFarm();
        const before = pool(farm);
        const first = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') });
        assert.equal(first.result, 'Succeeded', first.stdout);
        // Someone else takes IC-Web3 out by hand.
        azure.arm.changeGateway(RESOURCE_GROUP, farm.gateway, (wire) => {
          const web = wire.properties.backendAddressPools.find((p: any) => p.name === 'web');
          web.properties.backendAddresses = web.properties.backendAddresses.filter((a: any) => a.ipAddress !== farm.servers[2].ip);
        });
        const writes = azure.arm.changes().length;
        const again = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 3).join(',') });
        assert.equal(again.result, 'Failed');
        assert.match(
          again.errors.join('\n'),
          /Input 'servers': 'IC-Web3' is not a member of pool 'web'.*no drained tag of this task names it/,
        );
        assert.equal(azure.arm.changes().length, writes, 'nothing was written');
        assert.deepEqual(
          recordOf(again).data.removed.map((m: any) => m.ipAddress),
          ips(farm, 1, 2),
          'the refused re-run still records what our earlier drain took out',
        );
        const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: again.outputs.undoRecord });
        assert.equal(restore.result, 'Succeeded', restore.stdout);
        assert.deepEqual(
          pool(farm).addresses,
          before.addresses.filter((address) => address !== farm.servers[2].ip),
          "ours are back; the other writer's removal stands",
        );
        assert.equal(tags(farm)[TAG], undefined);
      },
    );

    it('a re-run refused by minHealthyServers writes nothing and records what the earlier drain took out', async () => {
      const farm = azure.seedWebFarm({ count: 6 });
      const first = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 3).join(',') });
      assert.equal(first.result, 'Succeeded', first.stdout);
      for (const address of ips(farm, 4, 5)) azure.arm.setHealth(address, 'Down');
      const writes = azure.arm.changes().length;
      const again = await run({
        applicationGatewayName: farm.gateway,
        action: 'drain',
        servers: names(farm, 1, 3).join(','),
        minHealthyServers: 2,
      });
      assert.equal(again.result, 'Failed');
      assert.match(again.errors.join('\n'), /only 1 healthy server\(s\) would remain \(minHealthyServers is 2\)/);
      assert.equal(azure.arm.changes().length, writes, 'nothing was written');
      assert.deepEqual(
        recordOf(again).data.removed.map((m: any) => m.ipAddress),
        ips(farm, 1, 3),
      );
    });

    it('restore with no undo record and no servers puts back what the tag names (a later run), once', async () => {
      const farm = azure.seedWebFarm();
      otherWriterTags(farm, { owner: 'platform' });
      const before = pool(farm);
      const drain = await run({
        applicationGatewayName: farm.gateway,
        action: 'drain',
        servers: [farm.servers[1].ip, farm.servers[3].name, farm.servers[6].name].join(','),
      });
      assert.equal(drain.result, 'Succeeded', drain.stdout);
      assert.deepEqual(
        pool(farm).addresses,
        before.addresses.filter((_, index) => ![1, 3, 6].includes(index)),
      );

      const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore' });
      assert.equal(restore.result, 'Succeeded', restore.stdout);
      assert.match(restore.stdout, /the drained tags say this task took .*10\.0\.2\.5.* out of pool 'web'/);
      assert.deepEqual(pool(farm), before, 'back in their old places');
      assert.deepEqual(tags(farm), { environment: 'production', owner: 'platform' });
      assert.equal(azure.arm.gatewayWrites(farm.gateway), 2);
      assert.match(restore.summaries[0], /came from the drained tags/);

      const again = await run({ applicationGatewayName: farm.gateway, action: 'restore' });
      assert.equal(again.result, 'Succeeded', again.stdout);
      assert.match(
        again.stdout,
        /no drained tag names anything this task took out of pool 'web' of application gateway '[^']+': nothing to put back/,
      );
      assert.equal(azure.arm.gatewayWrites(farm.gateway), 2, 'nothing written the second time');
    });

    it('NIC targets: the tag on each NIC changed lets a re-run (servers by name or IP) carry them, and goes with the restore', async () => {
      const farm = azure.seedWebFarm({ kind: 'nics', count: 5 });
      azure.arm.addNicPoolReference(RESOURCE_GROUP, 'ic-web1-nic', farm.gateway, 'api');
      const nicTag = `maintenance-window.drained.${farm.gateway}.web`;
      const before = pool(farm);
      const first = await run(
        { applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') },
        { variables: { 'Build.BuildId': '4711' } },
      );
      assert.equal(first.result, 'Succeeded', first.stdout);
      assert.equal(azure.arm.calls('PUT', /networkInterfaces/).length, 2, "the tag rides in each NIC's one write");
      assert.deepEqual(azure.arm.nicTags(RESOURCE_GROUP, 'ic-web1-nic'), { [nicTag]: '{"4711":["ipconfig1"]}' });
      // Someone else takes IC-Web5 out in the portal: not ours.
      azure.arm.removeNicPoolReference(RESOURCE_GROUP, 'ic-web5-nic', farm.gateway, 'web');

      const refused = await run({
        applicationGatewayName: farm.gateway,
        action: 'drain',
        servers: `${farm.servers[0].name},${farm.servers[4].name}`,
      });
      assert.equal(refused.result, 'Failed');
      assert.match(refused.errors.join('\n'), /'IC-Web5' is not a member of pool 'web'.*no drained tag of this task names it/);
      assert.equal(azure.arm.calls('PUT', /networkInterfaces/).length, 2, 'nothing written');

      const again = await run({
        applicationGatewayName: farm.gateway,
        action: 'drain',
        servers: `${farm.servers[0].name},${farm.servers[1].ip},${farm.servers[2].name}`,
      });
      assert.equal(again.result, 'Succeeded', again.stdout);
      assert.match(
        again.stdout,
        /Already out of pool 'web' of application gateway '[^']+': IC-Web1 \(10\.0\.2\.4\) \(taken out by this task in window 4711\), IC-Web2 \(10\.0\.2\.5\)/,
      );
      assert.equal(azure.arm.calls('PUT', /networkInterfaces/).length, 3, 'only IC-Web3 was still in');
      const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: again.outputs.undoRecord });
      assert.equal(restore.result, 'Succeeded', restore.stdout);
      assert.deepEqual(
        pool(farm).ipConfigurations,
        before.ipConfigurations.filter((id) => !id.toLowerCase().includes('ic-web5-nic')),
        "ours are back; the other writer's removal stands",
      );
      for (const server of farm.servers)
        assert.deepEqual(azure.arm.nicTags(RESOURCE_GROUP, `${server.name.toLowerCase()}-nic`), {}, `no tag left on ${server.name}'s NIC`);
      const gatewayId = azure.arm.gatewayId(RESOURCE_GROUP, farm.gateway).toLowerCase();
      assert.deepEqual(azure.arm.nicPoolReferences(RESOURCE_GROUP, 'ic-web1-nic').sort(), [
        `${gatewayId}/backendaddresspools/api`,
        `${gatewayId}/backendaddresspools/web`,
      ]);

      // And a later run with nothing but the tags puts a drained NIC back too.
      const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: farm.servers[3].name });
      assert.equal(drain.result, 'Succeeded', drain.stdout);
      const fromTags = await run({ applicationGatewayName: farm.gateway, action: 'restore' });
      assert.equal(fromTags.result, 'Succeeded', fromTags.stdout);
      assert.equal(fromTags.outputs.restoredServers, 'IC-Web4');
      assert.deepEqual(azure.arm.nicTags(RESOURCE_GROUP, 'ic-web4-nic'), {});
      assert.ok(pool(farm).ipConfigurations.some((id) => id.toLowerCase().includes('ic-web4-nic')));
    });

    it('falls back to the undo record alone, saying so, when the gateway cannot take the tag (50 tags already)', async () => {
      const farm = azure.seedWebFarm({ count: 4 });
      otherWriterTags(farm, Object.fromEntries(Array.from({ length: 49 }, (_, index) => [`team${index}`, 'x'])));
      const drain = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') });
      assert.equal(drain.result, 'Succeeded', drain.stdout);
      assert.match(
        drain.warnings.join('\n'),
        /Not recording the servers taken out on application gateway .*already has 50 other tags.*restore from this step's undo record/,
      );
      assert.equal(tags(farm)[TAG], undefined);
      assert.equal(Object.keys(tags(farm)).length, 50, 'the other tags are untouched');
      const again = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 2).join(',') });
      assert.equal(again.result, 'Failed', 'without the tag a re-run cannot tell they are ours (the old behaviour)');
      assert.match(again.errors.join('\n'), /is not a member of pool 'web'/);
      const restore = await run({ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: drain.outputs.undoRecord });
      assert.equal(restore.result, 'Succeeded', restore.stdout);
      assert.deepEqual(pool(farm).addresses, ips(farm, 1, 4));
    });
  });

  it('refuses bad input with a clear message and zero writes', async () => {
    const farm = azure.seedWebFarm();
    const good = await run({ applicationGatewayName: farm.gateway, action: 'drain', servers: names(farm, 1, 1)[0] });
    const record = JSON.parse(good.outputs.undoRecord);
    azure.reset();
    azure.seedWebFarm();
    const otherKind = JSON.stringify({ ...record, kind: 'pingdom' });
    const malformed = JSON.stringify({ ...record, data: { ...record.data, removed: [{ type: 'ipAddress' }] } });
    const strayRemoved = JSON.stringify({ ...record, data: { ...record.data, removed: [{ type: 'ipAddress', ipAddress: '10.9.9.9' }] } });
    const otherGateway = JSON.stringify({ ...record, data: { ...record.data, applicationGatewayName: 'agw-other' } });
    const cases: Array<[RunTaskOptions['inputs'], RegExp]> = [
      [
        { applicationGatewayName: 'agw-missing', action: 'drain', servers: 'IC-Web1' },
        /Input 'applicationGatewayName': no application gateway 'agw-missing'/,
      ],
      [
        { applicationGatewayName: farm.gateway, backendPoolName: 'nope', action: 'drain', servers: 'IC-Web1' },
        /Input 'backendPoolName': .*has no backend pool 'nope'; its pools: web, api/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'drain', servers: 'IC-Web1, IC-Web99' },
        /Input 'servers': 'IC-Web99' is not an IP address, an FQDN .* or a virtual machine/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'drain', servers: '10.0.2.200' },
        /Input 'servers': '10\.0\.2\.200' is not a member of pool 'web'/,
      ],
      [{ applicationGatewayName: farm.gateway, action: 'drain', servers: '' }, /Input 'servers': lists no servers/],
      [{ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: '{not json' }, /Input 'undoRecord': is not valid JSON/],
      [
        { applicationGatewayName: farm.gateway, action: 'restore', undoRecord: otherKind },
        /Input 'undoRecord': is an undo record of kind 'pingdom'/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'restore', undoRecord: malformed },
        /Input 'undoRecord': is a malformed 'appgateway-pool' undo record: data.removed holds an entry/,
      ],
      [{ applicationGatewayName: farm.gateway, action: 'restore', undoRecord: strayRemoved }, /which were not in the pool before/],
      [
        { applicationGatewayName: farm.gateway, action: 'restore', undoRecord: otherGateway },
        /Input 'undoRecord': is for pool 'web' of gateway 'agw-other'/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'drain', servers: 'IC-Web1', healthTimeoutSeconds: -1 },
        /Input 'healthTimeoutSeconds': -1 is below the minimum of 0/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'drain', servers: 'IC-Web1', drainTimeoutSeconds: -5 },
        /Input 'drainTimeoutSeconds': -5 is below the minimum of 0/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'drain', servers: 'IC-Web1', minHealthyServers: -1 },
        /Input 'minHealthyServers': -1 is below the minimum of 0/,
      ],
      [
        { applicationGatewayName: farm.gateway, action: 'drain', servers: 'IC-Web1', pollIntervalSeconds: 'soon' },
        /Input 'pollIntervalSeconds': 'soon' is not a number of seconds/,
      ],
      [{ applicationGatewayName: farm.gateway, action: 'shrink' }, /Input 'action': 'shrink' is not allowed/],
    ];
    for (const [inputs, message] of cases) {
      const failed = await run(inputs);
      assert.equal(failed.result, 'Failed', JSON.stringify(inputs));
      assert.match(failed.errors.join('\n'), message, JSON.stringify(inputs));
    }
    assert.equal(azure.arm.changes().length, 0, 'no bad input led to a write');
  });
});
