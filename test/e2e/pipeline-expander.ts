import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { evaluateText, ExpressionError, lookup, toText, truthy, Version, type Value } from './expressions';

/**
 * Expands an Azure Pipelines YAML file the way the service does before a run starts: template references
 * at stage, job and step level with their parameters (declared names and types checked, defaults applied),
 * `${{ parameters.x }}` and `${{ variables.x }}`, `${{ if }}` / `${{ elseif }}` / `${{ else }}` and
 * `${{ each }}` in sequences and mappings. The result is a plain model of stages, jobs and steps that the
 * rehearsal walks and that tests compare against, so the rehearsal runs exactly what the file declares.
 * Runtime parts (`condition:`, `$[ ]` variables, `$(macros)`) are left for the run.
 */

export interface PipelineStep {
  kind: 'task' | 'script' | 'checkout' | 'download' | 'publish' | 'other';
  /** `SmokeTest` for `task: SmokeTest@1`. */
  task?: string;
  taskVersion?: number;
  /** The step's `name:` (used in output variable references), if any. */
  name?: string;
  displayName: string;
  inputs: Record<string, string>;
  condition?: string;
  continueOnError: boolean;
  env: Record<string, string>;
  /** The step's own `timeoutInMinutes` (ManualValidation's wait, for one). */
  timeoutInMinutes?: number;
  /** The step after expansion, as YAML would write it. */
  raw: Record<string, Value>;
}

export interface PipelineJob {
  name: string;
  displayName: string;
  kind: 'job' | 'deployment';
  /** The environment a deployment job targets (its approvals). */
  environment?: string;
  /** Agentless (`pool: server`). */
  server: boolean;
  dependsOn: string[];
  condition?: string;
  continueOnError: boolean;
  variables: Record<string, string>;
  steps: PipelineStep[];
  timeoutInMinutes?: number;
  /** How long steps that run after a cancel or a timeout (always(), canceled()) may take: 5 minutes unless set. */
  cancelTimeoutInMinutes?: number;
}

export interface PipelineStage {
  name: string;
  displayName: string;
  dependsOn: string[];
  condition?: string;
  variables: Record<string, string>;
  jobs: PipelineJob[];
  /** `sequential` or `runLatest`: how the stage waits for an Exclusive Lock check. */
  lockBehavior?: string;
}

export interface ExpandedPipeline {
  file: string;
  parameters: Record<string, Value>;
  variables: Record<string, string>;
  schedules: Array<Record<string, Value>>;
  stages: PipelineStage[];
  /** Every file read: the pipeline and each template. */
  files: string[];
}

export class PipelineError extends Error {
  override name = 'PipelineError';
}

interface Scope {
  file: string;
  parameters: Record<string, Value>;
  variables: Record<string, Value>;
  /** Loop variables of `${{ each }}`. */
  locals: Record<string, Value>;
  files: Set<string>;
}

const DIRECTIVE = /^\$\{\{\s*(if|elseif|else|each)\b\s*(.*?)\s*\}\}$/;
const WHOLE = /^\s*\$\{\{\s*([\s\S]*?)\s*\}\}\s*$/;
const EMBEDDED = /\$\{\{\s*([\s\S]*?)\s*\}\}/g;

function isMapping(value: Value): value is { [key: string]: Value } {
  return !!value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Version);
}

function compileTime(expression: string, scope: Scope): Value {
  try {
    return evaluateText(expression, {
      names: { parameters: scope.parameters, variables: scope.variables, ...scope.locals },
    });
  } catch (error) {
    throw new PipelineError(`${path.relative(process.cwd(), scope.file)}: \${{ ${expression} }}: ${(error as Error).message}`);
  }
}

function substitute(text: string, scope: Scope): Value {
  const whole = WHOLE.exec(text);
  if (whole && !whole[1].includes('}}')) return compileTime(whole[1], scope);
  return text.replace(EMBEDDED, (_, expression: string) => toText(compileTime(expression, scope)));
}

function directive(key: string): { kind: string; expression: string } | undefined {
  const match = DIRECTIVE.exec(key.trim());
  return match ? { kind: match[1], expression: match[2] } : undefined;
}

function eachBinding(expression: string, scope: Scope): { name: string; items: Value[] } {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.+)$/.exec(expression);
  if (!match) throw new PipelineError(`${scope.file}: cannot read \${{ each ${expression} }}`);
  const collection = compileTime(match[2], scope);
  const items: Value[] = Array.isArray(collection)
    ? collection
    : isMapping(collection)
      ? Object.entries(collection).map(([key, value]) => ({ key, value }))
      : collection === undefined || collection === null || collection === ''
        ? []
        : [collection];
  return { name: match[1], items };
}

/**
 * Applies one `each`/`if`/`elseif`/`else` directive, calling `insert` with the scope of every body it takes,
 * and returns the state of the if-chain it belongs to (undefined: no chain open; true: a branch was taken).
 */
function applyDirective(
  found: { kind: string; expression: string },
  scope: Scope,
  chainTaken: boolean | undefined,
  insert: (inner: Scope) => void,
): boolean | undefined {
  if (found.kind === 'each') {
    const { name, items } = eachBinding(found.expression, scope);
    for (const element of items) insert({ ...scope, locals: { ...scope.locals, [name]: element } });
    return undefined;
  }
  if (found.kind === 'if') chainTaken = false;
  else if (chainTaken === undefined) throw new PipelineError(`${scope.file}: \${{ ${found.kind} }} without an \${{ if }} before it`);
  if (chainTaken) return chainTaken;
  if (found.kind === 'else' || truthy(compileTime(found.expression, scope))) {
    chainTaken = true;
    insert(scope);
  }
  return found.kind === 'else' ? undefined : chainTaken;
}

/** Expands a sequence: directives and templates splice their items in. */
function expandSequence(items: Value[], scope: Scope): Value[] {
  const out: Value[] = [];
  let chainTaken: boolean | undefined;
  for (const item of items) {
    const keys = isMapping(item) ? Object.keys(item) : [];
    const found = keys.length === 1 ? directive(keys[0]) : undefined;
    if (found && isMapping(item)) {
      const body = item[keys[0]];
      const splice = (value: Value, inner: Scope) => {
        const expanded = Array.isArray(value) ? expandSequence(value, inner) : [expandValue(value, inner)];
        out.push(...expanded);
      };
      chainTaken = applyDirective(found, scope, chainTaken, (inner) => splice(body, inner));
      continue;
    }
    chainTaken = undefined;
    if (isMapping(item) && typeof item.template === 'string' && keys.every((key) => key === 'template' || key === 'parameters')) {
      out.push(...includeTemplate(item.template, item.parameters, scope));
      continue;
    }
    out.push(expandValue(item, scope));
  }
  return out;
}

function expandMapping(mapping: { [key: string]: Value }, scope: Scope): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  let chainTaken: boolean | undefined;
  for (const [key, value] of Object.entries(mapping)) {
    const found = directive(key);
    if (!found) {
      chainTaken = undefined;
      const name = toText(substitute(key, scope));
      out[name] = expandValue(value, scope);
      continue;
    }
    const merge = (inner: Scope) => {
      if (!isMapping(value)) throw new PipelineError(`${scope.file}: \${{ ${found.kind} }} inside a mapping must hold a mapping`);
      Object.assign(out, expandMapping(value, inner));
    };
    chainTaken = applyDirective(found, scope, chainTaken, merge);
  }
  return out;
}

function expandValue(value: Value, scope: Scope): Value {
  if (typeof value === 'string') return substitute(value, scope);
  if (Array.isArray(value)) return expandSequence(value, scope);
  if (isMapping(value)) return expandMapping(value, scope);
  return value;
}

interface ParameterDeclaration {
  name: string;
  type: string;
  default?: Value;
  values?: Value[];
}

function declarations(file: string, raw: Value): ParameterDeclaration[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) {
    return raw.map((entry) => {
      if (!isMapping(entry) || typeof entry.name !== 'string') throw new PipelineError(`${file}: every parameter needs a name`);
      return {
        name: entry.name,
        type: typeof entry.type === 'string' ? entry.type : 'string',
        default: entry.default,
        values: Array.isArray(entry.values) ? entry.values : undefined,
      };
    });
  }
  if (isMapping(raw)) return Object.entries(raw).map(([name, value]) => ({ name, type: 'object', default: value }));
  throw new PipelineError(`${file}: parameters must be a list`);
}

function convert(file: string, declaration: ParameterDeclaration, value: Value): Value {
  const where = `${file}: parameter '${declaration.name}'`;
  switch (declaration.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw new PipelineError(`${where} must be a boolean, not '${toText(value)}'`);
    case 'number':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
      throw new PipelineError(`${where} must be a number, not '${toText(value)}'`);
    case 'string':
      if (typeof value === 'object' && value !== null) throw new PipelineError(`${where} must be a string`);
      return toText(value);
    case 'stepList':
    case 'jobList':
    case 'stageList':
      if (!Array.isArray(value)) throw new PipelineError(`${where} must be a list of ${declaration.type.replace('List', 's')}`);
      return value;
    default:
      return value;
  }
}

function bindParameters(file: string, raw: Value, given: Value): Record<string, Value> {
  const declared = declarations(file, raw);
  const values: Record<string, Value> = {};
  const supplied = isMapping(given) ? given : {};
  for (const name of Object.keys(supplied)) {
    if (!declared.some((declaration) => declaration.name === name)) {
      throw new PipelineError(`${file}: unexpected parameter '${name}' (declared: ${declared.map((d) => d.name).join(', ') || 'none'})`);
    }
  }
  for (const declaration of declared) {
    const value = declaration.name in supplied ? supplied[declaration.name] : declaration.default;
    if (value === undefined) throw new PipelineError(`${file}: parameter '${declaration.name}' has no value and no default`);
    const converted = convert(file, declaration, value);
    if (declaration.values && !declaration.values.some((allowed) => toText(allowed) === toText(converted))) {
      throw new PipelineError(
        `${file}: parameter '${declaration.name}' is '${toText(converted)}', not one of ${declaration.values.map(toText).join(', ')}`,
      );
    }
    values[declaration.name] = converted;
  }
  return values;
}

export function readYaml(file: string): Value {
  const text = fs.readFileSync(file, 'utf8');
  const document = YAML.parseDocument(text, { uniqueKeys: true });
  if (document.errors.length) throw new PipelineError(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
  return document.toJS({ maxAliasCount: 100 }) as Value;
}

function includeTemplate(reference: string, given: Value, scope: Scope): Value[] {
  if (reference.includes('@')) throw new PipelineError(`${scope.file}: template ${reference} from another repository cannot be rehearsed`);
  const file = path.resolve(path.dirname(scope.file), reference);
  if (!fs.existsSync(file)) throw new PipelineError(`${scope.file}: template ${reference} not found (${file})`);
  scope.files.add(file);
  const body = readYaml(file);
  if (!isMapping(body)) throw new PipelineError(`${file}: a template must be a mapping`);
  const expandedGiven = expandValue(given ?? {}, scope);
  const parameters = bindParameters(file, body.parameters, expandedGiven);
  const inner: Scope = { file, parameters, variables: scope.variables, locals: {}, files: scope.files };
  for (const list of ['stages', 'jobs', 'steps', 'variables']) {
    if (list in body) {
      const items = body[list];
      if (!Array.isArray(items)) throw new PipelineError(`${file}: ${list} must be a list`);
      return expandSequence(items, inner);
    }
  }
  throw new PipelineError(`${file}: a template needs stages, jobs, steps or variables`);
}

function variableMap(file: string, raw: Value): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  if (isMapping(raw)) {
    for (const [name, value] of Object.entries(raw)) out[name] = toText(value);
    return out;
  }
  if (!Array.isArray(raw)) throw new PipelineError(`${file}: variables must be a mapping or a list`);
  for (const entry of raw) {
    if (isMapping(entry) && typeof entry.name === 'string') out[entry.name] = toText(entry.value);
    else if (isMapping(entry) && 'group' in entry)
      throw new PipelineError(`${file}: variable groups cannot be rehearsed (${toText(entry.group)})`);
    else throw new PipelineError(`${file}: cannot read variable entry ${JSON.stringify(entry)}`);
  }
  return out;
}

function list(value: Value): string[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value.map(toText) : [toText(value)];
}

function bool(value: Value): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

const STEP_KINDS: Array<[string, PipelineStep['kind']]> = [
  ['task', 'task'],
  ['script', 'script'],
  ['bash', 'script'],
  ['pwsh', 'script'],
  ['powershell', 'script'],
  ['checkout', 'checkout'],
  ['download', 'download'],
  ['publish', 'publish'],
];

function normalizeStep(file: string, raw: Value): PipelineStep {
  if (!isMapping(raw)) throw new PipelineError(`${file}: a step must be a mapping`);
  const kindEntry = STEP_KINDS.find(([key]) => key in raw);
  const kind = kindEntry?.[1] ?? 'other';
  let task: string | undefined;
  let taskVersion: number | undefined;
  if (kind === 'task') {
    const match = /^([A-Za-z0-9_.-]+)@(\d+)$/.exec(toText(raw.task));
    if (!match) throw new PipelineError(`${file}: task '${toText(raw.task)}' must be Name@major`);
    task = match[1];
    taskVersion = Number(match[2]);
  }
  const inputs: Record<string, string> = {};
  if (isMapping(raw.inputs)) for (const [key, value] of Object.entries(raw.inputs)) inputs[key] = toText(value);
  const env: Record<string, string> = {};
  if (isMapping(raw.env)) for (const [key, value] of Object.entries(raw.env)) env[key] = toText(value);
  const label = kind === 'task' ? toText(raw.task) : kindEntry ? `${kindEntry[0]}: ${toText(raw[kindEntry[0]]).split('\n')[0]}` : 'step';
  return {
    kind,
    task,
    taskVersion,
    name: typeof raw.name === 'string' ? raw.name : undefined,
    displayName: typeof raw.displayName === 'string' ? raw.displayName : label,
    inputs,
    condition: raw.condition === undefined ? undefined : toText(raw.condition),
    continueOnError: bool(raw.continueOnError),
    env,
    timeoutInMinutes: raw.timeoutInMinutes === undefined ? undefined : Number(raw.timeoutInMinutes),
    raw,
  };
}

function normalizeJob(file: string, raw: Value): PipelineJob {
  if (!isMapping(raw)) throw new PipelineError(`${file}: a job must be a mapping`);
  const deployment = typeof raw.deployment === 'string';
  const name = toText(deployment ? raw.deployment : raw.job);
  if (!name) throw new PipelineError(`${file}: a job needs 'job:' or 'deployment:'`);
  let steps: Value = raw.steps;
  if (deployment) {
    const runOnce = lookup(lookup(raw.strategy, 'runOnce'), 'deploy');
    steps = lookup(runOnce, 'steps');
    if (!Array.isArray(steps))
      throw new PipelineError(`${file}: deployment ${name} needs strategy.runOnce.deploy.steps (the only strategy rehearsed)`);
  }
  if (!Array.isArray(steps)) throw new PipelineError(`${file}: job ${name} has no steps`);
  const pool = raw.pool;
  const environment = isMapping(raw.environment)
    ? toText(raw.environment.name)
    : raw.environment === undefined
      ? undefined
      : toText(raw.environment);
  return {
    name,
    displayName: typeof raw.displayName === 'string' ? raw.displayName : name,
    kind: deployment ? 'deployment' : 'job',
    environment: environment?.split('.')[0],
    server: pool === 'server' || (isMapping(pool) && pool.name === 'server'),
    dependsOn: list(raw.dependsOn),
    condition: raw.condition === undefined ? undefined : toText(raw.condition),
    continueOnError: bool(raw.continueOnError),
    variables: variableMap(file, raw.variables),
    steps: steps.map((step) => normalizeStep(file, step)),
    timeoutInMinutes: raw.timeoutInMinutes === undefined ? undefined : Number(raw.timeoutInMinutes),
    cancelTimeoutInMinutes: raw.cancelTimeoutInMinutes === undefined ? undefined : Number(raw.cancelTimeoutInMinutes),
  };
}

function normalizeStage(file: string, raw: Value, previous: string | undefined): PipelineStage {
  if (!isMapping(raw) || typeof raw.stage !== 'string') throw new PipelineError(`${file}: a stage needs 'stage:'`);
  const jobs = raw.jobs;
  if (!Array.isArray(jobs)) throw new PipelineError(`${file}: stage ${raw.stage} has no jobs`);
  return {
    name: raw.stage,
    displayName: typeof raw.displayName === 'string' ? raw.displayName : raw.stage,
    dependsOn: 'dependsOn' in raw ? list(raw.dependsOn) : previous ? [previous] : [],
    condition: raw.condition === undefined ? undefined : toText(raw.condition),
    variables: variableMap(file, raw.variables),
    jobs: jobs.map((job) => normalizeJob(file, job)),
    lockBehavior: raw.lockBehavior === undefined ? undefined : toText(raw.lockBehavior),
  };
}

/** Reads and expands a pipeline with the given run-time parameter values (as `az pipelines run` passes them). */
export function expandPipeline(pipelineFile: string, parameterValues: Record<string, Value> = {}): ExpandedPipeline {
  const file = path.resolve(pipelineFile);
  const body = readYaml(file);
  if (!isMapping(body)) throw new PipelineError(`${file}: a pipeline must be a mapping`);
  const parameters = bindParameters(file, body.parameters, parameterValues);
  const files = new Set<string>([file]);
  const rawVariables = variableMap(file, body.variables);
  const scope: Scope = { file, parameters, variables: rawVariables, locals: {}, files };
  const variables = variableMap(file, expandValue(body.variables ?? null, scope));
  scope.variables = variables;
  let stages: Value[];
  if (Array.isArray(body.stages)) stages = expandSequence(body.stages, scope);
  else if (Array.isArray(body.jobs)) stages = [{ stage: '__default', jobs: expandSequence(body.jobs, scope) }];
  else if (Array.isArray(body.steps))
    stages = [{ stage: '__default', jobs: [{ job: '__default', steps: expandSequence(body.steps, scope) }] }];
  else throw new PipelineError(`${file}: no stages, jobs or steps`);
  const normalized: PipelineStage[] = [];
  for (const stage of stages) normalized.push(normalizeStage(file, stage, normalized[normalized.length - 1]?.name));
  const names = new Set<string>();
  for (const stage of normalized) {
    if (names.has(stage.name)) throw new PipelineError(`${file}: stage ${stage.name} is declared twice`);
    names.add(stage.name);
    for (const dependency of stage.dependsOn) {
      if (!names.has(dependency))
        throw new PipelineError(`${file}: stage ${stage.name} depends on ${dependency}, which is not an earlier stage`);
    }
    const jobs = new Set<string>();
    for (const job of stage.jobs) {
      if (jobs.has(job.name)) throw new PipelineError(`${file}: job ${job.name} is declared twice in stage ${stage.name}`);
      jobs.add(job.name);
    }
    for (const job of stage.jobs) {
      for (const dependency of job.dependsOn) {
        if (!jobs.has(dependency))
          throw new PipelineError(`${file}: job ${stage.name}.${job.name} depends on ${dependency}, which is not in the stage`);
      }
    }
  }
  return {
    file,
    parameters,
    variables,
    schedules: Array.isArray(body.schedules) ? body.schedules.filter(isMapping) : [],
    stages: normalized,
    files: [...files],
  };
}

export { ExpressionError };
