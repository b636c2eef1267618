import { InputError, messageOf } from '../../shared/core/errors';
import { parseUndoRecord } from '../../shared/core/records';
import { MarkdownSummary } from '../../shared/core/summary';
import { azureDevOpsIdentity } from '../../shared/azure/devops-identity';
import { runTask, type TaskContext, type TaskOutcome } from '../../shared/core/task';
import { clientForTask } from '../../shared/devops/client';
import {
  buildSelections,
  QUEUE_STATUS_RECORD_KIND,
  selectDefinitions,
  validateQueueStatusRecord,
  type PipelineSelection,
} from '../../shared/devops/definitions';
import { checkReschedule } from '../../shared/devops/reschedule-check';
import {
  holdOutsideScheduler,
  holdPipelines,
  releaseOutsideScheduler,
  releasePipelines,
  validateSchedulerRecord,
  type RescheduleResult,
} from '../../shared/devops/reschedule';
import { SCHEDULER_RECORD_KIND, schedulerCall } from '../../shared/devops/scheduler';
import { renderJobs } from '../../shared/plan/checklist';
import { loadPlan, PlanError } from '../../shared/plan/plan';

type Action = 'hold' | 'release' | 'check';

void runTask('RescheduleJobs', async (context) => {
  const { input } = context;
  const action = input.choice('action', ['hold', 'release', 'check'] as const, 'hold');
  const provider = input.choice('provider', ['azureDevOps', 'http'] as const, 'azureDevOps');
  const undoRecordText = input.text('undoRecord');
  return provider === 'http' ? outsideScheduler(context, action, undoRecordText) : devOpsPipelines(context, action, undoRecordText);
});

/** An outside job scheduler, held and released by one HTTP call each (shared/devops/scheduler.ts). */
async function outsideScheduler(context: TaskContext, action: Action, undoRecordText: string | undefined): Promise<TaskOutcome> {
  const { input, log, records, windowId, clock, publishUndoRecord, attachSummary, reportPreflight } = context;
  const schedulerName = input.string('schedulerName') ?? 'Automate Schedule';
  const endpoint = input.endpoint('schedulerConnection');
  const placeholders = { windowId };
  const record = undoRecordText ? parseUndoRecord('undoRecord', undoRecordText, SCHEDULER_RECORD_KIND, validateSchedulerRecord) : undefined;
  const release = schedulerCall(
    {
      method: input.choice('releaseMethod', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const, record?.data.releaseMethod ?? 'POST'),
      url: input.string('releaseUrl') ?? record?.data.releaseUrl,
      body: input.text('releaseBody') ?? record?.data.releaseBody,
      headers: input.text('releaseHeaders'),
    },
    { method: 'releaseMethod', url: 'releaseUrl', body: 'releaseBody', headers: 'releaseHeaders' },
    placeholders,
  );
  if (action === 'check') {
    // No call: any call to the scheduler could act. Reading the inputs above already checked the URLs.
    return reportPreflight([
      {
        check: 'scheduler',
        object: schedulerName,
        verdict: 'GO',
        why: 'the release call is well-formed; the scheduler is not called, since any call could act.',
        fix: '',
      },
    ]);
  }
  let result: RescheduleResult;
  if (action === 'hold') {
    const hold = schedulerCall(
      {
        method: input.choice('holdMethod', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const, 'POST'),
        url: input.string('holdUrl'),
        body: input.text('holdBody'),
        headers: input.text('holdHeaders'),
      },
      { method: 'holdMethod', url: 'holdUrl', body: 'holdBody', headers: 'holdHeaders' },
      placeholders,
    );
    result = await holdOutsideScheduler({ endpoint, hold, release, schedulerName, windowId, log, publishUndoRecord, clock });
  } else {
    result = await releaseOutsideScheduler({ endpoint, release, record, schedulerName, windowId, log, records, clock });
  }
  attachSummary(`Scheduled jobs (${schedulerName})`, new MarkdownSummary().heading(`Scheduled jobs: ${action}`).paragraph(result.headline));
  log.info(result.headline);
}

/** The pipelines a hold selects (a plan's `jobs`, or the `pipelines` input), for a hold, a release or a check. */
function pipelineSelections(context: TaskContext): { selections: PipelineSelection[]; selectionInput: string } {
  const planFile = context.input.string('planFile');
  const planJobs: PipelineSelection[] = [];
  if (planFile) {
    try {
      planJobs.push(
        ...loadPlan(planFile).jobs.map((job) => ({
          label: job.name,
          folder: job.folder,
          names: job.names,
          pattern: job.pattern,
          exclude: job.exclude,
        })),
      );
    } catch (error) {
      throw new InputError('planFile', error instanceof PlanError ? error.message : messageOf(error));
    }
  }
  return { selections: buildSelections(context.input.list('pipelines'), planJobs), selectionInput: planFile ? 'planFile' : 'pipelines' };
}

/** Azure DevOps pipelines held by pausing or disabling their definitions (shared/devops/reschedule.ts). */
async function devOpsPipelines(context: TaskContext, action: Action, undoRecordText: string | undefined): Promise<TaskOutcome> {
  const { input, log, records, windowId, variable, clock, publishUndoRecord, reportPreflight } = context;
  const identity = input.endpoint('azureDevOpsWorkloadIdentity');
  const client = clientForTask({
    endpoint: input.endpoint('azureDevOpsConnection'),
    identity: identity ? azureDevOpsIdentity(identity, { log, inputName: 'azureDevOpsWorkloadIdentity' }) : undefined,
    project: input.string('project'),
    log,
    variable,
  });
  // The pipelines a hold selects, and where a release without a record looks for the window's marks.
  const { selections, selectionInput } = pipelineSelections(context);
  if (action === 'check') return reportPreflight(await checkReschedule({ client, selections, selectionInput, log }));
  let result: RescheduleResult;
  if (action === 'hold') {
    if (selections.length === 0)
      throw new InputError('pipelines', 'nothing to hold: give a plan file with `jobs`, or list pipelines, folders or patterns.');
    const mode = input.choice('holdMode', ['paused', 'disabled'] as const, 'paused');
    result = await holdPipelines({ client, selections, mode, windowId, log, records, publishUndoRecord, selectionInput, clock });
  } else {
    const record = undoRecordText
      ? parseUndoRecord('undoRecord', undoRecordText, QUEUE_STATUS_RECORD_KIND, validateQueueStatusRecord)
      : undefined;
    const selection = selections.length ? () => selectDefinitions(client, selections, log, selectionInput) : undefined;
    result = await releasePipelines({ client, record, windowId, log, records, recordInput: 'undoRecord', selection, clock });
  }
  reportPipelines(context, action, result);
}

/** Outputs, the summary table and the verdict: a pipeline that could not be held or released fails the step. */
function reportPipelines(context: TaskContext, action: Action, result: RescheduleResult): void {
  const jobs = result.outcomes.map((outcome) => ({
    name: outcome.name,
    folder: outcome.path,
    before: outcome.before,
    now: outcome.now,
    action: outcome.action,
    note: outcome.note,
  }));
  context.setOutput('held', String(result.outcomes.filter((outcome) => outcome.action === 'held').length));
  context.setOutput('released', String(result.outcomes.filter((outcome) => outcome.action === 'released').length));
  context.setOutput('jobs', JSON.stringify(jobs));
  context.attachSummary(
    'Scheduled jobs',
    renderJobs(jobs, new MarkdownSummary().heading(`Scheduled jobs: ${action}`).paragraph(result.headline)),
  );
  context.log.info(result.headline);
  if (result.failed)
    throw new Error(
      `${result.failed} pipeline(s) could not be ${action === 'hold' ? 'held' : 'released'}: ${result.outcomes
        .filter((o) => o.failed)
        .map((o) => `${o.name} (${o.note})`)
        .join('; ')}`,
    );
}
