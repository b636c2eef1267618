import type { UndoRecord } from '../core/records';
import { MarkdownSummary } from '../core/summary';
import type { PingdomCheck } from './pingdom-client';
import type { PauseResult, PingdomUndoData, ResumeResult } from './pingdom';

/** What the Pingdom steps show on the run's summary tab. */

export function pauseSummary(result: PauseResult, endsAtText: string): MarkdownSummary {
  const { record, checks, window } = result;
  const summary = new MarkdownSummary();
  if (record.data.mode === 'maintenanceWindow') {
    summary
      .heading(`Pingdom: ${checks.length} check(s) in maintenance until ${endsAtText}`)
      .paragraph(
        `Maintenance window ${window?.id}${result.adoptedWindow ? ' (kept from an earlier run of this step)' : ''} ` +
          'ends by itself at that time. ' +
          'The resume step ends it early.',
      )
      .table(
        ['Check', 'Id', 'Silenced'],
        checks.map((check) => [check.name, check.id, `maintenance window ${window?.id}`]),
      );
  } else {
    summary
      .heading(`Pingdom: ${record.data.pausedByUs.length} check(s) paused, to resume at ${endsAtText}`)
      .paragraph(
        '**Paused checks do not resume by themselves**: the resume step unpauses them. Only the checks this step paused are unpaused.',
      )
      .table(
        ['Check', 'Id', 'State'],
        checks.map((check) => [
          check.name,
          check.id,
          result.alreadyPaused.includes(check.id) ? 'was paused already; stays paused' : 'paused by this step',
        ]),
      );
  }
  return summary.paragraph(`Undo record \`${record.id}\`.`);
}

export function resumeSummary(result: ResumeResult, formatTime: (date: Date) => string): MarkdownSummary {
  const { outcome } = result;
  const record = outcome.record as UndoRecord<PingdomUndoData> | undefined;
  const checks = outcome.items.filter((i) => i.item.type === 'check');
  const count = record ? record.data.checks.length - result.leftPaused.length : checks.length;
  const summary = new MarkdownSummary().heading(`Pingdom: monitoring restored for ${count} check(s)`);
  const text = {
    deleted: () => 'deleted (had not begun)',
    ending: (end?: Date) => `ended early, at ${end ? formatTime(end) : 'once it ends'} (Pingdom cannot delete a running window)`,
    ended: () => 'already over',
    gone: () => 'no longer exists',
  };
  if (result.windows.length) {
    summary.table(
      ['Maintenance window', 'Outcome'],
      result.windows.map((w) => [w.id, text[w.outcome](w.endsAt)]),
    );
  }
  if (record?.data.mode === 'pauseChecks' || checks.length) {
    const rows = checks.map((i) => {
      const check = (i.item as { check: PingdomCheck }).check;
      return [
        check.name,
        check.id,
        i.verdict === 'restore' ? 'unpaused' : i.verdict === 'back' ? 'was not paused any more' : (i.reason ?? i.verdict),
      ];
    });
    for (const id of result.leftPaused) {
      const check = record?.data.checks.find((c) => c.id === id);
      rows.push([check?.name ?? String(id), id, 'paused before the window: left paused']);
    }
    summary.table(['Check', 'Id', 'Now'], rows);
  } else if (record) {
    summary.list(record.data.checks.map((check) => `${check.name} (${check.id}): maintenance over`));
  }
  return summary.paragraph(record ? `Undone from undo record \`${record.id}\`.` : `Restored from the marks of window ${outcome.windowId}.`);
}
