import type { DevOpsClient, DevOpsClientOptions } from './client';

/**
 * A run's build timeline (Timeline - Get, `GET {project}/_apis/build/builds/{buildId}/timeline`, scope vso.build)
 * as stages → jobs → steps with their times, and the approvals given on its stages: what the finish step puts
 * in the night's document. The mapping (`runTimelineFromRecords`) is pure; `readRunTimeline` is the one call.
 *
 * What the records of a YAML run look like (Timeline - Get documents the fields, not the tree): `Stage` records
 * (`identifier` is the YAML stage name, `name` its displayName), under each a `Phase`, under it the `Job`
 * records, under each job its `Task` records; `parentId` links a record to the one above and `order` orders
 * siblings. A stage's checks appear as a `Checkpoint` record under the stage with one `Checkpoint.Approval`
 * record per approval below it. Each approval keeps its record's `id`: Microsoft's docs do not say it is the
 * approval's id, so who gave it is asked separately (`approvals.ts`), which checks the answer is this run's
 * before naming anyone. Which environment it was asked for the record does not say (`environment` stays empty).
 */

export type TimelineRecordState = 'pending' | 'inProgress' | 'completed';

/** One record as the client hands it back: enums as numbers (the library converts them), times as Dates or text. */
export interface RawTimelineRecord {
  id?: string;
  parentId?: string | null;
  type?: string;
  name?: string;
  identifier?: string | null;
  order?: number | null;
  state?: number | string | null;
  result?: number | string | null;
  startTime?: Date | string | null;
  finishTime?: Date | string | null;
}

export interface TimelinePart {
  /** The YAML name for a stage (its `identifier`), else the record's name. */
  name: string;
  displayName?: string;
  /** `Succeeded`, `SucceededWithIssues`, `Failed`, `Canceled`, `Skipped`, `Abandoned`, or `InProgress` / `Pending` before it ends. */
  result: string;
  state: TimelineRecordState;
  startedAt?: string;
  finishedAt?: string;
}

export interface TimelineJob extends TimelinePart {
  steps: TimelinePart[];
}

export interface TimelineStage extends TimelinePart {
  jobs: TimelineJob[];
}

export interface TimelineApproval {
  /** The `Checkpoint.Approval` record's id (perhaps the approval's id: `approvals.ts` checks before relying on it). */
  id?: string;
  /** The stage's YAML name. */
  stage: string;
  /** When it was decided (or asked, while pending). */
  at?: string;
  /** `Succeeded` for an approval given, `Failed` for one rejected, `InProgress` while it waits... */
  result: string;
  /** Who gave it, when Approvals - Query vouched for it (`approvals.ts`). */
  approvedBy?: string[];
}

export interface RunTimeline {
  stages: TimelineStage[];
  approvals: TimelineApproval[];
}

/** TaskResult and TimelineRecordState of azure-devops-node-api, by their wire names and by the numbers the library makes of them. */
const RESULTS = ['Succeeded', 'SucceededWithIssues', 'Failed', 'Canceled', 'Skipped', 'Abandoned'];
const STATES: TimelineRecordState[] = ['pending', 'inProgress', 'completed'];

function stateOf(value: RawTimelineRecord['state']): TimelineRecordState {
  if (typeof value === 'number') return STATES[value] ?? 'pending';
  const named = STATES.find((state) => state.toLowerCase() === String(value ?? '').toLowerCase());
  return named ?? 'pending';
}

function resultOf(record: RawTimelineRecord, state: TimelineRecordState): string {
  if (state === 'inProgress') return 'InProgress';
  if (state === 'pending') return 'Pending';
  const value = record.result;
  if (typeof value === 'number') return RESULTS[value] ?? 'Unknown';
  return RESULTS.find((result) => result.toLowerCase() === String(value ?? '').toLowerCase()) ?? 'Unknown';
}

/** An ISO time, or undefined for nothing, an unparsable text or the unset year 1 of .NET. */
export function instant(value: Date | string | null | undefined): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const date = value instanceof Date ? value : new Date(value);
  // The service sends unset times as missing; the year 1 of .NET's MinValue is not a time either.
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() < 2000 ? undefined : date.toISOString();
}

function part(record: RawTimelineRecord, name: string, displayName?: string): TimelinePart {
  const state = stateOf(record.state);
  const startedAt = instant(record.startTime);
  const finishedAt = instant(record.finishTime);
  return {
    name,
    ...(displayName && displayName !== name ? { displayName } : {}),
    result: resultOf(record, state),
    state,
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
  };
}

const byOrder = (a: RawTimelineRecord, b: RawTimelineRecord): number =>
  (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER);

const isType = (record: RawTimelineRecord, type: string): boolean => (record.type ?? '').toLowerCase() === type.toLowerCase();

/** Stages → jobs → steps, in `order`, and the approvals of each stage, from a timeline's records. */
export function runTimelineFromRecords(records: RawTimelineRecord[]): RunTimeline {
  const usable = records.filter((record): record is RawTimelineRecord & { id: string } => typeof record?.id === 'string');
  const byId = new Map(usable.map((record) => [record.id, record]));
  const children = (parent: RawTimelineRecord, type: string) =>
    usable.filter((record) => record.parentId === parent.id && isType(record, type)).sort(byOrder);
  /** The stage a record sits under, however many levels (Phase, Checkpoint) lie between. */
  const stageOf = (record: RawTimelineRecord): RawTimelineRecord | undefined => {
    const seen = new Set<string>();
    for (let up = byId.get(record.parentId ?? ''); up?.id && !seen.has(up.id); up = byId.get(up.parentId ?? '')) {
      seen.add(up.id);
      if (isType(up, 'Stage')) return up;
    }
    return undefined;
  };
  const stageRecords = usable.filter((record) => isType(record, 'Stage')).sort(byOrder);
  const stages = stageRecords.map((stage): TimelineStage => {
    const jobs = usable.filter((record) => isType(record, 'Job') && stageOf(record) === stage).sort(byOrder);
    return {
      ...part(stage, stage.identifier || stage.name || stage.id, stage.name),
      jobs: jobs.map((job) => ({
        ...part(job, job.name || job.identifier || job.id),
        steps: children(job, 'Task').map((step) => part(step, step.name || step.id)),
      })),
    };
  });
  const approvals = usable
    .filter((record) => isType(record, 'Checkpoint.Approval'))
    .sort(byOrder)
    .flatMap((record): TimelineApproval[] => {
      const stage = stageOf(record);
      if (!stage) return [];
      const state = stateOf(record.state);
      const at = instant(record.finishTime) ?? instant(record.startTime);
      const approval = { id: record.id, stage: stage.identifier || stage.name || stage.id!, result: resultOf(record, state) };
      return [{ ...approval, ...(at ? { at } : {}) }];
    });
  return { stages, approvals };
}

/** Bounds of the one read (give them to the client): a few quick retries, never minutes (the finish must still announce). */
export const TIMELINE_READ_LIMITS: Pick<DevOpsClientOptions, 'maxRetries' | 'baseDelayMs' | 'attemptTimeoutMs' | 'deadlineMs'> = {
  maxRetries: 2,
  baseDelayMs: 500,
  attemptTimeoutMs: 20_000,
  deadlineMs: 45_000,
};

/** Reads run `buildId`'s timeline (Timeline - Get, needs "View builds") and maps it. */
export async function readRunTimeline(options: { client: DevOpsClient; buildId: number }): Promise<RunTimeline> {
  const { client, buildId } = options;
  const build = await client.build();
  const timeline = await client.call(`read the timeline of run ${buildId}`, () => build.getBuildTimeline(client.project, buildId), {
    expect: (result) =>
      result && typeof result === 'object' && Array.isArray((result as { records?: unknown }).records)
        ? undefined
        : 'expected a timeline with a list of records',
  });
  return runTimelineFromRecords(timeline.records ?? []);
}
