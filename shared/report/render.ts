import { durationText, escapeHtml, timeTag } from './format';
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
  return `<table><caption class="muted" style="text-align:left">${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function verdictSection(report: NightReport): string {
  const { verdict } = report;
  const cls = verdict.everythingBack ? (report.state === 'succeeded' ? 'ok' : 'warn') : 'bad';
  const left = verdict.left.length
    ? `<p><strong>Not back (${verdict.left.length}), and how to restore each:</strong></p><ol>${verdict.left
        .map((item) => `<li><strong>${escapeHtml(item.description)}</strong> <span class="muted">(${escapeHtml(item.kind)}, record <code>${escapeHtml(item.recordId)}</code>)</span>: ${escapeHtml(item.howToRestore)}</li>`)
        .join('')}</ol>`
    : '<p>Everything the window silenced or swapped is back.</p>';
  return section('verdict', 'Verdict', `<div class="verdict ${cls}" role="status"><p><strong>${escapeHtml(verdict.headline)}</strong></p>${left}</div>`);
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
    `${change.critical ? '<span title="on the critical path">★ </span>' : ''}<code>${escapeHtml(change.id)}</code>${change.title ? ` ${escapeHtml(change.title)}` : ''}`,
    badge(change.outcome),
    escapeHtml(change.dependsOn.join(', ') || '-'),
    escapeHtml(durationText(change.durationMs)),
    change.runUrl ? `<a href="${escapeHtml(change.runUrl)}">${escapeHtml(change.runName ?? 'run')}</a>` : escapeHtml(change.runName ?? '-'),
    escapeHtml(change.reason ?? ''),
  ]);
}

function legend(): string {
  return `<div class="legend" aria-hidden="true"><span class="ok">■ succeeded / back</span><span class="bad">■ failed / NOT back</span><span class="warn">■ with issues / blocked</span><span class="run">■ running</span><span class="idle">■ skipped / not run</span><span style="color:var(--mark)">┆ schedule mark</span></div>`;
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
  const simulated = report.simulatedClock ? '<p class="warn"><strong>Simulated clock:</strong> a rehearsal or a dry run, not a real night.</p>' : '';
  return `<header><h1>Maintenance window ${escapeHtml(report.window.name)}</h1><p>${facts.join(' · ')}</p><p class="muted">Times in ${escapeHtml(zone)}; hover a time for UTC.</p>${simulated}</header>`;
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
      timed
        ? `${legend()}${timelineSvg(report)}<p class="muted">Marks: ${report.marks.map((mark) => `${escapeHtml(mark.label)} ${timeTag(mark.at, zone)}`).join(' · ') || 'none'}. Silences and swaps are drawn up to when they end by themselves; a black tick is when a step put them back.</p>`
        : '<p>No stage times were recorded for this run.</p>',
    ),
    section('stages', 'Stages', report.stages.length ? table('Every stage of the night', ['Stage', 'Result', 'Started', 'Finished', 'Took', 'Jobs'], stageRows(report.stages, zone)) : '<p>No stage results were passed to the finish step.</p>'),
    section(
      'silences',
      'Silenced or swapped, and whether it is back',
      report.silences.length
        ? table('Each silence and swap, its self-expiry and whether it is back', ['What', 'Kind', 'From', 'Ends by itself', 'Restored', 'Back?', 'How'], silenceRows(report.silences, zone))
        : '<p>Nothing was silenced or swapped in this run.</p>',
    ),
    section(
      'changes',
      'Changes',
      report.changes.length
        ? `${ganttSvg(report.changes)}<p class="muted">Each change starts after what it depends on; ★ marks the critical path (the longest chain by duration).</p>${table('The plan\'s changes with their results', ['Change', 'Result', 'After', 'Took', 'Run', 'Why'], changeRows(report.changes))}`
        : '<p>No changes were recorded for this run.</p>',
    ),
    report.approvals.length
      ? section('approvals', 'Approvals', table('Who approved what', ['Stage', 'Environment', 'When', 'By'], report.approvals.map((a) => [escapeHtml(a.stage), escapeHtml(a.environment ?? '-'), timeTag(a.at, zone), escapeHtml(a.by ?? 'not recorded')])))
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
