import * as path from 'node:path';
import { runTask, type TaskContext, type TaskOutcome } from '../../shared/core/task';
import { checkTimeZone, DEFAULT_TIME_ZONE } from '../../shared/core/time';
import { pipelineRunLink } from '../../shared/services/messages';
import { botToken, PROVIDERS, webhookUrl, type Destination } from '../../shared/services/notify';
import { finishAction, gateAction, startAction } from '../../shared/window/actions';
import { environmentsAction, forecastTaskAction, preflightReportAction } from '../../shared/window/preflight';
import { checkWindow } from '../../shared/window/window-check';
import { olderActiveRuns, thisRun } from '../../shared/devops/active-runs';
import { clientForTask } from '../../shared/devops/client';
import { readRunTimeline, TIMELINE_READ_LIMITS } from '../../shared/devops/timeline';
import { readApprovers } from '../../shared/devops/approvals';

const ACTIONS = ['gate', 'start', 'finish', 'check', 'forecast', 'environments', 'preflight-report'] as const;

void runTask('MaintenanceWindow', async (context) => {
  const action = context.input.choice('action', ACTIONS);
  const shared = sharedInputs(context);
  const steps: Record<(typeof ACTIONS)[number], (context: TaskContext, shared: Shared) => Promise<TaskOutcome>> = {
    check: checkStep,
    gate: gateStep,
    start: startStep,
    forecast: forecastStep,
    environments: environmentsStep,
    'preflight-report': preflightReportStep,
    finish: finishStep,
  };
  return steps[action](context, shared);
});

type Shared = ReturnType<typeof sharedInputs>;

/** What several actions read: the time zone, the run's link, the gate's inputs and where to announce. */
function sharedInputs(context: TaskContext) {
  const { input, log, variable, clock } = context;
  const timeZone = checkTimeZone('timeZone', input.string('timeZone') ?? DEFAULT_TIME_ZONE);
  const link = pipelineRunLink(variable('System.CollectionUri'), variable('System.TeamProject'), variable('Build.BuildId'));
  const common = { log, clock, timeZone, setOutput: context.setOutput, attachSummary: context.attachSummary };
  const gate = {
    notBefore: input.string('notBefore'),
    maxWaitMinutes: input.int('maxWaitMinutes', { default: 30, min: 0, max: 1440 }),
    lateToleranceMinutes: input.int('lateToleranceMinutes', { default: 45, min: 0, max: 1440 }),
    scheduledStart: input.bool('scheduledStart', false),
    scheduledRun: variable('Build.Reason') === 'Schedule',
    scheduleName: variable('Build.CronSchedule.DisplayName'),
  };
  const destination = (): Destination => {
    const provider = input.choice('provider', PROVIDERS, 'slack');
    if (provider === 'slack') {
      // The runbook announces in dailyops and maintenance; an empty input means those.
      const listed = input.list('channels');
      const channels = listed.length ? listed : ['dailyops', 'maintenance'];
      const endpoint = input.endpoint('slackConnection', { required: true });
      return { provider, token: botToken('slackConnection', endpoint), apiUrl: endpoint.url, channels };
    }
    if (provider === 'slackWebhook')
      return {
        provider,
        webhookUrl: webhookUrl('slackWebhookConnection', input.endpoint('slackWebhookConnection', { required: true }), provider, log),
      };
    return { provider, webhookUrl: webhookUrl('teamsConnection', input.endpoint('teamsConnection', { required: true }), provider, log) };
  };
  return { timeZone, link, common, gate, destination };
}

/** The folders an input lists, or the job's workspace (where the run's artifacts are downloaded). */
function foldersOf(context: TaskContext, folders: string[]): string[] {
  return folders.length ? folders.map((folder) => path.resolve(folder)) : [context.variable('Pipeline.Workspace') ?? process.cwd()];
}

async function checkStep(context: TaskContext, { timeZone, destination }: Shared): Promise<TaskOutcome> {
  const { input, clock, log } = context;
  return context.reportPreflight(
    await checkWindow({
      planFile: input.string('planFile', { required: true }),
      windowEnd: input.string('windowEnd') ?? 'Sun 12:00',
      graceMinutes: input.int('graceMinutes', { default: 60, min: 0, max: 1440 }),
      timeZone,
      clock,
      windowId: context.windowId,
      recordsFolders: foldersOf(context, input.list('recordsFolders')),
      destination: destination(),
      log,
    }),
  );
}

async function gateStep(context: TaskContext, { common, gate }: Shared): Promise<TaskOutcome> {
  const { input, log, variable } = context;
  // One run at a time: the variables and the client are read up front, so a missing token fails before any wait.
  let guard: (() => ReturnType<typeof olderActiveRuns>) | undefined;
  if (input.bool('oneRunAtATime', false)) {
    const run = thisRun(variable);
    const client = clientForTask({ endpoint: input.endpoint('azureDevOpsConnection'), log, variable });
    guard = () => olderActiveRuns({ client, ...run });
  }
  await gateAction({
    ...common,
    ...gate,
    planFile: input.string('planFile'),
    waitInStep: input.choice('wait', ['inStep', 'output'] as const, 'inStep') === 'inStep',
    olderActiveRuns: guard,
  });
}

async function startStep(context: TaskContext, { common, gate, link, destination }: Shared): Promise<TaskOutcome> {
  const { input } = context;
  await startAction({
    ...common,
    ...gate,
    planFile: input.string('planFile', { required: true }),
    windowEnd: input.string('windowEnd') ?? 'Sun 12:00',
    graceMinutes: input.int('graceMinutes', { default: 60, min: 0, max: 1440 }),
    windowId: context.windowId,
    destination: destination(),
    link,
  });
}

async function forecastStep(context: TaskContext, { common }: Shared): Promise<TaskOutcome> {
  const { input, log, variable, clock } = context;
  return forecastTaskAction({
    ...common,
    now: clock.now(),
    planFile: input.string('planFile') ?? 'auto',
    startingMaintenanceAt: input.string('startingMaintenanceAt') ?? 'Sun 04:45',
    regressionAt: input.string('regressionAt') ?? 'Sun 10:00',
    windowEnd: input.string('windowEnd') ?? 'Sun 12:00',
    graceMinutes: input.int('graceMinutes', { default: 60, min: 0, max: 1440 }),
    maxParallel: input.int('maxParallel', { default: 4, min: 1, max: 50 }),
    regressionPipeline: input.string('regressionPipeline') ?? 'Full Regression',
    serverGroupsJson: input.text('serverGroups') ?? '[]',
    patchMaxParallel: input.int('patchMaxParallel', { default: 5, min: 1, max: 100 }),
    silenceMinutes: {
      pingdom: input.int('pingdomMinutes', { min: 1, max: 10080 }),
      mute: input.int('muteMinutes', { min: 1, max: 10080 }),
      page: input.int('pageMinutes', { min: 1, max: 10080 }),
    },
    client: clientForTask({ endpoint: input.endpoint('azureDevOpsConnection'), log, variable }),
    report: context.reportPreflight,
  });
}

async function environmentsStep(context: TaskContext): Promise<TaskOutcome> {
  const { input, log, variable, clock } = context;
  const client = clientForTask({ endpoint: input.endpoint('azureDevOpsConnection'), log, variable });
  return environmentsAction({
    connection: client.connection,
    log,
    clock,
    names: input.list('environments'),
    report: context.reportPreflight,
  });
}

async function preflightReportStep(context: TaskContext, { common, link, destination }: Shared): Promise<TaskOutcome> {
  const { input, clock } = context;
  const report = await preflightReportAction({
    ...common,
    clock,
    folders: foldersOf(context, input.list('findingsFolders')),
    windowName: input.string('windowName'),
    planFile: input.string('planFile'),
    destination: destination(),
    link,
    outputDirectory: context.outputDirectory,
  });
  if (report.verdict !== 'GO')
    throw new Error(`Preflight: NO-GO (${report.problems.length} problem(s)); see the go/no-go table in the run's summary.`);
}

async function finishStep(context: TaskContext, { common, link, destination }: Shared): Promise<TaskOutcome> {
  const { input, log, variable } = context;
  const folders = foldersOf(context, input.list('recordsFolders'));
  // The run's timeline and who approved, for the night's page: read with the job token (or the connection), never fatal.
  const buildId = Number(variable('Build.BuildId'));
  const endpoint = input.endpoint('azureDevOpsConnection');
  let client: ReturnType<typeof clientForTask> | undefined;
  const reader = () => (client ??= clientForTask({ endpoint, log, variable, limits: TIMELINE_READ_LIMITS }));
  const known = Number.isSafeInteger(buildId) && buildId > 0;
  const readTimeline = known ? () => readRunTimeline({ client: reader(), buildId }) : undefined;
  const askApprovers = known
    ? (approvals: Parameters<typeof readApprovers>[0]['approvals']) => readApprovers({ client: reader(), buildId, approvals })
    : undefined;
  await finishAction({
    ...common,
    recordsFolders: folders,
    records: context.records,
    stageResults: input.text('stageResults'),
    windowName: input.string('windowName'),
    planFile: input.string('planFile'),
    destination: destination(),
    link,
    outputDirectory: context.outputDirectory,
    addAttachment: context.addAttachment,
    windowEnd: input.string('windowEnd'),
    windowId: variable('MaintenanceWindow.Id'),
    buildId: variable('Build.BuildId'),
    readTimeline,
    readApprovers: askApprovers,
  });
}
