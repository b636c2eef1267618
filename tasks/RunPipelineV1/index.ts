import { azureDevOpsIdentity } from '../../shared/azure/devops-identity';
import { runTask } from '../../shared/core/task';
import { checkSinglePipeline } from '../../shared/devops/pipeline-check';
import { clientForTask, rehearsalPollIntervalMs } from '../../shared/devops/client';
import {
  failureMessage,
  parseAmount,
  parseBranch,
  parsePipelineSelector,
  parseRunKey,
  parseTemplateParameters,
  renderRunSummary,
  runPipeline,
} from '../../shared/devops/single-run';

void runTask('RunPipeline', async ({ input, log, records, variable, windowId, setOutput, attachSummary, reportPreflight }) => {
  const action = input.choice('action', ['run', 'check'], 'run');
  // Every input is checked before the first call to Azure DevOps.
  const pipeline = parsePipelineSelector('pipeline', input.string('pipeline', { required: true }));
  const branch = parseBranch('branch', input.string('branch'));
  const parameters = parseTemplateParameters('parameters', input.text('parameters'));
  const timeoutMinutes = parseAmount('timeoutMinutes', input.string('timeoutMinutes'), {
    fallback: 120,
    min: 0.01,
    max: 4320,
    unit: 'minutes',
  });
  const pollIntervalSeconds = parseAmount('pollIntervalSeconds', input.string('pollIntervalSeconds'), {
    fallback: 30,
    min: 0.01,
    max: 600,
    unit: 'seconds',
  });
  const runKey = parseRunKey('runKey', input.string('runKey'));
  const rehearsalPollMs = rehearsalPollIntervalMs(variable, log);
  const identity = input.endpoint('azureDevOpsWorkloadIdentity');
  const client = clientForTask({
    endpoint: input.endpoint('azureDevOpsConnection'),
    identity: identity ? azureDevOpsIdentity(identity, { log, inputName: 'azureDevOpsWorkloadIdentity' }) : undefined,
    project: input.string('project'),
    log,
    variable,
  });

  if (action === 'check') return reportPreflight(await checkSinglePipeline({ client, pipeline, branch }));
  const result = await runPipeline({
    client,
    log,
    pipeline,
    branch,
    parameters,
    windowId,
    // A failure of this attempt is final for it; a re-run of the stage (or a new run) starts the pipeline again.
    attemptId: `${variable('System.BuildId') ?? 'local'}.${variable('System.StageAttempt') ?? '1'}`,
    runKey,
    // The intent to start is written here first, so a crash before the run is tagged does not start a second one.
    recordsDirectory: records.directory,
    timeoutMs: timeoutMinutes * 60_000,
    pollIntervalMs: rehearsalPollMs ?? Math.round(pollIntervalSeconds * 1000),
    onRun: (run) => {
      setOutput('runId', String(run.id));
      setOutput('runUrl', run.webUrl ?? '');
    },
  });

  setOutput('result', result.outcome);
  attachSummary(`Pipeline ${result.pipeline.name}`, renderRunSummary(result));
  log.info(`${result.apiCalls} Azure DevOps call(s).`);
  const failure = failureMessage(result);
  if (failure) throw new Error(failure);
});
