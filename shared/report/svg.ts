import { changeOffsets, type NightChange, type NightReport, type NightSilence, type NightStage } from './model';
import { durationText, el, escapeHtml, localShort } from './format';

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
    const x = scale.x(t);
    const label = localShort(new Date(t).toISOString(), timeZone).replace(/ [A-Z]+$/, '');
    lines.push(el('line', { class: 'grid', x1: x, x2: x, y1: TOP - 6, y2: height - 4 }));
    lines.push(el('text', { x, y: TOP - 10, 'text-anchor': 'middle', 'aria-hidden': 'true' }, escapeHtml(label)));
  }
  return lines.join('');
}

/** Text near an edge is anchored to stay inside the drawing. */
function anchorAt(x: number): 'start' | 'middle' | 'end' {
  return x > WIDTH - 60 ? 'end' : x < LABEL + 40 ? 'start' : 'middle';
}

function bar(options: { x1: number; x2: number; y: number; cls: string; label: string; extra?: string }): string {
  const width = Math.max(3, options.x2 - options.x1);
  const rect = el('rect', { class: `bar ${options.cls}`, x: options.x1, y: options.y + 3, width, height: ROW - 7, rx: 3 });
  const title = el('title', {}, escapeHtml(options.label));
  return el('g', { tabindex: 0, role: 'img', 'aria-label': options.label }, title, rect, options.extra ?? '');
}

function rowLabel(y: number, text: string): string {
  const short = text.length > 32 ? `${text.slice(0, 31)}…` : text;
  return el('text', { x: 6, y: y + ROW / 2 + 4 }, escapeHtml(short));
}

function stageLabel(stage: NightStage, timeZone: string): string {
  const when = stage.startedAt
    ? `${localShort(stage.startedAt, timeZone)} to ${stage.finishedAt ? localShort(stage.finishedAt, timeZone) : 'now'}`
    : 'no times recorded';
  return `Stage ${stage.displayName ?? stage.name}: ${stage.result}, ${when}`;
}

function silenceLabel(silence: NightSilence, timeZone: string): string {
  const back = silence.state === 'left' ? 'NOT BACK' : silence.state === 'restored' ? 'back (restored)' : 'back (ended by itself)';
  const ends = silence.expiresAt ? `ends by itself ${localShort(silence.expiresAt, timeZone)}` : 'does not end by itself';
  const restored = silence.restoredAt ? `, restored ${localShort(silence.restoredAt, timeZone)}` : '';
  return `${silence.description} (${silence.kind}): ${back}; from ${localShort(silence.createdAt, timeZone)}, ${ends}${restored}`;
}

/** The night on one axis: stages, then silences and swaps, with the fixed marks and (while running) now. */
export function timelineSvg(report: NightReport): string {
  const zone = report.window.timeZone;
  const timed = report.stages.filter((stage) => stage.startedAt);
  const core = [
    ...timed.flatMap((stage) => [ms(stage.startedAt), ms(stage.finishedAt)]),
    ...report.marks.map((mark) => ms(mark.at)),
    ms(report.generatedAt),
  ];
  const others = report.silences.flatMap((silence) => [ms(silence.createdAt), ms(silence.expiresAt), ms(silence.restoredAt)]);
  const scale = scaleOf(core, others);
  const rows: string[] = [];
  let y = TOP;
  const end = (iso: string | undefined) => (iso ? ms(iso) : ms(report.generatedAt));
  for (const stage of timed) {
    rows.push(rowLabel(y, stage.displayName ?? stage.name));
    rows.push(
      bar({
        x1: scale.x(ms(stage.startedAt)),
        x2: scale.x(end(stage.finishedAt)),
        y,
        cls: resultClass(stage.result),
        label: stageLabel(stage, zone),
      }),
    );
    y += ROW;
  }
  if (report.silences.length) y += 8;
  for (const silence of report.silences) {
    rows.push(rowLabel(y, silence.description));
    const stop = silence.expiresAt ? ms(silence.expiresAt) : end(silence.restoredAt);
    const tick = scale.x(ms(silence.restoredAt));
    const back = silence.restoredAt ? el('line', { class: 'back', x1: tick, x2: tick, y1: y + 1, y2: y + ROW - 2 }) : '';
    rows.push(
      bar({
        x1: scale.x(ms(silence.createdAt)),
        x2: scale.x(stop),
        y,
        cls: silence.state === 'left' ? 'bad' : 'ok',
        label: silenceLabel(silence, zone),
        extra: back,
      }),
    );
    y += ROW;
  }
  const height = y + 36;
  const marks = report.marks
    .filter((mark) => Number.isFinite(ms(mark.at)))
    .map((mark, index) => {
      const x = scale.x(ms(mark.at));
      const label = `${mark.label} (${localShort(mark.at, zone)})`;
      return el(
        'g',
        { role: 'img', 'aria-label': `Schedule mark: ${label}` },
        el('title', {}, escapeHtml(label)),
        el('line', { class: 'mark', x1: x, x2: x, y1: TOP - 4, y2: height - 26 }),
        // Alternate rows, so marks close together (04:30 and 04:45) do not print over each other.
        el('text', { class: 'mark', x, y: height - 16 + (index % 2) * 12, 'text-anchor': anchorAt(x) }, escapeHtml(mark.label)),
      );
    });
  const nowX = scale.x(ms(report.generatedAt));
  const now =
    report.state === 'running'
      ? el(
          'g',
          { role: 'img', 'aria-label': `Now: ${localShort(report.generatedAt, zone)}` },
          el('line', { class: 'now', x1: nowX, x2: nowX, y1: TOP - 6, y2: height - 26 }),
          el('text', { class: 'now', x: nowX, y: TOP - 22, 'text-anchor': 'middle' }, 'now'),
        )
      : '';
  const what = `Timeline of the night in ${zone}: stages, then everything silenced or swapped up to when it ends by itself`;
  const lines = grid(scale, height - 26, zone);
  return el('svg', { viewBox: `0 0 ${WIDTH} ${height}`, role: 'group', 'aria-label': what }, lines, ...rows, ...marks, now);
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
    const facts = [
      change.outcome,
      change.durationMs !== undefined ? durationText(change.durationMs) : '',
      change.dependsOn.length ? `after ${change.dependsOn.join(', ')}` : '',
      change.critical ? 'on the critical path' : '',
    ];
    const label = `Change ${change.id}${change.title ? ` ${change.title}` : ''}: ${facts.filter(Boolean).join(', ')}`;
    const rect = bar({ x1: x(start), x2: x(start + (change.durationMs ?? 60_000)), y, cls: resultClass(change.outcome), label });
    const outlined = change.critical ? rect.replace('class="bar ', 'class="crit bar ') : rect;
    return `${rowLabel(y, `${change.critical ? '★ ' : ''}${change.id}`)}${outlined}`;
  });
  const height = 14 + changes.length * ROW;
  const what = 'Changes as a Gantt chart: each starts after what it depends on; the critical path is marked with a star';
  return el('svg', { viewBox: `0 0 ${WIDTH} ${height}`, role: 'group', 'aria-label': what }, ...rows);
}
