import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import {
  changeDuration,
  FORECAST_DEFAULTS,
  forecastNight,
  median,
  patchBatchDuration,
  pipelineKey,
  scheduleChanges,
  successfulRunMinutes,
  type ForecastInput,
} from '../../shared/plan/forecast';
import { loadPlan, parsePlan, type Plan } from '../../shared/plan/plan';
import { repoRoot } from '../helpers/task-runner';

const at = (iso: string) => new Date(iso);
const START = at('2025-04-13T08:45:00Z'); // Sun 04:45 EDT

function planOf(yaml: string): Plan {
  const result = parsePlan(`window: { name: test, date: 2025-04-13 }\nchanges:\n${yaml}`, 'test.yml');
  assert.ok(result.plan, JSON.stringify(result.problems));
  return result.plan;
}

function input(plan: Plan, overrides: Partial<ForecastInput> = {}): ForecastInput {
  return {
    plan,
    maxParallel: 4,
    history: new Map(),
    changesStartAt: START,
    regressionPipeline: pipelineKey('Full Regression'),
    regressionAt: at('2025-04-13T14:00:00Z'), // Sun 10:00 EDT
    windowEnd: at('2025-04-13T16:00:00Z'), // Sun 12:00 EDT
    graceMinutes: 60,
    serverGroups: [{ name: 'app', servers: 2 }],
    patchMaxParallel: 1,
    recentPatchMinutes: [],
    silences: [],
    timeZone: 'America/New_York',
    ...overrides,
  };
}

describe('forecast of the night', () => {
  it('takes the median of the newest successful runs, ignoring failures and unfinished runs', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(median([]), undefined);
    const runs = [
      { status: 'succeeded', startedAt: 0, finishedAt: 10 * 60_000 },
      { status: 'failed', startedAt: 0, finishedAt: 99 * 60_000 },
      { status: 'running', startedAt: 0 },
      { status: 'succeeded', startedAt: 60_000, finishedAt: 21 * 60_000 },
    ];
    assert.deepEqual(successfulRunMinutes(runs), [20, 10]);
    assert.deepEqual(successfulRunMinutes(runs, 1), [20]);
  });

  it('a change takes its history, else estimateMinutes, else the stated default, and says which', () => {
    const plan = planOf(
      [
        '  - { id: a, title: A, pipeline: { name: Kong, folder: "\\\\Infra" }, estimateMinutes: 5 }',
        '  - { id: b, title: B, pipeline: { name: Other }, estimateMinutes: 7 }',
        '  - { id: c, title: C, pipeline: { name: Third } }',
        '  - { id: d, title: D, script: { path: run.sh } }',
        '  - { id: e, title: E, manual: do it }',
      ].join('\n'),
    );
    const history = new Map([[pipelineKey('Kong', '\\Infra'), [12, 14, 40]]]);
    const [a, b, c, d, e] = plan.changes.map((change) => changeDuration(change, history));
    assert.deepEqual([a.minutes, a.source], [14, 'history']);
    assert.match(a.basis, /median of 3/);
    assert.deepEqual([b.minutes, b.source], [7, 'estimate']);
    assert.deepEqual([c.minutes, c.source], [FORECAST_DEFAULTS.pipelineMinutes, 'default']);
    assert.deepEqual([d.minutes, e.minutes], [FORECAST_DEFAULTS.scriptMinutes, FORECAST_DEFAULTS.manualMinutes]);
  });

  it('the plan refuses an estimateMinutes that is not a positive number of minutes', () => {
    const result = parsePlan(
      'window: { name: t, date: 2025-04-13 }\nchanges:\n  - { id: a, title: A, manual: x, estimateMinutes: 0 }\n',
      't.yml',
    );
    assert.equal(result.plan, undefined);
    assert.match(result.problems[0].field, /estimateMinutes/);
  });

  it('schedules under maxParallel and the dependencies, longest chain first, manual changes outside the slots', () => {
    const plan = planOf(
      [
        '  - { id: solo, title: S, script: { path: s.sh }, estimateMinutes: 30 }',
        '  - { id: first, title: F, script: { path: f.sh }, estimateMinutes: 10 }',
        '  - { id: second, title: G, script: { path: g.sh }, estimateMinutes: 10, dependsOn: [first] }',
        '  - { id: person, title: P, manual: do it, estimateMinutes: 60 }',
        '  - { id: skipped, title: N, script: { path: n.sh }, status: not-doing }',
        '  - { id: waits, title: W, script: { path: w.sh }, dependsOn: [skipped] }',
      ].join('\n'),
    );
    const timeline = scheduleChanges(plan.changes, { maxParallel: 1, startAt: START, history: new Map() });
    const minute = (id: string, end = false) => {
      const entry = timeline.find((change) => change.id === id)!;
      return ((end ? entry.endsAt! : entry.startsAt!).getTime() - START.getTime()) / 60_000;
    };
    // first heads the longest chain (2), so it goes before solo; then solo and second tie (1): plan order.
    assert.deepEqual([minute('first'), minute('solo'), minute('second')], [0, 10, 40]);
    assert.equal(minute('second', true), 50);
    assert.deepEqual([minute('person'), minute('person', true)], [0, 60], 'a manual change takes no slot');
    assert.equal(timeline.find((change) => change.id === 'skipped')!.skipped, 'not-doing');
    assert.match(timeline.find((change) => change.id === 'waits')!.skipped!, /blocked: 'skipped' is not-doing/);

    const wide = scheduleChanges(plan.changes, { maxParallel: 4, startAt: START, history: new Map() });
    assert.equal(wide.find((change) => change.id === 'second')!.startsAt!.getTime() - START.getTime(), 10 * 60_000);
  });

  it('patching: batches per group from the group sizes, the batch from recent patch times or the default', () => {
    assert.equal(patchBatchDuration([]).minutes, FORECAST_DEFAULTS.patchBatchMinutes);
    assert.equal(patchBatchDuration([20, 30, 25]).minutes, 25);
    const plan = planOf('  - { id: a, title: A, script: { path: a.sh }, estimateMinutes: 60 }');
    const night = forecastNight(
      input(plan, {
        serverGroups: [
          { name: 'app', servers: 3 },
          { name: 'mcc', servers: 1 },
        ],
        patchMaxParallel: 2,
        recentPatchMinutes: [20],
      }),
    );
    // 60 min of changes, then ceil(3/2) = 2 batches of 20 min, then 5 min of smoke tests.
    assert.equal((night.patchingEnd.getTime() - START.getTime()) / 60_000, 100);
    assert.equal((night.verifyEnd.getTime() - START.getTime()) / 60_000, 100 + FORECAST_DEFAULTS.smokeMinutes);
    assert.equal(night.regressionStart.toISOString(), '2025-04-13T14:00:00.000Z', 'the regression waits for its fixed time');
    assert.equal(night.regressionEnd.toISOString(), '2025-04-13T15:00:00.000Z', 'its default duration');
    assert.deepEqual(
      night.findings.map((finding) => [finding.object, finding.verdict]),
      [
        ['window end', 'GO'],
        ['regression time', 'GO'],
      ],
    );
  });

  it('NO-GO when the changes end after the window end plus grace; WARN when the regression starts late', () => {
    const plan = planOf('  - { id: big, title: Big, pipeline: { name: Huge } }');
    const late = forecastNight(input(plan, { history: new Map([[pipelineKey('Huge'), [600]]]) }));
    const changes = late.findings.find((finding) => finding.object === 'changes')!;
    assert.equal(changes.verdict, 'NO-GO');
    assert.match(changes.why, /after the window's end plus its 60 min grace \(longest: big, 600 min, median of 1/);
    assert.match(changes.why, /Sun 14:45 EDT/);
    assert.equal(late.findings.find((finding) => finding.object === 'regression time')!.verdict, 'WARN');

    const slow = forecastNight(input(plan, { history: new Map([[pipelineKey('Huge'), [300]]]) }));
    assert.deepEqual(
      slow.findings.map((finding) => [finding.object, finding.verdict]),
      [
        ['window end', 'WARN'],
        ['regression time', 'WARN'],
      ],
    );
  });

  it('NO-GO when a silence would expire while work that needs it is forecast to run', () => {
    const plan = planOf('  - { id: a, title: A, script: { path: a.sh }, estimateMinutes: 30 }');
    const night = forecastNight(
      input(plan, {
        silences: [
          { name: 'Pingdom maintenance window', object: 'Pingdom checks', startsAt: START, minutes: 120 },
          { name: 'New Relic muting rule', object: 'alerts', startsAt: START, minutes: 7 * 60 },
        ],
      }),
    );
    const [pingdom, alerts] = night.findings.filter((finding) => finding.check === 'silence');
    assert.equal(pingdom.verdict, 'NO-GO');
    assert.match(pingdom.why, /would expire at Sun 06:45 EDT while work that needs it is forecast to run until Sun 11:00 EDT/);
    assert.match(pingdom.fix, /at least 375 min/);
    assert.equal(alerts.verdict, 'GO');
  });

  it('both seed plans fit their night with the defaults', () => {
    for (const file of ['2025-04-13.yml', '2025-03-23.yml']) {
      const plan = loadPlan(path.join(repoRoot, 'plans', file), { scriptRoot: repoRoot });
      const night = forecastNight(
        input(plan, {
          serverGroups: [
            { name: 'app', servers: 2 },
            { name: 'proxy', servers: 2 },
          ],
        }),
      );
      assert.deepEqual(
        night.findings.filter((finding) => finding.verdict === 'NO-GO'),
        [],
        file,
      );
    }
  });
});
