import { InputError, messageOf } from '../core/errors';
import { loadYaml } from '../core/lazy';
import type { Log } from '../core/log';
import { link, MarkdownSummary } from '../core/summary';
import { textOf } from '../core/text';
import type { DevOpsClient } from './client';
import { StartIntentFile } from './start-intent';
import { passedOverMessage } from './run-match';
import { PipelineRuns, singleRunTags, tagValue, TAG_PREFIX, type PipelineRef, type RunState } from './runs';

/**
 * One pipeline of the user's (the window's full regression run), started with a branch and template parameters
 * and awaited. Starting, tagging and reading runs are `PipelineRuns`' (shared with the plan's changes); this
 * module decides whether to start at all and waits. The run is tagged with the window, a key and the attempt, so
 * running the step again in the same window finds it: a run still going is waited for, a success is not
 * repeated, a failure of this attempt stays a failure, and only a failure of an earlier attempt (a re-run of
 * the stage) is started again.
 */

export interface PipelineSelector {
  /** As the person wrote it, for messages. */
  text: string;
  id?: number;
  name?: string;
  folder?: string;
}

/** `42`, `Full Regression`, or `\Tests\Full Regression` (`/` works too): an id, or a name in an optional folder. */
export function parsePipelineSelector(inputName: string, text: string): PipelineSelector {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const id = Number(trimmed);
    if (!Number.isSafeInteger(id) || id < 1) throw new InputError(inputName, `'${trimmed}' is not a pipeline id.`);
    return { text: trimmed, id };
  }
  const normalized = trimmed.replace(/\//g, '\\');
  const cut = normalized.lastIndexOf('\\');
  const name = normalized.slice(cut + 1).trim();
  if (!name) throw new InputError(inputName, `'${trimmed}' names no pipeline: give its name (in a folder: \\Folder\\Name) or its id.`);
  const folder = cut > 0 ? normalized.slice(0, cut) : undefined;
  return { text: trimmed, name, folder };
}

/** A branch name (`main`, `release/2025-04`) or a full ref; empty means the pipeline's default branch. */
export function parseBranch(inputName: string, text: string | undefined): string | undefined {
  const branch = text?.trim();
  if (!branch) return undefined;
  if (/[\s~^:?*[\\]|\.\.|\/\/|^\/|\/$|\.lock$|@\{/.test(branch)) {
    throw new InputError(inputName, `'${branch}' is not a git branch name (no spaces, '..', '~^:?*[\\', or leading/trailing '/').`);
  }
  return branch;
}

/**
 * Template parameters as a YAML or JSON map (`environment: production`). Scalars are passed as text; a list
 * or map value is passed as JSON text, which the pipeline reads like YAML for an `object` parameter.
 */
export function parseTemplateParameters(inputName: string, text: string | undefined): Record<string, string> {
  if (!text?.trim()) return {};
  let parsed: unknown;
  try {
    parsed = loadYaml().parse(text);
  } catch (error) {
    throw new InputError(inputName, `is not valid YAML or JSON: ${messageOf(error).split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError(
      inputName,
      'must be a map of parameter names to values, e.g. `environment: production` (one per line) or {"environment": "production"}.',
    );
  }
  const parameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name))
      throw new InputError(inputName, `'${name}' is not a parameter name (letters, digits, '_', '.', '-').`);
    if (value === null || value === undefined)
      throw new InputError(inputName, `parameter '${name}' has no value; leave it out to take the pipeline's default.`);
    parameters[name] = textOf(value);
  }
  return parameters;
}

/** A number of minutes or seconds (decimals allowed), within bounds; `fallback` when empty. */
export function parseAmount(
  inputName: string,
  text: string | undefined,
  bounds: { fallback: number; min: number; max: number; unit: 'minutes' | 'seconds' },
): number {
  const value = text?.trim() || String(bounds.fallback);
  const amount = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(amount) || amount < bounds.min || amount > bounds.max) {
    throw new InputError(inputName, `'${value}' is not a number of ${bounds.unit} between ${bounds.min} and ${bounds.max}.`);
  }
  return amount;
}

/** A key for the run's tag: what tells two steps of one window that run the same pipeline apart. */
export function parseRunKey(inputName: string, text: string | undefined): string | undefined {
  const key = text?.trim();
  if (!key) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(key))
    throw new InputError(inputName, `'${key}' is not a key: letters, digits, '.', '_' and '-', up to 100.`);
  return key;
}

export type RunOutcome = 'succeeded' | 'failed' | 'canceled' | 'partially-succeeded' | 'timed-out';

export interface RunPipelineOptions {
  client: DevOpsClient;
  log: Log;
  pipeline: PipelineSelector;
  branch?: string;
  parameters: Record<string, string>;
  /** Tags the run: the same in every run of the step in one window. */
  windowId: string;
  /** This attempt (pipeline run and stage attempt): a failure of this attempt is final. */
  attemptId: string;
  /** Default: `pipeline-<id>`. */
  runKey?: string;
  /** How long this step waits for the run (from the step's start). */
  timeoutMs: number;
  pollIntervalMs: number;
  /** Polls back off up to this while the run goes on (default 4 x pollIntervalMs). */
  maxPollIntervalMs?: number;
  /**
   * The records folder: the step writes its intent there before queueing the run, so a crash before the run is
   * tagged does not start a second one. None: no intent is kept.
   */
  recordsDirectory?: string;
  /** Told as soon as the run is known (started or found), so its id and link are out even if the wait fails. */
  onRun?: (run: RunState, pipeline: PipelineRef) => void;
}

export interface RunPipelineResult {
  pipeline: PipelineRef;
  run: RunState;
  outcome: RunOutcome;
  /** Started by this step, or found by its tags: still running, already succeeded, or failed in this attempt. */
  origin: 'started' | 'resumed' | 'succeeded-earlier' | 'failed-in-this-attempt';
  /** Why an earlier run was not taken (it failed in an earlier attempt). */
  note?: string;
  branch?: string;
  parameters: Record<string, string>;
  timeoutMs: number;
  waitedMs: number;
  apiCalls: number;
}

function runLabel(run: RunState): string {
  return `run ${run.name ?? run.id}${run.name ? ` (id ${run.id})` : ''}`;
}

function minutes(ms: number): string {
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  const seconds = Math.max(0, ms / 1000);
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}

async function resolvePipeline(runs: PipelineRuns, selector: PipelineSelector): Promise<PipelineRef> {
  const found = selector.id !== undefined ? await runs.findById(selector.id) : await runs.find(selector.name!, selector.folder);
  if (typeof found === 'string') throw new InputError('pipeline', `${found}; nothing was started.`);
  return found;
}

export async function runPipeline(options: RunPipelineOptions): Promise<RunPipelineResult> {
  const { client, log } = options;
  const startedAt = client.now();
  const callsBefore = client.calls;
  const runs = new PipelineRuns(client, (runId, error) =>
    log.warn(
      `Run ${runId} could not be tagged (${messageOf(error)}); it is followed now, but running this step again will not recognise ` +
        `it and may start another.`,
    ),
  );
  const pipeline = await resolvePipeline(runs, options.pipeline);
  const key = options.runKey ?? `pipeline-${pipeline.id}`;
  const result = (run: RunState, outcome: RunOutcome, origin: RunPipelineResult['origin'], note?: string): RunPipelineResult => ({
    pipeline,
    run,
    outcome,
    origin,
    note,
    branch: options.branch,
    parameters: options.parameters,
    timeoutMs: options.timeoutMs,
    waitedMs: client.now() - startedAt,
    apiCalls: client.calls - callsBefore,
  });

  log.section(
    `Pipeline ${pipeline.name} (${pipeline.folder === '\\' ? '' : `${pipeline.folder}\\`}id ${pipeline.id}), window ${options.windowId}`,
  );
  const begun = await beginRun(options, runs, pipeline, key);
  options.onRun?.(begun.run, pipeline);
  if (begun.final) return result(begun.run, begun.final, begun.origin);
  const run = await followRun(options, runs, pipeline, begun.run, startedAt);
  if (run.status === 'running') return result(run, 'timed-out', begun.origin, begun.note);
  const took = run.startedAt && run.finishedAt ? ` after ${minutes(run.finishedAt - run.startedAt)}` : '';
  log.info(`${pipeline.name} ${runLabel(run)} ${run.status}${took}. ${run.webUrl ?? ''}`.trim());
  return result(run, run.status, begun.origin, begun.note);
}

interface BegunRun {
  run: RunState;
  origin: RunPipelineResult['origin'];
  note?: string;
  /** Set when there is nothing to wait for: the earlier run's result stands. */
  final?: RunOutcome;
}

/**
 * The run this step follows: one of this window still running, or one that already succeeded or failed in this
 * attempt (final), found by its tags; otherwise a new one (an earlier attempt's failure is run again).
 */
async function beginRun(options: RunPipelineOptions, runs: PipelineRuns, pipeline: PipelineRef, key: string): Promise<BegunRun> {
  const { log } = options;
  const intent = options.recordsDirectory ? StartIntentFile.of(options.recordsDirectory, options.windowId, key) : undefined;
  // A start interrupted before its run was tagged: that run is newer than any tagged one.
  const adopted = intent && (await adoptInterruptedStart(options, runs, pipeline, { key, intent }));
  const earlier =
    adopted ??
    (await runs.runsOfWindow(options.windowId)).find((run) => tagValue(run.tags, TAG_PREFIX.run)?.toLowerCase() === key.toLowerCase());
  const sameAttempt = earlier !== undefined && tagValue(earlier.tags, TAG_PREFIX.attempt) === options.attemptId;
  if (earlier?.status === 'running') {
    log.info(
      (
        `${runLabel(earlier)} started earlier in this window is still running; ` +
        `waiting for it instead of starting another. ${earlier.webUrl ?? ''}`
      ).trim(),
    );
    return { run: earlier, origin: 'resumed' };
  }
  if (earlier?.status === 'succeeded') {
    log.info(`${runLabel(earlier)} already succeeded in this window; not starting it again. ${earlier.webUrl ?? ''}`.trim());
    return { run: earlier, origin: 'succeeded-earlier', final: 'succeeded' };
  }
  if (earlier && sameAttempt) {
    log.warn(
      (
        `${runLabel(earlier)} of this attempt ended ${earlier.status}; ` +
        `a re-run of the stage (a new attempt) starts it again. ${earlier.webUrl ?? ''}`
      ).trim(),
    );
    return { run: earlier, origin: 'failed-in-this-attempt', final: earlier.status as RunOutcome };
  }
  let note: string | undefined;
  if (earlier) {
    note = `${runLabel(earlier)} of an earlier attempt ended ${earlier.status}; started it again`;
    log.info(`${note}.`);
  }
  const run = await startRun(options, runs, pipeline, { key, intent });
  return { run, origin: 'started', note };
}

/** Starts the run, its intent written first and cleared once the run is tagged. */
async function startRun(
  options: RunPipelineOptions,
  runs: PipelineRuns,
  pipeline: PipelineRef,
  { key, intent }: { key: string; intent?: StartIntentFile },
): Promise<RunState> {
  const { log } = options;
  const parameterNames = Object.keys(options.parameters);
  const withParameters = parameterNames.length ? ` with parameters ${parameterNames.join(', ')}` : '';
  log.info(`Starting ${pipeline.name} on ${options.branch ?? 'its default branch'}${withParameters}.`);
  intent?.write({ pipelineId: pipeline.id, attemptId: options.attemptId, at: new Date(options.client.now()).toISOString() });
  let run: RunState;
  try {
    run = await runs.start(pipeline, {
      branch: options.branch,
      parameters: options.parameters,
      tags: singleRunTags(options.windowId, key, options.attemptId),
      onQueued: (runId) => log.info(`Queued ${pipeline.name} run ${runId}; tagging it.`),
      onPassedOver: (passed) => log.warn(passedOverMessage('', pipeline.name, passed)),
    });
  } catch (error) {
    const status = (error as { status?: number }).status;
    // Refused by the service (4xx): nothing was queued. Otherwise the intent stays for a later run to look.
    if (status !== undefined && status < 500) intent?.clear();
    // The service refuses a run whose parameters or branch the pipeline does not accept with a 400.
    if (status === 400)
      throw new Error(
        `${messageOf(error)} Check the inputs 'parameters' and 'branch' against what ${pipeline.name} declares; nothing was started.`,
        { cause: error },
      );
    throw error;
  }
  intent?.clear();
  log.info(`Started ${pipeline.name}: ${runLabel(run)} ${run.webUrl ?? ''}`.trim());
  return run;
}

/**
 * An earlier run of the step wrote its intent and stopped before its run was tagged: the newest untagged run of
 * the pipeline queued since is that run (tagged now, with the intent's attempt); none means it was never queued.
 */
async function adoptInterruptedStart(
  options: RunPipelineOptions,
  runs: PipelineRuns,
  pipeline: PipelineRef,
  { key, intent }: { key: string; intent: StartIntentFile },
): Promise<RunState | undefined> {
  const open = intent.read();
  if (!open || open.pipelineId !== pipeline.id) return undefined;
  const adopted = await runs.adoptUntagged(pipeline, {
    since: Date.parse(open.at),
    tags: singleRunTags(options.windowId, key, open.attemptId),
    sent: { parameters: options.parameters, branch: options.branch },
    onPassedOver: (passed) => options.log.warn(passedOverMessage('', pipeline.name, passed)),
  });
  const when = `at ${open.at} (attempt ${open.attemptId})`;
  options.log.info(
    adopted
      ? `An earlier run of this step was starting ${pipeline.name} ${when} and stopped before tagging the run; ${runLabel(adopted)}, ` +
          `queued since and untagged, is that run: tagged it and took it over instead of starting another.`
      : `An earlier run of this step was starting ${pipeline.name} ${when} and stopped; no untagged run of it was queued since, ` +
          `so it never started.`,
  );
  intent.clear();
  return adopted;
}

/**
 * Waits for the run: one call per poll, backing off while it goes on, longer when the service asks (Retry-After,
 * rate limits). Returns it finished, or still running when the step's time is up.
 */
async function followRun(
  options: RunPipelineOptions,
  runs: PipelineRuns,
  pipeline: PipelineRef,
  started: RunState,
  startedAt: number,
): Promise<RunState> {
  const { client, log } = options;
  const deadline = startedAt + options.timeoutMs;
  const maxPoll = options.maxPollIntervalMs ?? options.pollIntervalMs * 4;
  let run = started;
  let delay = options.pollIntervalMs;
  let failures = 0;
  let lastLineAt = client.now();
  while (run.status === 'running') {
    const remaining = deadline - client.now();
    if (remaining <= 0) return run;
    await client.sleep(Math.min(Math.max(delay, client.suggestedPauseMs()), remaining));
    try {
      const state = (await runs.poll([run.id])).get(run.id);
      failures = 0;
      if (state) run = { ...run, ...state, tags: run.tags.length >= state.tags.length ? run.tags : state.tags };
    } catch (error) {
      failures++;
      log.warn(`Could not read ${runLabel(run)} (${failures} time(s) in a row): ${messageOf(error)}`);
      if (failures >= 5) throw error;
    }
    delay = Math.min(maxPoll, Math.round(delay * 1.5));
    const elapsed = client.now() - startedAt;
    log.progress((elapsed / options.timeoutMs) * 100, `${pipeline.name} ${runLabel(run)}: ${run.status} after ${minutes(elapsed)}`);
    if (run.status === 'running' && client.now() - lastLineAt >= Math.max(60_000, maxPoll)) {
      lastLineAt = client.now();
      log.info(
        `${pipeline.name} ${runLabel(run)} still running after ${minutes(elapsed)} (the step waits up to ${minutes(options.timeoutMs)}).`,
      );
    }
  }
  return run;
}

const OUTCOME_WORDS: Record<RunOutcome, string> = {
  succeeded: '✅ succeeded',
  failed: '❌ failed',
  canceled: '⊘ canceled',
  'partially-succeeded': '⚠️ partially succeeded (some steps failed)',
  'timed-out': '⏱️ still running at the timeout',
};

/** Why the step fails, naming the run and its link; undefined when it succeeded. */
export function failureMessage(result: RunPipelineResult): string | undefined {
  const { pipeline, run } = result;
  const where = run.webUrl ? `: ${run.webUrl}` : '';
  switch (result.outcome) {
    case 'succeeded':
      return undefined;
    case 'timed-out':
      return (
        `${pipeline.name} ${runLabel(run)} is still running after the step's ${minutes(result.timeoutMs)} timeout; it was left ` +
        `running${where}. Running this step again in the same window waits for it instead of starting another.`
      );
    default: {
      const how = result.outcome === 'partially-succeeded' ? 'partially succeeded (some of its steps failed)' : result.outcome;
      const earlier = result.origin === 'failed-in-this-attempt' ? ' earlier in this attempt' : '';
      return `${pipeline.name} ${runLabel(run)} ${how}${earlier}${where}`;
    }
  }
}

function originWords(result: RunPipelineResult): string {
  switch (result.origin) {
    case 'started':
      return result.note ? `started by this step (${result.note})` : 'started by this step';
    case 'resumed':
      return 'started earlier in this window, awaited by this step';
    case 'succeeded-earlier':
      return 'succeeded earlier in this window; not started again';
    case 'failed-in-this-attempt':
      return 'ended earlier in this attempt; a re-run of the stage starts it again';
  }
}

/** The step's page in the run summary (and in the window's finish summary). */
export function renderRunSummary(result: RunPipelineResult): MarkdownSummary {
  const { pipeline, run } = result;
  const took =
    run.startedAt && run.finishedAt
      ? minutes(run.finishedAt - run.startedAt)
      : result.outcome === 'timed-out'
        ? `over ${minutes(result.timeoutMs)}`
        : '-';
  const parameters = Object.entries(result.parameters);
  return new MarkdownSummary()
    .heading(`${pipeline.name}: ${OUTCOME_WORDS[result.outcome]}`)
    .table(
      ['Pipeline', 'Run', 'Result', 'Branch', 'Took', 'How'],
      [
        [
          `${pipeline.folder === '\\' ? '' : `${pipeline.folder}\\`}${pipeline.name} (id ${pipeline.id})`,
          link(String(run.name ?? run.id), run.webUrl),
          OUTCOME_WORDS[result.outcome],
          result.branch ?? 'default',
          took,
          originWords(result),
        ],
      ],
    )
    .paragraph(
      parameters.length
        ? `Parameters: ${parameters.map(([name, value]) => `\`${name}\` = \`${value.replace(/`/g, "'")}\``).join(', ')}`
        : "Parameters: the pipeline's defaults.",
    );
}
