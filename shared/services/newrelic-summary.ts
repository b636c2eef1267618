import type { UndoRecord } from '../core/records';
import { MarkdownSummary } from '../core/summary';
import type { MuteResult, NewRelicUndoData, UnmuteResult } from './newrelic';
import type { MutingRule } from './newrelic-client';

/** What the run summary shows of a mute and an unmute. */

const describeCondition = (condition: MutingRule['condition']) =>
  condition.conditions
    .map((c) => `${c.attribute} ${c.operator === 'IN' ? 'in' : '='} ${c.values.join(', ')}`)
    .join(condition.operator === 'AND' ? ' and ' : ' or ');

export function muteSummary(result: MuteResult, endsAtText: string): MarkdownSummary {
  const { data } = result.record;
  return new MarkdownSummary()
    .heading(`New Relic: notifications muted until ${endsAtText}`)
    .table(
      ['Muting rule', 'Mutes', 'Ends (New Relic schedule)'],
      [
        [
          `${result.rule.name} (${result.rule.id})${result.adopted ? ', kept from an earlier run' : ''}`,
          describeCondition(data.condition),
          `${result.rule.schedule?.endTime ?? '?'} ${data.timeZone}`,
        ],
      ],
    )
    .paragraph(`The rule stops muting by itself at that time; the unmute step deletes it earlier. Undo record \`${result.record.id}\`.`);
}

export function unmuteSummary(result: UnmuteResult): MarkdownSummary {
  const record = result.outcome.record as UndoRecord<NewRelicUndoData> | undefined;
  return new MarkdownSummary()
    .heading(
      `New Relic: notifications back on ` +
        `(${record ? `muting rule '${record.data.name}' removed` : `muting rules of window ${result.outcome.windowId} removed`})`,
    )
    .paragraph(
      result.deleted.length
        ? `Deleted muting rule ${result.deleted.join(', ')}${record ? ` (${describeCondition(record.data.condition)})` : ''}.`
        : 'The muting rule was already gone; nothing else was touched.',
    )
    .paragraph(record ? `Undone from undo record \`${record.id}\`.` : `Restored from the marks of window ${result.outcome.windowId}.`);
}
