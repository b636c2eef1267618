import * as path from 'node:path';
import { InputError } from '../../shared/core/errors';
import { childProcessEnvironment } from '../../shared/core/inputs';
import { azureDevOpsIdentity } from '../../shared/azure/devops-identity';
import { runTask, type TaskContext, type TaskOutcome } from '../../shared/core/task';
import { clientForTask, rehearsalPollIntervalMs } from '../../shared/devops/client';
import { checkChanges } from '../../shared/plan/changes-check';
import { renderChecklist } from '../../shared/plan/checklist';
import { loadPlan, PlanError, type Plan } from '../../shared/plan/plan';
import { runChanges, type RunChangesResult } from '../../shared/plan/runner';
import { writeChangeResults } from '../../shared/plan/change-results';

void runTask('RunChanges', async (context) => {
  const { input, log, records, variable, attachSummary, reportPreflight } = context;
  const action = input.choice('action', ['run', 'check'], 'run');
  const planFile = input.string('planFile', { required: true });
  const scriptRoot = path.resolve(input.string('scriptRoot') ?? variable('Build.SourcesDirectory') ?? '.');
  // Made when needed: validateOnly needs no token. The check uses the identity the run will use, so it sees its rights.
  const devOpsClient = () => {
    const identity = input.endpoint('azureDevOpsWorkloadIdentity');
    return clientForTask({
      endpoint: input.endpoint('azureDevOpsConnection'),
      identity: identity ? azureDevOpsIdentity(identity, { log, inputName: 'azureDevOpsWorkloadIdentity' }) : undefined,
      project: input.string('project'),
      log,
      variable,
    });
  };
  if (action === 'check') return reportPreflight(await checkChanges({ planFile, scriptRoot, client: devOpsClient() }));
  const plan = planOf(planFile, scriptRoot);
  if (input.bool('validateOnly')) {
    log.info(`${planFile}: valid, ${plan.changes.length} change(s).`);
    attachSummary(`Plan ${plan.window.name}`, renderChecklist({ plan, title: `Plan: ${plan.window.name}` }));
    return;
  }
  const maxParallel = input.int('maxParallel', { default: 4, min: 1, max: 50 });
  const pollIntervalSeconds = input.int('pollIntervalSeconds', { default: 30, min: 1, max: 600 });
  const timeoutMinutes = input.int('timeoutMinutes', { default: 360, min: 1, max: 4320 });
  const rehearsalPollMs = rehearsalPollIntervalMs(variable, log);
  const onlyKeys = input.list('onlyKeys');
  const confirmedManual = input.list('confirmedManualChanges');
  const windowId = input.string('windowId') ?? variable('MaintenanceWindow.Id') ?? plan.window.id;
  const client = devOpsClient();

  const result = await runChanges({
    plan,
    client,
    log,
    windowId,
    // Failures of this attempt are final for its later rounds; a new run or a re-run of the stage tries them again.
    attemptId: `${variable('System.BuildId') ?? 'local'}.${variable('System.StageAttempt') ?? '1'}`,
    maxParallel,
    pollIntervalMs: rehearsalPollMs ?? pollIntervalSeconds * 1000,
    timeoutMs: timeoutMinutes * 60_000,
    onlyKeys,
    confirmedManual,
    scriptRoot,
    scriptEnvironment: (change) => childProcessEnvironment({ MAINTENANCE_WINDOW_ID: windowId, MAINTENANCE_CHANGE_ID: change.id }),
    ledgerFile: path.join(records.directory, `changes-${windowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`),
  });

  // Beside the undo records (published with them), for the finish step's page of the night.
  writeChangeResults(records.directory, windowId, result.reports, context.clock.now());
  return reportChanges(context, plan, result);
});

/** Outputs, the checklist summary and the verdict: a change that failed or is blocked fails the step once no manual work is left. */
function reportChanges(context: TaskContext, plan: Plan, result: RunChangesResult): TaskOutcome {
  const { log, setOutput, attachSummary } = context;
  const count = (...outcomes: string[]) => result.reports.filter((report) => outcomes.includes(report.outcome)).length;
  setOutput('results', JSON.stringify(result.reports));
  setOutput('succeeded', String(count('succeeded', 'confirmed')));
  setOutput('failed', String(count('failed', 'canceled', 'timed-out')));
  setOutput('blocked', String(count('blocked')));
  setOutput('manualPending', result.awaitingConfirmation.map((change) => change.id).join(','));
  setOutput(
    'manualInstructions',
    result.awaitingConfirmation
      .map((change) => `${change.title} (${change.id}): ${change.action.kind === 'manual' ? change.action.instructions : ''}`)
      .join('\n'),
  );
  setOutput('manualConfirmed', result.confirmedManual.join(','));
  setOutput('finished', String(result.finished));
  attachSummary(`Changes ${plan.window.name}`, renderChecklist({ plan, changes: result.reports, title: `Changes: ${plan.window.name}` }));
  log.info(
    `${Object.entries(result.counts)
      .map(([outcome, n]) => `${n} ${outcome}`)
      .join(', ')}; ${result.apiCalls} Azure DevOps call(s).`,
  );

  const unsuccessful = result.reports.filter(
    (report) =>
      ['failed', 'canceled', 'timed-out', 'blocked'].includes(report.outcome) ||
      (report.outcome === 'pending' && result.awaitingConfirmation.length === 0),
  );
  if (unsuccessful.length === 0) return 'Succeeded';
  const list = unsuccessful.map((report) => `${report.id} (${report.outcome}${report.reason ? `: ${report.reason}` : ''})`).join('; ');
  if (result.awaitingConfirmation.length) {
    // The next round still has manual work to present; it reports the failure once nothing is left.
    log.warn(`${unsuccessful.length} change(s) did not succeed: ${list}`);
    return 'SucceededWithIssues';
  }
  throw new Error(`${unsuccessful.length} change(s) did not succeed: ${list}`);
}

function planOf(planFile: string, scriptRoot: string): Plan {
  try {
    return loadPlan(planFile, { scriptRoot });
  } catch (error) {
    if (error instanceof PlanError) throw new InputError('planFile', error.message);
    throw error;
  }
}
