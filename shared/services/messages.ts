import { InputError } from '../core/errors';
import { textOf } from '../core/text';
import type { SlackBlock, SlackMessage } from './slack';
import { teamsMessage, type AdaptiveElement, type TeamsWorkflowMessage } from './teams';

/**
 * The window's announcements as pure functions: a template and its fields become a `Notice`, which is then
 * rendered for Slack (fallback text plus blocks) or Teams (an Adaptive Card). Field values (window names,
 * server names, results) are escaped for Slack; the free-text `message` is sent as written, so a pipeline
 * author can use Slack formatting such as `<!here>`.
 */

export const TEMPLATES = ['text', 'windowStart', 'batchBackInService', 'testsRequested', 'windowFinish'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export type Tone = 'info' | 'good' | 'warning' | 'bad';

export interface ResultLine {
  /** true passed, false failed, undefined when the results do not say. */
  ok?: boolean;
  text: string;
}

export interface Notice {
  template: TemplateName;
  /** One line; empty for free text. */
  title: string;
  tone: Tone;
  /** Template sentences (plain text, escaped when rendered). */
  paragraphs: string[];
  facts: Array<{ label: string; value: string }>;
  results?: { summary: string; lines: ResultLine[]; hidden: number; freeText?: string };
  /** The author's free text, sent as written. */
  message?: string;
  link?: string;
}

export interface NoticeFields {
  template: TemplateName;
  message?: string;
  windowName?: string;
  servers?: string[];
  /** Free text, or the JSON results a window step produced. */
  results?: string;
  link?: string;
}

/** Result lines shown before "…and N more": enough for a night's checks, short enough for a phone. */
export const MAX_RESULT_LINES = 30;

/** The run's page from the pipeline's own variables, when they are all there. */
export function pipelineRunLink(collectionUri?: string, teamProject?: string, buildId?: string): string | undefined {
  if (!collectionUri || !teamProject || !buildId) return undefined;
  return `${collectionUri.replace(/\/+$/, '')}/${encodeURIComponent(teamProject)}/_build/results?buildId=${encodeURIComponent(buildId)}`;
}

function windowLabel(windowName?: string): string {
  return windowName ? `the ${windowName} maintenance window` : 'the maintenance window';
}

function serverList(servers: string[]): string {
  return servers.join(', ');
}

/** Builds the notice for a template, refusing missing fields with the input's name. */
export function composeNotice(fields: NoticeFields): Notice {
  const message = fields.message?.trim() ? fields.message.trim() : undefined;
  const servers = fields.servers ?? [];
  const windowName = fields.windowName?.trim() || undefined;
  if (fields.link !== undefined && !/^https?:\/\/\S+$/i.test(fields.link)) {
    throw new InputError('link', `'${fields.link}' is not an http(s) URL.`);
  }
  const base = { template: fields.template, message, link: fields.link, facts: [] as Notice['facts'] };
  const windowFact = windowName ? [{ label: 'Window', value: windowName }] : [];
  switch (fields.template) {
    case 'text':
      if (!message) throw new InputError('message', 'is required for the text template: write the message to send.');
      return { ...base, title: '', tone: 'info', paragraphs: [] };
    case 'windowStart':
      return {
        ...base,
        title: windowName ? `Maintenance starting: ${windowName}` : 'Maintenance starting',
        tone: 'warning',
        paragraphs: [
          `${capitalize(windowLabel(windowName))} is starting now. Expect planned interruptions until we post that it is finished.`,
        ],
        facts: [...windowFact, ...(servers.length ? [{ label: 'Servers', value: serverList(servers) }] : [])],
      };
    case 'batchBackInService':
      if (servers.length === 0)
        throw new InputError('servers', 'is required for the batchBackInService template: list the servers that are back.');
      return {
        ...base,
        title: `Back in service: ${serverList(servers)}`,
        tone: 'good',
        paragraphs: [
          `${servers.length} server${servers.length > 1 ? 's are' : ' is'} patched and back in ` +
            `service${windowName ? ` (${windowName})` : ''}.`,
        ],
        facts: [...windowFact, { label: 'Servers', value: serverList(servers) }],
      };
    case 'testsRequested':
      return {
        ...base,
        title: windowName ? `Tests requested: ${windowName}` : 'Tests requested',
        tone: 'info',
        paragraphs: [
          servers.length
            ? `Please run the tests now: ${serverList(servers)} ${servers.length > 1 ? 'are' : 'is'} back in service.`
            : 'Please run the tests now.',
        ],
        facts: [...windowFact, ...(servers.length ? [{ label: 'Servers', value: serverList(servers) }] : [])],
      };
    case 'windowFinish': {
      const results = fields.results?.trim() ? summarizeResults(fields.results) : undefined;
      const failed = results?.failed ?? 0;
      return {
        ...base,
        title: `${failed ? 'Maintenance finished with problems' : 'Maintenance finished'}${windowName ? `: ${windowName}` : ''}`,
        tone: failed ? 'bad' : results && results.passed > 0 ? 'good' : 'info',
        paragraphs: [`${capitalize(windowLabel(windowName))} is finished.`],
        facts: windowFact,
        results: results && {
          summary: results.summary,
          lines: results.lines.slice(0, MAX_RESULT_LINES),
          hidden: Math.max(0, results.lines.length - MAX_RESULT_LINES),
          freeText: results.freeText,
        },
      };
    }
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export interface ResultSummary {
  passed: number;
  failed: number;
  lines: ResultLine[];
  /** One line, e.g. `12 passed, 1 failed`; empty when the results do not say. */
  summary: string;
  /** Set when the results were not JSON: shown as written. */
  freeText?: string;
}

const PASSED_WORDS = new Set([
  'passed',
  'pass',
  'succeeded',
  'success',
  'successful',
  'ok',
  'done',
  'up',
  'healthy',
  'installed',
  'restored',
  'completed',
]);
const FAILED_WORDS = new Set([
  'failed',
  'fail',
  'failure',
  'error',
  'errored',
  'down',
  'unhealthy',
  'canceled',
  'cancelled',
  'timedout',
  'timeout',
]);
const NAME_KEYS = ['name', 'server', 'check', 'title', 'key', 'change', 'id', 'url'];
const STATUS_KEYS = ['status', 'result', 'state', 'outcome'];
const DETAIL_KEYS = ['reasons', 'error', 'message', 'detail', 'details'];

function outcomeOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const word = value
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  if (PASSED_WORDS.has(word)) return true;
  if (FAILED_WORDS.has(word)) return false;
  return undefined;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(scalar).filter(Boolean).join('; ');
  return textOf(value);
}

/** One result object (a smoke check, a patched server, a change) as a line. */
function resultLine(item: Record<string, unknown>, fallbackName?: string): ResultLine {
  const nameKey = NAME_KEYS.find((key) => item[key] !== undefined && item[key] !== '');
  const name = nameKey ? scalar(item[nameKey]) : (fallbackName ?? '');
  let ok = outcomeOf(item.passed) ?? outcomeOf(item.success) ?? outcomeOf(item.ok);
  const statusKey = STATUS_KEYS.find((key) => item[key] !== undefined && item[key] !== '');
  if (ok === undefined && statusKey) ok = outcomeOf(item[statusKey]);
  const details = DETAIL_KEYS.map((key) => scalar(item[key])).filter(Boolean);
  const status = statusKey && typeof item[statusKey] === 'string' ? scalar(item[statusKey]) : undefined;
  const parts = [ok === undefined ? status : ok ? 'passed' : 'failed', ...details].filter(Boolean);
  return { ok, text: parts.length ? `${name || 'result'}: ${parts.join(', ')}` : name || JSON.stringify(item) };
}

/**
 * Reads the `results` input: free text, or JSON a window step produced (a list of results such as
 * SmokeTestV1's `results` output, a `{passed, failed}` count, or a map of name → outcome).
 */
export function summarizeResults(text: string): ResultSummary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { passed: 0, failed: 0, lines: [], summary: '', freeText: text.trim() };
  }
  let lines: ResultLine[] = [];
  let counted: { passed: number; failed: number } | undefined;
  if (Array.isArray(parsed)) {
    lines = parsed.map((item) =>
      item && typeof item === 'object' && !Array.isArray(item)
        ? resultLine(item as Record<string, unknown>)
        : { ok: outcomeOf(item), text: scalar(item) },
    );
  } else if (parsed && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>;
    if (typeof record.passed === 'number' || typeof record.failed === 'number') {
      counted = { passed: Number(record.passed ?? 0), failed: Number(record.failed ?? 0) };
    }
    for (const [key, value] of Object.entries(record)) {
      if (counted && (key === 'passed' || key === 'failed')) continue;
      if (value && typeof value === 'object' && !Array.isArray(value)) lines.push(resultLine(value as Record<string, unknown>, key));
      else if (Array.isArray(value) && value.every((item) => item && typeof item === 'object')) {
        for (const item of value) lines.push(resultLine(item as Record<string, unknown>));
      } else lines.push({ ok: outcomeOf(value), text: `${key}: ${scalar(value)}` });
    }
  } else {
    return { passed: 0, failed: 0, lines: [], summary: '', freeText: text.trim() };
  }
  const passed = counted?.passed ?? lines.filter((line) => line.ok === true).length;
  const failed = counted?.failed ?? lines.filter((line) => line.ok === false).length;
  const summary = passed || failed ? `${passed} passed, ${failed} failed` : '';
  return { passed, failed, lines, summary };
}

// ---- Slack ----

/** Slack's limits on the pieces we use. */
const SLACK_HEADER_MAX = 150;
const SLACK_SECTION_MAX = 3000;
const SLACK_FALLBACK_MAX = 3000;

/** Escapes the three characters Slack treats as markup in text. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Splits text into pieces of at most `max` characters, at line breaks where it can. */
function chunks(text: string, max: number): string[] {
  const out: string[] = [];
  let current = '';
  const flush = () => {
    if (current) out.push(current);
    current = '';
  };
  for (const line of text.split('\n')) {
    let rest = line;
    while (rest.length > max) {
      flush();
      out.push(rest.slice(0, max));
      rest = rest.slice(max);
    }
    if (current && current.length + 1 + rest.length > max) flush();
    current = current ? `${current}\n${rest}` : rest;
  }
  flush();
  return out;
}

const TONE_EMOJI: Record<Tone, string> = {
  info: ':information_source:',
  good: ':white_check_mark:',
  warning: ':construction:',
  bad: ':x:',
};

function slackResultLine(line: ResultLine): string {
  const mark = line.ok === true ? ':white_check_mark:' : line.ok === false ? ':x:' : '•';
  return `${mark} ${escapeSlack(line.text)}`;
}

/** Plain text for notifications and clients that cannot show blocks. */
export function plainText(notice: Notice): string {
  const parts: string[] = [];
  if (notice.title) parts.push(notice.title);
  parts.push(...notice.paragraphs);
  if (notice.results) {
    if (notice.results.summary) parts.push(`Results: ${notice.results.summary}`);
    if (notice.results.freeText) parts.push(notice.results.freeText);
  }
  if (notice.message) parts.push(notice.message);
  return parts.join('\n');
}

export function renderSlack(notice: Notice): SlackMessage {
  const blocks: SlackBlock[] = [];
  const section = (text: string) => {
    for (const piece of chunks(text, SLACK_SECTION_MAX)) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: piece } });
  };
  if (notice.title)
    blocks.push({ type: 'header', text: { type: 'plain_text', text: clip(`${notice.title}`, SLACK_HEADER_MAX), emoji: true } });
  for (const paragraph of notice.paragraphs) section(`${TONE_EMOJI[notice.tone]} ${escapeSlack(paragraph)}`);
  if (notice.facts.length) {
    blocks.push({
      type: 'section',
      fields: notice.facts
        .slice(0, 10)
        .map((fact) => ({ type: 'mrkdwn', text: clip(`*${fact.label}*\n${escapeSlack(fact.value)}`, 2000) })),
    });
  }
  if (notice.results) {
    const { summary, lines, hidden, freeText } = notice.results;
    const text = [
      `*Results${summary ? `: ${summary}` : ''}*`,
      ...lines.map(slackResultLine),
      ...(hidden ? [`…and ${hidden} more`] : []),
      ...(freeText ? [escapeSlack(freeText)] : []),
    ].join('\n');
    section(text);
  }
  if (notice.message) section(notice.message);
  if (notice.link) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${notice.link}|Open the pipeline run>` }] });
  const fallback = notice.template === 'text' ? (notice.message ?? '') : plainText(notice);
  return { text: clip(fallback, SLACK_FALLBACK_MAX), blocks };
}

// ---- Teams ----

const TONE_COLOR = { info: 'Accent', good: 'Good', warning: 'Warning', bad: 'Attention' } as const;

function teamsResultLine(line: ResultLine): string {
  const mark = line.ok === true ? '✅' : line.ok === false ? '❌' : '•';
  return `${mark} ${line.text}`;
}

export function renderTeams(notice: Notice): TeamsWorkflowMessage {
  const body: AdaptiveElement[] = [];
  if (notice.title) {
    body.push({
      type: 'TextBlock',
      text: notice.title,
      size: 'Large',
      weight: 'Bolder',
      color: TONE_COLOR[notice.tone],
      style: 'heading',
      wrap: true,
    });
  }
  for (const paragraph of notice.paragraphs) body.push({ type: 'TextBlock', text: paragraph, wrap: true });
  if (notice.facts.length) body.push({ type: 'FactSet', facts: notice.facts.map((fact) => ({ title: fact.label, value: fact.value })) });
  if (notice.results) {
    const { summary, lines, hidden, freeText } = notice.results;
    body.push({ type: 'TextBlock', text: `Results${summary ? `: ${summary}` : ''}`, weight: 'Bolder', spacing: 'Medium', wrap: true });
    // Lines joined by blank lines: Teams' markdown drops single line breaks.
    const list = [...lines.map(teamsResultLine), ...(hidden ? [`…and ${hidden} more`] : [])];
    if (list.length) body.push({ type: 'TextBlock', text: list.join('\n\n'), wrap: true });
    if (freeText) body.push({ type: 'TextBlock', text: freeText, wrap: true });
  }
  if (notice.message) body.push({ type: 'TextBlock', text: notice.message, wrap: true, spacing: notice.title ? 'Medium' : undefined });
  return teamsMessage({
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    actions: notice.link ? [{ type: 'Action.OpenUrl', title: 'Open the pipeline run', url: notice.link }] : undefined,
    msteams: { width: 'Full' },
  });
}
