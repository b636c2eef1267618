import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/**
 * Validates Azure Pipelines YAML against Microsoft's published schema (`test/schemas/
 * azure-pipelines.schema.json`, the one the VS Code extension uses), the way Azure DevOps validates it for an
 * organization that has our extension installed:
 *
 * - The schema lists Microsoft's built-in tasks with their inputs. That list is replaced (it is most of the
 *   compile time) by one entry per `tasks/<Name>/task.json` of ours, generated from the file: `Name@Major`,
 *   its inputs (and aliases) with `additionalProperties: false`, pick-list values and required inputs; plus
 *   one entry that accepts Microsoft's tasks by name (the names the schema knows: `ManualValidation@1`,
 *   `PublishPipelineArtifact@1`...) with any inputs. A misspelled input of ours, or an unknown task name, fails.
 * - YAML is parsed with the failsafe schema (the pipeline schema types every scalar as a string), so the three
 *   task keys the schema types as boolean/integer (`continueOnError`, `retryCountOnTaskFailure`,
 *   `timeoutInMinutes`) are retyped as the strings they are.
 * - Template expressions (`${{ }}`) are handled by a pre-pass over the YAML, then by the schema:
 *   - conditional and loop insertions (`${{ if }}`, `${{ elseif }}`, `${{ else }}`, `${{ each }}`) are
 *     expanded: in a mapping their body is merged into the parent, in a sequence their items are spliced in.
 *     Every branch is kept, so every branch is validated (as if all conditions were true, each loop ran once);
 *   - a key that is itself an expression (`${{ parameters.name }}: value`) cannot be checked and is dropped;
 *   - a value that is exactly `${{ parameters.x }}` becomes that parameter's default (as when the template is
 *     used without it), or `[]` for a list-typed parameter with no default; a sequence item that is an
 *     expression the pre-pass cannot resolve (a loop variable, say) is dropped, since its shape is unknown;
 *   - any other expression stays a string, and the schema accepts a whole `${{ }}` expression wherever it
 *     constrains a string by pattern or enum (a generated `templateExpression` alternative). Where the schema
 *     wants a list or a mapping, an unresolved expression fails: give the parameter a default.
 * - Errors are made readable: a step/job/stage/variable is checked against the one shape its first key names
 *   (not against all thirteen kinds of step), `additionalProperties` and `required` errors come first, each
 *   with the file, line and YAML path.
 *
 * Compiled once per process (about a third of a second); the rehearsal reuses it.
 */

const repoRoot = path.resolve(__dirname, '..', '..');
export const schemaDirectory = path.resolve(repoRoot, 'test', 'schemas');

export type DocumentKind = 'pipeline' | 'stagesTemplate' | 'jobsTemplate' | 'stepsTemplate' | 'variablesTemplate';
const TEMPLATE_KINDS: Record<string, DocumentKind> = {
  stages: 'stagesTemplate',
  jobs: 'jobsTemplate',
  steps: 'stepsTemplate',
  variables: 'variablesTemplate',
};

export interface SchemaProblem {
  file: string;
  line?: number;
  /** YAML path in the expanded document, e.g. `stages[0].jobs[0].steps[1].inputs`. */
  path: string;
  keyword: string;
  message: string;
}

export interface ValidationResult {
  file: string;
  kind: DocumentKind;
  problems: SchemaProblem[];
}

type Json = null | string | number | boolean | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Schema = { [key: string]: unknown };

interface TaskInput {
  name: string;
  type: string;
  required?: boolean;
  defaultValue?: unknown;
  visibleRule?: string;
  aliases?: string[];
  options?: Record<string, string>;
  properties?: Record<string, unknown>;
}
interface TaskManifest {
  name: string;
  version: { Major: number };
  inputs?: TaskInput[];
}

// ---------------------------------------------------------------------------------------------------------------
// Generated schema entries for our tasks

/** Regex source matching `text` in any letter case (task names and pick-list values are case-insensitive). */
function anyCase(text: string): string {
  return [...text]
    .map((ch) => (/[a-z]/i.test(ch) ? `[${ch.toLowerCase()}${ch.toUpperCase()}]` : ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')))
    .join('');
}

/** A value computed when the pipeline runs: a template expression, a macro `$(x)` or a runtime `$[ ]`. */
const LATE_VALUE = String.raw`\$\{\{[\s\S]*\}\}|\$\([^)]*\)|\$\[[\s\S]*\]`;

function inputValueSchema(input: TaskInput): Schema {
  const editable = String(input.properties?.EditableOptions ?? '').toLowerCase() === 'true';
  if ((input.type === 'pickList' || input.type === 'radio') && !editable && input.options) {
    const keys = Object.keys(input.options);
    return { type: 'string', pattern: `^(?:${[...keys.map(anyCase), LATE_VALUE].join('|')})$`, 'x-expected': `one of: ${keys.join(', ')}` };
  }
  if (input.type === 'boolean')
    return { type: 'string', pattern: `^(?:${anyCase('true')}|${anyCase('false')}|${LATE_VALUE})$`, 'x-expected': 'true or false' };
  if (input.type === 'int') return { type: 'string', pattern: `^(?:[-+]?[0-9]+|${LATE_VALUE})$`, 'x-expected': 'a whole number' };
  return { type: 'string' };
}

export function readTaskManifests(root = repoRoot): TaskManifest[] {
  const tasks = path.join(root, 'tasks');
  return fs
    .readdirSync(tasks)
    .filter((name) => fs.existsSync(path.join(tasks, name, 'task.json')))
    .sort()
    .map((name) => JSON.parse(fs.readFileSync(path.join(tasks, name, 'task.json'), 'utf8')) as TaskManifest);
}

/** `Name@Major` and the schema of its `inputs:` mapping, from a task.json. */
export function taskEntry(task: TaskManifest): { reference: string; pattern: string; inputs: Schema; requiredInputs: string[] } {
  const reference = `${task.name}@${task.version.Major}`;
  const properties: Record<string, Schema> = {};
  for (const input of task.inputs ?? []) {
    for (const name of [input.name, ...(input.aliases ?? [])]) properties[name] = inputValueSchema(input);
  }
  // An input with a default, or hidden by a visibleRule, need not be given (Azure DevOps only checks shown ones).
  const requiredInputs = (task.inputs ?? [])
    .filter((input) => input.required && (input.defaultValue === undefined || input.defaultValue === '') && !input.visibleRule)
    .map((input) => input.name);
  return {
    reference,
    pattern: `^${anyCase(reference)}$`,
    inputs: { type: 'object', properties, additionalProperties: false, required: requiredInputs, 'x-task': reference },
    requiredInputs,
  };
}

/** The `task` step definition: our generated entries plus Microsoft's tasks by name. */
function taskDefinition(original: Schema, tasks: TaskManifest[]): Schema {
  const builtIn = [
    ...new Set(
      ((original.anyOf as Schema[]) ?? [])
        .map((entry) => ((entry.properties as Schema)?.task as Schema)?.pattern)
        .filter((pattern): pattern is string => typeof pattern === 'string')
        .map((pattern) => pattern.replace(/^\^/, '').replace(/\$$/, '')),
    ),
  ].sort();
  const ours = tasks.map(taskEntry);
  const properties = { ...(original.properties as Record<string, Schema>) };
  properties.continueOnError = { $ref: '#/definitions/boolean', description: properties.continueOnError?.description };
  properties.retryCountOnTaskFailure = {
    $ref: '#/definitions/integerString',
    description: properties.retryCountOnTaskFailure?.description,
  };
  properties.timeoutInMinutes = { $ref: '#/definitions/integerString', description: properties.timeoutInMinutes?.description };
  properties.task = {
    type: 'string',
    anyOf: [{ pattern: ours.length ? ours.map((entry) => entry.pattern).join('|') : '^$.' }, { enum: builtIn }],
    'x-message':
      `is not a known task: ours are ${ours.map((entry) => entry.reference).join(', ')}; Microsoft's are the ` +
      `${builtIn.length} the schema lists`,
  };
  return {
    type: 'object',
    properties,
    additionalProperties: false,
    required: ['task'],
    firstProperty: ['task'],
    allOf: ours.map((entry) => ({
      if: { type: 'object', required: ['task'], properties: { task: { type: 'string', pattern: entry.pattern } } },
      then: { properties: { inputs: entry.inputs }, ...(entry.requiredInputs.length ? { required: ['inputs'] } : {}) },
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Schema rewrites: expressions accepted where strings are constrained; one shape per step/job/stage/variable

function isConstrainedString(node: Schema): boolean {
  return typeof node.pattern === 'string' || Array.isArray(node.enum);
}

const EXPRESSION_REF = { $ref: '#/definitions/templateExpression' };

function acceptExpressions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(acceptExpressions);
  if (!node || typeof node !== 'object') return node;
  const schema = node as Schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, acceptExpressions(child)]));
    } else if (key !== 'enum' && key !== 'firstProperty' && key !== 'required') {
      out[key] = acceptExpressions(value);
    } else {
      out[key] = value;
    }
  }
  const branches = out.anyOf as Schema[] | undefined;
  if (branches && branches.length && branches.every((branch) => isConstrainedString(branch))) {
    return { ...out, anyOf: [...branches, EXPRESSION_REF], 'x-allows-expression': true };
  }
  if (isConstrainedString(out)) return { anyOf: [out, EXPRESSION_REF], 'x-allows-expression': true };
  return out;
}

/**
 * `anyOf: [stepKindA, stepKindB, ...]` where each kind is an object named by one key (its first property, or
 * its one required key) becomes "the kind(s) whose key is present", so a step with a misspelled input is
 * reported against the task shape only, not against all thirteen kinds of step.
 */
function discriminate(definitions: Record<string, Schema>): void {
  const resolve = (branch: Schema): Schema => {
    const ref = typeof branch.$ref === 'string' && !branch.firstProperty ? branch.$ref.replace('#/definitions/', '') : undefined;
    return ref ? definitions[ref] : branch;
  };
  const keyOf = (branch: Schema): string | undefined => {
    const resolved = resolve(branch);
    if (resolved?.type !== 'object') return undefined;
    const first = resolved.firstProperty as string[] | undefined;
    const required = resolved.required as string[] | undefined;
    return first?.length === 1 ? first[0] : required?.length === 1 ? required[0] : undefined;
  };
  for (const [name, definition] of Object.entries(definitions)) {
    const branches = definition.anyOf as Schema[] | undefined;
    if (!branches || branches.length < 2) continue;
    const keys = branches.map(keyOf);
    if (keys.some((key) => key === undefined)) continue;
    const groups = new Map<string, Schema[]>();
    branches.forEach((branch, index) => groups.set(keys[index]!, [...(groups.get(keys[index]!) ?? []), branch]));
    const { anyOf: _branches, ...rest } = definition;
    definitions[name] = {
      ...rest,
      type: 'object',
      allOf: [
        ...[...groups].map(([key, group]) => ({ if: { required: [key] }, then: group.length === 1 ? group[0] : { anyOf: group } })),
        { anyOf: [...groups.keys()].map((key) => ({ required: [key] })), 'x-discriminator': [...groups.keys()] },
      ],
    };
  }
}

/** Microsoft's schema with our tasks in it and the rewrites above. */
export function buildPipelineSchema(root = repoRoot): Schema {
  const schema = JSON.parse(fs.readFileSync(path.join(schemaDirectory, 'azure-pipelines.schema.json'), 'utf8')) as Schema;
  const definitions = schema.definitions as Record<string, Schema>;
  const task = taskDefinition(definitions.task, readTaskManifests(root));
  delete definitions.task;
  const rewritten = acceptExpressions(definitions) as Record<string, Schema>;
  rewritten.task = task;
  rewritten.templateExpression = { type: 'string', pattern: String.raw`^\s*\$\{\{[\s\S]*\}\}\s*$`, 'x-expression': true };
  rewritten.integerString = { anyOf: [{ type: 'string', pattern: '^[0-9]+$' }, EXPRESSION_REF], 'x-allows-expression': true };
  discriminate(rewritten);
  // The root also accepts an empty file (`^$`); our files are never empty, and that branch only adds noise.
  const { $schema: _draft, $id: _id, oneOf: _root, ...rest } = schema;
  return { ...rest, $ref: '#/definitions/pipeline', definitions: rewritten };
}

// ---------------------------------------------------------------------------------------------------------------
// The YAML pre-pass

interface Located {
  line: number;
  keys: Map<string | number, number>;
}

interface Parameter {
  type?: string;
  default?: Json;
}

const INSERTION = /^\$\{\{\s*(if|elseif|else|each)\b[\s\S]*\}\}$/;
const WHOLE_EXPRESSION = /^\$\{\{[\s\S]*\}\}$/;
const PARAMETER_REFERENCE = /^\$\{\{\s*parameters(?:\.([A-Za-z_][\w-]*)|\[\s*'([^']+)'\s*\])\s*\}\}$/;
const LIST_TYPES = new Set(['stepList', 'jobList', 'stageList', 'deploymentList', 'containerList', 'stringList']);

class Expander {
  readonly lines = new WeakMap<object, Located>();
  parameters = new Map<string, Parameter>();

  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  private lineOf(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 0 : this.lineCounter.linePos(offset).line;
  }

  private locate<T extends object>(value: T, node: Node | null | undefined): T {
    this.lines.set(value, { line: this.lineOf(node), keys: new Map() });
    return value;
  }

  private resolveParameter(text: string): { value: Json } | undefined {
    const match = PARAMETER_REFERENCE.exec(text.trim());
    const parameter = match ? this.parameters.get(match[1] ?? match[2]) : undefined;
    if (!parameter) return undefined;
    if (parameter.default !== undefined) return { value: structuredClone(parameter.default) };
    if (parameter.type && LIST_TYPES.has(parameter.type)) return { value: [] };
    return undefined;
  }

  /** Converts a YAML node to plain data, expanding template expressions (see the module comment). */
  convert(node: unknown, resolveParameters = true): Json {
    if (isAlias(node)) return this.convert(node.resolve(this.document), resolveParameters);
    if (isScalar(node)) {
      const text = node.value === null || node.value === undefined ? '' : String(node.value);
      return resolveParameters ? (this.resolveParameter(text)?.value ?? text) : text;
    }
    if (isMap(node)) {
      const out = this.locate<JsonObject>({}, node);
      const located = this.lines.get(out)!;
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value ?? '') : String(pair.key ?? '');
        const keyLine = this.lineOf(pair.key as Node);
        if (INSERTION.test(key.trim())) {
          const body = this.convert(pair.value, resolveParameters);
          if (body && typeof body === 'object' && !Array.isArray(body)) {
            Object.assign(out, body);
            for (const name of Object.keys(body)) located.keys.set(name, this.lines.get(body)?.keys.get(name) ?? keyLine);
          }
          continue;
        }
        if (WHOLE_EXPRESSION.test(key.trim())) continue;
        out[key] = this.convert(pair.value, resolveParameters);
        located.keys.set(key, keyLine);
      }
      return out;
    }
    if (isSeq(node)) {
      const out = this.locate([] as Json[], node);
      const located = this.lines.get(out)!;
      const push = (value: Json, line: number) => {
        located.keys.set(out.length, line);
        out.push(value);
      };
      for (const item of node.items) {
        const line = this.lineOf(item as Node);
        if (
          isMap(item) &&
          item.items.length > 0 &&
          item.items.every((pair) => isScalar(pair.key) && INSERTION.test(String(pair.key.value).trim()))
        ) {
          for (const pair of item.items) {
            const body = this.convert(pair.value, resolveParameters);
            if (Array.isArray(body)) body.forEach((value, index) => push(value, this.lines.get(body)?.keys.get(index) ?? line));
            else if (body && typeof body === 'object') push(body, line);
          }
          continue;
        }
        if (isScalar(item) && WHOLE_EXPRESSION.test(String(item.value ?? '').trim())) {
          const resolved = resolveParameters ? this.resolveParameter(String(item.value)) : undefined;
          if (resolved && Array.isArray(resolved.value)) resolved.value.forEach((value) => push(value, line));
          else if (resolved) push(resolved.value, line);
          continue;
        }
        push(this.convert(item, resolveParameters), line);
      }
      return out;
    }
    return '';
  }

  /** Reads `parameters:` (a template's list, or a pipeline's) so `${{ parameters.x }}` can be resolved. */
  readParameters(root: unknown): void {
    if (!isMap(root)) return;
    const node = root.items.find((pair) => isScalar(pair.key) && pair.key.value === 'parameters')?.value;
    const declared = this.convert(node, false);
    if (Array.isArray(declared)) {
      for (const item of declared) {
        if (item && typeof item === 'object' && !Array.isArray(item) && typeof item.name === 'string') {
          this.parameters.set(item.name, {
            type: typeof item.type === 'string' ? item.type : undefined,
            default: 'default' in item ? item.default : undefined,
          });
        }
      }
    } else if (declared && typeof declared === 'object') {
      // The old form: `parameters: { name: default }`.
      for (const [name, value] of Object.entries(declared)) this.parameters.set(name, { default: value });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation and error reporting

function yamlPath(instancePath: string): string {
  if (!instancePath) return '(root)';
  return instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, segment) => (/^\d+$/.test(segment) ? `${acc}[${segment}]` : acc ? `${acc}.${segment}` : segment), '');
}

function lineFor(data: Json, lines: WeakMap<object, Located>, instancePath: string, extraKey?: string): number | undefined {
  let node: Json = data;
  let line = (data && typeof data === 'object' && lines.get(data)?.line) || undefined;
  const segments = instancePath ? instancePath.split('/').slice(1) : [];
  for (const raw of segments) {
    if (!node || typeof node !== 'object') break;
    const key = Array.isArray(node) ? Number(raw) : raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const keyLine = lines.get(node)?.keys.get(key);
    if (keyLine) line = keyLine;
    node = (node as Record<string | number, Json>)[key as never];
    const own = node && typeof node === 'object' ? lines.get(node)?.line : undefined;
    if (own) line = own;
  }
  // An unknown key is reported where the key is written, not where its value starts.
  const keyLine = extraKey !== undefined && node && typeof node === 'object' ? lines.get(node)?.keys.get(extraKey) : undefined;
  return keyLine || line;
}

function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  const scored = candidates.map((candidate) => ({ candidate, score: distance(word, candidate) })).sort((a, b) => a.score - b.score);
  return scored[0] && scored[0].score <= Math.max(2, Math.floor(word.length / 3)) ? scored[0].candidate : undefined;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turns ajv's raw list into the few errors that say what is wrong, most useful first. */
export function explainErrors(errors: ErrorObject[], data: Json, lines: WeakMap<object, Located>, file: string): SchemaProblem[] {
  const schemaOf = (error: ErrorObject) => (error.parentSchema ?? {}) as Schema;
  const under = (error: ErrorObject, parent: ErrorObject) =>
    error !== parent && error.instancePath === parent.instancePath && error.schemaPath.startsWith(`${parent.schemaPath}/`);
  const summarized = errors.filter(
    (error) => error.keyword === 'anyOf' && (schemaOf(error)['x-message'] || schemaOf(error)['x-discriminator']),
  );
  const kept = errors.filter((error) => {
    const schema = schemaOf(error);
    if (schema['x-expression'] || error.keyword === 'if') return false;
    if (error.keyword === 'anyOf' && schema['x-allows-expression']) return false;
    if (summarized.some((parent) => under(error, parent))) return false;
    if ((error.keyword === 'anyOf' || error.keyword === 'oneOf') && !summarized.includes(error)) {
      // A plain anyOf failure adds nothing when its branches already said what is wrong at or below it.
      return !errors.some((other) => other !== error && other.keyword !== 'anyOf' && other.instancePath.startsWith(error.instancePath));
    }
    return true;
  });
  const problems = kept.map((error): SchemaProblem & { detail: string } => {
    const schema = schemaOf(error);
    const params = error.params as Record<string, unknown>;
    let keyword = error.keyword;
    let message = error.message ?? 'is not valid';
    let extraKey: string | undefined;
    if (error.keyword === 'additionalProperties') {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((schema.properties as Schema) ?? {});
      const suggestion = closest(key, allowed);
      extraKey = key;
      message = `unknown key '${key}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`;
      if (schema['x-task']) message += `; ${schema['x-task']} takes: ${allowed.join(', ')}`;
    } else if (error.keyword === 'required') {
      message = `missing required key '${String(params.missingProperty)}'`;
      if (schema['x-task']) message += ` (an input of ${schema['x-task']})`;
    } else if (schema['x-discriminator']) {
      const keys = schema['x-discriminator'] as string[];
      const lookalikes = Object.keys(error.data && typeof error.data === 'object' ? error.data : {})
        .map((key) => [key, closest(key, keys)])
        .filter(([, match]) => match)
        .map(([key, match]) => `'${key}' looks like '${match}'`);
      keyword = 'required';
      message = `needs one of the keys: ${keys.join(', ')}${lookalikes.length ? ` (${lookalikes.join(', ')})` : ''}`;
    } else if (schema['x-message']) {
      message = `'${preview(error.data)}' ${schema['x-message']}`;
    } else if (schema['x-expected']) {
      message = `'${preview(error.data)}' is not ${schema['x-expected']}`;
    } else if (error.keyword === 'type' && typeof error.data === 'string' && WHOLE_EXPRESSION.test(error.data.trim())) {
      message = `${message}, but is the expression '${preview(error.data)}' (give the parameter it names a default of the right shape)`;
    } else if (error.data !== undefined && typeof error.data !== 'object') {
      message = `'${preview(error.data)}' ${message}`;
    }
    return {
      file,
      line: lineFor(data, lines, error.instancePath, extraKey),
      path: yamlPath(error.instancePath),
      keyword,
      message,
      detail: extraKey ?? String(params.missingProperty ?? message),
    };
  });
  const rank = (problem: SchemaProblem) => (problem.keyword === 'additionalProperties' ? 0 : problem.keyword === 'required' ? 1 : 2);
  // The same unknown key is often reported by several shapes; keep one report, the one with a suggestion.
  const byDetail = new Map<string, SchemaProblem & { detail: string }>();
  for (const problem of problems) {
    const key = `${problem.path}|${problem.keyword}|${problem.detail}`;
    const previous = byDetail.get(key);
    if (!previous || (!previous.message.includes('did you mean') && problem.message.includes('did you mean'))) byDetail.set(key, problem);
  }
  return [...byDetail.values()]
    .map(({ detail: _detail, ...problem }) => problem)
    .sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
}

export function formatProblem(problem: SchemaProblem): string {
  return `${problem.file}${problem.line ? `:${problem.line}` : ''} ${problem.path}: ${problem.message}`;
}

/** Which schema a file is checked against, from its top-level keys (and whether it lives in a templates/ folder). */
export function documentKind(data: Json, file: string): DocumentKind | 'template' {
  const inTemplates = file.split(/[\\/]/).includes('templates');
  if (!data || typeof data !== 'object' || Array.isArray(data)) return inTemplates ? 'template' : 'pipeline';
  const keys = Object.keys(data).filter((key) => key !== 'parameters');
  if (keys.length === 1 && TEMPLATE_KINDS[keys[0]] && (inTemplates || 'parameters' in data)) return TEMPLATE_KINDS[keys[0]];
  return inTemplates ? 'template' : 'pipeline';
}

export class PipelineValidator {
  private static shared?: PipelineValidator;
  private readonly ajv: Ajv;
  private readonly validators = new Map<DocumentKind, ValidateFunction>();

  constructor(root = repoRoot) {
    this.ajv = new Ajv({ strict: false, unicodeRegExp: false, allErrors: true, verbose: true });
    this.ajv.addSchema(buildPipelineSchema(root), 'azure-pipelines');
  }

  /** One validator per process: the schema is compiled once. */
  static forRepository(): PipelineValidator {
    PipelineValidator.shared ??= new PipelineValidator();
    return PipelineValidator.shared;
  }

  private validator(kind: DocumentKind): ValidateFunction {
    let validate = this.validators.get(kind);
    if (!validate) {
      const ref = kind === 'pipeline' ? 'azure-pipelines' : `azure-pipelines#/definitions/${kind}`;
      validate = this.ajv.getSchema(ref);
      if (!validate) throw new Error(`no schema for ${ref}`);
      this.validators.set(kind, validate);
    }
    return validate;
  }

  validateFile(file: string, options: { kind?: DocumentKind; displayName?: string } = {}): ValidationResult {
    return this.validateText(fs.readFileSync(file, 'utf8'), options.displayName ?? path.relative(repoRoot, file), options.kind);
  }

  validateText(text: string, file: string, kind?: DocumentKind): ValidationResult {
    const lineCounter = new LineCounter();
    const document = parseDocument(text, { schema: 'failsafe', lineCounter, prettyErrors: false });
    if (document.errors.length) {
      return {
        file,
        kind: kind ?? 'pipeline',
        problems: document.errors.map((error) => ({
          file,
          line: error.linePos?.[0].line,
          path: '(yaml)',
          keyword: 'yaml',
          message: error.message.split('\n')[0],
        })),
      };
    }
    const expander = new Expander(document, lineCounter);
    expander.readParameters(document.contents);
    const data = expander.convert(document.contents);
    const detected = kind ?? documentKind(data, file);
    const candidates: DocumentKind[] =
      detected === 'template' ? ['stepsTemplate', 'jobsTemplate', 'stagesTemplate', 'variablesTemplate'] : [detected];
    const results = candidates.map((candidate): ValidationResult => {
      const validate = this.validator(candidate);
      const problems = validate(data) ? [] : explainErrors(validate.errors ?? [], data, expander.lines, file);
      return { file, kind: candidate, problems };
    });
    // A template whose kind cannot be told from its keys is reported against the kind it comes closest to.
    return results.sort((a, b) => a.problems.length - b.problems.length)[0];
  }
}

/** Every .yml/.yaml file under a folder, found from the folder. */
export function yamlFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}
