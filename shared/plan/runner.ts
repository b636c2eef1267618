import { InputError, messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { DevOpsClient } from '../devops/client';
import { PipelineRuns, tagValue, TAG_PREFIX, type PipelineRef } from '../devops/runs';
import { ChangeRound } from './change-round';
import { resumeInterruptedStart } from './change-start';
import { classifyChange, isSuccess, matchesKeys, OPEN, type Tracked } from './change-state';
import type { ChangeReport } from './checklist';
import { startPriority } from './graph';
import { Ledger } from './ledger';
import type { Change, Plan } from './plan';

/**
 * Runs the plan's changes in dependency order. Every change whose dependencies have succeeded starts, up to
 * `maxParallel` at once, longest chain first; a failed change blocks only what depends on it; done, not-doing
 * and deferred changes are not run. Pipeline runs are tagged with the window, the change and the attempt, so a
 * later run of the step finds them again: a change that succeeded is never started twice, a run still in
 * progress is waited for, and a failure of an earlier attempt is run again (one of this attempt is final).
 *
 * Manual changes are confirmed by a person between rounds (see pipelines/templates/changes.yml): a round runs
 * everything that does not wait for an unconfirmed manual change, then stops and names the manual changes that
 * are ready; the next round is given them as confirmed and goes on from the recorded state.
 *
 * The pieces: ./change-state (what a change is and how the window's history classifies it), ./scheduling (the
 * pure decisions), ./change-start (starting a run or a script), ./change-round (the loop), ./ledger.
 */

export interface RunChangesOptions {
  plan: Plan;
  client: DevOpsClient;
  log: Log;
  /** Tags the runs: the same in every run of one window. */
  windowId: string;
  /** This attempt (pipeline run and stage attempt): failures of this attempt are final. */
  attemptId: string;
  maxParallel: number;
  pollIntervalMs: number;
  /** Polls back off up to this while nothing changes (default 4 x pollIntervalMs). */
  maxPollIntervalMs?: number;
  timeoutMs: number;
  /** Change ids or Jira keys; empty: every change. */
  onlyKeys: string[];
  /** Manual changes a person has confirmed (ids). */
  confirmedManual: string[];
  /** The repository root scripts are relative to. */
  scriptRoot: string;
  /** The environment a change's script runs in. */
  scriptEnvironment: (change: Change) => NodeJS.ProcessEnv;
  /** A file that remembers script and manual results of this window between runs on this agent. */
  ledgerFile: string;
}

export interface RunChangesResult {
  reports: ChangeReport[];
  /** Manual changes ready for a person, in plan order. */
  awaitingConfirmation: Change[];
  /** Every manual change confirmed so far (given and remembered). */
  confirmedManual: string[];
  /** Nothing is left to do in this window (no change pending or waiting for a person). */
  finished: boolean;
  counts: Record<string, number>;
  /** Calls made to Azure DevOps. */
  apiCalls: number;
  elapsedMs: number;
}

export async function runChanges(options: RunChangesOptions): Promise<RunChangesResult> {
  const { plan, client, log } = options;
  const startedAt = client.now();
  const callsBefore = client.calls;
  const runs = new PipelineRuns(client, (runId, error) =>
    log.warn(
      `Run ${runId} could not be tagged (${messageOf(error)}); it is followed now, but a later run of this step will not ` +
        `recognise it and may start it again.`,
    ),
  );
  const ledger = new Ledger(options.ledgerFile);
  const confirmed = confirmedChanges(options, ledger);
  const pipelines = await findPipelines(plan, runs);
  const tracked = await classifyHistory({ options, runs, ledger, confirmed, pipelines });

  const all = [...tracked.values()];
  const toRun = all.filter((t) => t.outcome === 'pending').length;
  const done = all.filter((t) => isSuccess(t)).length;
  log.section(`Changes of ${plan.window.name}: ${toRun} to run, ${done} already done, up to ${options.maxParallel} at once`);
  const round = new ChangeRound(tracked, {
    ...options,
    runs,
    ledger,
    maxPollIntervalMs: options.maxPollIntervalMs ?? options.pollIntervalMs * 4,
    priority: startPriority(plan.changes),
    startedAt,
  });
  await round.run();
  round.explainPending();

  for (const id of confirmed) {
    if (tracked.get(id)?.outcome === 'confirmed' && ledger.get(id)?.outcome !== 'confirmed') {
      ledger.set(id, { outcome: 'confirmed', attemptId: options.attemptId, at: new Date(client.now()).toISOString() });
    }
  }
  return { ...summarize(plan, tracked), apiCalls: client.calls - callsBefore, elapsedMs: client.now() - startedAt };
}

/** The manual changes confirmed (given now or remembered by the ledger); refuses keys that match no change. */
function confirmedChanges(options: RunChangesOptions, ledger: Ledger): Set<string> {
  const { plan, log } = options;
  const unknownKeys = options.onlyKeys.filter((key) => !plan.changes.some((change) => matchesKeys(change, [key])));
  if (unknownKeys.length)
    throw new InputError('onlyKeys', `${unknownKeys.map((key) => `'${key}'`).join(', ')} match(es) no change id or Jira key of the plan.`);
  const confirmed = new Set(options.confirmedManual);
  for (const change of plan.changes) if (ledger.get(change.id)?.outcome === 'confirmed') confirmed.add(change.id);
  for (const id of options.confirmedManual) {
    const change = plan.changes.find((candidate) => candidate.id === id);
    if (!change || change.action.kind !== 'manual')
      log.warn(`'${id}' was given as a confirmed manual change, but the plan has no manual change with that id.`);
  }
  return confirmed;
}

/** Every pipeline the run may start must exist before anything starts. */
async function findPipelines(plan: Plan, runs: PipelineRuns): Promise<Map<string, PipelineRef>> {
  const pipelines = new Map<string, PipelineRef>();
  const missing: string[] = [];
  for (const change of plan.changes) {
    if (change.action.kind !== 'pipeline' || !['planned', 'doing'].includes(change.status)) continue;
    const found = await runs.find(change.action.name, change.action.folder);
    if (typeof found === 'string') missing.push(`${change.id}: ${found}`);
    else pipelines.set(change.id, found);
  }
  if (missing.length)
    throw new InputError('planFile', `the plan names pipelines that cannot be run; nothing was started:\n${missing.join('\n')}`);
  return pipelines;
}

/** Each change as earlier runs of this window left it (their tagged runs, the ledger). */
async function classifyHistory(context: {
  options: RunChangesOptions;
  runs: PipelineRuns;
  ledger: Ledger;
  confirmed: Set<string>;
  pipelines: Map<string, PipelineRef>;
}): Promise<Map<string, Tracked>> {
  const { options, ledger } = context;
  const history = await context.runs.runsOfWindow(options.windowId);
  const latestRun = (changeId: string) => history.find((run) => tagValue(run.tags, TAG_PREFIX.change) === changeId);
  const tracked = new Map<string, Tracked>();
  const resume = { runs: context.runs, ledger, log: options.log, windowId: options.windowId, claimed: new Set<number>() };
  for (const change of options.plan.changes) {
    // An interrupted start's run is newer than any tagged one: it is the change's latest run.
    const adopted = await resumeInterruptedStart(change, context.pipelines.get(change.id), resume);
    const state = classifyChange(change, {
      earlier: change.action.kind === 'pipeline' ? (adopted ?? latestRun(change.id)) : undefined,
      remembered: ledger.get(change.id),
      attemptId: options.attemptId,
      inScope: options.onlyKeys.length === 0 || matchesKeys(change, options.onlyKeys),
      confirmed: context.confirmed.has(change.id),
      now: options.client.now(),
    });
    tracked.set(change.id, { change, pipeline: context.pipelines.get(change.id), ...state });
    if (state.outcome === 'running')
      options.log.info(`${change.id}: run ${state.run?.name ?? state.run?.id} started earlier is still running; waiting for it.`);
  }
  return tracked;
}

/** The reports, counts and what is left for a person, once the round has ended. */
function summarize(plan: Plan, tracked: Map<string, Tracked>): Omit<RunChangesResult, 'apiCalls' | 'elapsedMs'> {
  const all = [...tracked.values()];
  const reports: ChangeReport[] = all.map((t) => ({
    id: t.change.id,
    outcome: t.outcome,
    reason: t.reason,
    runUrl: t.run?.webUrl,
    runName: t.run ? (t.run.name ?? String(t.run.id)) : undefined,
    durationMs: t.durationMs,
    fromEarlierAttempt: t.fromEarlierAttempt || undefined,
  }));
  const counts: Record<string, number> = {};
  for (const report of reports) counts[report.outcome] = (counts[report.outcome] ?? 0) + 1;
  return {
    reports,
    awaitingConfirmation: all.filter((t) => t.outcome === 'awaiting-confirmation').map((t) => t.change),
    confirmedManual: plan.changes.filter((change) => tracked.get(change.id)!.outcome === 'confirmed').map((change) => change.id),
    finished: !all.some((t) => OPEN.has(t.outcome)),
    counts,
  };
}
