import { createHash } from 'node:crypto';
import type { EmulatedApproval, EmulatedTimelineRecord } from '../emulators/azure-devops';
import type { Result, RunProgress, TimelineEntry } from './rehearsal';

/**
 * The rehearsed run as Azure DevOps' build timeline (Timeline - Get) would show it at this moment: a `Stage`
 * record per stage (identifier = YAML name, name = displayName), a `Phase` and a `Job` record per job, a `Task`
 * record per step that has ended, and a `Checkpoint` with one `Checkpoint.Approval` per approval asked; and
 * the same approvals as Approvals - Query answers them (`approvalAnswers`: the record's id, this run, who
 * approved). The rehearsal registers both in the emulated Azure DevOps for its run's `Build.BuildId`, so the
 * finish step reads its stage times, approvals and approvers through the real path, as on a real run.
 */

/** Who is asked and who answers on each environment of the window (setup-environments' two roles). */
const ROLES: Record<string, { assigned: string; approver: string }> = {
  'maintenance-release-manager': { assigned: 'Release Managers', approver: 'Release Manager (rehearsal)' },
  'maintenance-platform-approver': { assigned: 'Platform Approvers', approver: 'Platform Approver (rehearsal)' },
};

export function approverOf(environment: string): string {
  return ROLES[environment]?.approver ?? `Approver of ${environment} (rehearsal)`;
}

/** A GUID for an approval, the same at every read of the same run (the service's ids are GUIDs). */
function approvalId(runId: number, stageIndex: number, index: number): string {
  const hex = createHash('sha1').update(`rehearsal/${runId}/${stageIndex}/${index}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The approvals asked so far, stage by stage, with the ids their timeline records and answers share. */
function stageApprovals(progress: RunProgress, runId: number) {
  return progress.stages.flatMap((stage, stageIndex) =>
    progress.approvals
      .filter((approval) => approval.stage === stage.name)
      .map((approval, index) => ({ ...approval, id: approvalId(runId, stageIndex, index), stageIndex })),
  );
}

/** The run's approvals as Approvals - Query answers them: approved by the environment's approver, or rejected. */
export function approvalAnswers(progress: RunProgress, runId: number): EmulatedApproval[] {
  return stageApprovals(progress, runId).map((approval) => ({
    id: approval.id,
    runId,
    stage: approval.stage,
    status: approval.result === 'Failed' ? 'rejected' : approval.decidedAt ? 'approved' : 'pending',
    assignedApprover: ROLES[approval.environment]?.assigned ?? approval.environment,
    ...(approval.decidedAt ? { approver: approverOf(approval.environment), decidedOn: approval.decidedAt.toISOString() } : {}),
    createdOn: approval.at.toISOString(),
  }));
}

const RESULT: Record<Result, NonNullable<EmulatedTimelineRecord['result']>> = {
  Succeeded: 'succeeded',
  SucceededWithIssues: 'succeededWithIssues',
  Failed: 'failed',
  Skipped: 'skipped',
  Canceled: 'canceled',
};

function span(entries: readonly TimelineEntry[]): { startTime?: string; finishTime?: string } {
  if (!entries.length) return {};
  const start = Math.min(...entries.map((entry) => entry.at.getTime()));
  const end = Math.max(...entries.map((entry) => (entry.endedAt ?? new Date(entry.at.getTime() + entry.durationMs)).getTime()));
  return { startTime: new Date(start).toISOString(), finishTime: new Date(end).toISOString() };
}

/** Times and result of a record: a record still running has its start only, a pending one neither. */
function progressOf(
  state: EmulatedTimelineRecord['state'],
  result: Result | undefined,
  entries: readonly TimelineEntry[],
): Pick<EmulatedTimelineRecord, 'state' | 'result' | 'startTime' | 'finishTime'> {
  const times = span(entries);
  if (state === 'pending') return { state, result: null, startTime: null, finishTime: null };
  if (state === 'inProgress') return { state, result: null, startTime: times.startTime ?? null, finishTime: null };
  return { state, result: result ? RESULT[result] : null, startTime: times.startTime ?? null, finishTime: times.finishTime ?? null };
}

export function timelineRecords(progress: RunProgress, runId: number): EmulatedTimelineRecord[] {
  const records: EmulatedTimelineRecord[] = [];
  const asked = stageApprovals(progress, runId);
  progress.stages.forEach((stage, stageIndex) => {
    const stageId = `stage-${stageIndex + 1}`;
    const entries = progress.timeline.filter((entry) => entry.stage === stage.name);
    records.push({
      id: stageId,
      parentId: null,
      type: 'Stage',
      name: stage.displayName,
      identifier: stage.name,
      order: stageIndex + 1,
      ...progressOf(stage.state, stage.result, entries),
    });
    const approvals = asked.filter((approval) => approval.stageIndex === stageIndex);
    if (approvals.length) {
      const checkpointId = `${stageId}-checkpoint`;
      const decided = (approval: (typeof approvals)[number]) => approval.decidedAt ?? approval.at;
      records.push({
        id: checkpointId,
        parentId: stageId,
        type: 'Checkpoint',
        name: 'Checkpoint',
        order: 1,
        state: 'completed',
        result: approvals.every((approval) => approval.result !== 'Failed') ? 'succeeded' : 'failed',
        startTime: approvals[0].at.toISOString(),
        finishTime: decided(approvals.at(-1)!).toISOString(),
      });
      approvals.forEach((approval, index) =>
        records.push({
          id: approval.id,
          parentId: checkpointId,
          type: 'Checkpoint.Approval',
          name: 'Approval',
          order: index + 1,
          state: 'completed',
          result: approval.result === 'Failed' ? 'failed' : 'succeeded',
          startTime: approval.at.toISOString(),
          finishTime: decided(approval).toISOString(),
        }),
      );
    }
    stage.jobs.forEach((job, jobIndex) => {
      const phaseId = `${stageId}-phase-${jobIndex + 1}`;
      const jobId = `${stageId}-job-${jobIndex + 1}`;
      const steps = entries.filter((entry) => entry.job === job.name);
      const progressOfJob = progressOf(job.state, job.result, steps);
      records.push({
        id: phaseId,
        parentId: stageId,
        type: 'Phase',
        name: job.name,
        identifier: job.name,
        order: jobIndex + 1,
        ...progressOfJob,
      });
      records.push({
        id: jobId,
        parentId: phaseId,
        type: 'Job',
        name: job.displayName || job.name,
        identifier: `${stage.name}.${job.name}.__default`,
        order: 1,
        ...progressOfJob,
      });
      steps.forEach((step, stepIndex) =>
        records.push({
          id: `${jobId}-task-${stepIndex + 1}`,
          parentId: jobId,
          type: 'Task',
          name: step.step,
          order: stepIndex + 1,
          ...progressOf('completed', step.result, [step]),
        }),
      );
    });
  });
  return records;
}
