import type { RunState } from '../devops/runs';
import type { ChangeOutcome } from './checklist';
import { isFailure, isSuccess, whyNotSuccess, type Tracked } from './change-state';

/**
 * The runner's pure decisions: what a waiting change becomes once its dependencies are known, which ready
 * changes start next, what a polled run's state means, and how long to wait before the next poll.
 */

export type Settlement = { kind: 'blocked'; reason: string } | { kind: 'awaiting-confirmation' } | undefined;

/** A pending change is blocked by a dependency that failed, or (manual) ready for a person once all succeeded. */
export function settle(entry: Tracked, tracked: ReadonlyMap<string, Tracked>): Settlement {
  const dependencies = entry.change.dependsOn.map((id) => tracked.get(id)!);
  const failed = dependencies.find(isFailure);
  if (failed) return { kind: 'blocked', reason: whyNotSuccess(failed) };
  if (entry.change.action.kind === 'manual' && dependencies.every(isSuccess)) return { kind: 'awaiting-confirmation' };
  return undefined;
}

/** Pending, automatic changes whose dependencies all succeeded, in start order (`priority`: rank per id). */
export function readyToStart(
  all: readonly Tracked[],
  tracked: ReadonlyMap<string, Tracked>,
  priority: ReadonlyMap<string, number>,
): Tracked[] {
  const rank = (entry: Tracked) => priority.get(entry.change.id) ?? Number.MAX_SAFE_INTEGER;
  return all
    .filter(
      (t) => t.outcome === 'pending' && t.change.action.kind !== 'manual' && t.change.dependsOn.every((id) => isSuccess(tracked.get(id)!)),
    )
    .sort((a, b) => rank(a) - rank(b));
}

export interface RunVerdict {
  outcome: ChangeOutcome;
  reason?: string;
  durationMs?: number;
}

/**
 * What a polled run means for its change: undefined while it runs within its limit; timed out past the change's
 * own timeout (the run is left running); otherwise its result.
 */
export function judgeRun(entry: Tracked, state: RunState, now: number): RunVerdict | undefined {
  if (state.status === 'running') {
    const limit = entry.change.action.kind === 'pipeline' ? entry.change.action.timeoutMinutes : undefined;
    if (limit && now - (entry.startedAt ?? now) > limit * 60_000) {
      return {
        outcome: 'timed-out',
        reason: `still running after its ${limit} minute timeout; the run was left running`,
        durationMs: entry.durationMs,
      };
    }
    return undefined;
  }
  const durationMs = state.finishedAt && state.startedAt ? state.finishedAt - state.startedAt : undefined;
  if (state.status === 'succeeded') return { outcome: 'succeeded', durationMs };
  if (state.status === 'canceled') return { outcome: 'canceled', reason: 'the run was canceled', durationMs };
  if (state.status === 'partially-succeeded')
    return { outcome: 'failed', reason: 'partially succeeded: some steps failed (continueOnError)', durationMs };
  return { outcome: 'failed', reason: 'the run failed', durationMs };
}

/** Polls back off by half while nothing changes, up to `maxMs`; any change brings them back to `baseMs`. */
export function nextPollDelay(current: number, changed: boolean, baseMs: number, maxMs: number): number {
  return changed ? baseMs : Math.min(maxMs, Math.round(current * 1.5));
}
