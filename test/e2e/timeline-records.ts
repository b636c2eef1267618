import type { EmulatedTimelineRecord } from '../emulators/azure-devops';
import type { Result, RunProgress, TimelineEntry } from './rehearsal';

/**
 * The rehearsed run as Azure DevOps' build timeline (Timeline - Get) would show it at this moment: a `Stage`
 * record per stage (identifier = YAML name, name = displayName), a `Phase` and a `Job` record per job, a `Task`
 * record per step that has ended, and a `Checkpoint` with one `Checkpoint.Approval` per approval asked. The
 * rehearsal registers it in the emulated Azure DevOps for its run's `Build.BuildId`, so the finish step reads
 * its stage times and approvals through the real path, as on a real run.
 */

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
  const end = Math.max(...entries.map((entry) => entry.at.getTime() + entry.durationMs));
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

export function timelineRecords(progress: RunProgress): EmulatedTimelineRecord[] {
  const records: EmulatedTimelineRecord[] = [];
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
    const approvals = progress.approvals.filter((approval) => approval.stage === stage.name);
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
          id: `${checkpointId}-approval-${index + 1}`,
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
