import { parseUndoRecord, type UndoRecord } from '../../shared/core/records';
import { runTask } from '../../shared/core/task';
import { checkTimeZone, DEFAULT_TIME_ZONE, formatLocal } from '../../shared/core/time';
import { apiBaseUrl, connectionToken } from '../../shared/services/connection';
import {
  PINGDOM_PUBLIC_API,
  PINGDOM_RECORD_KIND,
  PingdomClient,
  pauseChecks,
  pauseSummary,
  resumeChecks,
  resumeSummary,
  validatePingdomUndoData,
  type PingdomUndoData,
} from '../../shared/services/pingdom';
import { checkPingdom } from '../../shared/services/pingdom-check';
import { describeSilenceEnd, resolveSilenceEnd } from '../../shared/services/silence';

void runTask(
  'PingdomPause',
  async ({ input, log, records, windowId, clock, setOutput, publishUndoRecord, attachSummary, reportPreflight }) => {
    const connection = input.endpoint('pingdomConnection', { required: true });
    const action = input.choice('action', ['pause', 'resume', 'check'], 'pause');
    const timeZone = checkTimeZone('timeZone', input.string('timeZone', { default: DEFAULT_TIME_ZONE }) ?? DEFAULT_TIME_ZONE);
    const client = new PingdomClient({
      baseUrl: apiBaseUrl('pingdomConnection', connection.url, PINGDOM_PUBLIC_API),
      token: connectionToken('pingdomConnection', connection),
      log,
      clock,
    });

    if (action === 'resume') {
      const text = input.text('undoRecord');
      const record = text ? parseUndoRecord('undoRecord', text, PINGDOM_RECORD_KIND, validatePingdomUndoData) : undefined;
      log.section(
        record
          ? `Resuming Pingdom monitoring from undo record ${record.id}`
          : `Resuming Pingdom monitoring of window ${windowId} (records folder and the window's marks)`,
      );
      const result = await resumeChecks({ client, log, record, store: records, windowId, clock });
      setOutput('checkIds', [...new Set([...(record?.data.checks.map((c) => c.id) ?? []), ...result.unpaused])].join(','));
      attachSummary(
        'Pingdom resume',
        resumeSummary(result, (date) => formatLocal(date, timeZone)),
      );
      return;
    }

    const selection = { checkIds: input.list('checkIds'), checkNames: input.list('checkNames'), checkTags: input.list('checkTags') };
    const mode = input.choice('mode', ['maintenanceWindow', 'pauseChecks'], 'maintenanceWindow');
    const end = resolveSilenceEnd({
      durationMinutes: input.int('durationMinutes'),
      until: input.string('until'),
      timeZone,
      graceMinutes: input.int('graceMinutes', { default: 15 }),
      now: clock.now(),
    });
    if (action === 'check')
      return reportPreflight(await checkPingdom({ client, selection, windowId, log, endsAtText: describeSilenceEnd(end) }));
    const earlierRecords = records
      .list()
      .filter(({ record, receipt }) => !receipt && record.kind === PINGDOM_RECORD_KIND && record.windowId === windowId)
      .map(({ record }) => record as UndoRecord<PingdomUndoData>);

    log.section(`Silencing Pingdom checks until ${describeSilenceEnd(end)}`);
    const result = await pauseChecks({
      client,
      log,
      selection,
      mode,
      endsAt: end.endsAt,
      windowId,
      description: `Maintenance window ${windowId}`,
      publish: (record) => publishUndoRecord(record),
      earlierRecords,
      clock,
    });
    setOutput('checkIds', result.checks.map((c) => c.id).join(','));
    attachSummary('Pingdom pause', pauseSummary(result, describeSilenceEnd(end)));
    if (mode === 'pauseChecks')
      log.warn('Paused Pingdom checks do not resume by themselves: make sure the resume step runs (condition: always()).');
  },
);
