import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addActionRules } from '../emulators/arm-action-rules';
import { CLOUDFLARE_TOKEN, CloudflareEmulator } from '../emulators/cloudflare';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { Emulator } from '../emulators/kit';
import { NEWRELIC_ACCOUNT, NEWRELIC_KEY, NewRelicEmulator } from '../emulators/newrelic';
import { PINGDOM_TOKEN, PingdomEmulator } from '../emulators/pingdom';
import { AzureFixture, RESOURCE_GROUP } from '../helpers/azure-fixture';
import { newWorkDirectory, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/**
 * The undo protocol (shared/core/undo.ts), one row per record kind, each through its bundled task with the
 * real client against the emulators: apply; hostile records while the change is in place; restore (receipt);
 * restore again (no write); hostile records once everything is back; and a restore with no record at all,
 * from the marks the window left on the resources. A hostile record must fail the step with ZERO writes (the
 * emulators' journals) and no receipt. The count of hostile and stale cases is printed at the end.
 */

type Inputs = Record<string, string | number | undefined>;
type Record_ = { kind: string; id: string; windowId?: string; data: any; [key: string]: unknown };

interface Hostile {
  name: string;
  record: (applied: Record_) => Record_;
}

interface Row {
  kind: string;
  setup(): void;
  state(): unknown;
  writes(): number;
  apply(dir: string): Promise<TaskRun>;
  /** No record: the restore finds what to put back in the records folder and on the resources. */
  restore(dir: string, undoRecord?: string): Promise<TaskRun>;
  /** Hostile records given while the change is in place (must refuse with zero writes). */
  during: Hostile[];
  /** Hostile records given once everything is back. */
  after: Hostile[];
  /** Stale cases of this kind (their own assertions); each returns how many cases it played. */
  stale?: () => Promise<number>;
}

const WINDOW = '4242';
const variables = { 'Build.BuildId': WINDOW };
const receiptsIn = (dir: string) =>
  fs.existsSync(path.join(dir, 'records'))
    ? fs.readdirSync(path.join(dir, 'records')).filter((name) => name.endsWith('.restored.json'))
    : [];
const edit = (record: Record_, change: (copy: Record_) => void): Record_ => {
  const copy = JSON.parse(JSON.stringify(record)) as Record_;
  change(copy);
  return copy;
};
const otherWindow: Hostile = { name: 'a record of another window id', record: (r) => edit(r, (c) => (c.windowId = '9999')) };

describe('the undo protocol, for every record kind (bundled tasks, real clients, emulators)', function () {
  const cloudflare = new CloudflareEmulator();
  const pingdom = new PingdomEmulator();
  const newRelic = new NewRelicEmulator();
  const ado = new AzureDevOpsEmulator();
  const scheduler = new Emulator({ name: 'Automate Schedule', https: true });
  const elsewhere = new Emulator({ name: 'Another host', https: true });
  const azure = new AzureFixture({ gatewayUpdateMs: [10, 30], probeDelayMs: 10, healthDelayMs: 10, retryAfterSeconds: 0 });
  const actionRules = addActionRules(azure.arm, ['rg-monitor-prd', 'rg-web-prd']);
  const schedulerCalls: Array<{ host: string; path: string; auth: string }> = [];
  let held = false;
  let hostile = 0;
  let stale = 0;

  before(async () => {
    const record = (host: string) => (request: { path: string; headers: Record<string, unknown> }) => {
      schedulerCalls.push({ host, path: request.path, auth: String(request.headers.authorization ?? '') });
      if (host === 'scheduler') held = request.path.endsWith('/hold');
      return { status: 200, body: { ok: true } };
    };
    scheduler.route('POST', '/ws/jobs/hold', record('scheduler')).route('POST', '/ws/jobs/release', record('scheduler'));
    elsewhere.route('POST', '/ws/jobs/release', record('elsewhere'));
    await Promise.all([
      cloudflare.start(),
      pingdom.start(),
      newRelic.start(),
      ado.start(),
      scheduler.start(),
      elsewhere.start(),
      azure.start(),
    ]);
  });
  after(async () => {
    await Promise.all([cloudflare.stop(), pingdom.stop(), newRelic.stop(), ado.stop(), scheduler.stop(), elsewhere.stop(), azure.stop()]);
    console.log(
      `      undo protocol: ${hostile} hostile (tampered) records and ${stale} stale cases refused or handled, with zero wrong ` +
        `writes and no receipt for what is not back`,
    );
  });

  // ---------------------------------------------------------------------------------------------------- rows
  const cloudflareRun = (inputs: Inputs, dir: string) =>
    runBundledTask('MaintenancePageV1', {
      inputs: { cloudflareConnection: 'cf', zoneName: 'invoicecloud.com', records: 'www\nmy', ...inputs },
      endpoints: { cf: { url: `${cloudflare.url}/client/v4`, scheme: 'Token', parameters: { apitoken: CLOUDFLARE_TOKEN } } },
      variables,
      workDirectory: dir,
    });
  const dns: Row = {
    kind: 'cloudflare-dns',
    setup: () => cloudflare.reset(),
    state: () => [cloudflare.dnsState(), [...cloudflare.records.values()].map((r) => r.comment ?? null)],
    writes: () => cloudflare.writes().length,
    apply: (dir) => cloudflareRun({ action: 'enable', maintenanceTarget: 'icmaintenance.azurewebsites.net' }, dir),
    restore: (dir, undoRecord) => cloudflareRun({ action: 'disable', undoRecord, purgeCache: 'none' }, dir),
    during: [
      otherWindow,
      {
        name: 'www pointed at another host',
        record: (r) =>
          edit(
            r,
            (c) => (c.data.records = [{ ...c.data.records[0], original: { ...c.data.records[0].original, content: 'evil.example.net' } }]),
          ),
      },
      {
        name: 'a record the page never touched',
        record: (r) =>
          edit(r, (c) => {
            const legacy = cloudflare.find('legacy.invoicecloud.com', 'A')!;
            c.data.target = legacy.content;
            c.data.records = [
              {
                id: legacy.id,
                name: legacy.name,
                original: { type: 'A', content: '198.51.100.66', proxied: false, ttl: 3600 },
                maintenance: { type: 'A', content: legacy.content },
              },
            ];
          }),
      },
    ],
    after: [
      {
        name: 'www pointed at another host, once DNS is back',
        record: (r) => edit(r, (c) => (c.data.records[0].original.content = 'stale.example.net')),
      },
    ],
  };

  const pingdomRun = (inputs: Inputs, dir: string) =>
    runBundledTask('PingdomPauseV1', {
      inputs: { pingdomConnection: 'p', ...inputs },
      endpoints: { p: { url: `${pingdom.url}/api/3.1`, scheme: 'Token', parameters: { apitoken: PINGDOM_TOKEN } } },
      variables,
      workDirectory: dir,
    });
  const pingdomState = () => ({
    paused: pingdom.effectiveState().paused,
    tags: [...pingdom.checks.values()].map((c) => `${c.id}:${c.tags.join(',')}`),
    windows: [...pingdom.windows.values()].filter((w) => w.to > pingdom.now() + 61).map((w) => w.id),
  });
  const teamWindow = () => {
    const now = pingdom.now();
    pingdom.windows.set(7001, {
      id: 7001,
      description: 'DBA team: storage upgrade',
      from: now - 60,
      to: now + 7200,
      uptime: [1003],
      tms: [],
    });
  };
  const pingdomWindow: Row = {
    kind: 'pingdom (maintenance window)',
    setup: () => {
      pingdom.reset();
      teamWindow();
    },
    state: pingdomState,
    writes: () => pingdom.writes().length,
    apply: (dir) => pingdomRun({ action: 'pause', checkIds: '1001,1002', durationMinutes: 120 }, dir),
    restore: (dir, undoRecord) => pingdomRun({ action: 'resume', undoRecord }, dir),
    during: [otherWindow],
    after: [{ name: "another team's Pingdom window", record: (r) => edit(r, (c) => (c.data.windowIds = [7001])) }],
  };
  const pingdomPause: Row = {
    kind: 'pingdom (paused checks)',
    setup: () => pingdom.reset(),
    state: pingdomState,
    writes: () => pingdom.writes().length,
    apply: (dir) => pingdomRun({ action: 'pause', mode: 'pauseChecks', checkTags: 'web', durationMinutes: 120 }, dir),
    restore: (dir, undoRecord) => pingdomRun({ action: 'resume', undoRecord }, dir),
    during: [
      otherWindow,
      {
        name: 'a check paused before the window',
        record: (r) => edit(r, (c) => ((c.data.pausedByUs = [1004]), (c.data.alreadyPaused = []))),
      },
    ],
    after: [
      {
        name: 'a check paused before the window, once the rest is back',
        record: (r) => edit(r, (c) => (c.data.pausedByUs = [1004, ...c.data.pausedByUs])),
      },
    ],
    stale: async () => {
      // A pause re-run on a fresh agent: the checks it finds paused carry the window's tag, so they stay ours.
      pingdom.reset();
      const start = pingdomState();
      const first = await pingdomRun({ action: 'pause', mode: 'pauseChecks', checkTags: 'web', durationMinutes: 120 }, newWorkDirectory());
      const rerun = await pingdomRun({ action: 'pause', mode: 'pauseChecks', checkTags: 'web', durationMinutes: 120 }, newWorkDirectory());
      assert.equal(rerun.result, 'Succeeded', rerun.stdout);
      assert.deepEqual(
        JSON.parse(rerun.outputs.undoRecord).data.pausedByUs,
        JSON.parse(first.outputs.undoRecord).data.pausedByUs,
        'the re-run takes no pause of this window for an original',
      );
      const back = await pingdomRun({ action: 'resume', undoRecord: rerun.outputs.undoRecord }, newWorkDirectory());
      assert.equal(back.result, 'Succeeded', back.stdout);
      assert.deepEqual(pingdomState(), start);
      return 1;
    },
  };

  const newRelicRun = (inputs: Inputs, dir: string) =>
    runBundledTask('AlertMuteV1', {
      inputs: { provider: 'newRelic', newRelicConnection: 'nr', ...inputs },
      endpoints: {
        nr: {
          url: `${newRelic.url}/graphql`,
          scheme: 'Token',
          parameters: { apitoken: NEWRELIC_KEY },
          data: { accountId: String(NEWRELIC_ACCOUNT) },
        },
      },
      variables,
      workDirectory: dir,
    });
  const theirRule = () => [...newRelic.rules.values()].find((rule) => rule.name === 'Weekly batch jobs')!;
  const mutingRule: Row = {
    kind: 'newrelic-muting-rule',
    setup: () => newRelic.reset(),
    state: () => newRelic.ruleState(),
    writes: () => newRelic.operations('create') + newRelic.operations('update') + newRelic.operations('delete'),
    apply: (dir) => newRelicRun({ action: 'mute', policyNames: 'Web servers', durationMinutes: 90 }, dir),
    restore: (dir, undoRecord) => newRelicRun({ action: 'unmute', undoRecord }, dir),
    during: [otherWindow, { name: "another team's muting rule, by id", record: (r) => edit(r, (c) => (c.data.ruleId = theirRule().id)) }],
    after: [
      {
        name: "another team's muting rule, by id and name",
        record: (r) => edit(r, (c) => ((c.data.ruleId = theirRule().id), (c.data.name = theirRule().name))),
      },
    ],
  };

  const azureRun = (task: string, inputs: Inputs, dir: string, extra: Partial<RunTaskOptions> = {}) =>
    azure.run(task, inputs, { variables, workDirectory: dir, ...extra });
  const theirActionRule = () => {
    const id = actionRules.ruleId('rg-monitor-prd', 'dba-quiet-hours');
    actionRules.rules.set(id.toLowerCase(), {
      id,
      name: 'dba-quiet-hours',
      type: 'Microsoft.AlertsManagement/actionRules',
      location: 'Global',
      tags: { owner: 'dba-team' },
      properties: { enabled: true, scopes: [azure.arm.resourceGroupId('rg-db')], actions: [{ actionType: 'RemoveAllActionGroups' }] },
    });
    return id;
  };
  const alertRule: Row = {
    kind: 'azure-alert-processing-rule',
    setup: () => {
      azure.reset();
      theirActionRule();
    },
    state: () => [...actionRules.rules.keys()].sort(),
    writes: () => azure.arm.changes().length,
    apply: (dir) =>
      azureRun(
        'AlertMuteV1',
        { provider: 'azureMonitor', action: 'mute', resourceGroup: 'rg-monitor-prd', scopes: 'rg-web-prd', durationMinutes: 60 },
        dir,
      ),
    restore: (dir, undoRecord) =>
      azureRun('AlertMuteV1', { provider: 'azureMonitor', action: 'unmute', resourceGroup: 'rg-monitor-prd', undoRecord }, dir),
    during: [
      otherWindow,
      {
        name: "another team's alert processing rule",
        record: (r) => edit(r, (c) => ((c.data.ruleId = theirActionRule()), (c.data.name = 'dba-quiet-hours'))),
      },
    ],
    after: [
      {
        name: "another team's alert processing rule, once ours is gone",
        record: (r) => edit(r, (c) => (c.data.ruleId = theirActionRule())),
      },
    ],
  };

  let farmGateway = '';
  const poolState = () => [azure.arm.pool(RESOURCE_GROUP, farmGateway, 'web'), azure.arm.gateway(RESOURCE_GROUP, farmGateway).tags];
  const drainRun = (inputs: Inputs, dir: string) =>
    azureRun(
      'AppGatewayDrainV1',
      { applicationGatewayName: farmGateway, backendPoolName: 'web', healthTimeoutSeconds: 20, ...inputs },
      dir,
    );
  const addressPool: Row = {
    kind: 'appgateway-pool (addresses)',
    setup: () => {
      azure.reset();
      farmGateway = azure.seedWebFarm({ count: 6 }).gateway;
    },
    state: poolState,
    writes: () => azure.arm.changes().length,
    apply: (dir) => drainRun({ action: 'drain', servers: 'IC-Web1,IC-Web2', minHealthyServers: 2 }, dir),
    restore: (dir, undoRecord) => drainRun({ action: 'restore', undoRecord }, dir),
    during: [
      otherWindow,
      {
        name: 'a record that puts nothing back while servers stay drained (no receipt)',
        record: (r) => edit(r, (c) => (c.data.removed = [])),
      },
    ],
    after: [
      {
        name: 'a foreign IP added to the production pool',
        record: (r) =>
          edit(r, (c) => {
            c.data.membersBefore.push({ type: 'ipAddress', ipAddress: '203.0.113.99' });
            c.data.removed = [{ type: 'ipAddress', ipAddress: '203.0.113.99' }];
          }),
      },
    ],
  };
  const nicPool: Row = {
    kind: 'appgateway-pool (NICs)',
    setup: () => {
      azure.reset();
      farmGateway = azure.seedWebFarm({ count: 4, kind: 'nics' }).gateway;
    },
    state: () => [azure.arm.pool(RESOURCE_GROUP, farmGateway, 'web')],
    writes: () => azure.arm.changes().length,
    apply: (dir) => drainRun({ action: 'drain', servers: 'IC-Web1', minHealthyServers: 2 }, dir),
    restore: (dir, undoRecord) => drainRun({ action: 'restore', undoRecord }, dir),
    during: [otherWindow],
    after: [
      {
        name: 'an IP configuration the drain never took out',
        record: (r) =>
          edit(
            r,
            (c) =>
              (c.data.removed = [
                { ...c.data.removed[0], id: c.data.removed[0].id.replace('ic-web1-nic', 'ic-web9-nic'), label: 'IC-Web9' },
              ]),
          ),
      },
    ],
  };

  const adoRun = (inputs: Inputs, dir: string) =>
    runBundledTask('RescheduleJobsV1', {
      inputs: { pipelines: '\\Product Integrations', ...inputs },
      endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
      variables: { 'System.CollectionUri': ado.collectionUrl, 'System.TeamProject': ado.project, ...variables },
      workDirectory: dir,
    });
  const adoState = () =>
    [...ado.definitions.values()].map((d) => `${d.name}:${d.queueStatus}:${JSON.stringify(d.tags)}`).map((s) => s.replace(':[]', ':'));
  const seedPipelines = () => {
    ado.reset();
    ado.addPipeline({ name: 'Nightly export', folder: '\\Product Integrations' });
    ado.addPipeline({ name: 'Hourly sync', folder: '\\Product Integrations' });
    ado.addPipeline({ name: 'Old feed', folder: '\\Product Integrations', queueStatus: 'paused' });
  };
  const statusOf = (name: string) => [...ado.definitions.values()].find((d) => d.name === name)!.queueStatus;
  const heldPipelines: Row = {
    kind: 'devops-queue-status',
    setup: seedPipelines,
    state: adoState,
    writes: () => ado.writes().length,
    apply: (dir) => adoRun({ action: 'hold' }, dir),
    restore: (dir, undoRecord) => adoRun({ action: 'release', undoRecord }, dir),
    during: [
      otherWindow,
      {
        name: 'a pipeline paused before the window listed as held',
        record: (r) =>
          edit(
            r,
            (c) =>
              (c.data.definitions = [
                {
                  id: [...ado.definitions.values()].find((d) => d.name === 'Old feed')!.id,
                  name: 'Old feed',
                  path: '\\Product Integrations',
                  previous: 'enabled',
                  revisionBefore: 1,
                },
              ]),
          ),
      },
      { name: 'a record of another project', record: (r) => edit(r, (c) => (c.data.project = 'OtherProject')) },
      {
        name: "a held pipeline whose status before contradicts the pipeline's mark",
        record: (r) => edit(r, (c) => (c.data.definitions[0].previous = 'disabled')),
      },
    ],
    after: [
      {
        name: 'a pipeline paused before the window, once the rest is back',
        record: (r) =>
          edit(
            r,
            (c) =>
              (c.data.definitions = [
                {
                  id: [...ado.definitions.values()].find((d) => d.name === 'Old feed')!.id,
                  name: 'Old feed',
                  path: '\\Product Integrations',
                  previous: 'enabled',
                  revisionBefore: 1,
                },
              ]),
          ),
      },
    ],
    stale: async () => {
      // A Pre-Maintenance hold re-run on a fresh agent: the marks keep the true originals.
      seedPipelines();
      const start = adoState();
      await adoRun({ action: 'hold' }, newWorkDirectory());
      const rerun = await adoRun({ action: 'hold' }, newWorkDirectory());
      assert.equal(rerun.result, 'Succeeded', rerun.stdout);
      const previous = JSON.parse(rerun.outputs.undoRecord)
        .data.definitions.map((d: { name: string; previous: string }) => `${d.name}:${d.previous}`)
        .sort();
      assert.deepEqual(
        previous,
        ['Hourly sync:enabled', 'Nightly export:enabled'],
        "the re-run records the true status before, not the first hold's paused",
      );
      const released = await adoRun({ action: 'release', undoRecord: rerun.outputs.undoRecord }, newWorkDirectory());
      assert.equal(released.result, 'Succeeded', released.stdout);
      assert.deepEqual(adoState(), start, 'nothing left paused for good');

      // A pipeline an admin disabled after the hold stays disabled.
      seedPipelines();
      const hold = await adoRun({ action: 'hold' }, newWorkDirectory());
      const nightly = [...ado.definitions.values()].find((d) => d.name === 'Nightly export')!;
      ado.editDefinition(nightly.id, { queueStatus: 'disabled' });
      const writes = ado.writes().length;
      const nightlyPuts = ado.calls('PUT', `/Definitions/${nightly.id}`).length;
      const release = await adoRun({ action: 'release', undoRecord: hold.outputs.undoRecord }, newWorkDirectory());
      assert.equal(release.result, 'Succeeded', release.stdout);
      assert.equal(statusOf('Nightly export'), 'disabled', "the admin's later choice stands");
      assert.equal(statusOf('Hourly sync'), 'enabled');
      assert.equal(ado.calls('PUT', `/Definitions/${nightly.id}`).length, nightlyPuts, 'no write to the pipeline the admin disabled');
      const hourly = [...ado.definitions.values()].find((d) => d.name === 'Hourly sync')!;
      assert.deepEqual(
        ado
          .writes()
          .slice(writes)
          .map((w) => `${w.method} ${w.path.replace(/^.*\/_apis\/build\//, '').replace(/\/tags\b/i, '/tags')}`),
        [`PUT Definitions/${hourly.id}`, `DELETE definitions/${hourly.id}/tags/maintenance-window.held:${WINDOW}:enabled:paused`],
        'the other pipeline only: its status back, then its mark removed (the Tags API)',
      );
      // With no record at all (recovery from the marks alone) the mark says the hold paused it, so a pipeline
      // disabled since is someone else's choice there too, not a hold to undo.
      await adoRun({ action: 'release' }, newWorkDirectory());
      assert.equal(statusOf('Nightly export'), 'disabled', 'the marks alone do not re-enable what an admin disabled');
      assert.equal(ado.calls('PUT', `/Definitions/${nightly.id}`).length, nightlyPuts, 'no write from the marks alone either');
      return 2;
    },
  };

  const schedulerRun = (inputs: Inputs, dir: string) =>
    runBundledTask('RescheduleJobsV1', {
      inputs: { provider: 'http', schedulerConnection: 'skybot', schedulerName: 'Automate Schedule', ...inputs },
      endpoints: {
        skybot: {
          url: `${scheduler.url}/ws/`,
          scheme: 'UsernamePassword',
          parameters: { username: 'svc-window', password: 'skybot-secret-pw' },
        },
      },
      variables,
      workDirectory: dir,
    });
  const schedulerRow: Row = {
    kind: 'scheduler-hold',
    setup: () => {
      schedulerCalls.length = 0;
      held = false;
    },
    state: () => held,
    writes: () => schedulerCalls.length,
    apply: (dir) => schedulerRun({ action: 'hold', holdUrl: 'jobs/hold', releaseUrl: 'jobs/release' }, dir),
    restore: (dir, undoRecord) =>
      schedulerRun({ action: 'release', undoRecord, ...(undoRecord ? {} : { releaseUrl: 'jobs/release' }) }, dir),
    during: [
      otherWindow,
      {
        name: "a scheduler URL on another host (the connection's credentials must not go there)",
        record: (r) => edit(r, (c) => (c.data.releaseUrl = `${elsewhere.url}/ws/jobs/release`)),
      },
    ],
    after: [{ name: 'a hold URL on another host', record: (r) => edit(r, (c) => (c.data.holdUrl = `${elsewhere.url}/ws/jobs/hold`)) }],
  };

  const rows = [dns, pingdomWindow, pingdomPause, mutingRule, alertRule, addressPool, nicPool, heldPipelines, schedulerRow];

  for (const row of rows) {
    it(
      `${row.kind}: apply, hostile records refused, restore, restore again, hostile records refused, restore from ` + `the marks alone`,
      async function () {
        this.timeout(120_000);
        row.setup();
        const start = row.state();
        const dir = newWorkDirectory();
        const applied = await row.apply(dir);
        assert.equal(applied.result, 'Succeeded', applied.stdout);
        assert.notDeepEqual(row.state(), start, 'the change is in place');
        const record = JSON.parse(applied.outputs.undoRecord) as Record_;

        const refuse = async (cases: Hostile[], when: string) => {
          for (const hostileCase of cases) {
            const writes = row.writes();
            const before = JSON.stringify(row.state());
            const where = newWorkDirectory();
            const refused = await row.restore(where, JSON.stringify(hostileCase.record(record)));
            assert.equal(refused.result, 'Failed', `${row.kind}, ${when}: ${hostileCase.name}\n${refused.stdout}`);
            assert.equal(row.writes(), writes, `${row.kind}, ${when}: ${hostileCase.name}: zero writes`);
            assert.equal(JSON.stringify(row.state()), before, `${row.kind}, ${when}: ${hostileCase.name}: nothing changed`);
            assert.deepEqual(receiptsIn(where), [], `${row.kind}, ${when}: ${hostileCase.name}: no receipt`);
            hostile++;
          }
        };
        await refuse(row.during, 'while the change is in place');

        const restored = await row.restore(dir, applied.outputs.undoRecord);
        assert.equal(restored.result, 'Succeeded', restored.stdout);
        assert.deepEqual(row.state(), start, 'restored exactly');
        assert.equal(receiptsIn(dir).length, 1, 'one receipt, once read back');

        const writes = row.writes();
        const again = await row.restore(newWorkDirectory(), applied.outputs.undoRecord);
        assert.equal(again.result, 'Succeeded', again.stdout);
        if (row !== schedulerRow) assert.equal(row.writes(), writes, 'restore again writes nothing');
        assert.deepEqual(row.state(), start);

        await refuse(row.after, 'once everything is back');

        const second = await row.apply(newWorkDirectory());
        assert.equal(second.result, 'Succeeded', second.stdout);
        const fromMarks = await row.restore(newWorkDirectory());
        assert.equal(fromMarks.result, 'Succeeded', fromMarks.stdout);
        assert.deepEqual(row.state(), start, 'a restore with no record puts back what the marks name');
        if (row === schedulerRow) {
          assert.ok(
            schedulerCalls.every((call) => call.host === 'scheduler'),
            'no call ever reached another host',
          );
        }
        if (row.stale) stale += await row.stale();
      },
    );
  }
});
