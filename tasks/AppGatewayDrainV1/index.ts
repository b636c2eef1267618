import { checkGateway } from '../../shared/azure/gateway-check';
import { POOL_RECORD_KIND, validatePoolUndoData } from '../../shared/azure/appgateway';
import { azureConnection } from '../../shared/azure/credentials';
import { pollIntervalInMs } from '../../shared/azure/polling';
import { runPoolStep } from '../../shared/azure/pool-steps';
import { parseUndoRecord } from '../../shared/core/records';
import { runTask } from '../../shared/core/task';

void runTask(
  'AppGatewayDrain',
  async ({ input, log, records, windowId, clock, publishUndoRecord, setOutput, attachSummary, reportPreflight }) => {
    const endpoint = input.endpoint('azureSubscription', { required: true });
    const target = {
      resourceGroupName: input.string('resourceGroupName', { required: true }),
      applicationGatewayName: input.string('applicationGatewayName', { required: true }),
      backendPoolName: input.string('backendPoolName', { required: true }),
    };
    const action = input.choice('action', ['drain', 'restore', 'status', 'check'], 'drain');
    const servers = input.list('servers');
    const minHealthyServers = input.int('minHealthyServers', { default: 1, min: 0 });
    const drainTimeoutSeconds = input.int('drainTimeoutSeconds', { min: 0, max: 3600 });
    const healthTimeoutSeconds = input.int('healthTimeoutSeconds', { default: 900, min: 0, max: 86_400 });
    const undoRecordText = action === 'restore' ? input.text('undoRecord') : undefined;
    const pollIntervalMs = pollIntervalInMs('pollIntervalSeconds', input.string('pollIntervalSeconds', { default: '10' }));
    if (action === 'check') {
      const connection = azureConnection(endpoint, { log, inputName: 'azureSubscription' });
      return reportPreflight(await checkGateway({ connection, target, servers, minHealthyServers, windowId, pollIntervalMs, log, clock }));
    }
    const undoRecord = undoRecordText ? parseUndoRecord('undoRecord', undoRecordText, POOL_RECORD_KIND, validatePoolUndoData) : undefined;

    const result = await runPoolStep({
      connection: azureConnection(endpoint, { log, inputName: 'azureSubscription' }),
      target,
      action,
      servers,
      minHealthyServers,
      drainTimeoutSeconds,
      healthTimeoutSeconds,
      undoRecord,
      pollIntervalMs,
      windowId,
      log,
      publishUndoRecord: (record) => publishUndoRecord(record),
      receipts: records,
      clock,
    });
    for (const [name, value] of Object.entries(result.outputs)) setOutput(name, value);
    attachSummary(result.title, result.summary);
  },
);
