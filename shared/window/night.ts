import * as path from 'node:path';
import { DateTime } from 'luxon';
import { readChangeResults } from '../plan/change-results';
import type { ChangeReport } from '../plan/checklist';
import type { Plan } from '../plan/plan';
import {
  verdictHeadline,
  criticalPath,
  NIGHT_SCHEMA_VERSION,
  type LeftBehind,
  type NightChange,
  type NightReport,
  type NightStage,
  type NightState,
  type ScheduleMark,
} from '../report/model';
import type { RunTimeline } from '../devops/timeline';
import type { GatheredRun, RecordAssessment } from './finish';
import { parseNotBefore } from './gate';
import { judgedStages, mergeStages, nightApprovals } from './night-stages';

/**
 * Builds the night's JSON document (shared/report/model.ts) from what the finish step already has: the undo
 * records and receipts of every job, the stage results the pipeline passes, the run's build timeline when it
 * could be read (stage, job and step times, approvals: night-stages.ts), the plan, and the change results
 * RunChanges leaves in its records folder (plan/change-results.ts).
 */

const RESTORE_HOW: Record<string, string> = {
  'appgateway-pool': 'run AppGatewayDrain@1 with action restore and this undo record',
  pingdom: 'run PingdomPause@1 with action resume and this undo record',
  'newrelic-muting-rule': 'run AlertMute@1 with action unmute and this undo record',
  'azure-alert-processing-rule': 'run AlertMute@1 with action unmute and this undo record',
  'cloudflare-dns': 'run MaintenancePage@1 with action disable and this undo record',
  'devops-queue-status': 'run RescheduleJobs@1 with action release and this undo record',
  'scheduler-hold': 'run RescheduleJobs@1 with action release and this undo record',
};

export function howToRestore(kind: string): string {
  const step = RESTORE_HOW[kind] ?? 'run the restore action of the step that made it, with this undo record';
  const where = "(in the run's records artifact; restores are idempotent), or queue pipelines/recover.yml with this run's id.";
  return `${step[0].toUpperCase()}${step.slice(1)} ${where}`;
}

/** The schedule's fixed times on the window's weekend (Sunday `date`): Sat 19:00, 22:00, Sun 04:30, 04:45, 10:00 and the end. */
export function scheduleMarks(date: string, timeZone: string, windowEnd = 'Sun 12:00'): ScheduleMark[] {
  const sunday = DateTime.fromISO(date, { zone: timeZone });
  if (!sunday.isValid) return [];
  const at = (days: number, hour: number, minute: number) =>
    sunday.plus({ days }).set({ hour, minute, second: 0, millisecond: 0 }).toUTC().toISO();
  const marks = [
    { label: 'Sat 19:00 pre-maintenance', at: at(-1, 19, 0) },
    { label: 'Sat 22:00 smoke', at: at(-1, 22, 0) },
    { label: 'Sun 04:30 web batch 2', at: at(0, 4, 30) },
    { label: 'Sun 04:45 maintenance starts', at: at(0, 4, 45) },
    { label: 'Sun 10:00 regression', at: at(0, 10, 0) },
  ];
  const end = windowEndInstant(date, timeZone, windowEnd);
  if (end) marks.push({ label: 'window end', at: end });
  return marks;
}

/** The window's end (`Sun 12:00` or a local date-time) as an instant, or undefined when it cannot be read. */
export function windowEndInstant(date: string, timeZone: string, windowEnd: string): string | undefined {
  try {
    const end = parseNotBefore('windowEnd', windowEnd);
    const sunday = DateTime.fromISO(date, { zone: timeZone });
    const local =
      end.kind === 'weekly'
        ? sunday.plus({ days: end.weekday - 7 }).set({ hour: end.hour, minute: end.minute })
        : DateTime.fromISO(end.date, { zone: timeZone }).set({ hour: end.hour, minute: end.minute });
    return local.isValid ? local.toUTC().toISO() : undefined;
  } catch {
    return undefined;
  }
}

export function nightState(stages: Array<{ result: string }>, leftCount: number): NightState {
  if (stages.some((stage) => /^cancel+ed$/i.test(stage.result))) return 'canceled';
  if (leftCount > 0 || stages.some((stage) => /^failed$/i.test(stage.result))) return 'failed';
  if (stages.some((stage) => /^(inprogress|running|pending)$/i.test(stage.result))) return 'running';
  return 'succeeded';
}

function nightChanges(plan: Plan | undefined, results: ChangeReport[]): NightChange[] {
  const byId = new Map(results.map((report) => [report.id, report]));
  const planned = plan?.changes ?? [];
  const changes: NightChange[] = planned.map((change) => {
    const report = byId.get(change.id);
    return {
      id: change.id,
      title: change.title,
      dependsOn: change.dependsOn,
      outcome:
        report?.outcome ?? (change.status === 'done' ? 'done' : ['doing', 'planned'].includes(change.status) ? 'not-run' : change.status),
      ...((report?.reason ?? change.reason) ? { reason: report?.reason ?? change.reason } : {}),
      ...(report?.runUrl ? { runUrl: report.runUrl } : {}),
      ...(report?.runName ? { runName: report.runName } : {}),
      ...(report?.durationMs !== undefined ? { durationMs: report.durationMs } : {}),
    };
  });
  for (const report of results)
    if (!planned.some((change) => change.id === report.id))
      changes.push({
        id: report.id,
        dependsOn: [],
        outcome: report.outcome,
        reason: report.reason,
        runUrl: report.runUrl,
        runName: report.runName,
        durationMs: report.durationMs,
      });
  const critical = new Set(criticalPath(changes.filter((change) => change.durationMs !== undefined)));
  return changes.map((change) => (critical.has(change.id) ? { ...change, critical: true } : change));
}

export interface NightInput {
  gathered: GatheredRun;
  assessments: RecordAssessment[];
  stageResults: Array<{ stage: string; result: string }>;
  /** The run's build timeline, when it could be read: times, jobs, steps, approvals. */
  timeline?: RunTimeline;
  now: Date;
  timeZone: string;
  windowName: string;
  windowId?: string;
  planFile?: string;
  plan?: Plan;
  /** The window's end as the start step was given it (`Sun 12:00` by default). */
  windowEnd?: string;
  link?: string;
  buildId?: string;
  simulatedClock: boolean;
}

/** The night's document, as the finish step knows it. */
export function buildNightReport(input: NightInput): NightReport {
  const left = input.assessments.filter((item) => item.state === 'left');
  const stages: NightStage[] = mergeStages(input.stageResults, input.timeline);
  // The finish's own stage is in progress while it runs: judged on the pipeline's results, or on what has ended.
  const judged = judgedStages(input.stageResults, stages);
  const date = input.plan?.window.date;
  const marks = date ? scheduleMarks(date, input.timeZone, input.windowEnd) : [];
  const leftBehind: LeftBehind[] = left.map((item) => ({
    recordId: item.record.id,
    kind: item.record.kind,
    description: item.record.description,
    howToRestore: howToRestore(item.record.kind),
  }));
  const failedStages = judged.filter((stage) => /^failed$/i.test(stage.result)).length;
  const state = nightState(judged, left.length);
  return {
    schemaVersion: NIGHT_SCHEMA_VERSION,
    window: {
      ...(input.windowId ? { id: input.windowId } : {}),
      name: input.windowName,
      ...(input.planFile ? { planFile: input.planFile } : {}),
      ...(date ? { date } : {}),
      timeZone: input.timeZone,
      ...(date ? { endsAt: windowEndInstant(date, input.timeZone, input.windowEnd ?? 'Sun 12:00') } : {}),
    },
    generatedAt: input.now.toISOString(),
    simulatedClock: input.simulatedClock,
    ...(input.link || input.buildId ? { run: { link: input.link, buildId: input.buildId } } : {}),
    state,
    stages,
    marks,
    silences: input.assessments.map((item) => ({
      recordId: item.record.id,
      kind: item.record.kind,
      description: item.record.description,
      createdAt: item.record.createdAt,
      ...(item.record.expiresAt ? { expiresAt: item.record.expiresAt } : {}),
      ...(item.receipt ? { restoredAt: item.receipt.restoredAt } : {}),
      state: item.state,
      how: item.how,
    })),
    changes: nightChanges(input.plan, readChangeResults(input.gathered.folders.filter((folder) => path.basename(folder) === 'records'))),
    approvals: nightApprovals(input.timeline),
    verdict: { everythingBack: left.length === 0, headline: verdictHeadline(state, left.length, failedStages), left: leftBehind },
  };
}
