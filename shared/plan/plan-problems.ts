import type { ErrorObject } from 'ajv';
import { loadYaml } from '../core/lazy';
import type { Document, LineCounter, Node } from 'yaml';
import { boundMessage } from './plan-input';

/**
 * A plan's problems as people read them: each at its line and column in the YAML, with a field name such as
 * `changes[3].dependsOn[0]` and, for a schema error, a message that says what to write instead.
 */

export interface PlanProblem {
  file: string;
  line: number;
  column: number;
  /** Where in the plan, e.g. `changes[3].dependsOn[0]`. */
  field: string;
  message: string;
  severity: 'error' | 'warning';
}

export type PathSegment = string | number;

export function schemaProblems(errors: ErrorObject[], locate: Locator): PlanProblem[] {
  const seen = new Set<string>();
  const problems: PlanProblem[] = [];
  // `if/then` adds a second, vaguer error for the same thing; the `required` one says it better.
  for (const error of errors.filter((e) => e.keyword !== 'if')) {
    const where = pointerToPath(error.instancePath);
    let problem: PlanProblem;
    switch (error.keyword) {
      case 'additionalProperties': {
        const property = String((error.params as { additionalProperty: string }).additionalProperty);
        problem = locate.problem([...where, property], `unknown field '${property}'${suggestion(property, error)}.`, 'error', true);
        break;
      }
      case 'required': {
        const property = String((error.params as { missingProperty: string }).missingProperty);
        const because = property === 'reason' ? ' (a deferred change says why)' : '';
        problem = locate.problem(where, `'${property}' is required${because}.`);
        problem.field = [problem.field, property].filter(Boolean).join('.');
        break;
      }
      case 'enum':
        problem = locate.problem(where, `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}.`);
        break;
      case 'pattern':
        problem = locate.problem(where, patternMessage(where, error));
        break;
      case 'minLength':
      case 'minItems':
        problem = locate.problem(where, 'must not be empty.');
        break;
      case 'minProperties':
        problem = locate.problem(
          where,
          where[where.length - 1] === 'pipelines' ? 'must select pipelines: a folder, names or a pattern.' : 'must not be empty.',
        );
        break;
      case 'type':
        problem = locate.problem(where, `must be ${(error.params as { type: string | string[] }).type.toString().replace(/,/g, ' or ')}.`);
        break;
      default:
        problem = locate.problem(where, `${error.message ?? 'is not valid'}.`);
    }
    const key = `${problem.line}:${problem.column}:${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

function patternMessage(where: PathSegment[], error: ErrorObject): string {
  const field = where.filter((segment) => typeof segment === 'string').pop();
  switch (field) {
    case 'date':
      return 'must be a date written YYYY-MM-DD.';
    case 'id':
      return where[0] === 'changes'
        ? 'must be lower case letters, digits, - and _ (it names jobs and tags), starting with a letter or digit.'
        : 'must be letters, digits, ., - and _.';
    case 'jira':
      return 'must be a Jira key such as PLAT-1590 or an issue link (https://...).';
    case 'folder':
      return 'must be a pipeline folder starting with a backslash, e.g. "\\\\Product Integrations".';
    case 'wiki':
      return 'must be a link (https://...).';
    default:
      return typeof where[where.length - 2] === 'string' && where[where.length - 2] === 'jira'
        ? 'must be a Jira key such as PLAT-1590 or an issue link (https://...).'
        : `must match ${(error.params as { pattern: string }).pattern}.`;
  }
}

function suggestion(property: string, error: ErrorObject): string {
  const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
  const near = known.find((name) => editDistance(name.toLowerCase(), property.toLowerCase()) <= 2);
  return near ? ` (did you mean '${near}'?)` : known.length ? ` (allowed: ${known.join(', ')})` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

export function fieldName(where: PathSegment[]): string {
  return where.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}

/** Finds the line and column of a path in the YAML document (the nearest existing ancestor when absent). */
export class Locator {
  constructor(
    private readonly document: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  problem(where: PathSegment[], message: string, severity: 'error' | 'warning' = 'error', onKey = false): PlanProblem {
    const offset = this.offset(where, onKey);
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : this.lines.linePos(offset);
    return { file: this.file, line, column: col, field: fieldName(where), message: boundMessage(message), severity };
  }

  private offset(where: PathSegment[], onKey: boolean): number | undefined {
    let node: Node | null | undefined = this.document.contents;
    let best = node?.range?.[0];
    for (let index = 0; index < where.length; index++) {
      const segment = where[index];
      const last = index === where.length - 1;
      const { isMap, isPair, isScalar, isSeq } = loadYaml();
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === segment);
        if (!pair) return best;
        const key = pair.key as Node;
        if (last && onKey) return key.range?.[0] ?? best;
        node = pair.value as Node | null;
        best = node?.range?.[0] ?? key.range?.[0] ?? best;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment] as Node | undefined;
        if (!node) return best;
        best = node.range?.[0] ?? best;
      } else {
        return best;
      }
    }
    return best;
  }

  line(where: PathSegment[]): number {
    const offset = this.offset(where, false);
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }
}
