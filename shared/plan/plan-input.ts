import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadYaml } from '../core/lazy';
import type { Document, LineCounter } from 'yaml';
import { argumentProblem } from './scripts';

/**
 * What a plan file may be before it is parsed, and what its scripts must be: limits that keep a hostile or
 * broken file (a 50 MB string, /dev/zero, a FIFO, an alias bomb, a symlink out of the repository) from hanging
 * the validator or a task, or from failing only at night. Every message stays short: a value is quoted in part.
 */

/** A monthly plan is a few kilobytes; this is far more than any plan needs. */
export const MAX_PLAN_BYTES = 256 * 1024;
/** The longest string in a plan (a manual change's instructions are the longest). */
export const MAX_STRING_LENGTH = 10_000;
/** Nesting of mappings and lists; a plan is about 6 deep. */
export const MAX_NESTING = 32;
/** Changes in one plan; a month has a few dozen. */
export const MAX_CHANGES = 1000;
/** Problems listed in one message; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;
/** Longest message of one problem. */
export const MAX_MESSAGE_LENGTH = 400;

/** A value shown in a message: at most `max` characters, with how long it really is. */
export function quoteValue(value: string, max = 60): string {
  const flat = JSON.stringify(value.length > max ? value.slice(0, max) : value).slice(1, -1);
  return value.length > max ? `'${flat}…' (${value.length} characters)` : `'${flat}'`;
}

/** Cuts a message to `max` characters. */
export function boundMessage(message: string, max = MAX_MESSAGE_LENGTH): string {
  return message.length > max ? `${message.slice(0, max)}… (${message.length} characters in all)` : message;
}

export type ReadResult = { text: string } | { problem: string };

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a plan file, refusing what is not a regular file (a folder, a FIFO, /dev/zero) or is larger than
 * MAX_PLAN_BYTES, without reading it whole. Opened non-blocking, so a FIFO with no writer cannot hang the open.
 */
export function readPlanText(file: string): ReadResult {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'EISDIR' ? 'is a folder, not a plan file.' : `cannot be read (${code ?? (error as Error).message}).` };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { problem: `is ${kindOf(stat)}, not a plan file.` };
    if (stat.size > MAX_PLAN_BYTES) return { problem: `is ${stat.size} bytes; a plan file may be at most ${MAX_PLAN_BYTES} bytes.` };
    // Read at most one byte past the limit, in case the file grows while it is read.
    const buffer = Buffer.alloc(MAX_PLAN_BYTES + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read)
      read = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_PLAN_BYTES) return { problem: `is larger than ${MAX_PLAN_BYTES} bytes; a plan file may be at most that.` };
    return { text: buffer.subarray(0, length).toString('utf8') };
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).` };
  } finally {
    fs.closeSync(fd);
  }
}

export interface TextProblem {
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

/**
 * Nesting deeper than MAX_NESTING, found by scanning the text before the YAML parser sees it (the parser
 * recurses, and would fail without saying where). Counts flow brackets outside quotes and block indentation
 * levels (a `- ` item counts as one); an over-estimate is fine, since real plans are far below the limit.
 */
export function nestingProblem(text: string): TextProblem | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (!quote && flow === 0) {
      const content = /^([ -]*)(.*)$/.exec(line)!;
      if (content[2] === '' || content[2].startsWith('#')) continue;
      const indent = content[1].length;
      while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
      const depth = indents.length + (content[1].match(/-/g)?.length ?? 0);
      if (depth > MAX_NESTING)
        return { line: index + 1, column: indent + 1, message: `nests deeper than ${MAX_NESTING} levels; a plan needs far fewer.` };
    }
    let previous = ''; // the last character that is not a space, on this line
    for (let column = 0; column < line.length; previous = /\s/.test(line[column]) ? previous : line[column], column++) {
      const char = line[column];
      if (quote) {
        if (char === '\\' && quote === '"') column++;
        else if (char === quote) quote = undefined;
      } else if (char === '"' || char === "'") {
        // A quote starts a string only at the start of a scalar, not inside a word (it's).
        if (column === 0 || /[\s[{,:]/.test(line[column - 1])) quote = char;
      } else if (char === '#' && (column === 0 || /\s/.test(line[column - 1]))) {
        break;
      } else if ((char === '[' || char === '{') && (previous === '' || ':-,[{?'.includes(previous))) {
        // Only where a flow collection can start (a `[` inside plain text such as `Fix [PLAT-1` is text).
        if (++flow + indents.length > MAX_NESTING)
          return { line: index + 1, column: column + 1, message: `nests deeper than ${MAX_NESTING} levels; a plan needs far fewer.` };
      } else if ((char === ']' || char === '}') && flow > 0) {
        flow--;
      }
    }
    if (quote === "'") quote = undefined;
  }
  return undefined;
}

/** YAML to plain data; an alias bomb is refused with the line of its first alias. */
export function toData(document: Document, lines: LineCounter): { data: unknown } | { problem: string; line: number; column: number } {
  try {
    return { data: document.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (error) {
    let at = 0;
    const { visit } = loadYaml();
    visit(document, {
      Alias(_key, node) {
        at = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const { line, col } = lines.linePos(at);
    const why =
      error instanceof ReferenceError
        ? 'its aliases (*name) expand too far (an alias bomb); write the values out'
        : boundMessage((error as Error).message, 200);
    return { problem: `cannot be read: ${why}.`, line, column: col };
  }
}

export type DataPath = Array<string | number>;

/** Strings longer than MAX_STRING_LENGTH or holding a NUL byte, anywhere in the parsed data (keys too). */
export function stringProblems(data: unknown): Array<{ path: DataPath; message: string }> {
  const problems: Array<{ path: DataPath; message: string }> = [];
  const check = (value: string, where: DataPath, what: string) => {
    if (value.length > MAX_STRING_LENGTH)
      problems.push({ path: where, message: `${what} is ${value.length} characters long; at most ${MAX_STRING_LENGTH} are allowed.` });
    else if (value.includes('\0')) problems.push({ path: where, message: `${what} contains a NUL byte.` });
  };
  const stack: Array<{ value: unknown; where: DataPath }> = [{ value: data, where: [] }];
  while (stack.length && problems.length < MAX_LISTED_PROBLEMS) {
    const { value, where } = stack.pop()!;
    if (typeof value === 'string') check(value, where, 'the text');
    else if (Array.isArray(value)) value.forEach((item, index) => stack.push({ value: item, where: [...where, index] }));
    else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        check(key, where, `the field name ${quoteValue(key, 30)}`);
        stack.push({ value: item, where: [...where, key] });
      }
    }
  }
  return problems;
}

/** Extensions the agent's script steps run through a shell; anything else is run directly and must be executable. */
const SHELL_EXTENSIONS = new Set(['.sh', '.ps1', '.cmd', '.bat']);

/**
 * Why a change's script cannot run from `root`: outside the repository (by its path or through a symlink), missing,
 * a folder, not a regular file, or (on POSIX) run directly but not executable. Undefined when it can run.
 */
export function scriptPathProblem(root: string, scriptPath: string, platform: NodeJS.Platform = process.platform): string | undefined {
  const shown = quoteValue(scriptPath);
  if (path.isAbsolute(scriptPath) || scriptPath.split(/[\\/]/).includes('..'))
    return `${shown} must be a path inside the repository, relative to its root.`;
  const full = path.join(root, scriptPath);
  let stat: fs.Stats;
  let real: string;
  try {
    stat = fs.statSync(full);
    real = fs.realpathSync(full);
  } catch {
    return `${shown} does not exist in the repository (${quoteValue(root, 200)}).`;
  }
  const realRoot = fs.realpathSync(root);
  if (real !== realRoot && !real.startsWith(realRoot + path.sep))
    return `${shown} is a symlink that leads out of the repository (to ${quoteValue(real, 200)}).`;
  if (stat.isDirectory()) return `${shown} is a folder, not a script.`;
  if (!stat.isFile()) return `${shown} is ${kindOf(stat)}, not a script.`;
  if (platform !== 'win32' && !SHELL_EXTENSIONS.has(path.extname(scriptPath).toLowerCase()) && (stat.mode & 0o111) === 0) {
    return (
      `${shown} is not executable; it is run directly (it is not .sh, .ps1, .cmd or .bat): set its executable bit (git ` +
      `update-index --chmod=+x).`
    );
  }
  return undefined;
}

/** Arguments that cannot reach the script safely (a NUL byte, cmd metacharacters for .cmd/.bat), by index. */
export function scriptArgumentProblems(scriptPath: string, args: unknown[]): Array<{ index: number; message: string }> {
  const problems: Array<{ index: number; message: string }> = [];
  args.forEach((argument, index) => {
    const problem = argumentProblem(scriptPath, String(argument));
    if (problem) problems.push({ index, message: `argument ${quoteValue(String(argument), 40)} ${problem}.` });
  });
  return problems;
}
