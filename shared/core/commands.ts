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

export function issueCommand(command: string, properties: Record<string, string | undefined>, message = ''): void {
  write(formatCommand(command, properties, message));
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
