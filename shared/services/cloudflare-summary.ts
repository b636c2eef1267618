import { MarkdownSummary } from '../core/summary';
import type { DisableResult, EnableResult } from './cloudflare';

/** What the maintenance page steps show on the run's summary tab. */

export function enableSummary(result: EnableResult): MarkdownSummary {
  const { data } = result.record;
  return new MarkdownSummary()
    .heading(`Maintenance page up: ${data.records.map((r) => r.name).join(', ')} → ${data.target}`)
    .paragraph('The page stays up until the disable step restores the records below (DNS changes do not expire by themselves).')
    .table(
      ['Record', 'Before the window', 'Now', ''],
      data.records.map((r) => [
        r.name,
        `${r.original.type} ${r.original.content} (proxied ${r.original.proxied}, ttl ${r.original.ttl === 1 ? 'auto' : r.original.ttl})`,
        `${r.maintenance.type} ${r.maintenance.content}`,
        result.alreadySwitched.includes(r.name) ? 'already switched by an earlier run' : 'switched',
      ]),
    )
    .paragraph(`Cache purge: ${result.purged}. Cloudflare calls: ${result.calls}. Undo record \`${result.record.id}\`.`);
}

export function disableSummary(result: DisableResult): MarkdownSummary {
  const purge = result.purgeError
    ? `**FAILED** (${result.purgeError.message}); purge the cache by hand`
    : result.purged === 'none'
      ? 'not asked for'
      : `${result.purged}, done`;
  const { outcome } = result;
  const items = outcome.items.filter((item, index) => outcome.items.findIndex((other) => other.name === item.name) === index);
  const record = outcome.record;
  return new MarkdownSummary()
    .heading(
      `Maintenance page down: ${items.map((i) => i.name).join(', ') || 'nothing of this window was up'}${items.length ? ' restored' : ''}`,
    )
    .table(
      ['Record', 'Restored to', ''],
      items.map(({ name, item }) => {
        const o = item.swap.original;
        return [
          name,
          `${o.type} ${o.content} (proxied ${o.proxied}, ttl ${o.ttl === 1 ? 'auto' : o.ttl})`,
          outcome.restored.includes(name)
            ? 'restored, read back and verified'
            : outcome.back.includes(name)
              ? 'was already restored'
              : 'changed by someone since; left as it is',
        ];
      }),
    )
    .paragraph(
      `Cache purge: ${purge}. Cloudflare calls: ${result.calls}. ` +
        (record ? `Undone from undo record \`${record.id}\`.` : `Restored from the marks of window ${outcome.windowId}.`),
    );
}
