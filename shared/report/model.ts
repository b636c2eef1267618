/**
 * The night of a maintenance window as one JSON document: what the finish step attaches to the pipeline run,
 * what the rehearsal writes, and what the one renderer (`render.ts`) draws. Times are ISO 8601 instants (UTC);
 * the page shows them in the window's time zone. Pure data and pure functions: it runs in a task, in the
 * rehearsal and in the browser (the results tab), so it imports nothing that needs Node.
 */

/** Bumped when a field changes meaning or goes away; new optional fields keep the version. */
export const NIGHT_SCHEMA_VERSION = 1;
/** The attachment type the finish step uploads (`##vso[task.addattachment type=...]`) and the results tab asks for. */
export const NIGHT_ATTACHMENT_TYPE = 'maintenance-window-night';
export const NIGHT_ATTACHMENT_NAME = 'night.json';

export type NightState = 'running' | 'succeeded' | 'failed' | 'canceled';

export interface TimedPart {
  name: string;
  displayName?: string;
  /** `Succeeded`, `Failed`, `Canceled`, `Skipped`, `SucceededWithIssues`, `InProgress`... */
  result: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface NightStage extends TimedPart {
  jobs?: Array<TimedPart & { steps?: TimedPart[] }>;
}

/** A fixed time of the schedule, drawn as a mark on the timeline. */
export interface ScheduleMark {
  label: string;
  at: string;
}

export type SilenceState = 'restored' | 'expired' | 'left';

/** Something the window silenced or swapped (an undo record), and whether it is back. */
export interface NightSilence {
  recordId: string;
  kind: string;
  description: string;
  createdAt: string;
  /** When it ends by itself, if it does. */
  expiresAt?: string;
  /** When its partner step put it back. */
  restoredAt?: string;
  state: SilenceState;
  /** Words: how it came back, or why it is not back. */
  how: string;
}

export interface NightChange {
  id: string;
  title?: string;
  dependsOn: string[];
  /** `succeeded`, `failed`, `blocked`, `skipped`, `confirmed`, `not-run`, `pending`... */
  outcome: string;
  reason?: string;
  runUrl?: string;
  runName?: string;
  durationMs?: number;
  /** On the longest chain of changes (by duration): what the night waited for. */
  critical?: boolean;
}

export interface NightApproval {
  stage: string;
  environment?: string;
  at?: string;
  by?: string;
}

export interface LeftBehind {
  recordId: string;
  kind: string;
  description: string;
  /** What to run to put it back. */
  howToRestore: string;
}

export interface NightReport {
  schemaVersion: typeof NIGHT_SCHEMA_VERSION;
  window: {
    id?: string;
    name: string;
    planFile?: string;
    /** The Sunday of the window (local date). */
    date?: string;
    timeZone: string;
    /** The window's scheduled end. */
    endsAt?: string;
  };
  /** When this document was made (the window's clock). */
  generatedAt: string;
  simulatedClock: boolean;
  run?: { link?: string; buildId?: string };
  state: NightState;
  stages: NightStage[];
  marks: ScheduleMark[];
  silences: NightSilence[];
  changes: NightChange[];
  approvals: NightApproval[];
  verdict: { everythingBack: boolean; headline: string; left: LeftBehind[] };
}

/** The verdict's first line, from the night's state and what is not back. */
export function verdictHeadline(state: NightState, leftCount: number, failedStages: number): string {
  if (leftCount) return `${leftCount} thing(s) silenced or swapped are NOT back`;
  if (state === 'canceled') return 'Cancelled; everything silenced or swapped is back';
  if (state === 'running') return 'Still running; everything silenced or swapped so far is back';
  if (failedStages) return `Finished with ${failedStages} failed stage(s); everything silenced or swapped is back`;
  return 'Finished; everything silenced or swapped is back';
}

/** A clear error for a document that is not a night report this code can draw. */
export class NightReportError extends Error {
  override name = 'NightReportError';
}

/** Reads a night report (text or parsed), checking what the renderer relies on. */
export function parseNightReport(value: unknown): NightReport {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new NightReportError(`the night report is not JSON (${(error as Error).message})`);
    }
  }
  const report = parsed as Partial<NightReport> | null;
  if (!report || typeof report !== 'object') throw new NightReportError('the night report is not an object');
  if (report.schemaVersion !== NIGHT_SCHEMA_VERSION) {
    throw new NightReportError(
      `the night report has schemaVersion ${JSON.stringify(report.schemaVersion)}; this page draws version ${NIGHT_SCHEMA_VERSION}`,
    );
  }
  for (const list of ['stages', 'marks', 'silences', 'changes', 'approvals'] as const) {
    if (!Array.isArray(report[list])) throw new NightReportError(`the night report has no '${list}' list`);
  }
  if (!report.window || typeof report.window.name !== 'string' || typeof report.window.timeZone !== 'string') {
    throw new NightReportError("the night report's 'window' needs a name and a timeZone");
  }
  if (!report.verdict || !Array.isArray(report.verdict.left)) throw new NightReportError("the night report has no 'verdict'");
  return report as NightReport;
}

/**
 * Marks the longest chain of changes by duration (a change without a duration counts one minute), the chain
 * the night waited for. Returns the ids on it, first to last.
 */
export function criticalPath(changes: Array<Pick<NightChange, 'id' | 'dependsOn' | 'durationMs'>>): string[] {
  const byId = new Map(changes.map((change) => [change.id, change]));
  const finish = new Map<string, { total: number; via?: string }>();
  const visiting = new Set<string>();
  const finishOf = (id: string): number => {
    const known = finish.get(id);
    if (known) return known.total;
    const change = byId.get(id);
    if (!change || visiting.has(id)) return 0;
    visiting.add(id);
    let best: { total: number; via?: string } = { total: 0 };
    for (const dependency of change.dependsOn) {
      const total = finishOf(dependency);
      if (byId.has(dependency) && total >= best.total) best = { total, via: dependency };
    }
    visiting.delete(id);
    const own = change.durationMs ?? 60_000;
    finish.set(id, { total: best.total + own, via: best.via });
    return best.total + own;
  };
  let end: string | undefined;
  for (const change of changes) if (end === undefined || finishOf(change.id) > finishOf(end)) end = change.id;
  const path: string[] = [];
  for (let id = end; id !== undefined; id = finish.get(id)?.via) path.unshift(id);
  return path;
}

/** Start offsets (ms from the first change) of each change: after its dependencies, for the Gantt. */
export function changeOffsets(changes: Array<Pick<NightChange, 'id' | 'dependsOn' | 'durationMs'>>): Map<string, number> {
  const byId = new Map(changes.map((change) => [change.id, change]));
  const offsets = new Map<string, number>();
  const visiting = new Set<string>();
  const startOf = (id: string): number => {
    const known = offsets.get(id);
    if (known !== undefined) return known;
    const change = byId.get(id);
    if (!change || visiting.has(id)) return 0;
    visiting.add(id);
    let start = 0;
    for (const dependency of change.dependsOn) {
      const before = byId.get(dependency);
      if (before) start = Math.max(start, startOf(dependency) + (before.durationMs ?? 60_000));
    }
    visiting.delete(id);
    offsets.set(id, start);
    return start;
  };
  for (const change of changes) startOf(change.id);
  return offsets;
}
