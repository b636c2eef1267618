import { strict as assert } from 'node:assert';
import type { RunState } from '../../shared/devops/runs';
import { classifyChange, type Tracked } from '../../shared/plan/change-state';
import { scriptVerdict } from '../../shared/plan/change-start';
import { startPriority } from '../../shared/plan/graph';
import type { Change } from '../../shared/plan/plan';
import { judgeRun, nextPollDelay, readyToStart, settle } from '../../shared/plan/scheduling';

/**
 * The runner's pure steps on their own (shared/plan/change-state, scheduling, change-start): how the window's
 * history classifies a change, what blocks or frees it, the start order and what a run's state means. The
 * whole runner against the emulator is test/tasks/run-changes.test.ts.
 */

const NOW = Date.parse('2025-04-13T08:00:00Z');

function change(id: string, fields: Partial<Change> = {}): Change {
  return {
    id,
    title: id,
    jira: [],
    status: 'planned',
    dependsOn: [],
    action: { kind: 'pipeline', name: id, parameters: {} },
    line: 1,
    ...fields,
  };
}

function run(status: RunState['status'], attempt: string, fields: Partial<RunState> = {}): RunState {
  return { id: 7, name: '20250413.1', status, tags: ['window:w1', 'change:a', `attempt:${attempt}`], ...fields };
}

const history = (fields: Partial<Parameters<typeof classifyChange>[1]> = {}) => ({
  attemptId: '1.1',
  inScope: true,
  confirmed: false,
  now: NOW,
  ...fields,
});

describe('runner steps (pure)', () => {
  it('classifies a change by the window history: done, still running, failed for good, or run again', () => {
    assert.deepEqual(classifyChange(change('a', { status: 'done' }), history()), { outcome: 'not-run', reason: 'done before the window' });
    const succeeded = classifyChange(
      change('a'),
      history({ earlier: run('succeeded', '0.1', { startedAt: NOW - 60_000, finishedAt: NOW }) }),
    );
    assert.deepEqual([succeeded.outcome, succeeded.durationMs, succeeded.fromEarlierAttempt], ['succeeded', 60_000, true]);
    const running = classifyChange(change('a'), history({ earlier: run('running', '0.1') }));
    assert.deepEqual([running.outcome, running.startedAt], ['running', NOW], 'a run without a start time counts from now');
    assert.deepEqual(classifyChange(change('a'), history({ earlier: run('canceled', '1.1') })).outcome, 'canceled');
    const again = classifyChange(change('a'), history({ earlier: run('failed', '0.1') }));
    assert.deepEqual(
      [again.outcome, again.run, again.reason],
      ['pending', undefined, 'its earlier run 20250413.1 failed; running it again'],
    );
    const outside = classifyChange(change('a'), history({ earlier: run('failed', '0.1'), inScope: false }));
    assert.deepEqual([outside.outcome, outside.run?.id], ['skipped', 7], 'a change outside onlyKeys keeps its earlier run for the report');
  });

  it('classifies scripts from the ledger and manual steps from their confirmation', () => {
    const script = change('s', { action: { kind: 'script', path: 's.sh', arguments: [], timeoutMinutes: 5 } });
    assert.equal(classifyChange(script, history({ remembered: { outcome: 'succeeded', attemptId: '0.1', at: '' } })).outcome, 'succeeded');
    assert.equal(classifyChange(script, history({ remembered: { outcome: 'timed-out', attemptId: '1.1', at: '' } })).outcome, 'timed-out');
    assert.equal(classifyChange(script, history({ remembered: { outcome: 'failed', attemptId: '0.1', at: '' } })).outcome, 'pending');
    const manual = change('m', { action: { kind: 'manual', instructions: 'check' } });
    assert.equal(classifyChange(manual, history({ confirmed: true })).outcome, 'confirmed');
    assert.equal(classifyChange(manual, history()).outcome, 'pending');
  });

  it('blocks what waits for a failure, hands a ready manual step to a person, and starts the longest chain first', () => {
    const changes = [
      change('x'),
      change('a'),
      change('b', { dependsOn: ['a'] }),
      change('c', { dependsOn: ['b'] }),
      change('m', { dependsOn: ['x'], action: { kind: 'manual', instructions: 'look' } }),
    ];
    const tracked = new Map<string, Tracked>(changes.map((c) => [c.id, { change: c, outcome: 'pending' }]));
    const all = [...tracked.values()];
    assert.deepEqual(
      readyToStart(all, tracked, startPriority(changes)).map((t) => t.change.id),
      ['a', 'x'],
      'a heads a chain of three',
    );
    tracked.get('x')!.outcome = 'succeeded';
    assert.deepEqual(settle(tracked.get('m')!, tracked), { kind: 'awaiting-confirmation' });
    tracked.get('a')!.outcome = 'failed';
    assert.deepEqual(settle(tracked.get('b')!, tracked), { kind: 'blocked', reason: 'a failed' });
    assert.equal(settle(tracked.get('c')!, tracked), undefined, 'c waits until b is settled');
  });

  it('judges a polled run and backs polls off while nothing changes', () => {
    const entry: Tracked = {
      change: change('a', { action: { kind: 'pipeline', name: 'a', parameters: {}, timeoutMinutes: 10 } }),
      outcome: 'running',
      startedAt: NOW,
    };
    assert.equal(judgeRun(entry, run('running', '1.1'), NOW + 9 * 60_000), undefined);
    assert.equal(judgeRun(entry, run('running', '1.1'), NOW + 11 * 60_000)?.outcome, 'timed-out');
    assert.deepEqual(judgeRun(entry, run('partially-succeeded', '1.1', { startedAt: NOW, finishedAt: NOW + 1000 }), NOW), {
      outcome: 'failed',
      reason: 'partially succeeded: some steps failed (continueOnError)',
      durationMs: 1000,
    });
    assert.deepEqual(
      [nextPollDelay(1000, false, 1000, 2000), nextPollDelay(1500, false, 1000, 2000), nextPollDelay(2000, true, 1000, 2000)],
      [1500, 2000, 1000],
    );
  });

  it('says what a script end means', () => {
    const base = { exitCode: 0, signal: null, timedOut: false, canceled: false, durationMs: 5 };
    assert.deepEqual(scriptVerdict(base, 5), { outcome: 'succeeded' });
    assert.deepEqual(scriptVerdict({ ...base, exitCode: null, timedOut: true }, 5), {
      outcome: 'timed-out',
      reason: 'stopped after its 5 minute timeout',
    });
    assert.deepEqual(scriptVerdict({ ...base, exitCode: 3 }, 5), { outcome: 'failed', reason: 'exit code 3' });
  });
});
