import { ServiceError } from '../../shared/core/errors';
import { parseUndoRecord, type UndoRecord } from '../../shared/core/records';
import { runTask } from '../../shared/core/task';
import {
  CLOUDFLARE_PUBLIC_API,
  CLOUDFLARE_RECORD_KIND,
  CloudflareClient,
  disableMaintenancePage,
  disableSummary,
  enableMaintenancePage,
  enableSummary,
  validateCloudflareUndoData,
  type CloudflareUndoData,
} from '../../shared/services/cloudflare';
import { checkCloudflare } from '../../shared/services/cloudflare-check';
import { apiBaseUrl, connectionToken } from '../../shared/services/connection';

void runTask('MaintenancePage', async ({ input, log, records, windowId, clock, publishUndoRecord, attachSummary, reportPreflight }) => {
  const connection = input.endpoint('cloudflareConnection', { required: true });
  const action = input.choice('action', ['enable', 'disable', 'check'], 'enable');
  const purge = input.choice('purgeCache', ['none', 'everything', 'hosts'], action === 'disable' ? 'everything' : 'none');
  const client = new CloudflareClient({
    baseUrl: apiBaseUrl('cloudflareConnection', connection.url, CLOUDFLARE_PUBLIC_API),
    token: connectionToken('cloudflareConnection', connection),
    log,
    clock,
  });

  if (action === 'disable') {
    const text = input.text('undoRecord');
    const record = text ? parseUndoRecord('undoRecord', text, CLOUDFLARE_RECORD_KIND, validateCloudflareUndoData) : undefined;
    const zoneName = input.string('zoneName');
    const names = input.list('records');
    const from = record ? `undo record ${record.id}` : `window ${windowId} (records folder and the window's marks)`;
    log.section(`Taking the maintenance page down, from ${from}`);
    const result = await disableMaintenancePage({ client, log, record, store: records, windowId, zoneName, names, purge, clock });
    attachSummary('Maintenance page disable', disableSummary(result));
    if (result.purgeError) {
      throw new ServiceError('Cloudflare', `DNS is restored and verified, but the cache purge failed: ${result.purgeError.message}`, {
        advice:
          'Purge the cache by hand in the Cloudflare dashboard (Caching → Purge Everything) or run this step again; DNS was not ' +
          'touched again.',
      });
    }
    return;
  }

  const zoneName = input.string('zoneName', { required: true });
  const names = input.list('records', { required: true });
  const target = input.string('maintenanceTarget', { required: true });
  if (action === 'check') return reportPreflight(await checkCloudflare({ client, zoneName, records: names, target, windowId }));
  const earlierRecords = records
    .list()
    .filter(({ record, receipt }) => !receipt && record.kind === CLOUDFLARE_RECORD_KIND && record.windowId === windowId)
    .map(({ record }) => record as UndoRecord<CloudflareUndoData>);
  log.section(`Putting the maintenance page up: ${names.join(', ')} → ${target}`);
  const result = await enableMaintenancePage({
    client,
    log,
    zoneName,
    records: names,
    target,
    windowId,
    purge,
    publish: (record) => publishUndoRecord(record),
    earlierRecords,
    clock,
  });
  attachSummary('Maintenance page enable', enableSummary(result));
});
