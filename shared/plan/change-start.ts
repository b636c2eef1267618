import { messageOf } from '../core/errors';
import type { Log } from '../core/log';
import { passedOverMessage } from '../devops/run-match';
import { runTags, type PipelineRef, type PipelineRuns, type RunState } from '../devops/runs';
import type { Tracked } from './change-state';
import type { ChangeOutcome } from './checklist';
import type { Ledger } from './ledger';
import type { Change } from './plan';
import { runScript, type ScriptRun } from './scripts';

/**
 * Starting one change: a pipeline run tagged with the window, the change and the attempt (so a later run of the
 * step finds it again), or the change's script, whose result goes to the ledger the moment it ends.
 */

export interface StartContext {
  runs: PipelineRuns;
  ledger: Ledger;
  log: Log;
  windowId: string;
  attemptId: string;
  scriptRoot: string;
  scriptEnvironment: (change: Change) => NodeJS.ProcessEnv;
  /** The clock's time now (ms). */
  now: () => number;
  /** Records a change's end: logs it and reports progress. */
  finish: (entry: Tracked, outcome: ChangeOutcome, reason?: string) => void;
  /** Wakes the runner's wait: a script ended. */
  wake: () => void;
  /** Each running script's completion (its ledger entry written): a cancel waits for them before it unwinds. */
  scriptsRunning: Set<Promise<void>>;
}

export async function startChange(entry: Tracked, context: StartContext): Promise<void> {
  entry.startedAt = context.now();
  if (entry.change.action.kind === 'pipeline') await startPipeline(entry, context);
  else if (entry.change.action.kind === 'script') startScript(entry, context);
}

async function startPipeline(entry: Tracked, context: StartContext): Promise<void> {
  const { change } = entry;
  if (change.action.kind !== 'pipeline') return;
  const pipeline = entry.pipeline!;
  // The intent first: a crash between queueing the run and tagging it leaves an untagged run only this finds.
  context.ledger.set(change.id, {
    outcome: 'starting',
    pipelineId: pipeline.id,
    attemptId: context.attemptId,
    at: new Date(context.now()).toISOString(),
  });
  try {
    const tags = runTags(context.windowId, change.id, context.attemptId);
    entry.run = await context.runs.start(pipeline, {
      branch: change.action.branch,
      parameters: change.action.parameters,
      tags,
      onQueued: (runId) => context.log.info(`Queued ${pipeline.name} run ${runId} for ${change.id}; tagging it.`),
      onPassedOver: (run) => context.log.warn(passedOverMessage(`${change.id}: `, pipeline.name, run)),
    });
    context.ledger.delete(change.id);
    entry.outcome = 'running';
    context.log.info(`Started ${change.title} (${change.id}): run ${entry.run.name ?? entry.run.id} ${entry.run.webUrl ?? ''}`.trim());
  } catch (error) {
    // Refused by the service (4xx): nothing was queued. Otherwise the intent stays for a later run to look.
    const status = (error as { status?: number }).status;
    if (status !== undefined && status < 500) context.ledger.delete(change.id);
    context.finish(entry, 'failed', `could not start: ${messageOf(error)}`);
  }
}

/**
 * A change whose start was interrupted (its `starting` entry is open): the newest untagged run of its pipeline
 * queued since is the one that start queued; it is tagged now and returned. None means it was never queued.
 * Either way the entry is closed, and the log says what was found and why it was looked for.
 */
export async function resumeInterruptedStart(
  change: Change,
  pipeline: PipelineRef | undefined,
  context: { runs: PipelineRuns; ledger: Ledger; log: Log; windowId: string; claimed: Set<number> },
): Promise<RunState | undefined> {
  const intent = context.ledger.get(change.id);
  if (intent?.outcome !== 'starting' || !pipeline || change.action.kind !== 'pipeline') return undefined;
  const since = Date.parse(intent.at);
  const adopted = await context.runs.adoptUntagged(pipeline, {
    since,
    tags: runTags(context.windowId, change.id, intent.attemptId),
    sent: { parameters: change.action.parameters, branch: change.action.branch },
    exclude: context.claimed,
    onPassedOver: (run) => context.log.warn(passedOverMessage(`${change.id}: `, pipeline.name, run)),
  });
  const when = `at ${intent.at} (attempt ${intent.attemptId})`;
  if (adopted) {
    context.claimed.add(adopted.id);
    context.log.info(
      `${change.id}: an earlier run of this step was starting ${pipeline.name} ${when} and stopped before tagging the run; ` +
        `run ${adopted.name ?? adopted.id} (id ${adopted.id}), queued since and untagged, is that run: tagged it and took it over ` +
        `instead of starting another.`,
    );
  } else {
    context.log.info(
      `${change.id}: an earlier run of this step was starting ${pipeline.name} ${when} and stopped; no untagged run of it was ` +
        `queued since, so it never started: starting it now.`,
    );
  }
  context.ledger.delete(change.id);
  return adopted;
}

function startScript(entry: Tracked, context: StartContext): void {
  const { change } = entry;
  const action = change.action;
  if (action.kind !== 'script') return;
  entry.outcome = 'running';
  context.log.info(`Started ${change.title} (${change.id}): script ${action.path}`);
  const finished = runScript({
    path: action.path,
    arguments: action.arguments,
    root: context.scriptRoot,
    timeoutMs: action.timeoutMinutes * 60_000,
    log: context.log,
    label: `[${change.id}]`,
    env: context.scriptEnvironment(change),
  })
    .then((result) => {
      entry.durationMs = result.durationMs;
      const { outcome, reason } = scriptVerdict(result, action.timeoutMinutes);
      context.ledger.set(change.id, {
        outcome,
        attemptId: context.attemptId,
        at: new Date(context.now()).toISOString(),
        durationMs: result.durationMs,
        reason,
      });
      context.finish(entry, outcome, reason);
      context.wake();
    })
    .catch((error: unknown) => {
      // Never leave the change "running" until the step's timeout (task-lib swallows unhandled rejections).
      if (entry.outcome === 'running') context.finish(entry, 'failed', `its result could not be recorded: ${messageOf(error)}`);
      context.wake();
    });
  context.scriptsRunning.add(finished);
  void finished.finally(() => context.scriptsRunning.delete(finished));
}

/** What a script's end means for its change. */
export function scriptVerdict(
  result: ScriptRun,
  timeoutMinutes: number,
): { outcome: 'succeeded' | 'failed' | 'timed-out'; reason?: string } {
  if (result.startError) return { outcome: 'failed', reason: result.startError };
  if (result.canceled)
    return {
      outcome: 'failed',
      reason: 'interrupted by a cancel of the step: its process group was ended; run it again in a later attempt',
    };
  if (result.timedOut) return { outcome: 'timed-out', reason: `stopped after its ${timeoutMinutes} minute timeout` };
  if (result.exitCode !== 0)
    return { outcome: 'failed', reason: result.signal ? `ended by ${result.signal}` : `exit code ${result.exitCode}` };
  return { outcome: 'succeeded' };
}
