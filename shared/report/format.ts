/**
 * Text for the page: HTML escaping and times in the window's zone (Intl only, so it runs the same in Node and
 * in the browser), each wrapped in `<time>` with the UTC instant on hover.
 */

export function escapeHtml(value: string | number | null | undefined): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function parts(date: Date, timeZone: string, options: Intl.DateTimeFormatOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', ...options }).formatToParts(date))
    out[part.type] = part.value;
  return out;
}

/** `Sat 19:05 EDT` in the zone. */
export function localShort(iso: string, timeZone: string): string {
  const p = parts(new Date(iso), timeZone, { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  return `${p.weekday} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

/** `Sat 2025-04-12 19:05 EDT` in the zone. */
export function localLong(iso: string, timeZone: string): string {
  const p = parts(new Date(iso), timeZone, {
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

/** `2025-04-12 23:05 UTC` */
export function utcText(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A `<time>` element: local time shown, the instant in `datetime`, UTC on hover. */
export function timeTag(iso: string | undefined, timeZone: string, long = false): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return '<span class="muted">-</span>';
  return el('time', { datetime: iso, title: utcText(iso) }, escapeHtml(long ? localLong(iso, timeZone) : localShort(iso, timeZone)));
}

/** `1 h 05 min`, `12 min`, `40 s` */
export function durationText(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** One element: attributes escaped (undefined ones left out), children as given (already HTML). */
export function el(tag: string, attributes: Record<string, string | number | undefined>, ...children: string[]): string {
  const attrs = Object.entries(attributes)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escapeHtml(typeof value === 'number' ? Number(value.toFixed(1)) : value)}"`)
    .join('');
  return `<${tag}${attrs}>${children.join('')}</${tag}>`;
}
