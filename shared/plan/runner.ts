import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCanceled } from '../core/cancel';
import { InputError, messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { DevOpsClient } from '../devops/client';
import { PipelineRuns, runTags, tagValue, TAG_PREFIX, type PipelineRef, type RunState } from '../devops/runs';
import { formatDuration, type ChangeOutcome, type ChangeReport } from './checklist';
import { chainHeights } from './graph';
import { jiraLabel, type Change, type Plan } from './plan';
import { runScript } from './scripts';

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

interface LedgerEntry {
  outcome: 'succeeded' | 'failed' | 'timed-out' | 'confirmed';
  attemptId: string;
  at: string;
  durationMs?: number;
  reason?: string;
}

/** Script and manual results of the window, kept beside the undo records (pipeline runs have their tags). */
class Ledger {
  private readonly entries: Record<string, LedgerEntry>;

  constructor(private readonly file: string) {
    try {
      this.entries = JSON.parse(fs.readFileSync(file, 'utf8')).changes ?? {};
    } catch {
      this.entries = {};
    }
  }

  get(id: string): LedgerEntry | undefined {
    return this.entries[id];
  }

  set(id: string, entry: LedgerEntry): void {
    this.entries[id] = entry;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    fs.writeFileSync(temp, JSON.stringify({ changes: this.entries }, null, 2) + '\n');
    fs.renameSync(temp, this.file);
  }
}

interface Tracked {
  change: Change;
  outcome: ChangeOutcome;
  reason?: string;
  pipeline?: PipelineRef;
  run?: RunState;
  /** Clock time the change started (for its timeout). */
  startedAt?: number;
  durationMs?: number;
  fromEarlierAttempt?: boolean;
  /** Longest chain of changes waiting for this one (scheduling priority). */
  height: number;
}

const SUCCESS: ReadonlySet<ChangeOutcome> = new Set(['succeeded', 'confirmed']);
const OPEN: ReadonlySet<ChangeOutcome> = new Set(['pending', 'running', 'awaiting-confirmation']);

function isSuccess(tracked: Tracked): boolean {
  return SUCCESS.has(tracked.outcome) || (tracked.outcome === 'not-run' && tracked.change.status === 'done');
}

function whyNotSuccess(tracked: Tracked): string {
  const id = tracked.change.id;
  switch (tracked.outcome) {
    case 'not-run':
      return `${id} is ${tracked.change.status === 'not-doing' ? 'not being done' : tracked.change.status}${tracked.change.reason ? ` (${tracked.change.reason})` : ''}`;
    case 'skipped':
      return `${id} is outside onlyKeys and has not succeeded in this window`;
    case 'blocked':
      return `${id} is blocked`;
    default:
      return `${id} ${tracked.outcome === 'timed-out' ? 'timed out' : tracked.outcome}`;
  }
}

/** Does this change match one of the keys (its id or one of its Jira keys)? */
function matchesKeys(change: Change, keys: string[]): boolean {
  const own = [change.id, ...change.jira.map(jiraLabel)].map((key) => key.toLowerCase());
  return keys.some((key) => own.includes(key.toLowerCase()));
}

export async function runChanges(options: RunChangesOptions): Promise<RunChangesResult> {
  const { plan, client, log } = options;
  const startedAt = client.now();
  const callsBefore = client.calls;
  const runs = new PipelineRuns(client, (runId, error) =>
    log.warn(`Run ${runId} could not be tagged (${messageOf(error)}); it is followed now, but a later run of this step will not recognise it and may start it again.`),
  );
  const ledger = new Ledger(options.ledgerFile);

  const unknownKeys = options.onlyKeys.filter((key) => !plan.changes.some((change) => matchesKeys(change, [key])));
  if (unknownKeys.length) throw new InputError('onlyKeys', `${unknownKeys.map((key) => `'${key}'`).join(', ')} match(es) no change id or Jira key of the plan.`);
  const confirmed = new Set(options.confirmedManual);
  for (const change of plan.changes) if (ledger.get(change.id)?.outcome === 'confirmed') confirmed.add(change.id);
  for (const id of options.confirmedManual) {
    const change = plan.changes.find((candidate) => candidate.id === id);
    if (!change || change.action.kind !== 'manual') log.warn(`'${id}' was given as a confirmed manual change, but the plan has no manual change with that id.`);
  }
  const inScope = (change: Change) => options.onlyKeys.length === 0 || matchesKeys(change, options.onlyKeys);

  // Every pipeline the run may start must exist before anything starts.
  const pipelines = new Map<string, PipelineRef>();
  const missing: string[] = [];
  for (const change of plan.changes) {
    if (change.action.kind !== 'pipeline' || !['planned', 'doing'].includes(change.status)) continue;
    const found = await runs.find(change.action.name, change.action.folder);
    if (typeof found === 'string') missing.push(`${change.id}: ${found}`);
    else pipelines.set(change.id, found);
  }
  if (missing.length) throw new InputError('planFile', `the plan names pipelines that cannot be run; nothing was started:\n${missing.join('\n')}`);

  // What earlier runs of this window did.
  const history = await runs.runsOfWindow(options.windowId);
  const latestRun = (changeId: string) => history.find((run) => tagValue(run.tags, TAG_PREFIX.change) === changeId);

  const height = chainHeights(plan.changes);
  const tracked = new Map<string, Tracked>();
  for (const change of plan.changes) {
    const entry: Tracked = { change, outcome: 'pending', height: height.get(change.id) ?? 1, pipeline: pipelines.get(change.id) };
    tracked.set(change.id, entry);
    if (change.status === 'done' || change.status === 'not-doing' || change.status === 'deferred') {
      entry.outcome = 'not-run';
      entry.reason = change.status === 'done' ? 'done before the window' : change.reason;
      continue;
    }
    const earlier = change.action.kind === 'pipeline' ? latestRun(change.id) : undefined;
    const remembered = ledger.get(change.id);
    if (earlier) {
      entry.run = earlier;
      entry.fromEarlierAttempt = tagValue(earlier.tags, TAG_PREFIX.attempt) !== options.attemptId;
      if (earlier.status === 'succeeded') {
        entry.outcome = 'succeeded';
        entry.durationMs = earlier.finishedAt && earlier.startedAt ? earlier.finishedAt - earlier.startedAt : undefined;
        continue;
      }
      if (earlier.status === 'running' && inScope(change)) {
        entry.outcome = 'running';
        entry.startedAt = earlier.startedAt ?? client.now();
        log.info(`${change.id}: run ${earlier.name ?? earlier.id} started earlier is still running; waiting for it.`);
        continue;
      }
      if (!entry.fromEarlierAttempt && earlier.status !== 'running') {
        entry.outcome = earlier.status === 'canceled' ? 'canceled' : 'failed';
        entry.reason = `${earlier.status.replace('-', ' ')} in this attempt`;
        continue;
      }
    } else if (remembered && change.action.kind === 'script') {
      if (remembered.outcome === 'succeeded') {
        entry.outcome = 'succeeded';
        entry.durationMs = remembered.durationMs;
        entry.fromEarlierAttempt = remembered.attemptId !== options.attemptId;
        continue;
      }
      if (remembered.attemptId === options.attemptId) {
        entry.outcome = remembered.outcome === 'timed-out' ? 'timed-out' : 'failed';
        entry.reason = remembered.reason;
        continue;
      }
    }
    if (change.action.kind === 'manual' && confirmed.has(change.id)) {
      entry.outcome = 'confirmed';
      continue;
    }
    if (!inScope(change)) {
      entry.outcome = 'skipped';
      entry.reason = 'not in onlyKeys';
    } else if (earlier && earlier.status !== 'running') {
      entry.reason = `its earlier run ${earlier.name ?? earlier.id} ${earlier.status}; running it again`;
      entry.run = undefined;
      entry.fromEarlierAttempt = false;
    }
  }

  const all = [...tracked.values()];
  // Each running script's completion (its ledger entry written): a cancel waits for them before it unwinds.
  const scriptsRunning = new Set<Promise<void>>();
  const total = all.length;
  log.section(`Changes of ${plan.window.name}: ${all.filter((t) => t.outcome === 'pending').length} to run, ${all.filter((t) => isSuccess(t)).length} already done, up to ${options.maxParallel} at once`);

  const basePoll = options.pollIntervalMs;
  const maxPoll = options.maxPollIntervalMs ?? basePoll * 4;
  let pollDelay = basePoll;
  let wake: () => void = () => undefined;
  let woken = new Promise<void>((resolve) => (wake = resolve));
  const signal = () => {
    wake();
    woken = new Promise<void>((resolve) => (wake = resolve));
  };
  let pollFailures = 0;

  const finish = (entry: Tracked, outcome: ChangeOutcome, reason?: string) => {
    entry.outcome = outcome;
    if (reason !== undefined) entry.reason = reason;
    const took = entry.durationMs !== undefined ? ` after ${formatDuration(entry.durationMs)}` : '';
    const line = `${entry.change.id} (${entry.change.title}): ${outcome}${took}${entry.reason ? ` - ${entry.reason}` : ''}${entry.run?.webUrl ? ` ${entry.run.webUrl}` : ''}`;
    if (outcome === 'succeeded' || outcome === 'confirmed') log.info(line);
    else log.warn(line);
    const finished = all.filter((t) => !OPEN.has(t.outcome)).length;
    log.progress((finished / total) * 100, `${finished} of ${total} changes finished`);
  };

  const start = async (entry: Tracked) => {
    const change = entry.change;
    const action = change.action;
    entry.startedAt = client.now();
    if (action.kind === 'pipeline') {
      try {
        entry.run = await runs.start(entry.pipeline!, { branch: action.branch, parameters: action.parameters, tags: runTags(options.windowId, change.id, options.attemptId) });
        entry.outcome = 'running';
        log.info(`Started ${change.title} (${change.id}): run ${entry.run.name ?? entry.run.id} ${entry.run.webUrl ?? ''}`.trim());
      } catch (error) {
        finish(entry, 'failed', `could not start: ${messageOf(error)}`);
      }
      return;
    }
    if (action.kind === 'script') {
      entry.outcome = 'running';
      log.info(`Started ${change.title} (${change.id}): script ${action.path}`);
      const finished = runScript({
        path: action.path,
        arguments: action.arguments,
        root: options.scriptRoot,
        timeoutMs: action.timeoutMinutes * 60_000,
        log,
        label: `[${change.id}]`,
        env: options.scriptEnvironment(change),
      }).then((result) => {
        entry.durationMs = result.durationMs;
        let outcome: 'succeeded' | 'failed' | 'timed-out' = 'succeeded';
        let reason: string | undefined;
        if (result.startError) [outcome, reason] = ['failed', result.startError];
        else if (result.canceled) [outcome, reason] = ['failed', 'interrupted by a cancel of the step: its process group was ended; run it again in a later attempt'];
        else if (result.timedOut) [outcome, reason] = ['timed-out', `stopped after its ${action.timeoutMinutes} minute timeout`];
        else if (result.exitCode !== 0) [outcome, reason] = ['failed', result.signal ? `ended by ${result.signal}` : `exit code ${result.exitCode}`];
        ledger.set(change.id, { outcome, attemptId: options.attemptId, at: new Date().toISOString(), durationMs: result.durationMs, reason });
        finish(entry, outcome, reason);
        signal();
      }).catch((error: unknown) => {
        // Never leave the change "running" until the step's timeout (task-lib swallows unhandled rejections).
        if (entry.outcome === 'running') finish(entry, 'failed', `its result could not be recorded: ${messageOf(error)}`);
        signal();
      });
      scriptsRunning.add(finished);
      void finished.finally(() => scriptsRunning.delete(finished));
    }
  };

  const deadline = startedAt + options.timeoutMs;
  for (;;) {
    // Settle what waits: blocked by a failure, or ready.
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const entry of all.filter((t) => t.outcome === 'pending')) {
        const dependencies = entry.change.dependsOn.map((id) => tracked.get(id)!);
        const failedDependency = dependencies.find((dependency) => !isSuccess(dependency) && !OPEN.has(dependency.outcome));
        if (failedDependency) {
          finish(entry, 'blocked', whyNotSuccess(failedDependency));
          progressed = true;
        } else if (entry.change.action.kind === 'manual' && dependencies.every(isSuccess)) {
          entry.outcome = 'awaiting-confirmation';
          log.info(`${entry.change.id} (${entry.change.title}) is ready for a person: ${(entry.change.action as { instructions: string }).instructions}`);
          progressed = true;
        }
      }
    }
    const running = all.filter((t) => t.outcome === 'running').length;
    const ready = all
      .filter((t) => t.outcome === 'pending' && t.change.action.kind !== 'manual' && t.change.dependsOn.every((id) => isSuccess(tracked.get(id)!)))
      .sort((a, b) => b.height - a.height || plan.changes.indexOf(a.change) - plan.changes.indexOf(b.change));
    if (ready.length && running < options.maxParallel && client.now() < deadline) {
      for (const entry of ready.slice(0, options.maxParallel - running)) await start(entry);
      pollDelay = basePoll;
      // A start can fail at once, which may block or free others: settle again before waiting.
      continue;
    }
    if (running === 0) break;
    if (client.now() >= deadline) {
      for (const entry of all.filter((t) => t.outcome === 'running')) {
        finish(entry, 'timed-out', `still running when the step's ${Math.round(options.timeoutMs / 60_000)} minute timeout ran out; the run was left running`);
      }
      break;
    }

    const wait = Math.min(Math.max(pollDelay, client.suggestedPauseMs()), Math.max(0, deadline - client.now()));
    await Promise.race([client.sleep(wait), woken]).catch(async (error: unknown) => {
      if (isCanceled()) await recordInterrupted(all, scriptsRunning, log);
      throw error;
    });

    const inFlight = all.filter((t) => t.outcome === 'running' && t.run);
    let changed = false;
    if (inFlight.length) {
      try {
        const states = await runs.poll(inFlight.map((t) => t.run!.id));
        pollFailures = 0;
        for (const entry of inFlight) {
          const state = states.get(entry.run!.id);
          if (!state) continue;
          entry.run = { ...entry.run!, ...state };
          if (state.status === 'running') {
            const limit = entry.change.action.kind === 'pipeline' ? entry.change.action.timeoutMinutes : undefined;
            if (limit && client.now() - (entry.startedAt ?? client.now()) > limit * 60_000) {
              finish(entry, 'timed-out', `still running after its ${limit} minute timeout; the run was left running`);
              changed = true;
            }
            continue;
          }
          changed = true;
          entry.durationMs = state.finishedAt && state.startedAt ? state.finishedAt - state.startedAt : undefined;
          if (state.status === 'succeeded') finish(entry, 'succeeded');
          else if (state.status === 'canceled') finish(entry, 'canceled', 'the run was canceled');
          else if (state.status === 'partially-succeeded') finish(entry, 'failed', 'partially succeeded: some steps failed (continueOnError)');
          else finish(entry, 'failed', 'the run failed');
        }
      } catch (error) {
        if (isCanceled()) {
          await recordInterrupted(all, scriptsRunning, log);
          throw error;
        }
        pollFailures++;
        log.warn(`Could not read the runs (${pollFailures} time(s) in a row): ${messageOf(error)}`);
        if (pollFailures >= 5) throw error;
      }
    }
    pollDelay = changed ? basePoll : Math.min(maxPoll, Math.round(pollDelay * 1.5));
  }

  for (const entry of all.filter((t) => t.outcome === 'pending')) {
    const waitingFor = entry.change.dependsOn.filter((id) => !isSuccess(tracked.get(id)!));
    entry.reason = client.now() >= deadline
      ? `not started: the step's ${Math.round(options.timeoutMs / 60_000)} minute timeout ran out`
      : `waits for ${waitingFor.join(', ')} (a person confirms the manual step first)`;
  }
  const awaitingConfirmation = all.filter((t) => t.outcome === 'awaiting-confirmation').map((t) => t.change);
  const reports: ChangeReport[] = all.map((t) => ({
    id: t.change.id,
    outcome: t.outcome,
    reason: t.reason,
    runUrl: t.run?.webUrl,
    runName: t.run ? t.run.name ?? String(t.run.id) : undefined,
    durationMs: t.durationMs,
    fromEarlierAttempt: t.fromEarlierAttempt || undefined,
  }));
  const counts: Record<string, number> = {};
  for (const report of reports) counts[report.outcome] = (counts[report.outcome] ?? 0) + 1;
  for (const id of confirmed) if (tracked.get(id)?.outcome === 'confirmed' && ledger.get(id)?.outcome !== 'confirmed') ledger.set(id, { outcome: 'confirmed', attemptId: options.attemptId, at: new Date().toISOString() });
  return {
    reports,
    awaitingConfirmation,
    confirmedManual: plan.changes.filter((change) => tracked.get(change.id)!.outcome === 'confirmed').map((change) => change.id),
    finished: !all.some((t) => OPEN.has(t.outcome)),
    counts,
    apiCalls: client.calls - callsBefore,
    elapsedMs: client.now() - startedAt,
  };
}

/**
 * After a cancel: the scripts' process groups are being ended (shared/plan/scripts.ts), so wait for each to
 * close and its ledger entry to be written (a later attempt then runs it again rather than trusting a half run),
 * and say what was interrupted. Pipeline runs already started are left running; their tags find them again.
 */
async function recordInterrupted(all: Tracked[], scriptsRunning: Set<Promise<void>>, log: Log): Promise<void> {
  await Promise.allSettled([...scriptsRunning]);
  const scripts = all.filter((t) => t.change.action.kind === 'script' && t.reason?.startsWith('interrupted by a cancel')).map((t) => t.change.id);
  const runs = all.filter((t) => t.outcome === 'running' && t.run).map((t) => `${t.change.id} (run ${t.run!.name ?? t.run!.id})`);
  if (scripts.length) log.warn(`Cancelled: script(s) ${scripts.join(', ')} were ended and are recorded as interrupted in the change ledger.`);
  if (runs.length) log.warn(`Cancelled: pipeline run(s) ${runs.join(', ')} were left running; a later attempt finds them by their tags and waits for them.`);
}
