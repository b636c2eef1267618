import { DateTime } from 'luxon';
import { chainHeights, dependentsOf } from './graph';
import type { Change, Plan } from './plan';

/**
 * Will the night fit? A forecast of the window from Starting Maintenance on: each change's duration (the median
 * of its pipeline's recent successful runs, else the plan's `estimateMinutes`, else a stated default), the
 * plan's schedule under `maxParallel` and its dependencies (the runner's own order: longest chain first, then
 * plan order), the other server groups' patching, the verify smoke tests and the regression run at its fixed
 * time, measured against the regression time, the window's end plus its grace, and every silence that must
 * cover the work. Pure: the times and the history are inputs, so the same numbers drive the rehearsal.
 */

/** Stated defaults, used when neither Azure DevOps nor the plan says how long something takes. */
export const FORECAST_DEFAULTS = {
  /** A pipeline change with no successful run in its history and no `estimateMinutes`. */
  pipelineMinutes: 30,
  /** A script change with no `estimateMinutes`. */
  scriptMinutes: 10,
  /** A manual change with no `estimateMinutes` (a person does it; it takes no slot of `maxParallel`). */
  manualMinutes: 15,
  /** One patching batch (`maxParallel` servers at once) when Azure reports no recent patch time. */
  patchBatchMinutes: 45,
  /** The verify smoke tests. */
  smokeMinutes: 5,
  /** The regression pipeline when it has no successful run in its history. */
  regressionMinutes: 60,
  /** How many recent successful runs the median is taken over. */
  historyRuns: 10,
} as const;

export type DurationSource = 'history' | 'estimate' | 'default';

export interface Duration {
  minutes: number;
  source: DurationSource;
  /** In plain words: `median of 7 successful runs`, `estimateMinutes in the plan`, `default (30 min)`. */
  basis: string;
}

export interface ServerGroupInput {
  name: string;
  servers: number;
}

export interface SilenceInput {
  /** `Pingdom maintenance window`, `New Relic muting rule`, `maintenance page`. */
  name: string;
  /** What it silences (the object a finding names). */
  object: string;
  startsAt: Date;
  minutes: number;
}

export interface ForecastInput {
  plan: Pick<Plan, 'changes'>;
  maxParallel: number;
  /** Durations in minutes of each pipeline's recent successful runs, newest first, keyed by `pipelineKey`. */
  history: ReadonlyMap<string, number[]>;
  /** When the changes can start (Starting Maintenance, its approval assumed at once). */
  changesStartAt: Date;
  /** The regression pipeline's key in `history`. */
  regressionPipeline: string;
  regressionAt: Date;
  windowEnd: Date;
  graceMinutes: number;
  serverGroups: ServerGroupInput[];
  patchMaxParallel: number;
  /** Minutes of recent patch installations Azure reported (any server); empty: the stated per-batch default. */
  recentPatchMinutes: number[];
  silences: SilenceInput[];
  /** The zone the findings name times in. */
  timeZone: string;
}

export interface ChangeForecast {
  id: string;
  title: string;
  kind: Change['action']['kind'];
  /** Not run: done, not-doing, deferred, or blocked by one of those. */
  skipped?: string;
  startsAt?: Date;
  endsAt?: Date;
  duration?: Duration;
}

export interface ForecastFinding {
  check: string;
  object: string;
  verdict: 'GO' | 'NO-GO' | 'WARN';
  why: string;
  fix: string;
}

export interface NightForecast {
  changes: ChangeForecast[];
  changesEnd: Date;
  patchingEnd: Date;
  patchBatch: Duration;
  verifyEnd: Date;
  regressionStart: Date;
  regressionEnd: Date;
  regression: Duration;
  /** The last moment work that needs the silences is forecast to run (the regression's end). */
  workEnd: Date;
  findings: ForecastFinding[];
}

/** `\\Folder\\Name` (folder omitted at the root): how history is keyed. */
export function pipelineKey(name: string, folder?: string): string {
  const trimmed = (folder ?? '').replace(/\\+$/, '');
  return `${trimmed}\\${name}`.toLowerCase();
}

export function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Durations in minutes of the newest successful runs (those with both times), newest first. */
export function successfulRunMinutes(
  runs: Array<{ status: string; startedAt?: number; finishedAt?: number }>,
  limit: number = FORECAST_DEFAULTS.historyRuns,
): number[] {
  return runs
    .filter(
      (run) => run.status === 'succeeded' && run.startedAt !== undefined && run.finishedAt !== undefined && run.finishedAt >= run.startedAt,
    )
    .sort((a, b) => b.finishedAt! - a.finishedAt!)
    .slice(0, limit)
    .map((run) => (run.finishedAt! - run.startedAt!) / 60_000);
}

function fromHistory(samples: number[] | undefined): Duration | undefined {
  const value = median(samples ?? []);
  if (value === undefined) return undefined;
  return { minutes: value, source: 'history', basis: `median of ${samples!.length} recent successful run(s)` };
}

/** How long one change is forecast to take, and why. */
export function changeDuration(change: Change, history: ReadonlyMap<string, number[]>): Duration {
  const action = change.action;
  if (action.kind === 'pipeline') {
    const known = fromHistory(history.get(pipelineKey(action.name, action.folder)));
    if (known) return known;
  }
  if (change.estimateMinutes !== undefined)
    return { minutes: change.estimateMinutes, source: 'estimate', basis: 'estimateMinutes in the plan' };
  const fallback = {
    pipeline: FORECAST_DEFAULTS.pipelineMinutes,
    script: FORECAST_DEFAULTS.scriptMinutes,
    manual: FORECAST_DEFAULTS.manualMinutes,
  }[action.kind];
  const why = action.kind === 'pipeline' ? 'no successful run in its history and no estimateMinutes' : 'no estimateMinutes in the plan';
  return { minutes: fallback, source: 'default', basis: `default ${fallback} min (${why})` };
}

const NOT_RUN = new Set(['done', 'not-doing', 'deferred']);

/** Changes that will not run: their own status, or a dependency that will not succeed. */
function skippedChanges(changes: Change[]): Map<string, string> {
  const skipped = new Map<string, string>();
  for (const change of changes)
    if (NOT_RUN.has(change.status)) skipped.set(change.id, change.status === 'done' ? 'done already' : change.status);
  for (const change of changes) {
    if (change.status === 'done' || !skipped.has(change.id)) continue;
    for (const id of dependentsOf(changes, change.id)) if (!skipped.has(id)) skipped.set(id, `blocked: '${change.id}' is ${change.status}`);
  }
  return skipped;
}

/**
 * The changes' timeline: the runner's order (ready when every dependency is done; longest chain first, then
 * plan order; at most `maxParallel` pipelines and scripts at once; manual changes by a person, in parallel).
 */
export function scheduleChanges(
  changes: Change[],
  options: { maxParallel: number; startAt: Date; history: ReadonlyMap<string, number[]> },
): ChangeForecast[] {
  const skipped = skippedChanges(changes);
  const heights = chainHeights(changes);
  const start = options.startAt.getTime();
  const endOf = new Map<string, number>();
  for (const change of changes) if (change.status === 'done') endOf.set(change.id, start);
  const results = new Map<string, ChangeForecast>();
  const pending = changes.filter((change) => !skipped.has(change.id));
  const running: Array<{ id: string; end: number; slot: boolean }> = [];
  let now = start;
  while (pending.length) {
    const ready = pending
      .filter((change) => change.dependsOn.every((id) => (endOf.get(id) ?? Infinity) <= now))
      .sort((a, b) => heights.get(b.id)! - heights.get(a.id)! || changes.indexOf(a) - changes.indexOf(b));
    for (const change of ready) {
      const slot = change.action.kind !== 'manual';
      if (slot && running.filter((entry) => entry.slot).length >= Math.max(1, options.maxParallel)) continue;
      const duration = changeDuration(change, options.history);
      const end = now + duration.minutes * 60_000;
      running.push({ id: change.id, end, slot });
      results.set(change.id, {
        id: change.id,
        title: change.title,
        kind: change.action.kind,
        startsAt: new Date(now),
        endsAt: new Date(end),
        duration,
      });
      pending.splice(pending.indexOf(change), 1);
    }
    if (!running.length) break; // only unknown dependencies are left (refused by validation)
    running.sort((a, b) => a.end - b.end);
    now = running[0].end;
    while (running.length && running[0].end <= now) endOf.set(running.shift()!.id, now);
  }
  return changes.map(
    (change) =>
      results.get(change.id) ?? {
        id: change.id,
        title: change.title,
        kind: change.action.kind,
        skipped: skipped.get(change.id) ?? 'its dependencies never finish',
      },
  );
}

/** One batch of patching: the median of recent patch times Azure reported, else the stated default. */
export function patchBatchDuration(recentPatchMinutes: number[]): Duration {
  return (
    fromHistory(recentPatchMinutes) ?? {
      minutes: FORECAST_DEFAULTS.patchBatchMinutes,
      source: 'default',
      basis: `default ${FORECAST_DEFAULTS.patchBatchMinutes} min per batch (Azure reported no recent patch time)`,
    }
  );
}

const addMinutes = (date: Date, minutes: number) => new Date(date.getTime() + minutes * 60_000);

/** The whole forecast and its findings. */
export function forecastNight(input: ForecastInput): NightForecast {
  const changes = scheduleChanges(input.plan.changes, {
    maxParallel: input.maxParallel,
    startAt: input.changesStartAt,
    history: input.history,
  });
  const changesEnd = new Date(Math.max(input.changesStartAt.getTime(), ...changes.map((change) => change.endsAt?.getTime() ?? 0)));
  // Each server group is its own job, all at once; in a group `patchMaxParallel` servers at a time.
  const patchBatch = patchBatchDuration(input.recentPatchMinutes);
  const batches = Math.max(0, ...input.serverGroups.map((group) => Math.ceil(group.servers / Math.max(1, input.patchMaxParallel))));
  const patchingEnd = addMinutes(changesEnd, batches * patchBatch.minutes);
  const verifyEnd = addMinutes(patchingEnd, FORECAST_DEFAULTS.smokeMinutes);
  const regressionStart = new Date(Math.max(verifyEnd.getTime(), input.regressionAt.getTime()));
  const regression = fromHistory(input.history.get(input.regressionPipeline)) ?? {
    minutes: FORECAST_DEFAULTS.regressionMinutes,
    source: 'default' as const,
    basis: `default ${FORECAST_DEFAULTS.regressionMinutes} min (no successful run in its history)`,
  };
  const regressionEnd = addMinutes(regressionStart, regression.minutes);
  const forecast: Omit<NightForecast, 'findings'> = {
    changes,
    changesEnd,
    patchingEnd,
    patchBatch,
    verifyEnd,
    regressionStart,
    regressionEnd,
    regression,
    workEnd: regressionEnd,
  };
  return { ...forecast, findings: forecastFindings(input, forecast) };
}

const minutesBetween = (from: Date, to: Date) => Math.round((to.getTime() - from.getTime()) / 60_000);

/** The verdicts: the end against the regression time and the window, each silence against the work it covers. */
export function forecastFindings(input: ForecastInput, forecast: Omit<NightForecast, 'findings'>): ForecastFinding[] {
  const hhmm = (date: Date) => DateTime.fromJSDate(date, { zone: input.timeZone }).toFormat('ccc HH:mm ZZZZ');
  const findings: ForecastFinding[] = [];
  const longest = forecast.changes.filter((change) => change.duration).sort((a, b) => b.duration!.minutes - a.duration!.minutes)[0];
  const longestText = longest ? ` (longest: ${longest.id}, ${Math.round(longest.duration!.minutes)} min, ${longest.duration!.basis})` : '';
  const silenceEnd = addMinutes(input.windowEnd, input.graceMinutes);
  const check = 'forecast';
  if (forecast.changesEnd > silenceEnd) {
    findings.push({
      check,
      object: 'changes',
      verdict: 'NO-GO',
      why:
        `the changes would end at ${hhmm(forecast.changesEnd)}, ${minutesBetween(silenceEnd, forecast.changesEnd)} min ` +
        `after the window's end plus its ${input.graceMinutes} min grace${longestText}`,
      fix: 'move changes to a later window, raise maxParallel, or end the window later (windowEnd)',
    });
  } else if (forecast.regressionEnd > input.windowEnd) {
    findings.push({
      check,
      object: 'window end',
      verdict: 'WARN',
      why: `the regression would end at ${hhmm(forecast.regressionEnd)}, after the window's end (${hhmm(input.windowEnd)})`,
      fix: 'expect to use the grace period, or trim the plan',
    });
  } else {
    findings.push({
      check,
      object: 'window end',
      verdict: 'GO',
      why: `the regression would end at ${hhmm(forecast.regressionEnd)}, before the window's end (${hhmm(input.windowEnd)})`,
      fix: '',
    });
  }
  findings.push(
    forecast.verifyEnd > input.regressionAt
      ? {
          check,
          object: 'regression time',
          verdict: 'WARN',
          why:
            `the changes, patching and verify would end at ${hhmm(forecast.verifyEnd)}, ` +
            `${minutesBetween(input.regressionAt, forecast.verifyEnd)} min after the regression time; it starts late${longestText}`,
          fix: 'tell the regression testers, or trim the plan',
        }
      : {
          check,
          object: 'regression time',
          verdict: 'GO',
          why: `the changes, patching and verify would end at ${hhmm(forecast.verifyEnd)}, before the regression time (${hhmm(
            input.regressionAt,
          )})`,
          fix: '',
        },
  );
  for (const silence of input.silences) {
    const expires = addMinutes(silence.startsAt, silence.minutes);
    findings.push(
      expires < forecast.workEnd
        ? {
            check: 'silence',
            object: silence.object,
            verdict: 'NO-GO',
            why:
              `the ${silence.name} would expire at ${hhmm(expires)} ` +
              `while work that needs it is forecast to run until ${hhmm(forecast.workEnd)}`,
            fix: `make the ${silence.name} last at least ${minutesBetween(silence.startsAt, forecast.workEnd)} min, or trim the plan`,
          }
        : {
            check: 'silence',
            object: silence.object,
            verdict: 'GO',
            why: `the ${silence.name} lasts until ${hhmm(expires)}, past the forecast end of the work (${hhmm(forecast.workEnd)})`,
            fix: '',
          },
    );
  }
  return findings;
}
