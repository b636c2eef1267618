import { strict as assert } from 'node:assert';
import { actionRulePlan } from '../../shared/azure/alert-processing-rules';
import { realClock } from '../../shared/core/clock';
import { setWriter, type Writer } from '../../shared/core/commands';
import { InputError } from '../../shared/core/errors';
import { Log } from '../../shared/core/log';
import { parseRateLimit, recordName, targetRecord } from '../../shared/services/cloudflare';
import { apiBaseUrl } from '../../shared/services/connection';
import { mutingCondition } from '../../shared/services/newrelic';
import {
  parseRequestLimit,
  PINGDOM_RECORD_KIND,
  PingdomClient,
  resumeChecks,
  selectChecks,
  windowMarker,
  type PingdomCheck,
} from '../../shared/services/pingdom';
import { resolveSilenceEnd } from '../../shared/services/silence';
import { PINGDOM_TOKEN, PingdomEmulator } from '../emulators/pingdom';

const inputError = (input: string, message?: RegExp) => (error: unknown) =>
  error instanceof InputError && error.input === input && (!message || message.test(error.message));

describe('silences and the maintenance page: shared pieces', function () {
  let restoreWriter: Writer | undefined;
  const lines: string[] = [];
  before(() => (restoreWriter = setWriter((line) => lines.push(line))));
  after(() => restoreWriter && setWriter(restoreWriter));

  it('takes a connection URL with or without the API path and a trailing slash', () => {
    const api = 'https://api.pingdom.com/api/3.1';
    assert.equal(apiBaseUrl('c', '', api), api);
    assert.equal(apiBaseUrl('c', 'https://api.pingdom.com', api), api);
    assert.equal(apiBaseUrl('c', 'https://api.pingdom.com/', api), api);
    assert.equal(apiBaseUrl('c', 'https://api.pingdom.com/api/3.1/', api), api);
    assert.equal(apiBaseUrl('c', 'https://proxy.example.com:8443/pingdom/', api), 'https://proxy.example.com:8443/pingdom');
    assert.throws(() => apiBaseUrl('c', 'ftp://x', api), inputError('c', /not http/));
    assert.throws(() => apiBaseUrl('c', 'not a url', api), inputError('c', /not a URL/));
  });

  it('reads the rate-limit headers of Pingdom and Cloudflare', () => {
    assert.deepEqual(parseRequestLimit('Remaining: 394 Time until reset: 3589', 1000), { remaining: 394, resetsAt: 1000 + 3_589_000 });
    assert.equal(parseRequestLimit(undefined, 1000), undefined);
    assert.deepEqual(parseRateLimit('"default";r=50;t=30'), { remaining: 50, resetInSeconds: 30 });
    assert.equal(parseRateLimit('nonsense'), undefined);
  });

  it('ends a silence at the window end plus grace, and refuses a grace out of range', () => {
    const now = new Date('2025-04-13T08:45:00Z');
    const end = resolveSilenceEnd({ until: '2025-04-13 11:00', timeZone: 'America/New_York', graceMinutes: 30, now });
    assert.equal(end.windowEnd.toISOString(), '2025-04-13T15:00:00.000Z');
    assert.equal(end.endsAt.toISOString(), '2025-04-13T15:30:00.000Z');
    assert.throws(() => resolveSilenceEnd({ durationMinutes: 60, timeZone: 'UTC', graceMinutes: 241, now }), inputError('graceMinutes'));
  });

  it('selects Pingdom checks by id, name and tag, refusing unknown ids and an empty selection', () => {
    const all: PingdomCheck[] = [
      { id: 1, name: 'www', status: 'up', tags: ['web'] },
      { id: 2, name: 'my', status: 'paused', tags: ['web'] },
      { id: 3, name: 'api', status: 'up', tags: [] },
    ];
    const log = new Log();
    assert.deepEqual(
      selectChecks(all, { checkIds: ['3'], checkNames: ['WWW'], checkTags: [] }, log).map((c) => c.id),
      [1, 3],
    );
    assert.deepEqual(
      selectChecks(all, { checkIds: [], checkNames: [], checkTags: ['web'] }, log).map((c) => c.id),
      [1, 2],
    );
    assert.throws(
      () => selectChecks(all, { checkIds: ['9'], checkNames: [], checkTags: [] }, log),
      inputError('checkIds', /check 9 does not exist/),
    );
    assert.throws(
      () => selectChecks(all, { checkIds: [], checkNames: [], checkTags: ['none'] }, log),
      inputError('checkIds', /select no check/),
    );
    assert.equal(windowMarker('42', [1, 2]), windowMarker('42', [1, 2]));
    assert.notEqual(windowMarker('42', [1, 2]), windowMarker('42', [1, 3]));
  });

  it('resume deletes a Pingdom window that has not begun, and ends one that has', async () => {
    const pingdom = new PingdomEmulator({ https: false });
    await pingdom.start();
    try {
      const client = new PingdomClient({ baseUrl: `${pingdom.url}/api/3.1`, token: PINGDOM_TOKEN, log: new Log(), clock: realClock() });
      const now = pingdom.now();
      const marker = windowMarker('7', [1001]);
      pingdom.windows.set(1, { id: 1, description: `future ${marker}`, from: now + 600, to: now + 3600, uptime: [1001], tms: [] });
      pingdom.windows.set(2, { id: 2, description: `running ${marker}`, from: now - 60, to: now + 3600, uptime: [1001], tms: [] });
      const record = {
        kind: PINGDOM_RECORD_KIND,
        version: 1,
        id: 'r',
        createdAt: '',
        description: '',
        data: {
          mode: 'maintenanceWindow' as const,
          checks: [{ id: 1001, name: 'www' }],
          marker,
          windowIds: [],
          pausedByUs: [],
          alreadyPaused: [],
          endsAt: '',
        },
      };
      const result = await resumeChecks({
        client,
        log: new Log(),
        record: { ...record, windowId: '7' },
        windowId: '7',
        clock: realClock(),
      });
      assert.deepEqual(
        result.windows.map((w) => [w.id, w.outcome]),
        [
          [1, 'deleted'],
          [2, 'ending'],
        ],
      );
      assert.equal(pingdom.windows.has(1), false);
      assert.ok(pingdom.windows.get(2)!.to <= pingdom.now() + 61);
    } finally {
      await pingdom.stop();
    }
  });

  it('names DNS records in the zone and tells a host-name target from an address', () => {
    assert.equal(recordName('invoicecloud.com', 'www'), 'www.invoicecloud.com');
    assert.equal(recordName('invoicecloud.com', 'WWW.invoicecloud.com.'), 'www.invoicecloud.com');
    assert.equal(recordName('invoicecloud.com', '@'), 'invoicecloud.com');
    assert.throws(() => recordName('invoicecloud.com', 'w w'), inputError('records'));
    assert.deepEqual(targetRecord('icmaintenance.azurewebsites.net.'), { type: 'CNAME', content: 'icmaintenance.azurewebsites.net' });
    assert.deepEqual(targetRecord('198.51.100.7'), { type: 'A', content: '198.51.100.7' });
    assert.deepEqual(targetRecord('2001:db8::7'), { type: 'AAAA', content: '2001:db8::7' });
    assert.throws(() => targetRecord('https://x'), inputError('maintenanceTarget'));
  });

  it('builds a New Relic muting condition (kinds ANDed, values alternatives) and refuses none', () => {
    assert.deepEqual(
      mutingCondition({ policyNames: ['Web'], conditionNames: [], entityNames: [], entityTags: ['env=prd', 'env = prod', 'team=web'] }),
      {
        operator: 'AND',
        conditions: [
          { attribute: 'policyName', operator: 'IN', values: ['Web'] },
          { attribute: 'tags.env', operator: 'IN', values: ['prd', 'prod'] },
          { attribute: 'tags.team', operator: 'IN', values: ['web'] },
        ],
      },
    );
    assert.throws(
      () => mutingCondition({ policyNames: [], conditionNames: [], entityNames: [], entityTags: [] }),
      inputError('policyNames'),
    );
  });

  it('plans an alert processing rule: scopes from group names or ids in the subscription, severity and rule conditions', () => {
    const sub = '11111111-2222-4333-8444-555555555555';
    const alert = `/subscriptions/${sub}/resourceGroups/rg-mon/providers/Microsoft.Insights/metricAlerts/cpu`;
    const plan = actionRulePlan(sub, {
      resourceGroup: 'rg-mon',
      ruleName: 'mw-1',
      scopes: ['rg-web', `/subscriptions/${sub}/resourceGroups/rg-app/`],
      alertRuleIds: [alert],
      severities: ['3', 'sev1'],
    });
    assert.equal(plan.ruleId, `/subscriptions/${sub}/resourceGroups/rg-mon/providers/Microsoft.AlertsManagement/actionRules/mw-1`);
    assert.deepEqual(plan.scopes, [`/subscriptions/${sub}/resourceGroups/rg-web`, `/subscriptions/${sub}/resourceGroups/rg-app`]);
    assert.deepEqual(plan.conditions, [
      { field: 'AlertRuleId', operator: 'Equals', values: [alert] },
      { field: 'Severity', operator: 'Equals', values: ['Sev3', 'Sev1'] },
    ]);
    assert.throws(
      () => actionRulePlan(sub, { resourceGroup: 'rg', ruleName: 'x', scopes: [], alertRuleIds: [], severities: [] }),
      inputError('scopes'),
    );
  });
});
