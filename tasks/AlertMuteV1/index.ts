import {
  AZURE_MONITOR_RECORD_KIND,
  AlertProcessingRules,
  azureMuteSummary,
  azureUnmuteSummary,
  muteAzureMonitor,
  unmuteAzureMonitor,
  validateAzureMonitorUndoData,
} from '../../shared/azure/alert-processing-rules';
import { checkAzureMonitor } from '../../shared/azure/alert-rules-check';
import { azureConnection } from '../../shared/azure/credentials';
import { InputError } from '../../shared/core/errors';
import { parseUndoRecord } from '../../shared/core/records';
import { runTask, type TaskContext, type TaskOutcome } from '../../shared/core/task';
import { checkTimeZone, DEFAULT_TIME_ZONE } from '../../shared/core/time';
import { apiBaseUrl, connectionToken } from '../../shared/services/connection';
import {
  NEWRELIC_PUBLIC_API,
  NEWRELIC_RECORD_KIND,
  NewRelicClient,
  muteNewRelic,
  muteSummary,
  unmuteNewRelic,
  unmuteSummary,
  validateNewRelicUndoData,
} from '../../shared/services/newrelic';
import { checkNewRelic } from '../../shared/services/newrelic-check';
import { describeSilenceEnd, resolveSilenceEnd, type SilenceEnd } from '../../shared/services/silence';

/** What both providers share: the action, the rule's name, the time zone and when the silence ends. */
interface Common {
  action: 'mute' | 'unmute' | 'check';
  ruleName: string;
  timeZone: string;
  undoText?: string;
  end: () => SilenceEnd;
}

void runTask('AlertMute', async (context) => {
  const { input, windowId, clock } = context;
  const provider = input.choice('provider', ['newRelic', 'azureMonitor'], 'newRelic');
  const action = input.choice('action', ['mute', 'unmute', 'check'], 'mute');
  const timeZone = checkTimeZone('timeZone', input.string('timeZone', { default: DEFAULT_TIME_ZONE }) ?? DEFAULT_TIME_ZONE);
  const common: Common = {
    action,
    ruleName: input.string('ruleName', { default: `maintenance-window-${windowId}` })!,
    timeZone,
    undoText: action === 'unmute' ? input.text('undoRecord') : undefined,
    // The window's clock (context.clock): real, or the simulated one a rehearsal sets, so end times match the window.
    end: () =>
      resolveSilenceEnd({
        durationMinutes: input.int('durationMinutes'),
        until: input.string('until'),
        timeZone,
        graceMinutes: input.int('graceMinutes', { default: 15 }),
        now: clock.now(),
      }),
  };
  return provider === 'newRelic' ? newRelicStep(context, common) : azureMonitorStep(context, common);
});

async function newRelicStep(context: TaskContext, common: Common): Promise<TaskOutcome> {
  const { input, log, records, windowId, clock, publishUndoRecord, attachSummary, reportPreflight } = context;
  const { action, ruleName, timeZone, undoText } = common;
  const connection = input.endpoint('newRelicConnection', { required: true });
  const accountText = connection.data('accountId') ?? '';
  if (!/^\d+$/.test(accountText))
    throw new InputError('newRelicConnection', `service connection '${connection.id}' has no numeric account id (field accountId).`);
  const accountId = Number(accountText);
  const client = new NewRelicClient({
    baseUrl: apiBaseUrl('newRelicConnection', connection.url, NEWRELIC_PUBLIC_API),
    apiKey: connectionToken('newRelicConnection', connection),
    accountId,
    log,
  });
  if (action === 'unmute') {
    const record = undoText ? parseUndoRecord('undoRecord', undoText, NEWRELIC_RECORD_KIND, validateNewRelicUndoData) : undefined;
    log.section(
      record
        ? `Unmuting New Relic: deleting muting rule '${record.data.name}'`
        : `Unmuting New Relic: the muting rules of window ${windowId}`,
    );
    const result = await unmuteNewRelic({ client, log, accountId, record, store: records, windowId, clock });
    attachSummary('New Relic unmute', unmuteSummary(result));
    return;
  }
  const selection = {
    policyNames: input.list('policyNames'),
    conditionNames: input.list('conditionNames'),
    entityNames: input.list('entityNames'),
    entityTags: input.list('entityTags'),
  };
  const silence = common.end();
  if (action === 'check')
    return reportPreflight(
      await checkNewRelic({ client, accountId, ruleName, selection, windowId, endsAtText: describeSilenceEnd(silence) }),
    );
  log.section(`Muting New Relic notifications until ${describeSilenceEnd(silence)}`);
  const result = await muteNewRelic({
    client,
    log,
    accountId,
    ruleName,
    selection,
    endsAt: silence.endsAt,
    timeZone,
    windowId,
    clock,
    publish: (r) => publishUndoRecord(r),
  });
  attachSummary('New Relic mute', muteSummary(result, describeSilenceEnd(silence)));
}

async function azureMonitorStep(context: TaskContext, common: Common): Promise<TaskOutcome> {
  const { input, log, records, windowId, clock, publishUndoRecord, attachSummary, reportPreflight } = context;
  const { action, ruleName, undoText } = common;
  const now = () => clock.now();
  const connection = azureConnection(input.endpoint('azureSubscription', { required: true }), { log, inputName: 'azureSubscription' });
  const rules = new AlertProcessingRules(connection);
  if (action === 'unmute') {
    const record = undoText ? parseUndoRecord('undoRecord', undoText, AZURE_MONITOR_RECORD_KIND, validateAzureMonitorUndoData) : undefined;
    log.section(
      record
        ? `Unmuting Azure Monitor: deleting alert processing rule '${record.data.name}'`
        : `Unmuting Azure Monitor: the rule of window ${windowId}`,
    );
    const result = await unmuteAzureMonitor({
      rules,
      log,
      record,
      store: records,
      windowId,
      subscriptionId: connection.subscriptionId,
      resourceGroup: input.string('resourceGroup'),
      ruleName,
      now,
    });
    attachSummary('Azure Monitor unmute', azureUnmuteSummary(result));
    return;
  }
  const selection = {
    resourceGroup: input.string('resourceGroup', { required: true }),
    ruleName,
    scopes: input.list('scopes'),
    alertRuleIds: input.list('alertRuleIds'),
    severities: input.list('severities'),
  };
  const silence = common.end();
  if (action === 'check')
    return reportPreflight(await checkAzureMonitor({ connection, selection, windowId, endsAtText: describeSilenceEnd(silence) }));
  log.section(`Muting Azure Monitor notifications until ${describeSilenceEnd(silence)}`);
  const result = await muteAzureMonitor({
    rules,
    log,
    subscriptionId: connection.subscriptionId,
    selection,
    endsAt: silence.endsAt,
    windowId,
    now,
    publish: (r) => publishUndoRecord(r),
  });
  attachSummary('Azure Monitor mute', azureMuteSummary(result, describeSilenceEnd(silence)));
}
