/**
 * Azure Pipelines logging commands (`##vso[area.action props]message` and `##[section]`), written to stdout
 * the way the agent reads them. Escaping follows the agent's rules so a value never breaks a command.
 */

export type Writer = (line: string) => void;

let write: Writer = (line) => process.stdout.write(line + '\n');

/** Tests and the rehearsal may capture what a task prints instead of writing to stdout. */
export function setWriter(writer: Writer): Writer {
  const previous = write;
  write = writer;
  return previous;
}

export function writeLine(line: string): void {
  write(line);
}

/*
 * The agent acts on `##vso[` ANYWHERE in a line (Command.TryParse takes the first IndexOf of the prefix),
 * reads stderr as well as stdout and ends a line at \r, \n or \r\n; the log view styles `##[...]` lines.
 * So text that comes from outside (plan files, script output, a service's answer) is made inert before it is
 * printed: the two #s become `**` (the agent's own neutraliser does the same), also when characters a
 * culture-sensitive comparison ignores (zero-width, soft hyphen, joiners) or other case are slipped in between.
 */
const IGNORABLE = '[\\p{Default_Ignorable_Code_Point}\\x00-\\x09\\x0B\\x0C\\x0E-\\x1F\\x7F]*';
const COMMAND_PREFIX = new RegExp(`#${IGNORABLE}#${IGNORABLE}(?:v${IGNORABLE}s${IGNORABLE}o${IGNORABLE})?\\[`, 'giu');

/** Text that cannot start or contain a working `##vso[` or `##[` command (line breaks are left to the caller). */
export function neutralise(text: string): string {
  return text.replace(COMMAND_PREFIX, (match) => (/v/i.test(match) ? '**vso[' : '**['));
}

/** Splits text into the lines the agent will see (it ends a line at \r too, not just \n). */
export function agentLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** One line: every line break (and the separators a viewer may break at) becomes a space. */
export function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n\u0085\u2028\u2029]/g, ' ');
}

function escapeData(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeData(value).replace(/;/g, '%3B').replace(/]/g, '%5D');
}

/** Formats one `##vso[...]` command. */
export function formatCommand(command: string, properties: Record<string, string | undefined>, message = ''): string {
  const props = Object.entries(properties)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}=${escapeProperty(value as string)};`)
    .join('');
  return `##vso[${command}${props ? ' ' + props : ''}]${escapeData(message)}`;
}

/** Commands whose message is text for people (and may quote outside text): it is made inert. */
const READABLE_MESSAGES = new Set(['task.logissue', 'task.complete', 'task.setprogress', 'task.logdetail']);

/**
 * Writes one of our own commands. Properties and data are escaped by the agent's rules (as task-lib does);
 * a message people read is neutralised too, so a quoted `##[error]` does not style the issue's text.
 * A variable's value is not touched: it is data after the first `]`, which the agent never parses again.
 */
export function issueCommand(command: string, properties: Record<string, string | undefined>, message = ''): void {
  write(formatCommand(command, properties, READABLE_MESSAGES.has(command) ? neutralise(message) : message));
}

/** Parses `##vso[...]` lines back (used by tests, the rehearsal and nothing in production). */
export interface ParsedCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

function unescape(value: string): string {
  return value
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%3B/g, ';')
    .replace(/%5D/g, ']')
    .replace(/%AZP25/g, '%');
}

export function parseCommand(line: string): ParsedCommand | undefined {
  const match = /^##vso\[([\w.]+)(?: ([^\]]*))?\](.*)$/.exec(line.trim());
  if (!match) return undefined;
  const properties: Record<string, string> = {};
  for (const pair of (match[2] ?? '').split(';')) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    properties[pair.slice(0, eq).trim()] = unescape(pair.slice(eq + 1));
  }
  return { command: match[1], properties, message: unescape(match[3] ?? '') };
}
