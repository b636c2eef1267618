import { systemAccessToken } from '../../shared/core/inputs';
import { runTask } from '../../shared/core/task';
import { DevOpsClient, resolveConnection } from '../../shared/devops/client';
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

void runTask('RunPipeline', async ({ input, log, variable, windowId, setOutput, attachSummary }) => {
  // Every input is checked before the first call to Azure DevOps.
  const pipeline = parsePipelineSelector('pipeline', input.string('pipeline', { required: true }));
  const branch = parseBranch('branch', input.string('branch'));
  const parameters = parseTemplateParameters('parameters', input.text('parameters'));
  const timeoutMinutes = parseAmount('timeoutMinutes', input.string('timeoutMinutes'), { fallback: 120, min: 0.01, max: 4320, unit: 'minutes' });
  const pollIntervalSeconds = parseAmount('pollIntervalSeconds', input.string('pollIntervalSeconds'), { fallback: 30, min: 0.01, max: 600, unit: 'seconds' });
  const runKey = parseRunKey('runKey', input.string('runKey'));
  // Rehearsals run the regression in seconds; production never sets this variable.
  const simulatedPollMs = Number(variable('MaintenanceWindow.PollIntervalMs') ?? NaN);
  const rehearsalPoll = Number.isFinite(simulatedPollMs) && simulatedPollMs > 0;
  if (rehearsalPoll) log.warn(`Poll interval set to ${simulatedPollMs} ms by MaintenanceWindow.PollIntervalMs: a rehearsal setting, not for a real window.`);
  const endpoint = input.endpoint('azureDevOpsConnection');
  const connection = resolveConnection({
    inputName: 'azureDevOpsConnection',
    endpoint,
    systemAccessToken: endpoint ? undefined : systemAccessToken(log),
    collectionUri: variable('System.CollectionUri'),
    project: input.string('project') ?? variable('System.TeamProject'),
    projectInputName: 'project',
  });

  const result = await runPipeline({
    client: new DevOpsClient({ connection, log }),
    log,
    pipeline,
    branch,
    parameters,
    windowId,
    // A failure of this attempt is final for it; a re-run of the stage (or a new run) starts the pipeline again.
    attemptId: `${variable('System.BuildId') ?? 'local'}.${variable('System.StageAttempt') ?? '1'}`,
    runKey,
    timeoutMs: timeoutMinutes * 60_000,
    pollIntervalMs: rehearsalPoll ? simulatedPollMs : Math.round(pollIntervalSeconds * 1000),
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
