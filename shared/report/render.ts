import { durationText, el, escapeHtml, timeTag } from './format';
import type { NightChange, NightReport, NightSilence, NightStage } from './model';
import { NIGHT_CSS } from './style';
import { ganttSvg, resultClass, timelineSvg } from './svg';

/**
 * The one renderer: a night report in, one self-contained HTML page out (inline CSS and SVG, no script, no
 * network, system fonts). The rehearsal writes it to a file and the results tab shows it; both call this.
 */

const STATE_WORDS: Record<NightReport['state'], string> = {
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  canceled: 'Canceled',
};

const STATE_CLASS: Record<NightReport['state'], string> = { running: 'run', succeeded: 'ok', failed: 'bad', canceled: 'warn' };

function badge(text: string, cls = resultClass(text)): string {
  const symbol = cls === 'ok' ? '✓' : cls === 'bad' ? '✗' : cls === 'warn' ? '!' : cls === 'run' ? '…' : '–';
  return `<span class="badge ${cls}"><span aria-hidden="true">${symbol} </span>${escapeHtml(text)}</span>`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}" aria-labelledby="${id}-title"><h2 id="${id}-title">${escapeHtml(title)}</h2>${body}</section>`;
}

function table(caption: string, headers: string[], rows: string[][]): string {
  const head = headers.map((header) => `<th scope="col">${escapeHtml(header)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('');
  const title = el('caption', { class: 'muted' }, escapeHtml(caption));
  return el('table', {}, title, el('thead', {}, el('tr', {}, head)), el('tbody', {}, body));
}

function verdictSection(report: NightReport): string {
  const { verdict } = report;
  const cls = verdict.everythingBack ? (report.state === 'succeeded' ? 'ok' : 'warn') : 'bad';
  const left = verdict.left.length
    ? `<p><strong>Not back (${verdict.left.length}), and how to restore each:</strong></p><ol>${verdict.left
        .map((item) =>
          el(
            'li',
            {},
            el('strong', {}, escapeHtml(item.description)),
            ` ${el('span', { class: 'muted' }, `(${escapeHtml(item.kind)}, record `, el('code', {}, escapeHtml(item.recordId)), ')')}`,
            `: ${escapeHtml(item.howToRestore)}`,
          ),
        )
        .join('')}</ol>`
    : '<p>Everything the window silenced or swapped is back.</p>';
  return section(
    'verdict',
    'Verdict',
    `<div class="verdict ${cls}" role="status"><p><strong>${escapeHtml(verdict.headline)}</strong></p>${left}</div>`,
  );
}

function stageRows(stages: NightStage[], zone: string): string[][] {
  return stages.map((stage) => [
    escapeHtml(stage.displayName ?? stage.name),
    badge(stage.result),
    timeTag(stage.startedAt, zone),
    timeTag(stage.finishedAt, zone),
    escapeHtml(stage.startedAt && stage.finishedAt ? durationText(Date.parse(stage.finishedAt) - Date.parse(stage.startedAt)) : '-'),
    escapeHtml((stage.jobs ?? []).map((job) => `${job.displayName ?? job.name}: ${job.result}`).join('; ') || '-'),
  ]);
}

function silenceRows(silences: NightSilence[], zone: string): string[][] {
  const back: Record<NightSilence['state'], string> = { restored: 'back: restored', expired: 'back: ended by itself', left: 'NOT BACK' };
  return silences.map((silence) => [
    escapeHtml(silence.description),
    `<code>${escapeHtml(silence.kind)}</code>`,
    timeTag(silence.createdAt, zone),
    silence.expiresAt ? timeTag(silence.expiresAt, zone) : '<span>never by itself</span>',
    timeTag(silence.restoredAt, zone),
    badge(back[silence.state], silence.state === 'left' ? 'bad' : 'ok'),
    escapeHtml(silence.how),
  ]);
}

function changeRows(changes: NightChange[]): string[][] {
  return changes.map((change) => [
    (change.critical ? el('span', { title: 'on the critical path' }, '★ ') : '') +
      el('code', {}, escapeHtml(change.id)) +
      (change.title ? ` ${escapeHtml(change.title)}` : ''),
    badge(change.outcome),
    escapeHtml(change.dependsOn.join(', ') || '-'),
    escapeHtml(durationText(change.durationMs)),
    change.runUrl ? `<a href="${escapeHtml(change.runUrl)}">${escapeHtml(change.runName ?? 'run')}</a>` : escapeHtml(change.runName ?? '-'),
    escapeHtml(change.reason ?? ''),
  ]);
}

const CHANGE_COLUMNS = ['Change', 'Result', 'After', 'Took', 'Run', 'Why'];
const CHANGES_NOTE = el(
  'p',
  { class: 'muted' },
  'Each change starts after what it depends on; ★ marks the critical path (the longest chain by duration).',
);

function marksNote(report: NightReport): string {
  const marks = report.marks.map((mark) => `${escapeHtml(mark.label)} ${timeTag(mark.at, report.window.timeZone)}`).join(' · ') || 'none';
  const bars = 'Silences and swaps are drawn up to when they end by themselves; a black tick is when a step put them back.';
  return el('p', { class: 'muted' }, `Marks: ${marks}. ${bars}`);
}

function legend(): string {
  const keys: Array<[cls: string, text: string]> = [
    ['ok', '■ succeeded / back'],
    ['bad', '■ failed / NOT back'],
    ['warn', '■ with issues / blocked'],
    ['run', '■ running'],
    ['idle', '■ skipped / not run'],
    ['mark', '┆ schedule mark'],
  ];
  // The bars say all this in their own labels; the legend is for the eye.
  return el('div', { class: 'legend', 'aria-hidden': 'true' }, ...keys.map(([cls, text]) => el('span', { class: cls }, text)));
}

function header(report: NightReport): string {
  const zone = report.window.timeZone;
  const facts = [
    `State ${badge(STATE_WORDS[report.state], STATE_CLASS[report.state])}`,
    report.window.planFile ? `plan <code>${escapeHtml(report.window.planFile)}</code>` : '',
    report.window.endsAt ? `window ends ${timeTag(report.window.endsAt, zone, true)}` : '',
    `as of ${timeTag(report.generatedAt, zone, true)}`,
    report.run?.link ? `<a href="${escapeHtml(report.run.link)}">the pipeline run</a>` : '',
  ].filter(Boolean);
  const simulated = report.simulatedClock
    ? '<p class="warn"><strong>Simulated clock:</strong> a rehearsal or a dry run, not a real night.</p>'
    : '';
  const zoneNote = el('p', { class: 'muted' }, `Times in ${escapeHtml(zone)}; hover a time for UTC.`);
  return el(
    'header',
    {},
    el('h1', {}, `Maintenance window ${escapeHtml(report.window.name)}`),
    el('p', {}, facts.join(' · ')),
    zoneNote,
    simulated,
  );
}

/** The page's pieces: its title, its stylesheet and its body (the results tab puts them into its own document). */
export function renderNightParts(report: NightReport): { title: string; css: string; body: string } {
  const zone = report.window.timeZone;
  const timed = report.stages.some((stage) => stage.startedAt) || report.silences.length > 0;
  const body = [
    header(report),
    '<main>',
    verdictSection(report),
    section(
      'timeline',
      'Timeline',
      timed ? legend() + timelineSvg(report) + marksNote(report) : '<p>No stage times were recorded for this run.</p>',
    ),
    section(
      'stages',
      'Stages',
      report.stages.length
        ? table('Every stage of the night', ['Stage', 'Result', 'Started', 'Finished', 'Took', 'Jobs'], stageRows(report.stages, zone))
        : '<p>No stage results were passed to the finish step.</p>',
    ),
    section(
      'silences',
      'Silenced or swapped, and whether it is back',
      report.silences.length
        ? table(
            'Each silence and swap, its self-expiry and whether it is back',
            ['What', 'Kind', 'From', 'Ends by itself', 'Restored', 'Back?', 'How'],
            silenceRows(report.silences, zone),
          )
        : '<p>Nothing was silenced or swapped in this run.</p>',
    ),
    section(
      'changes',
      'Changes',
      report.changes.length
        ? ganttSvg(report.changes) +
            CHANGES_NOTE +
            table("The plan's changes with their results", CHANGE_COLUMNS, changeRows(report.changes))
        : '<p>No changes were recorded for this run.</p>',
    ),
    report.approvals.length
      ? section(
          'approvals',
          'Approvals',
          table(
            'Who approved what',
            ['Stage', 'Environment', 'When', 'By'],
            report.approvals.map((a) => [
              escapeHtml(a.stage),
              escapeHtml(a.environment ?? '-'),
              timeTag(a.at, zone),
              escapeHtml(a.by ?? 'not recorded'),
            ]),
          ),
        )
      : '',
    '</main>',
  ].join('\n');
  return { title: `Maintenance window ${report.window.name}: ${STATE_WORDS[report.state]}`, css: NIGHT_CSS, body };
}

/** The whole page for one night. */
export function renderNightHtml(report: NightReport): string {
  const { title, css, body } = renderNightParts(report);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${css}</style></head>
<body>
${body}
</body></html>
`;
}
