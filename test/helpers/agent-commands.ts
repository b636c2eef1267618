import { agentLines } from '../../shared/core/commands';

/**
 * Reads task output the way the Azure Pipelines agent does, only stricter: a line ends at \r, \n or \r\n;
 * a logging command is the first `##vso[` ANYWHERE in the line (the agent's Command.TryParse), found here
 * even with other case or with characters a culture-sensitive comparison ignores slipped in; a formatting
 * command is `##[` anywhere. Tests use it to prove outside text never becomes a command.
 */

export interface AgentCommand {
  /** The whole line. */
  line: string;
  /** Where in the line the command starts (0: at the start, as our own commands are). */
  at: number;
  /** `area.action`, or `[section]` etc. for a formatting command. */
  command: string;
  properties: Record<string, string>;
  data: string;
}

// Control characters are the point: a culture-sensitive comparison may skip them inside `##vso[`.
// eslint-disable-next-line no-control-regex
const IGNORED = /[\p{Default_Ignorable_Code_Point}\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/gu;

export function agentCommands(output: string): AgentCommand[] {
  const found: AgentCommand[] = [];
  for (const line of agentLines(output)) {
    const visible = line.replace(IGNORED, '');
    const vso = visible.toLowerCase().indexOf('##vso[');
    const formatting = /##\[(\w*)\]?/.exec(visible);
    if (vso >= 0) {
      const close = visible.indexOf(']', vso);
      if (close < 0) continue;
      const info = visible.slice(vso + 6, close);
      const space = info.indexOf(' ');
      const command = (space < 0 ? info : info.slice(0, space)).trim();
      const properties: Record<string, string> = {};
      for (const pair of (space < 0 ? '' : info.slice(space + 1)).split(';')) {
        const eq = pair.indexOf('=');
        if (eq > 0) properties[pair.slice(0, eq).trim().toLowerCase()] = pair.slice(eq + 1);
      }
      found.push({ line, at: vso, command, properties, data: visible.slice(close + 1) });
    } else if (formatting) {
      found.push({
        line,
        at: formatting.index,
        command: `[${formatting[1]}]`,
        properties: {},
        data: visible.slice(formatting.index + formatting[0].length),
      });
    }
  }
  return found;
}

/** The commands our own code (and task-lib's debug lines) issue; anything else in a task's output came from outside text. */
export const OWN_COMMANDS = new Set([
  'task.debug',
  'task.setvariable',
  'task.setsecret',
  'task.uploadsummary',
  'task.addattachment',
  'task.complete',
  'task.logissue',
  'task.setprogress',
  '[section]',
  '[group]',
  '[endgroup]',
  '[debug]',
]);

/**
 * Problems with a task's output: a command not at the start of its line, one we never issue, a variable that
 * is not one of the task's outputs, more than one `task.complete`, or a second command inside a line.
 */
export function unexpectedCommands(output: string, outputVariables: string[]): string[] {
  const problems: string[] = [];
  let completes = 0;
  for (const command of agentCommands(output)) {
    const where = JSON.stringify(command.line.slice(0, 200));
    if (command.at !== 0) problems.push(`command inside a line: ${where}`);
    else if (!OWN_COMMANDS.has(command.command)) problems.push(`unexpected command ${command.command}: ${where}`);
    else if (command.command === 'task.setvariable' && !outputVariables.includes(command.properties.variable))
      problems.push(`sets variable '${command.properties.variable}': ${where}`);
    if (command.command === 'task.complete') completes++;
    if (
      command.command !== 'task.setvariable' &&
      command.command !== 'task.setsecret' &&
      /##vso\[|##\[/i.test(command.data.replace(IGNORED, ''))
    ) {
      problems.push(`a command's text quotes a working command: ${where}`);
    }
  }
  if (completes > 1) problems.push(`${completes} task.complete commands`);
  return problems;
}
