import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Checks a task's contract (its task.json) against itself and against the code that reads its inputs: what
 * `tfx` and the published schema do not check. The code side is read statically: tasks read inputs only as
 * `input.<kind>('literalName', ...)` on the context's `input` (see shared/core/inputs.ts), so a small scan
 * of `tasks/<Name>/*.ts` finds every input a task reads, and, for `input.choice`, the values it accepts.
 */

export const INPUT_KINDS = ['string', 'text', 'choice', 'int', 'bool', 'list', 'endpoint'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

export interface InputRead {
  kind: InputKind;
  /** The literal input name, or undefined when the code computes it. */
  name?: string;
  /** For `choice`: the accepted values, or undefined when they are not literal (or resolvable) in the task folder. */
  choices?: string[];
  file: string;
  line: number;
}

export interface TaskInputDefinition {
  name: string;
  type: string;
  label?: string;
  required?: boolean;
  defaultValue?: string | boolean;
  groupName?: string;
  helpMarkDown?: string;
  visibleRule?: string;
  aliases?: string[];
  options?: Record<string, string>;
  properties?: Record<string, unknown>;
}

export interface TaskJson {
  id: string;
  name: string;
  friendlyName: string;
  version: { Major: number; Minor: number; Patch: number };
  minimumAgentVersion?: string;
  instanceNameFormat?: string;
  groups?: Array<{ name: string; displayName: string; visibleRule?: string }>;
  inputs?: TaskInputDefinition[];
  outputVariables?: Array<{ name: string; description?: string }>;
  dataSourceBindings?: Array<{
    target?: string;
    endpointId?: string;
    dataSourceName?: string;
    endpointUrl?: string;
    parameters?: Record<string, string>;
  }>;
  restrictions?: { commands?: { mode?: string }; settableVariables?: { allowed?: string[] } };
  execution?: Record<string, { target?: string }>;
}

/**
 * Service connection types Azure DevOps itself provides that our tasks may use: Azure Resource Manager, an
 * Azure DevOps / TFS connection with a personal access token, and the generic URL + user name + password.
 * Every other type must be one our manifest contributes, so a misspelt type fails here, not in a pipeline.
 */
export const BUILT_IN_ENDPOINT_TYPES = ['AzureRM', 'externaltfs', 'generic'];

/** The agent version that first runs the Node20_1 handler; older agents would refuse the task. */
export const MINIMUM_AGENT_VERSION = '3.232.1';
export const REQUIRED_HANDLERS = ['Node20_1', 'Node24'];
const FRIENDLY_NAME_LIMIT = 40;

// ---------------------------------------------------------------------------------------------------------------
// The scanner

/**
 * Blanks out comments (keeping line breaks, so line numbers hold) and leaves string literals intact, so a
 * commented-out `input.string('old')` is not counted and a `//` inside a URL string does not cut a line.
 */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const next = source[i + 1];
    if (ch === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (ch === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== ch) j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

interface Cursor {
  text: string;
  at: number;
}

function skipSpace(cursor: Cursor): void {
  while (cursor.at < cursor.text.length && /\s/.test(cursor.text[cursor.at])) cursor.at++;
}

/** Reads a string literal with no interpolation at the cursor; undefined (cursor unmoved) if there is none. */
function readStringLiteral(cursor: Cursor): string | undefined {
  skipSpace(cursor);
  const quote = cursor.text[cursor.at];
  if (quote !== "'" && quote !== '"' && quote !== '`') return undefined;
  let j = cursor.at + 1;
  let value = '';
  while (j < cursor.text.length && cursor.text[j] !== quote) {
    if (cursor.text[j] === '\\') {
      value += cursor.text[j + 1];
      j += 2;
      continue;
    }
    if (quote === '`' && cursor.text.startsWith('${', j)) return undefined;
    value += cursor.text[j];
    j++;
  }
  cursor.at = j + 1;
  return value;
}

/** Reads `[ 'a', "b", ]` (optionally `as const`); undefined if anything in it is not a string literal. */
function readStringArray(cursor: Cursor): string[] | undefined {
  skipSpace(cursor);
  if (cursor.text[cursor.at] !== '[') return undefined;
  cursor.at++;
  const values: string[] = [];
  for (;;) {
    skipSpace(cursor);
    if (cursor.text[cursor.at] === ']') {
      cursor.at++;
      return values;
    }
    const value = readStringLiteral(cursor);
    if (value === undefined) return undefined;
    values.push(value);
    skipSpace(cursor);
    if (cursor.text[cursor.at] === ',') cursor.at++;
    else if (cursor.text[cursor.at] !== ']') return undefined;
  }
}

/** `const NAME = ['a', 'b'] as const;` (with an optional type annotation) declared anywhere in the sources. */
function findConstArray(sources: string[], identifier: string): string[] | undefined {
  const declaration = new RegExp(`\\bconst\\s+${identifier}\\s*(?::[^=]+)?=\\s*`, 'g');
  for (const text of sources) {
    declaration.lastIndex = 0;
    const match = declaration.exec(text);
    if (match) return readStringArray({ text, at: match.index + match[0].length });
  }
  return undefined;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text[i] === '\n') line++;
  return line;
}

/**
 * Finds the module a file imports `identifier` from (`import { A, B as C } from './x'`) and returns that
 * module's text and the name the identifier has there.
 */
function importedFrom(text: string, identifier: string, load: ModuleLoader): { text: string; name: string } | undefined {
  for (const match of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    for (const part of match[1].split(',')) {
      const [original, local] = part
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)
        .map((s) => s.trim());
      if ((local ?? original) === identifier) {
        const module = load(match[2]);
        return module === undefined ? undefined : { text: stripComments(module), name: original };
      }
    }
  }
  return undefined;
}

/** Loads a relatively imported module's source by its specifier, or undefined. */
export type ModuleLoader = (specifier: string) => string | undefined;

/**
 * Every `input.<kind>(...)` call in the given sources (file name → text). A choice's allowed values may be an
 * array literal, or a `const` array declared in the task folder or in a module it imports (through `load`).
 */
export function scanInputReads(files: Record<string, string>, load: ModuleLoader = () => undefined): InputRead[] {
  const stripped = Object.fromEntries(Object.entries(files).map(([file, text]) => [file, stripComments(text)]));
  const call = new RegExp(`\\binput\\s*\\.\\s*(${INPUT_KINDS.join('|')})\\s*(?:<[^>()]*>)?\\s*\\(`, 'g');
  const reads: InputRead[] = [];
  for (const [file, text] of Object.entries(stripped)) {
    call.lastIndex = 0;
    for (let match = call.exec(text); match; match = call.exec(text)) {
      const kind = match[1] as InputKind;
      const cursor: Cursor = { text, at: match.index + match[0].length };
      const name = readStringLiteral(cursor);
      const read: InputRead = { kind, name, file, line: lineAt(text, match.index) };
      if (kind === 'choice' && name !== undefined) {
        skipSpace(cursor);
        if (text[cursor.at] === ',') {
          cursor.at++;
          skipSpace(cursor);
          const identifier = /^[A-Za-z_$][\w$]*/.exec(text.slice(cursor.at))?.[0];
          if (!identifier) read.choices = readStringArray(cursor);
          else {
            read.choices = findConstArray(Object.values(stripped), identifier);
            const imported = read.choices === undefined ? importedFrom(text, identifier, load) : undefined;
            if (imported) read.choices = findConstArray([imported.text], imported.name);
          }
        }
      }
      reads.push(read);
    }
  }
  return reads;
}

/** Loads `./x` or `../../shared/y` imported from a task folder (`.ts` or `/index.ts`). */
export function relativeModuleLoader(taskDirectory: string): ModuleLoader {
  return (specifier) => {
    if (!specifier.startsWith('.')) return undefined;
    const base = path.resolve(taskDirectory, specifier);
    const file = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => fs.existsSync(candidate));
    return file === undefined ? undefined : fs.readFileSync(file, 'utf8');
  };
}

/** Reads every `*.ts` file directly in a task folder (a task's code; shared/ takes typed values, not inputs). */
export function readTaskSources(taskDirectory: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of fs.readdirSync(taskDirectory).sort()) {
    if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files[name] = fs.readFileSync(path.join(taskDirectory, name), 'utf8');
  }
  return files;
}

// ---------------------------------------------------------------------------------------------------------------
// The checks

function isEditable(input: TaskInputDefinition): boolean {
  return String(input.properties?.EditableOptions ?? '').toLowerCase() === 'true';
}

function isPickList(input: TaskInputDefinition): boolean {
  return input.type === 'pickList' || input.type === 'radio';
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** Splits a visibleRule (`a = x && b != y`, or with `||`) into its clauses. */
export function parseVisibleRule(rule: string): Array<{ input: string; operator: string; value: string } | { error: string }> {
  return rule.split(/&&|\|\|/).map((clause) => {
    const match = /^\s*([A-Za-z][\w.]*)\s*(==|!=|<=|>=|=|<|>|\s(?:Not)?(?:Contains|EndsWith|StartsWith)\s)\s*(.*?)\s*$/.exec(clause);
    if (!match) return { error: `cannot read the clause '${clause.trim()}'` };
    return { input: match[1], operator: match[2].trim(), value: match[3] };
  });
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** What task.json alone must satisfy beyond the schema. */
export function checkManifest(task: TaskJson, options: { folderName?: string; endpointTypes: string[] }): string[] {
  const problems: string[] = [];
  const inputs = task.inputs ?? [];
  const byName = new Map(inputs.map((input) => [input.name, input]));
  const groups = new Set((task.groups ?? []).map((group) => group.name));

  if (options.folderName !== undefined && options.folderName !== `${task.name}V${task.version?.Major}`) {
    problems.push(`folder '${options.folderName}' should be named '${task.name}V${task.version?.Major}' (name + 'V' + major version)`);
  }
  if (!task.friendlyName || task.friendlyName.length > FRIENDLY_NAME_LIMIT) {
    problems.push(`friendlyName must have 1 to ${FRIENDLY_NAME_LIMIT} characters (has ${task.friendlyName?.length ?? 0})`);
  }
  for (const handler of REQUIRED_HANDLERS) {
    if (task.execution?.[handler]?.target !== 'index.js') problems.push(`execution.${handler} must target index.js`);
  }
  if (!task.minimumAgentVersion) problems.push('minimumAgentVersion is missing');
  else if (compareVersions(task.minimumAgentVersion, MINIMUM_AGENT_VERSION) < 0) {
    problems.push(
      `minimumAgentVersion ${task.minimumAgentVersion} is older than ${MINIMUM_AGENT_VERSION}, the first agent with the Node20_1 handler`,
    );
  }
  if (!task.instanceNameFormat?.trim()) problems.push('instanceNameFormat is missing');
  for (const [, variable] of (task.instanceNameFormat ?? '').matchAll(/\$\(([^)]+)\)/g)) {
    if (!byName.has(variable)) problems.push(`instanceNameFormat refers to $(${variable}), which is not an input`);
  }
  if (!Array.isArray(task.groups) || task.groups.length === 0) problems.push('groups are missing');
  if (groups.size !== (task.groups ?? []).length) problems.push('two groups have the same name');
  if (!Array.isArray(task.outputVariables)) problems.push('outputVariables are missing (an empty list says "no outputs")');
  for (const output of task.outputVariables ?? []) {
    if (!output.description?.trim()) problems.push(`output variable '${output.name}' has no description`);
  }
  problems.push(...restrictionProblems(task));
  if (byName.size !== inputs.length) problems.push('two inputs have the same name');

  const checkRule = (owner: string, rule: string | undefined): void => {
    if (rule === undefined) return;
    for (const clause of parseVisibleRule(rule)) {
      if ('error' in clause) {
        problems.push(`${owner}: visibleRule ${clause.error}`);
        continue;
      }
      const target = byName.get(clause.input);
      if (!target) {
        problems.push(`${owner}: visibleRule names '${clause.input}', which is not an input`);
      } else if (isPickList(target) && !isEditable(target) && ['=', '==', '!='].includes(clause.operator)) {
        if (!Object.keys(target.options ?? {}).includes(clause.value)) {
          problems.push(
            `${owner}: visibleRule compares '${clause.input}' with '${clause.value}', which is not one of its options ` +
              `(${Object.keys(target.options ?? {}).join(', ')})`,
          );
        }
      } else if (target.type === 'boolean' && !/^(true|false)$/.test(clause.value)) {
        problems.push(`${owner}: visibleRule compares boolean '${clause.input}' with '${clause.value}'`);
      }
    }
  };
  for (const group of task.groups ?? []) {
    checkRule(`group '${group.name}'`, group.visibleRule);
    if (!inputs.some((input) => input.groupName === group.name)) problems.push(`group '${group.name}' holds no input`);
  }

  for (const input of inputs) {
    const owner = `input '${input.name}'`;
    if (!input.helpMarkDown?.trim()) problems.push(`${owner} has no helpMarkDown`);
    // An input with no group shows above the groups (the usual place for the action and the connection).
    if (input.groupName !== undefined && !groups.has(input.groupName))
      problems.push(`${owner} is in group '${input.groupName}', which is not declared in groups`);
    checkRule(owner, input.visibleRule);
    if (input.visibleRule && parseVisibleRule(input.visibleRule).some((clause) => 'input' in clause && clause.input === input.name)) {
      problems.push(`${owner}: visibleRule depends on itself`);
    }
    if (isPickList(input)) {
      const keys = Object.keys(input.options ?? {});
      // An editable picker filled by a data source binding (the task assistant asks the service) has no fixed options.
      const bound = isEditable(input) && (task.dataSourceBindings ?? []).some((binding) => binding.target === input.name);
      if (keys.length === 0 && !bound) problems.push(`${owner} is a ${input.type} with no options`);
      if (
        input.defaultValue !== undefined &&
        input.defaultValue !== '' &&
        !isEditable(input) &&
        !keys.includes(String(input.defaultValue))
      ) {
        problems.push(`${owner} defaults to '${input.defaultValue}', which is not one of its options (${keys.join(', ')})`);
      }
    }
    const service = /^connectedService:(.+)$/.exec(input.type)?.[1];
    if (service !== undefined) {
      for (const type of service.split(',').map((t) => t.split(':')[0].trim())) {
        if (!BUILT_IN_ENDPOINT_TYPES.includes(type) && !options.endpointTypes.includes(type)) {
          problems.push(
            `${owner} uses service connection type '${type}', which is neither built in (${BUILT_IN_ENDPOINT_TYPES.join(', ')}) nor ` +
              `declared in vss-extension.json (${options.endpointTypes.join(', ')})`,
          );
        }
      }
    }
  }
  return problems;
}

/** Whether the code and task.json agree on the inputs: each read is declared, each declared one is read. */
export function checkInputReads(task: TaskJson, reads: InputRead[]): string[] {
  const problems: string[] = [];
  const inputs = new Map((task.inputs ?? []).map((input) => [input.name, input]));
  const readNames = new Set<string>();
  for (const read of reads) {
    const where = `${read.file}:${read.line}`;
    if (read.name === undefined) {
      problems.push(`${where}: input.${read.kind}(...) reads a computed input name; use a literal so this check can see it`);
      continue;
    }
    readNames.add(read.name);
    const input = inputs.get(read.name);
    if (!input) {
      problems.push(`${where}: reads input '${read.name}', which task.json does not declare`);
      continue;
    }
    const service = input.type.startsWith('connectedService:');
    if (service !== (read.kind === 'endpoint')) {
      problems.push(
        `${where}: reads '${read.name}' (type ${input.type}) with input.${read.kind}; service connections are read with ` +
          `input.endpoint and only they`,
      );
    }
    if (input.type === 'boolean' && read.kind !== 'bool')
      problems.push(`${where}: reads boolean '${read.name}' with input.${read.kind}, not input.bool`);
    if (input.type === 'int' && read.kind !== 'int')
      problems.push(`${where}: reads int '${read.name}' with input.${read.kind}, not input.int`);
    if (isPickList(input) && !isEditable(input) && read.kind !== 'choice') {
      problems.push(
        `${where}: reads ${input.type} '${read.name}' with input.${read.kind}; use input.choice so the code accepts exactly its options`,
      );
    }
    if (read.kind === 'choice') {
      if (!isPickList(input)) {
        problems.push(`${where}: reads '${read.name}' with input.choice, but it is a ${input.type}, not a pickList`);
      } else if (read.choices === undefined) {
        problems.push(
          `${where}: input.choice('${read.name}', ...) needs its allowed values as an array literal, or a const array declared in ` +
            `the task folder or a module it imports`,
        );
      } else {
        const keys = Object.keys(input.options ?? {});
        if (!sameSet(read.choices, keys)) {
          const missing = keys.filter((key) => !read.choices!.includes(key));
          const extra = read.choices.filter((value) => !keys.includes(value));
          problems.push(
            `${where}: input.choice('${read.name}') accepts [${read.choices.join(', ')}] but task.json offers [${keys.join(', ')}]` +
              (missing.length ? `; the code refuses ${missing.join(', ')}` : '') +
              (extra.length ? `; task.json does not offer ${extra.join(', ')}` : ''),
          );
        }
      }
    }
  }
  for (const name of inputs.keys()) {
    if (!readNames.has(name)) problems.push(`task.json declares input '${name}', which the code never reads`);
  }
  return problems;
}

/** Everything above for one task folder: task.json, its code, its icon. */
/**
 * The agent lets a task set only the variables in `restrictions.settableVariables.allowed`: exactly its own
 * outputs, so text that slipped past the log's neutraliser still cannot set another variable (issue 10).
 * `commands` stays unrestricted: summaries need `task.uploadsummary`, which restricted mode refuses.
 */
export function restrictionProblems(task: TaskJson): string[] {
  const allowed = task.restrictions?.settableVariables?.allowed;
  if (!Array.isArray(allowed))
    return ['restrictions.settableVariables.allowed is missing: list the output variables (the task may set nothing else)'];
  const outputs = (task.outputVariables ?? []).map((output) => output.name);
  const problems: string[] = [];
  const extra = allowed.filter((name) => !outputs.includes(name));
  const missing = outputs.filter((name) => !allowed.includes(name));
  if (extra.length) problems.push(`restrictions.settableVariables.allowed lists ${extra.join(', ')}, which is not an output variable`);
  if (missing.length) problems.push(`restrictions.settableVariables.allowed lacks output variable(s) ${missing.join(', ')}`);
  if (new Set(allowed).size !== allowed.length) problems.push('restrictions.settableVariables.allowed lists a name twice');
  if (task.restrictions?.commands?.mode === 'restricted')
    problems.push("restrictions.commands.mode 'restricted' would refuse task.uploadsummary; leave commands as they are");
  return problems;
}

export function checkTaskFolder(taskDirectory: string, options: { endpointTypes: string[] }): string[] {
  const task = JSON.parse(fs.readFileSync(path.join(taskDirectory, 'task.json'), 'utf8')) as TaskJson;
  const problems = checkManifest(task, { folderName: path.basename(taskDirectory), endpointTypes: options.endpointTypes });
  const sources = readTaskSources(taskDirectory);
  if (!sources['index.ts']) problems.push('index.ts is missing');
  problems.push(...checkInputReads(task, scanInputReads(sources, relativeModuleLoader(taskDirectory))));
  const icon = path.join(taskDirectory, 'icon.png');
  if (!fs.existsSync(icon)) problems.push('icon.png is missing');
  else if (
    !fs
      .readFileSync(icon)
      .subarray(0, 8)
      .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  ) {
    problems.push('icon.png is not a PNG file');
  }
  return problems;
}

/** The names of the service endpoint types an extension manifest contributes. */
export function declaredEndpointTypes(manifest: { contributions?: Array<{ type?: string; properties?: { name?: string } }> }): string[] {
  return (manifest.contributions ?? [])
    .filter((contribution) => contribution.type === 'ms.vss-endpoint.service-endpoint-type')
    .map((contribution) => contribution.properties?.name ?? '')
    .filter(Boolean);
}

/** Task folders: every folder under tasks/ that holds a task.json. */
export function taskFolders(repoRoot: string): string[] {
  const tasks = path.join(repoRoot, 'tasks');
  return fs
    .readdirSync(tasks, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(tasks, entry.name, 'task.json')))
    .map((entry) => entry.name)
    .sort();
}
