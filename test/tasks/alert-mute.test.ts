import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import { addActionRules } from '../emulators/arm-action-rules';
import { ArmEmulator } from '../emulators/arm';
import { EntraEmulator } from '../emulators/entra';
import { NEWRELIC_ACCOUNT, NEWRELIC_KEY, NewRelicEmulator } from '../emulators/newrelic';
import { newWorkDirectory, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

const variables = { 'Build.BuildId': '4242' };
type Inputs = Record<string, string | number | undefined>;

/** The silence must end at the window end plus grace, measured around the run, and never later. */
function assertEndsInBounds(end: Date, before: number, after: number, minutes: number): void {
  const bound = (at: number) => at + minutes * 60_000;
  assert.ok(end.getTime() <= bound(after), `ends ${end.toISOString()}, no later than ${new Date(bound(after)).toISOString()}`);
  assert.ok(end.getTime() >= bound(before) - 1000, `ends ${end.toISOString()}, not before ${new Date(bound(before)).toISOString()}`);
}

describe('AlertMuteV1 with New Relic (bundled, against the NerdGraph emulator)', function () {
  const newRelic = new NewRelicEmulator();
  before(() => newRelic.start());
  after(() => newRelic.stop());
  beforeEach(() => newRelic.reset());

  const endpoints = (url = `${newRelic.url}/graphql`, key = NEWRELIC_KEY, accountId = String(NEWRELIC_ACCOUNT)) => ({
    nr: { url, scheme: 'Token', parameters: { apitoken: key }, data: { accountId } },
  });
  async function run(inputs: Inputs, options: Partial<RunTaskOptions> = {}): Promise<TaskRun> {
    const result = await runBundledTask('AlertMuteV1', {
      inputs: { provider: 'newRelic', newRelicConnection: 'nr', ...inputs },
      endpoints: endpoints(),
      variables,
      ...options,
    });
    assert.ok(!result.visibleOutput.includes(NEWRELIC_KEY), 'the key never reaches the output');
    return result;
  }
  const mute = (inputs: Inputs = {}, options: Partial<RunTaskOptions> = {}) =>
    run(
      {
        action: 'mute',
        policyNames: 'Web servers',
        entityNames: 'IC-Web1\nIC-Web2',
        entityTags: 'env=prd\nenv=production',
        durationMinutes: 90,
        graceMinutes: 15,
        ...inputs,
      },
      options,
    );
  const unmute = (undoRecord: string, options: Partial<RunTaskOptions> = {}) => run({ action: 'unmute', undoRecord }, options);

  it('creates one muting rule ending at the window end plus grace (naive local time), and unmute deletes only it', async () => {
    const start = newRelic.ruleState();
    const dir = newWorkDirectory();
    const before = Date.now();
    const muted = await mute({}, { workDirectory: dir });
    const after = Date.now();
    assert.equal(muted.result, 'Succeeded', muted.stdout);
    const ours = [...newRelic.rules.values()].filter((rule) => rule.name === 'maintenance-window-4242');
    assert.equal(ours.length, 1);
    const rule = ours[0];
    assert.deepEqual(rule.condition, {
      operator: 'AND',
      conditions: [
        { attribute: 'policyName', operator: 'IN', values: ['Web servers'] },
        { attribute: 'targetName', operator: 'IN', values: ['IC-Web1', 'IC-Web2'] },
        { attribute: 'tags.env', operator: 'IN', values: ['prd', 'production'] },
      ],
    });
    assert.equal(rule.schedule!.timeZone, 'America/New_York');
    assert.match(rule.schedule!.endTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'a naive local time');
    assertEndsInBounds(newRelic.endOf(rule)!, before, after, 90 + 15);
    assert.equal(newRelic.status(rule), 'ACTIVE');
    assert.match(muted.summaries[0], /New Relic: notifications muted until .* \(window end .* \+ 15 min grace\)/);
    assert.match(muted.summaries[0], /policyName in Web servers and targetName in IC-Web1, IC-Web2 and tags\.env in prd, production/);

    const unmuted = await unmute(muted.outputs.undoRecord, { workDirectory: dir });
    assert.equal(unmuted.result, 'Succeeded', unmuted.stdout);
    assert.match(unmuted.summaries[0], /notifications back on \(muting rule 'maintenance-window-4242' removed\)/);
    assert.match(unmuted.summaries[0], /Undone from undo record/);
    assert.deepEqual(newRelic.ruleState(), start, 'the other rule is untouched');
    assert.ok(fs.readdirSync(path.join(dir, 'records')).some((name) => name.endsWith('.restored.json')));
  });

  it('mute twice keeps one rule; unmute twice deletes once', async () => {
    const start = newRelic.ruleState();
    const first = await mute();
    const second = await mute({ durationMinutes: 60 });
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.equal(newRelic.rules.size, 2, 'the seed rule and one of ours');
    assert.equal(newRelic.operations('create'), 1);
    assert.match(second.summaries[0], /kept from an earlier run/);
    const r1 = await unmute(second.outputs.undoRecord);
    const r2 = await unmute(first.outputs.undoRecord);
    assert.equal(r1.result, 'Succeeded', r1.stdout);
    assert.equal(r2.result, 'Succeeded', r2.stdout);
    assert.match(r2.summaries[0], /already gone; nothing else was touched/);
    assert.equal(newRelic.operations('delete'), 1);
    assert.deepEqual(newRelic.ruleState(), start);
  });

  it(
    'a mute killed before it recorded the rule id is found again by name and window, by a re-run and by unmute (also ' +
      'killed and run again)',
    async () => {
      const start = newRelic.ruleState();
      const dir = newWorkDirectory();
      newRelic.fault({ kind: 'slow', method: 'POST', path: '/graphql', delayMs: 300, times: 2 });
      const killed = await mute({}, { workDirectory: dir, killOnLine: (line) => /Undo record .* written/.test(line) });
      assert.equal(killed.killed, true);
      const file = path.join(dir, 'records', fs.readdirSync(path.join(dir, 'records'))[0]);
      const record = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(record.data.ruleId, undefined, 'the record on disk has no rule id yet');
      // Whether the create got out before the kill is a race: let a create in flight land, else make one as if it had.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const end = DateTime.now().setZone('America/New_York').plus({ minutes: 60 }).toFormat("yyyy-LL-dd'T'HH:mm:ss");
      const created = newRelic.operations('create');
      newRelic.journal.length = 0;
      if (!created)
        newRelic.addRule({
          name: 'maintenance-window-4242',
          description: `Muted for the maintenance window ${record.data.marker}`,
          enabled: true,
          condition: record.data.condition,
          schedule: { startTime: '2025-01-01T00:00:00', endTime: end, timeZone: 'America/New_York' },
          actionOnMutingRuleWindowEnded: 'CLOSE_ISSUES_ON_INACTIVE',
        });
      const again = await mute({}, { workDirectory: dir });
      assert.equal(again.result, 'Succeeded', again.stdout);
      assert.equal(newRelic.operations('create'), 0, 'the re-run adopted the rule');
      newRelic.fault({ kind: 'slow', method: 'POST', path: '/graphql', delayMs: 300, times: 2 });
      const half = await unmute(file, { killOnLine: (line) => /^Deleting muting rule/.test(line) });
      assert.equal(half.killed, true);
      const unmuted = await unmute(file, { workDirectory: newWorkDirectory() });
      assert.equal(unmuted.result, 'Succeeded', unmuted.stdout);
      assert.deepEqual(newRelic.ruleState(), start);
    },
  );

  it('survives a 429 and a 5xx on every call, and a lost answer to the create, without a duplicate rule', async () => {
    const start = newRelic.ruleState();
    for (const operation of ['list', 'create', 'update', 'delete'] as const) {
      newRelic.operationFaults.push({ operation, kind: 'status', status: 429, retryAfter: 0 }, { operation, kind: 'status', status: 503 });
    }
    newRelic.operationFaults.push({ operation: 'create', kind: 'lost' });
    const muted = await mute();
    assert.equal(muted.result, 'Succeeded', muted.stdout);
    assert.equal([...newRelic.rules.values()].filter((r) => r.name === 'maintenance-window-4242').length, 1, 'no duplicate');
    const again = await mute();
    assert.equal(again.result, 'Succeeded', again.stdout);
    const unmuted = await unmute(again.outputs.undoRecord);
    assert.equal(unmuted.result, 'Succeeded', unmuted.stdout);
    assert.equal(newRelic.operationFaults.length, 0, 'every injected fault was met');
    assert.deepEqual(newRelic.ruleState(), start);
  });

  it('refuses bad inputs before any change, naming the input', async () => {
    const cases: Array<[Inputs, RegExp]> = [
      [
        { policyNames: undefined, entityNames: undefined, entityTags: undefined },
        /Input 'policyNames': give at least one of policyNames, conditionNames, entityNames or entityTags/,
      ],
      [{ entityTags: 'env' }, /Input 'entityTags': 'env' is not a tag as key=value/],
      [{ durationMinutes: undefined }, /Input 'durationMinutes': give 'durationMinutes' or 'until'/],
      [{ until: '10:00' }, /Input 'until': give either/],
      [{ graceMinutes: -1 }, /Input 'graceMinutes'/],
      [{ timeZone: 'EST5' }, /Input 'timeZone'/],
      [{ provider: 'datadog' }, /Input 'provider': 'datadog' is not allowed/],
      [
        { action: 'unmute', undoRecord: '{"kind":"pingdom","id":"x","data":{}}' },
        /Input 'undoRecord': is an undo record of kind 'pingdom'/,
      ],
      [{ newRelicConnection: undefined }, /Input 'newRelicConnection': is required/],
    ];
    for (const [inputs, message] of cases) {
      const result = await mute(inputs);
      assert.equal(result.result, 'Failed', JSON.stringify(inputs));
      assert.match(result.errors.join('\n'), message, JSON.stringify(inputs));
    }
    const noAccount = await mute({}, { endpoints: endpoints(undefined, NEWRELIC_KEY, '') });
    assert.match(noAccount.errors.join('\n'), /Input 'newRelicConnection': service connection 'nr' has no numeric account id/);
    const badKey = await mute({}, { endpoints: endpoints(undefined, 'NRAK-WRONGKEY000') });
    assert.match(badKey.errors.join('\n'), /New Relic: Invalid API key Check the New Relic service connection: it needs a User key/);
    assert.ok(!badKey.visibleOutput.includes('NRAK-WRONGKEY000'));
    const otherAccount = await mute({}, { endpoints: endpoints(undefined, NEWRELIC_KEY, '999') });
    assert.match(otherAccount.errors.join('\n'), /Account 999 not found or not accessible/);
    assert.equal(newRelic.operations('create') + newRelic.operations('update') + newRelic.operations('delete'), 0, 'nothing was changed');
  });

  it('takes the connection URL with or without /graphql and a trailing slash', async () => {
    for (const url of [newRelic.url, `${newRelic.url}/graphql/`]) {
      const muted = await mute({}, { endpoints: endpoints(url) });
      assert.equal(muted.result, 'Succeeded', `${url}: ${muted.stdout}`);
    }
    assert.equal(newRelic.operations('create'), 1);
  });
});

describe('AlertMuteV1 with Azure Monitor (bundled, real @azure/arm-resources against the ARM emulator)', function () {
  const TENANT = '72f988bf-0000-4000-8000-00000000a1b2';
  const CLIENT = 'a0000000-0000-4000-8000-0000000000f1';
  const SECRET = 'Mon~8Q~alert-processing-secret_0123456789';
  const AUDIENCE = 'https://management.emulator.test/';
  const entra = new EntraEmulator();
  const arm = new ArmEmulator(entra, { audience: AUDIENCE });
  const actionRules = addActionRules(arm, ['rg-monitor-prd', 'rg-web-prd']);
  const LEAST_ACTIONS = [
    'Microsoft.AlertsManagement/actionRules/read',
    'Microsoft.AlertsManagement/actionRules/write',
    'Microsoft.AlertsManagement/actionRules/delete',
  ];

  before(async () => {
    await Promise.all([entra.start(), arm.start()]);
    entra.addClientSecret(TENANT, CLIENT, SECRET);
  });
  after(() => Promise.all([entra.stop(), arm.stop()]));
  beforeEach(() => {
    entra.reset();
    arm.reset();
    arm.grant(LEAST_ACTIONS);
  });

  const endpoints = () => ({
    azure: {
      url: `${arm.url}/`,
      scheme: 'ServicePrincipal',
      parameters: { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: SECRET, authenticationType: 'spnKey' },
      data: {
        subscriptionId: arm.subscriptionId,
        environment: 'AzureCloud',
        environmentAuthorityUrl: `${entra.url}/`,
        activeDirectoryServiceEndpointResourceId: AUDIENCE,
      },
    },
  });
  async function run(inputs: Inputs, options: Partial<RunTaskOptions> = {}): Promise<TaskRun> {
    const result = await runBundledTask('AlertMuteV1', {
      inputs: { provider: 'azureMonitor', azureSubscription: 'azure', ...inputs },
      endpoints: endpoints(),
      variables,
      ...options,
    });
    for (const secret of [SECRET, ...entra.issuedTokens()])
      assert.ok(!result.visibleOutput.includes(secret), 'no secret or token reaches the output');
    return result;
  }
  const vm = () => `${arm.resourceGroupId('rg-web-prd')}/providers/Microsoft.Compute/virtualMachines/IC-Web1`;
  const mute = (inputs: Inputs = {}, options: Partial<RunTaskOptions> = {}) =>
    run(
      {
        action: 'mute',
        resourceGroup: 'rg-monitor-prd',
        scopes: `rg-web-prd\n${vm()}`,
        severities: 'Sev1, 2',
        durationMinutes: 120,
        graceMinutes: 10,
        ...inputs,
      },
      options,
    );
  const unmute = (undoRecord: string, options: Partial<RunTaskOptions> = {}) => run({ action: 'unmute', undoRecord }, options);
  const ruleKey = () => actionRules.ruleId('rg-monitor-prd', 'maintenance-window-4242').toLowerCase();

  it('creates an alert processing rule removing all action groups until the window end plus grace, and unmute deletes it', async () => {
    const dir = newWorkDirectory();
    const before = Date.now();
    const muted = await mute({}, { workDirectory: dir });
    const after = Date.now();
    assert.equal(muted.result, 'Succeeded', muted.stdout);
    const rule = actionRules.rules.get(ruleKey());
    assert.ok(rule, 'the rule exists');
    assert.deepEqual(rule.properties.actions, [{ actionType: 'RemoveAllActionGroups' }]);
    assert.deepEqual(rule.properties.scopes, [arm.resourceGroupId('rg-web-prd'), vm()]);
    assert.deepEqual(rule.properties.conditions, [{ field: 'Severity', operator: 'Equals', values: ['Sev1', 'Sev2'] }]);
    assert.equal(rule.properties.schedule.timeZone, 'UTC');
    assertEndsInBounds(new Date(`${rule.properties.schedule.effectiveUntil}Z`), before, after, 120 + 10);
    assert.equal(rule.tags['maintenance-window'], '4242');
    assert.equal(actionRules.activeRules().length, 1);
    assert.match(muted.summaries[0], /Azure Monitor: notifications muted until .* \+ 10 min grace/);
    assert.match(
      muted.summaries[0],
      /rg-web-prd, rg-web-prd\/providers\/Microsoft\.Compute\/virtualMachines\/IC-Web1 where Severity = Sev1 or Sev2/,
    );

    const unmuted = await unmute(muted.outputs.undoRecord, { workDirectory: dir });
    assert.equal(unmuted.result, 'Succeeded', unmuted.stdout);
    assert.equal(actionRules.rules.size, 0);
    assert.match(unmuted.summaries[0], /notifications back on \(rule 'maintenance-window-4242' removed\)/);
    assert.deepEqual([...arm.actionsUsed].sort(), [...LEAST_ACTIONS].sort(), 'read, write and delete on actionRules are all it needs');
    assert.ok(fs.readdirSync(path.join(dir, 'records')).some((name) => name.endsWith('.restored.json')));
  });

  it('mute twice, unmute twice, and a killed mute and a killed unmute run again, end with no rule', async () => {
    const first = await mute();
    const second = await mute({ durationMinutes: 60 });
    assert.equal(second.result, 'Succeeded', second.stdout);
    assert.match(second.summaries[0], /kept from an earlier run/);
    assert.equal(actionRules.rules.size, 1);
    const u1 = await unmute(second.outputs.undoRecord);
    const u2 = await unmute(first.outputs.undoRecord);
    assert.equal(u1.result, 'Succeeded', u1.stdout);
    assert.equal(u2.result, 'Succeeded', u2.stdout);
    assert.match(u2.summaries[0], /already gone/);
    assert.equal(arm.calls('DELETE').length, 1);

    const dir = newWorkDirectory();
    arm.fault({ kind: 'slow', method: 'PUT', path: /actionRules/, delayMs: 300 });
    const killed = await mute({}, { workDirectory: dir, killOnLine: (line) => /Creating alert processing rule/.test(line) });
    assert.equal(killed.killed, true);
    const again = await mute({}, { workDirectory: dir });
    assert.equal(again.result, 'Succeeded', again.stdout);
    arm.fault({ kind: 'slow', method: 'DELETE', path: /actionRules/, delayMs: 300 });
    const half = await unmute(again.outputs.undoRecord, {
      workDirectory: dir,
      killOnLine: (line) => /^Deleting alert processing rule/.test(line),
    });
    assert.equal(half.killed, true);
    const done = await unmute(again.outputs.undoRecord, { workDirectory: dir });
    assert.equal(done.result, 'Succeeded', done.stdout);
    assert.equal(actionRules.rules.size, 0);
  });

  it('survives a 429 and a 5xx on every ARM call', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      arm.fault({
        kind: 'status',
        status: 429,
        retryAfter: 0,
        method,
        path: /actionRules/,
        body: { error: { code: 'TooManyRequests', message: 'throttled' } },
      });
      arm.fault({
        kind: 'status',
        status: 503,
        method,
        path: /actionRules/,
        body: { error: { code: 'ServiceUnavailable', message: 'try again' } },
      });
    }
    const muted = await mute();
    assert.equal(muted.result, 'Succeeded', muted.stdout);
    const unmuted = await unmute(muted.outputs.undoRecord);
    assert.equal(unmuted.result, 'Succeeded', unmuted.stdout);
    assert.equal(actionRules.rules.size, 0);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const statuses = arm.calls(method, /actionRules/).map((c) => c.status);
      assert.ok(statuses.includes(429) && statuses.includes(503), `${method}: ${statuses}`);
    }
  });

  it("never overwrites or deletes a rule of the same name that is not this window's", async () => {
    const id = actionRules.ruleId('rg-monitor-prd', 'maintenance-window-4242');
    const theirs = {
      id,
      name: 'maintenance-window-4242',
      type: 'Microsoft.AlertsManagement/actionRules',
      location: 'Global',
      tags: { owner: 'dba-team' },
      properties: { enabled: true, scopes: [arm.resourceGroupId('rg-db')], actions: [{ actionType: 'RemoveAllActionGroups' }] },
    };
    actionRules.rules.set(id.toLowerCase(), theirs);
    const refused = await mute();
    assert.equal(refused.result, 'Failed');
    assert.match(refused.errors.join('\n'), /exists already in rg-monitor-prd and was not made for this window; refusing to overwrite it/);
    const record = {
      kind: 'azure-alert-processing-rule',
      version: 1,
      id: 'r1',
      windowId: '4242',
      createdAt: '',
      description: '',
      data: { ruleId: id, name: 'maintenance-window-4242', scopes: [], conditions: [], endsAt: new Date().toISOString() },
    };
    const notOurs = await unmute(JSON.stringify(record));
    assert.equal(notOurs.result, 'Failed');
    assert.match(notOurs.errors.join('\n'), /is not tagged for window 4242 \(someone replaced it\); leaving it alone/);
    assert.equal(arm.writes().length, 0);
    assert.deepEqual(actionRules.rules.get(id.toLowerCase()), theirs);
  });

  it('refuses bad inputs before any ARM call, naming the input; a missing role is explained', async () => {
    const cases: Array<[Inputs, RegExp]> = [
      [{ resourceGroup: undefined }, /Input 'resourceGroup': is required/],
      [{ scopes: undefined }, /Input 'scopes': give at least one resource group or resource id/],
      [
        { scopes: '/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-x' },
        /Input 'scopes': .* is not a resource id in the connection's subscription/,
      ],
      [{ scopes: 'rg web' }, /Input 'scopes': 'rg web' is neither a resource group name nor a resource id/],
      [{ severities: 'Sev7' }, /Input 'severities': 'Sev7' is not a severity/],
      [{ alertRuleIds: 'cpu-alert' }, /Input 'alertRuleIds': 'cpu-alert' is not the resource id of an alert rule/],
      [{ ruleName: 'bad/name' }, /Input 'ruleName'/],
      [{ durationMinutes: undefined }, /Input 'durationMinutes'/],
      [{ azureSubscription: undefined }, /Input 'azureSubscription': is required/],
      [
        { action: 'unmute', undoRecord: '{"kind":"azure-alert-processing-rule","id":"x","data":{"ruleId":"/x"}}' },
        /Input 'undoRecord': is a malformed/,
      ],
    ];
    for (const [inputs, message] of cases) {
      const result = await mute(inputs);
      assert.equal(result.result, 'Failed', JSON.stringify(inputs));
      assert.match(result.errors.join('\n'), message, JSON.stringify(inputs));
    }
    assert.equal(arm.journal.length, 0, 'ARM was not called');
    arm.grant(['Microsoft.AlertsManagement/actionRules/read']);
    const noWrite = await mute();
    assert.equal(noWrite.result, 'Failed');
    assert.match(noWrite.errors.join('\n'), /403 AuthorizationFailed.*actionRules\/write/);
    assert.equal(actionRules.rules.size, 0);
  });
});
