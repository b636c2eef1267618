import { changeOffsets, type NightChange, type NightReport, type NightSilence, type NightStage } from './model';
import { durationText, escapeHtml, localShort } from './format';

/**
 * The page's drawings as inline SVG: the night's timeline (stages, the schedule's fixed times, the now-line,
 * every silence and swap up to its self-expiry) and the changes as a Gantt. Each bar is a focusable group
 * with an aria-label that says in words what its colour says.
 */

const WIDTH = 1000;
const LABEL = 210;
const ROW = 22;
const TOP = 34;

interface Scale {
  from: number;
  to: number;
  x(ms: number): number;
}

const DAY = 86_400_000;

/**
 * The axis: the night's own times (stages, marks, the report's time) decide it; other times widen it only when
 * they lie within a day of it, so one stray stamp (a record written on another clock) cannot squash the night.
 * Anything outside is drawn at the edge; its label still gives its true time.
 */
function scaleOf(core: number[], others: number[]): Scale {
  const anchor = core.filter((t) => Number.isFinite(t));
  const all = anchor.length ? anchor : others.filter((t) => Number.isFinite(t));
  let from = all.length ? Math.min(...all) : 0;
  let to = all.length ? Math.max(...all) : 3_600_000;
  for (const t of others) if (Number.isFinite(t) && t > from - DAY && t < to + DAY) [from, to] = [Math.min(from, t), Math.max(to, t)];
  if (to - from < 3_600_000) to = from + 3_600_000;
  const pad = (to - from) * 0.02;
  from -= pad;
  to += pad;
  const clamp = (t: number) => Math.min(to, Math.max(from, Number.isFinite(t) ? t : to));
  return { from, to, x: (ms) => LABEL + ((clamp(ms) - from) / (to - from)) * (WIDTH - LABEL - 10) };
}

const ms = (iso: string | undefined): number => (iso ? Date.parse(iso) : Number.NaN);

export function resultClass(result: string): string {
  const word = result.toLowerCase();
  if (/^(succeeded|restored|expired|confirmed|done)$/.test(word)) return 'ok';
  if (/^(failed|left|timed-out|canceled|cancelled|rejected)$/.test(word)) return 'bad';
  if (/issues|blocked|partially/.test(word)) return 'warn';
  if (/^(inprogress|running|pending|awaiting-confirmation)$/.test(word)) return 'run';
  return 'idle';
}

/** Every hour (every three on long nights) as a grid line with its local time. */
function grid(scale: Scale, height: number, timeZone: string): string {
  const hour = 3_600_000;
  const step = Math.max(1, Math.ceil((scale.to - scale.from) / hour / 12)) * hour;
  const lines: string[] = [];
  for (let t = Math.ceil(scale.from / hour) * hour; t <= scale.to; t += step) {
    const x = scale.x(t).toFixed(1);
    const label = localShort(new Date(t).toISOString(), timeZone).replace(/ [A-Z]+$/, '');
    lines.push(`<line class="grid" x1="${x}" x2="${x}" y1="${TOP - 6}" y2="${height - 4}"/><text x="${x}" y="${TOP - 10}" text-anchor="middle" aria-hidden="true">${escapeHtml(label)}</text>`);
  }
  return lines.join('');
}

function bar(options: { x1: number; x2: number; y: number; cls: string; label: string; extra?: string }): string {
  const width = Math.max(3, options.x2 - options.x1);
  return `<g tabindex="0" role="img" aria-label="${escapeHtml(options.label)}"><title>${escapeHtml(options.label)}</title><rect class="bar ${options.cls}" x="${options.x1.toFixed(1)}" y="${options.y + 3}" width="${width.toFixed(1)}" height="${ROW - 7}" rx="3"/>${options.extra ?? ''}</g>`;
}

function rowLabel(y: number, text: string): string {
  const short = text.length > 32 ? `${text.slice(0, 31)}…` : text;
  return `<text x="6" y="${y + ROW / 2 + 4}">${escapeHtml(short)}</text>`;
}

function stageLabel(stage: NightStage, timeZone: string): string {
  const when = stage.startedAt ? `${localShort(stage.startedAt, timeZone)} to ${stage.finishedAt ? localShort(stage.finishedAt, timeZone) : 'now'}` : 'no times recorded';
  return `Stage ${stage.displayName ?? stage.name}: ${stage.result}, ${when}`;
}

function silenceLabel(silence: NightSilence, timeZone: string): string {
  const back = silence.state === 'left' ? 'NOT BACK' : silence.state === 'restored' ? 'back (restored)' : 'back (ended by itself)';
  const ends = silence.expiresAt ? `ends by itself ${localShort(silence.expiresAt, timeZone)}` : 'does not end by itself';
  return `${silence.description} (${silence.kind}): ${back}; from ${localShort(silence.createdAt, timeZone)}, ${ends}${silence.restoredAt ? `, restored ${localShort(silence.restoredAt, timeZone)}` : ''}`;
}

/** The night on one axis: stages, then silences and swaps, with the fixed marks and (while running) now. */
export function timelineSvg(report: NightReport): string {
  const zone = report.window.timeZone;
  const timed = report.stages.filter((stage) => stage.startedAt);
  const core = [...timed.flatMap((stage) => [ms(stage.startedAt), ms(stage.finishedAt)]), ...report.marks.map((mark) => ms(mark.at)), ms(report.generatedAt)];
  const others = report.silences.flatMap((silence) => [ms(silence.createdAt), ms(silence.expiresAt), ms(silence.restoredAt)]);
  const scale = scaleOf(core, others);
  const rows: string[] = [];
  let y = TOP;
  const end = (iso: string | undefined) => (iso ? ms(iso) : ms(report.generatedAt));
  for (const stage of timed) {
    rows.push(rowLabel(y, stage.displayName ?? stage.name));
    rows.push(bar({ x1: scale.x(ms(stage.startedAt)), x2: scale.x(end(stage.finishedAt)), y, cls: resultClass(stage.result), label: stageLabel(stage, zone) }));
    y += ROW;
  }
  if (report.silences.length) y += 8;
  for (const silence of report.silences) {
    rows.push(rowLabel(y, silence.description));
    const stop = silence.expiresAt ? ms(silence.expiresAt) : end(silence.restoredAt);
    const back = silence.restoredAt ? `<line class="back" x1="${scale.x(ms(silence.restoredAt)).toFixed(1)}" x2="${scale.x(ms(silence.restoredAt)).toFixed(1)}" y1="${y + 1}" y2="${y + ROW - 2}"/>` : '';
    rows.push(bar({ x1: scale.x(ms(silence.createdAt)), x2: scale.x(stop), y, cls: silence.state === 'left' ? 'bad' : 'ok', label: silenceLabel(silence, zone), extra: back }));
    y += ROW;
  }
  const height = y + 36;
  const marks = report.marks
    .filter((mark) => Number.isFinite(ms(mark.at)))
    .map((mark, index) => {
      const x = scale.x(ms(mark.at)).toFixed(1);
      const label = `${mark.label} (${localShort(mark.at, zone)})`;
      return `<g role="img" aria-label="Schedule mark: ${escapeHtml(label)}"><title>${escapeHtml(label)}</title><line class="mark" x1="${x}" x2="${x}" y1="${TOP - 4}" y2="${height - 26}"/><text class="mark" x="${x}" y="${height - 16 + (index % 2) * 12}" text-anchor="middle">${escapeHtml(mark.label)}</text></g>`;
    });
  const now =
    report.state === 'running'
      ? `<g role="img" aria-label="Now: ${escapeHtml(localShort(report.generatedAt, zone))}"><line class="now" x1="${scale.x(ms(report.generatedAt)).toFixed(1)}" x2="${scale.x(ms(report.generatedAt)).toFixed(1)}" y1="${TOP - 6}" y2="${height - 26}"/><text class="now" x="${scale.x(ms(report.generatedAt)).toFixed(1)}" y="${TOP - 22}" text-anchor="middle">now</text></g>`
      : '';
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="group" aria-label="Timeline of the night in ${escapeHtml(zone)}: stages, then everything silenced or swapped up to when it ends by itself">${grid(scale, height - 26, zone)}${rows.join('')}${marks.join('')}${now}</svg>`;
}

/** The changes as a Gantt: each starts after what it depends on, its length its duration; the critical path outlined. */
export function ganttSvg(changes: NightChange[]): string {
  if (!changes.length) return '';
  const offsets = changeOffsets(changes);
  const total = Math.max(60_000, ...changes.map((change) => (offsets.get(change.id) ?? 0) + (change.durationMs ?? 60_000)));
  const x = (offset: number) => LABEL + (offset / total) * (WIDTH - LABEL - 10);
  const rows = changes.map((change, index) => {
    const y = 10 + index * ROW;
    const start = offsets.get(change.id) ?? 0;
    const label = `Change ${change.id}${change.title ? ` ${change.title}` : ''}: ${change.outcome}${change.durationMs !== undefined ? `, ${durationText(change.durationMs)}` : ''}${change.dependsOn.length ? `, after ${change.dependsOn.join(', ')}` : ''}${change.critical ? ', on the critical path' : ''}`;
    const rect = bar({ x1: x(start), x2: x(start + (change.durationMs ?? 60_000)), y, cls: resultClass(change.outcome), label });
    const outlined = change.critical ? rect.replace('class="bar ', 'class="crit bar ') : rect;
    return `${rowLabel(y, `${change.critical ? '★ ' : ''}${change.id}`)}${outlined}`;
  });
  const height = 14 + changes.length * ROW;
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="group" aria-label="Changes as a Gantt chart: each starts after what it depends on; the critical path is marked with a star">${rows.join('')}</svg>`;
}
