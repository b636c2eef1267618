import { tagValue, TAG_PREFIX, type PipelineRef, type RunState } from '../devops/runs';
import type { ChangeOutcome } from './checklist';
import type { LedgerEntry } from './ledger';
import { jiraLabel, type Change } from './plan';

/**
 * What the runner knows about one change while it runs the plan, and the pure rules over it: which outcomes
 * count as success or are still open, why a change blocks its dependents, and how the window's history (runs
 * tagged by earlier attempts, the change ledger) decides where a change starts from.
 */

export interface Tracked {
  change: Change;
  outcome: ChangeOutcome;
  reason?: string;
  pipeline?: PipelineRef;
  run?: RunState;
  /** Clock time the change started (for its timeout). */
  startedAt?: number;
  durationMs?: number;
  fromEarlierAttempt?: boolean;
}

/** The fields the window's history sets on a change before anything starts. */
export type HistoryState = Pick<Tracked, 'outcome' | 'reason' | 'run' | 'startedAt' | 'durationMs' | 'fromEarlierAttempt'>;

export const SUCCESS: ReadonlySet<ChangeOutcome> = new Set(['succeeded', 'confirmed']);
export const OPEN: ReadonlySet<ChangeOutcome> = new Set(['pending', 'running', 'awaiting-confirmation']);

export function isSuccess(tracked: Tracked): boolean {
  return SUCCESS.has(tracked.outcome) || (tracked.outcome === 'not-run' && tracked.change.status === 'done');
}

/** Finished without success: its dependents are blocked. */
export function isFailure(tracked: Tracked): boolean {
  return !isSuccess(tracked) && !OPEN.has(tracked.outcome);
}

/** Why a change does not count as succeeded, for the reason its dependents are blocked. */
export function whyNotSuccess(tracked: Tracked): string {
  const id = tracked.change.id;
  switch (tracked.outcome) {
    case 'not-run': {
      const status = tracked.change.status === 'not-doing' ? 'not being done' : tracked.change.status;
      return `${id} is ${status}${tracked.change.reason ? ` (${tracked.change.reason})` : ''}`;
    }
    case 'skipped':
      return `${id} is outside onlyKeys and has not succeeded in this window`;
    case 'blocked':
      return `${id} is blocked`;
    default:
      return `${id} ${tracked.outcome === 'timed-out' ? 'timed out' : tracked.outcome}`;
  }
}

/** Does this change match one of the keys (its id or one of its Jira keys)? */
export function matchesKeys(change: Change, keys: string[]): boolean {
  const own = [change.id, ...change.jira.map(jiraLabel)].map((key) => key.toLowerCase());
  return keys.some((key) => own.includes(key.toLowerCase()));
}

/** What the window's history says about one change. */
export interface ChangeHistory {
  /** The latest run of this change tagged with the window (pipeline changes). */
  earlier?: RunState;
  /** Its entry in the change ledger (scripts and confirmed manual steps). */
  remembered?: LedgerEntry;
  attemptId: string;
  /** Within `onlyKeys` (or no keys were given). */
  inScope: boolean;
  /** A person has confirmed this manual change. */
  confirmed: boolean;
  /** The clock's time now (ms), for a run found running without a start time. */
  now: number;
}

/**
 * Where a change starts from in this run of the step: a succeeded change is never started twice, a run still in
 * progress is waited for, a failure of this attempt is final and one of an earlier attempt is run again.
 */
export function classifyChange(change: Change, history: ChangeHistory): HistoryState {
  if (change.status === 'done' || change.status === 'not-doing' || change.status === 'deferred') {
    return { outcome: 'not-run', reason: change.status === 'done' ? 'done before the window' : change.reason };
  }
  const { earlier, remembered } = history;
  let carried: HistoryState = { outcome: 'pending' };
  if (earlier) {
    const decided = fromEarlierRun(earlier, history);
    if (decided.outcome !== 'pending') return decided;
    carried = decided;
  } else if (remembered && change.action.kind === 'script') {
    const decided = fromLedger(remembered, history.attemptId);
    if (decided) return decided;
  }
  if (change.action.kind === 'manual' && history.confirmed) return { ...carried, outcome: 'confirmed' };
  if (!history.inScope) return { ...carried, outcome: 'skipped', reason: 'not in onlyKeys' };
  if (earlier && earlier.status !== 'running') {
    return {
      outcome: 'pending',
      reason: `its earlier run ${earlier.name ?? earlier.id} ${earlier.status}; running it again`,
      run: undefined,
      fromEarlierAttempt: false,
    };
  }
  return carried;
}

/** A pipeline change with a tagged run: done, still running, or failed for good in this attempt. */
function fromEarlierRun(earlier: RunState, history: ChangeHistory): HistoryState {
  const fromEarlierAttempt = runAttempt(earlier) !== history.attemptId;
  const base = { run: earlier, fromEarlierAttempt };
  if (earlier.status === 'succeeded') {
    const durationMs = earlier.finishedAt && earlier.startedAt ? earlier.finishedAt - earlier.startedAt : undefined;
    return { ...base, outcome: 'succeeded', durationMs };
  }
  if (earlier.status === 'running' && history.inScope) return { ...base, outcome: 'running', startedAt: earlier.startedAt ?? history.now };
  if (!fromEarlierAttempt && earlier.status !== 'running') {
    return {
      ...base,
      outcome: earlier.status === 'canceled' ? 'canceled' : 'failed',
      reason: `${earlier.status.replace('-', ' ')} in this attempt`,
    };
  }
  return { ...base, outcome: 'pending' };
}

/** A script change the ledger remembers: succeeded, or failed for good in this attempt. */
function fromLedger(remembered: LedgerEntry, attemptId: string): HistoryState | undefined {
  if (remembered.outcome === 'succeeded') {
    return { outcome: 'succeeded', durationMs: remembered.durationMs, fromEarlierAttempt: remembered.attemptId !== attemptId };
  }
  if (remembered.attemptId === attemptId) {
    return { outcome: remembered.outcome === 'timed-out' ? 'timed-out' : 'failed', reason: remembered.reason };
  }
  return undefined;
}

/** The attempt that started a run (its tag). */
function runAttempt(run: RunState): string | undefined {
  return tagValue(run.tags, TAG_PREFIX.attempt);
}
