import type { ValidateFunction } from 'ajv';
import { IANAZone } from 'luxon';
import { loadAjv, loadYaml } from '../core/lazy';

import { DEFAULT_TIME_ZONE } from '../core/time';
import { dependencyProblems } from './graph';
import {
  boundMessage,
  MAX_CHANGES,
  MAX_LISTED_PROBLEMS,
  MAX_PLAN_BYTES,
  nestingProblem,
  readPlanText,
  scriptArgumentProblems,
  scriptPathProblem,
  stringProblems,
  toData,
} from './plan-input';
import { fieldsOf, isObject, type PlanFile, type PlanFileChange } from './plan-file';
import planSchema from './plan.schema.json';
import { Locator, schemaProblems, type PlanProblem } from './plan-problems';

export { fieldName, type PathSegment, type PlanProblem } from './plan-problems';

/**
 * The monthly plan file: reading it, checking it against `plan.schema.json` and the dependency rules, and
 * turning it into typed values. Every problem is collected (not just the first) with the file, line, column
 * and field it is about, so one pass of `npm run validate-plan` tells a person everything to fix.
 */

export type ChangeStatus = 'planned' | 'doing' | 'done' | 'not-doing' | 'deferred';

/** Statuses whose change is not run in the window (reported as such). */
export const NOT_RUN_STATUSES: ReadonlySet<ChangeStatus> = new Set(['done', 'not-doing', 'deferred']);

export interface PipelineAction {
  kind: 'pipeline';
  name: string;
  folder?: string;
  branch?: string;
  /** Template parameters, as the Runs API takes them (strings). */
  parameters: Record<string, string>;
  timeoutMinutes?: number;
}

export interface ScriptAction {
  kind: 'script';
  path: string;
  arguments: string[];
  timeoutMinutes: number;
}

export interface ManualAction {
  kind: 'manual';
  instructions: string;
}

export type ChangeAction = PipelineAction | ScriptAction | ManualAction;

export interface Change {
  id: string;
  title: string;
  jira: string[];
  team?: string;
  status: ChangeStatus;
  reason?: string;
  notes?: string;
  dependsOn: string[];
  action: ChangeAction;
  /** How long the change takes, when its pipeline has no run history to tell (the preflight's forecast). */
  estimateMinutes?: number;
  /** 1-based line of the change in the plan file, for messages. */
  line: number;
}

export interface JobSelection {
  name?: string;
  folder?: string;
  names: string[];
  pattern?: string;
  exclude: string[];
}

export interface Plan {
  file: string;
  window: {
    name: string;
    date: string;
    /** Tags every run of the window: `window.id` or the date. */
    id: string;
    timeZone: string;
    maintenancePage: boolean;
    wiki?: string;
  };
  jira?: string;
  jobs: JobSelection[];
  changes: Change[];
}

export class PlanError extends Error {
  override name = 'PlanError';
  constructor(readonly problems: PlanProblem[]) {
    const errors = problems.filter((problem) => problem.severity === 'error');
    const more = errors.length > MAX_LISTED_PROBLEMS ? `\n… and ${errors.length - MAX_LISTED_PROBLEMS} more.` : '';
    super(`The plan has ${errors.length} problem(s):\n${errors.slice(0, MAX_LISTED_PROBLEMS).map(formatProblem).join('\n')}${more}`);
  }
}

export function formatProblem(problem: PlanProblem): string {
  const where = `${boundMessage(problem.file, 200)}:${problem.line}:${problem.column}`;
  return `${where} ${boundMessage(problem.field, 100) || '(plan)'}: ${boundMessage(problem.message)}`;
}

export interface ParseOptions {
  /** The repository root that `script.path` is relative to; when given, scripts must exist there. */
  scriptRoot?: string;
}

export interface ParseResult {
  /** Present when there are no errors (warnings allowed). */
  plan?: Plan;
  problems: PlanProblem[];
}

let compiledSchema: ValidateFunction<PlanFile> | undefined;
function schemaValidator(): ValidateFunction<PlanFile> {
  if (!compiledSchema) {
    const Ajv = loadAjv().default;
    compiledSchema = new Ajv({ allErrors: true, strict: false, verbose: true }).compile<PlanFile>(planSchema);
  }
  return compiledSchema;
}

/** Reads and checks a plan file; throws PlanError listing every problem. */
export function loadPlan(file: string, options: ParseOptions = {}): Plan {
  const read = readPlanText(file);
  if ('problem' in read) throw new PlanError([{ file, line: 1, column: 1, field: '', message: read.problem, severity: 'error' }]);
  const result = parsePlan(read.text, file, options);
  if (!result.plan) throw new PlanError(result.problems);
  return result.plan;
}

/** Parses plan text; `file` is used in messages only. */
export function parsePlan(text: string, file: string, options: ParseOptions = {}): ParseResult {
  const early = (line: number, column: number, message: string): ParseResult => ({
    problems: [{ file, line, column, field: '', message, severity: 'error' }],
  });
  if (text.length > MAX_PLAN_BYTES) return early(1, 1, `is ${text.length} characters long; a plan may be at most ${MAX_PLAN_BYTES}.`);
  const deep = nestingProblem(text);
  if (deep) return early(deep.line, deep.column, deep.message);
  const { LineCounter, parseDocument } = loadYaml();
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = new Locator(document, lineCounter, file);
  const problems: PlanProblem[] = [];

  for (const error of document.errors.slice(0, MAX_LISTED_PROBLEMS)) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    problems.push({
      file,
      line,
      column: col,
      field: '',
      message: boundMessage(`is not valid YAML: ${error.message.split('\n')[0]}`),
      severity: 'error',
    });
  }
  if (problems.length) return { problems };

  const converted = toData(document, lineCounter);
  if ('problem' in converted) return early(converted.line, converted.column, converted.problem);
  const data = converted.data;
  const tooLong = stringProblems(data);
  if (tooLong.length) return { problems: tooLong.map((problem) => locate.problem(problem.path, problem.message)) };
  const listedChanges = fieldsOf(data).changes;
  if (Array.isArray(listedChanges) && listedChanges.length > MAX_CHANGES) {
    return {
      problems: [
        locate.problem(['changes'], `lists ${listedChanges.length} changes; a plan may have at most ${MAX_CHANGES}.`, 'error', true),
      ],
    };
  }
  const validate = schemaValidator();
  // Every schema error is an error problem, so a plan is only made (below) from data the schema accepted.
  const planFile = validate(data) ? data : undefined;
  if (!planFile) problems.push(...schemaProblems(validate.errors ?? [], locate));

  // The rules a schema cannot state; run them on whatever is well-formed enough to read.
  const raw = fieldsOf(data);
  const rawChanges: unknown[] = Array.isArray(raw.changes) ? raw.changes : [];
  problems.push(...actionProblems(rawChanges, locate));
  const graphInput = rawChanges.map((change, index) => {
    const { id, status, dependsOn } = fieldsOf(change);
    return {
      index,
      id: typeof id === 'string' ? id : undefined,
      status: typeof status === 'string' ? status : 'planned',
      dependsOn: Array.isArray(dependsOn) ? dependsOn.map(String) : [],
    };
  });
  for (const problem of dependencyProblems(graphInput)) {
    problems.push(locate.problem(problem.path, problem.message, problem.severity, problem.onKey));
  }
  const window = fieldsOf(raw.window);
  if (typeof window.timeZone === 'string' && !IANAZone.isValidZone(window.timeZone)) {
    problems.push(locate.problem(['window', 'timeZone'], `'${window.timeZone}' is not an IANA time zone (for example America/New_York).`));
  }
  if (typeof window.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(window.date)) {
    const date = new Date(`${window.date}T12:00:00Z`);
    if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== window.date) {
      problems.push(locate.problem(['window', 'date'], `'${window.date}' is not a calendar date.`));
    } else if (date.getUTCDay() !== 0) {
      problems.push(
        locate.problem(['window', 'date'], `${window.date} is not a Sunday; the window's date is the Sunday of the window.`, 'warning'),
      );
    }
  }
  problems.push(...scriptProblems(rawChanges, locate, options.scriptRoot));

  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (!planFile || problems.some((problem) => problem.severity === 'error')) return { problems };
  return { plan: toPlan(planFile, file, locate), problems };
}

/** A script change's file and arguments: checked against the repository when its root is known. */
function scriptProblems(changes: unknown[], locate: Locator, scriptRoot: string | undefined): PlanProblem[] {
  const problems: PlanProblem[] = [];
  changes.forEach((change, index) => {
    const script = fieldsOf(fieldsOf(change).script);
    const scriptPath = script.path;
    if (typeof scriptPath !== 'string' || !scriptPath) return;
    const args: unknown[] = Array.isArray(script.arguments) ? script.arguments : [];
    for (const problem of scriptArgumentProblems(scriptPath, args)) {
      problems.push(locate.problem(['changes', index, 'script', 'arguments', problem.index], problem.message));
    }
    const pathProblem = scriptRoot ? scriptPathProblem(scriptRoot, scriptPath) : undefined;
    if (pathProblem) problems.push(locate.problem(['changes', index, 'script', 'path'], pathProblem));
  });
  return problems;
}

/** Exactly one of pipeline, script or manual per change. */
function actionProblems(changes: unknown[], locate: Locator): PlanProblem[] {
  const problems: PlanProblem[] = [];
  changes.forEach((change, index) => {
    if (!isObject(change)) return;
    const actions = (['pipeline', 'script', 'manual'] as const).filter((key) => change[key] !== undefined);
    const name = typeof change.id === 'string' ? `'${change.id}'` : 'this change';
    if (actions.length === 0) {
      problems.push(locate.problem(['changes', index], `${name} has no action: give one of pipeline, script or manual.`));
    } else if (actions.length > 1) {
      problems.push(
        locate.problem(
          ['changes', index, actions[1]],
          `${name} has ${actions.length} actions (${actions.join(' and ')}): keep exactly one.`,
          'error',
          true,
        ),
      );
    }
  });
  return problems;
}

function toPlan(raw: PlanFile, file: string, locate: Locator): Plan {
  const window = raw.window;
  return {
    file,
    window: {
      name: window.name,
      date: window.date,
      id: window.id ?? window.date,
      timeZone: window.timeZone ?? DEFAULT_TIME_ZONE,
      maintenancePage: window.maintenancePage ?? false,
      wiki: window.wiki,
    },
    jira: raw.jira,
    jobs: (raw.jobs ?? []).map((job): JobSelection => ({
      name: job.name,
      folder: job.pipelines.folder,
      names: job.pipelines.names ?? [],
      pattern: job.pipelines.pattern,
      exclude: job.pipelines.exclude ?? [],
    })),
    changes: (raw.changes ?? []).map((change, index): Change => ({
      id: change.id,
      title: change.title,
      jira: change.jira ?? [],
      team: change.team,
      status: change.status ?? 'planned',
      reason: change.reason,
      notes: change.notes,
      dependsOn: change.dependsOn ?? [],
      action: toAction(change),
      estimateMinutes: change.estimateMinutes,
      line: locate.line(['changes', index]),
    })),
  };
}

function toAction(change: PlanFileChange): ChangeAction {
  if (change.pipeline) {
    const pipeline = change.pipeline;
    return {
      kind: 'pipeline',
      name: pipeline.name,
      folder: pipeline.folder,
      branch: pipeline.branch,
      parameters: Object.fromEntries(Object.entries(pipeline.parameters ?? {}).map(([key, value]) => [key, String(value)])),
      timeoutMinutes: pipeline.timeoutMinutes,
    };
  }
  if (change.script) {
    return {
      kind: 'script',
      path: change.script.path,
      arguments: (change.script.arguments ?? []).map(String),
      timeoutMinutes: change.script.timeoutMinutes ?? 60,
    };
  }
  // actionProblems has made sure that a change with neither a pipeline nor a script has its instructions.
  return { kind: 'manual', instructions: change.manual ?? '' };
}

/** A Jira key or link as a URL, when the plan says how to build one. */
export function jiraUrl(plan: Pick<Plan, 'jira'>, key: string): string | undefined {
  if (/^https?:\/\//.test(key)) return key;
  return plan.jira ? `${plan.jira.replace(/\/*$/, '/')}${key}` : undefined;
}

/** The text shown for a Jira entry: the key, or the key at the end of a link. */
export function jiraLabel(key: string): string {
  if (!/^https?:\/\//.test(key)) return key;
  const match = /([A-Z][A-Z0-9_]*-\d+)\/?$/.exec(key);
  return match ? match[1] : key;
}
