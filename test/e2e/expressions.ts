/**
 * Azure Pipelines expressions, as far as our pipeline and templates use them: the compile-time `${{ }}` form
 * (parameters, variables, each/if) and the runtime form of `condition:` and `$[ ]` (status functions,
 * `dependencies.X.outputs['job.step.var']`, `stageDependencies...`). Property lookups are case-insensitive
 * and comparisons coerce the right side to the left side's type, like the service does.
 */

export type Value = string | number | boolean | null | Version | Value[] | { [key: string]: Value } | undefined;

/** A version literal (`1.2.3`): compared part by part, as the service compares versions. */
export class Version {
  constructor(readonly parts: number[]) {}
  static parse(text: string): Version | undefined {
    return /^\d+(\.\d+){1,3}$/.test(text.trim()) ? new Version(text.trim().split('.').map(Number)) : undefined;
  }
  toString(): string {
    return this.parts.join('.');
  }
  compare(other: Version): number {
    for (let index = 0; index < Math.max(this.parts.length, other.parts.length); index++) {
      const difference = (this.parts[index] ?? -1) - (other.parts[index] ?? -1);
      if (difference !== 0) return difference;
    }
    return 0;
  }
}

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'name'; name: string }
  | { kind: 'member'; target: Node; property: Node }
  | { kind: 'call'; name: string; args: Node[] };

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

interface Token {
  type: 'string' | 'number' | 'version' | 'ident' | 'punct';
  text: string;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new ExpressionError(`unterminated string in: ${source}`);
        if (source[i] === "'") {
          if (source[i + 1] === "'") {
            text += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += source[i++];
      }
      tokens.push({ type: 'string', text });
    } else if (/^[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?(?![0-9.])/.test(source.slice(i))) {
      // A version literal: two to four dots would not be a number.
      const match = /^[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ type: 'version', text: match[0] });
      i += match[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^-?[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ type: 'number', text: match[0] });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i))!;
      tokens.push({ type: 'ident', text: match[0] });
      i += match[0].length;
    } else if ('()[],.'.includes(c)) {
      tokens.push({ type: 'punct', text: c });
      i++;
    } else {
      throw new ExpressionError(`unexpected '${c}' in: ${source}`);
    }
  }
  return tokens;
}

export function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const expect = (text: string) => {
    const token = tokens[position++];
    if (!token || token.text !== text) throw new ExpressionError(`expected '${text}' in: ${source}`);
  };
  const primary = (): Node => {
    const token = tokens[position++];
    if (!token) throw new ExpressionError(`unexpected end of: ${source}`);
    let node: Node;
    if (token.type === 'string') node = { kind: 'literal', value: token.text };
    else if (token.type === 'number') node = { kind: 'literal', value: Number(token.text) };
    else if (token.type === 'version') node = { kind: 'literal', value: Version.parse(token.text)! };
    else if (token.type === 'ident') {
      const lower = token.text.toLowerCase();
      if (peek()?.text === '(') {
        position++;
        const args: Node[] = [];
        if (peek()?.text !== ')') {
          for (;;) {
            args.push(primary());
            if (peek()?.text === ',') {
              position++;
              continue;
            }
            break;
          }
        }
        expect(')');
        node = { kind: 'call', name: lower, args };
      } else if (lower === 'true' || lower === 'false') node = { kind: 'literal', value: lower === 'true' };
      else if (lower === 'null') node = { kind: 'literal', value: null };
      else node = { kind: 'name', name: token.text };
    } else throw new ExpressionError(`unexpected '${token.text}' in: ${source}`);
    for (;;) {
      if (peek()?.text === '.') {
        position++;
        const property = tokens[position++];
        if (!property || property.type !== 'ident') throw new ExpressionError(`expected a property name in: ${source}`);
        node = { kind: 'member', target: node, property: { kind: 'literal', value: property.text } };
      } else if (peek()?.text === '[') {
        position++;
        const property = primary();
        expect(']');
        node = { kind: 'member', target: node, property };
      } else break;
    }
    return node;
  };
  const node = primary();
  if (position !== tokens.length) throw new ExpressionError(`unexpected '${tokens[position].text}' in: ${source}`);
  return node;
}

/** What a runtime status function sees: the results of what this condition depends on. */
export interface StatusContext {
  /**
   * Results of every direct and indirect dependency (stages or jobs: the service computes the status functions
   * over them recursively) or, for a step, of the steps before it in the job.
   */
  results: string[];
  /** Results by dependency name, for `succeeded('A', 'B')`: the named dependencies only. */
  byName?: Record<string, string>;
  canceled?: boolean;
}

export interface EvaluationContext {
  /** Root names (`parameters`, `variables`, `dependencies`...). */
  names: Record<string, Value>;
  status?: StatusContext;
}

export function lookup(target: Value, key: string | number): Value {
  if (target === null || target === undefined || target instanceof Version) return undefined;
  if (Array.isArray(target)) return typeof key === 'number' || /^\d+$/.test(String(key)) ? target[Number(key)] : undefined;
  if (typeof target !== 'object') return undefined;
  if (key in target) return target[key as string];
  const lower = String(key).toLowerCase();
  const match = Object.keys(target).find((name) => name.toLowerCase() === lower);
  return match === undefined ? undefined : target[match];
}

/**
 * Casting, as the expressions documentation's type-casting table says: to boolean, null / 0 / '' are false and
 * every other value (any non-empty string, 'false' included; a version; an array or object) is true.
 */
export function truthy(value: Value): boolean {
  if (value === undefined || value === null || value === false || value === '') return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  return true;
}

export function toText(value: Value): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value instanceof Version) return value.toString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** To number: null and '' are 0, booleans 1 and 0, a string is parsed (NaN when it is not a number). */
export function toNumber(value: Value): number {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) ? Number(value) : NaN;
  return NaN;
}

function coerceLike(left: Value, right: Value): Value {
  if (typeof left === 'number') return toNumber(right);
  if (typeof left === 'boolean') return truthy(right);
  if (left instanceof Version) return right instanceof Version ? right : Version.parse(toText(right));
  if (typeof left === 'string') return toText(right);
  return right;
}

function equal(left: Value, right: Value): boolean {
  const other = coerceLike(left, right);
  if (typeof left === 'string' && typeof other === 'string') return left.toLowerCase() === other.toLowerCase();
  if (left instanceof Version) return other instanceof Version && left.compare(other) === 0;
  if (left === undefined || left === null) return other === undefined || other === null || other === '';
  return left === other;
}

/** Ordering; NaN when the right side cannot be cast to the left side's type (every comparison is then false). */
function compare(left: Value, right: Value): number {
  const other = coerceLike(left, right);
  if (typeof left === 'string' && typeof other === 'string') {
    // Ordinal, ignoring case, as the service compares strings (not by the locale's collation).
    const [a, b] = [left.toUpperCase(), other.toUpperCase()];
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (left instanceof Version) return other instanceof Version ? left.compare(other) : NaN;
  return toNumber(left) - toNumber(other);
}

const SUCCESS = ['Succeeded', 'SucceededWithIssues'];

export function evaluate(node: Node, context: EvaluationContext): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'name': {
      const value = lookup(context.names, node.name);
      return value;
    }
    case 'member': {
      const target = evaluate(node.target, context);
      const property = evaluate(node.property, context);
      return lookup(target, typeof property === 'number' ? property : toText(property));
    }
    case 'call':
      return call(node.name, node.args, context);
  }
}

function call(name: string, args: Node[], context: EvaluationContext): Value {
  const value = (index: number) => evaluate(args[index], context);
  const status = () => {
    if (!context.status) throw new ExpressionError(`${name}() is only allowed in a runtime condition`);
    return context.status;
  };
  // With arguments, a status function looks at the named dependencies only; without, at all of them.
  const statusResults = (): string[] => {
    const context = status();
    if (!args.length) return context.results;
    return args.map((_, index) => {
      const dependency = toText(value(index));
      const key = Object.keys(context.byName ?? {}).find((candidate) => candidate.toLowerCase() === dependency.toLowerCase());
      if (key === undefined) throw new ExpressionError(`${name}('${dependency}'): '${dependency}' is not a dependency here`);
      return context.byName![key];
    });
  };
  switch (name) {
    case 'always':
      return true;
    case 'succeeded':
      return !status().canceled && statusResults().every((result) => SUCCESS.includes(result));
    case 'failed':
      return !status().canceled && statusResults().some((result) => result === 'Failed');
    case 'canceled':
      return !!status().canceled;
    case 'succeededorfailed':
      return !status().canceled && statusResults().every((result) => SUCCESS.includes(result) || result === 'Failed');
    case 'and':
      return args.every((_, index) => truthy(value(index)));
    case 'or':
      return args.some((_, index) => truthy(value(index)));
    case 'not':
      return !truthy(value(0));
    case 'xor':
      return truthy(value(0)) !== truthy(value(1));
    case 'eq':
      return equal(value(0), value(1));
    case 'ne':
      return !equal(value(0), value(1));
    case 'gt':
      return compare(value(0), value(1)) > 0;
    case 'ge':
      return compare(value(0), value(1)) >= 0;
    case 'lt':
      return compare(value(0), value(1)) < 0;
    case 'le':
      return compare(value(0), value(1)) <= 0;
    case 'in': {
      const needle = value(0);
      return args.slice(1).some((_, index) => equal(needle, value(index + 1)));
    }
    case 'notin': {
      const needle = value(0);
      return !args.slice(1).some((_, index) => equal(needle, value(index + 1)));
    }
    case 'contains':
      return toText(value(0))
        .toLowerCase()
        .includes(toText(value(1)).toLowerCase());
    case 'containsvalue': {
      const haystack = value(0);
      const needle = value(1);
      const items = Array.isArray(haystack) ? haystack : haystack && typeof haystack === 'object' ? Object.values(haystack) : [];
      return items.some((item) => equal(item, needle));
    }
    case 'startswith':
      return toText(value(0))
        .toLowerCase()
        .startsWith(toText(value(1)).toLowerCase());
    case 'endswith':
      return toText(value(0))
        .toLowerCase()
        .endsWith(toText(value(1)).toLowerCase());
    case 'lower':
      return toText(value(0)).toLowerCase();
    case 'upper':
      return toText(value(0)).toUpperCase();
    case 'replace':
      return toText(value(0))
        .split(toText(value(1)))
        .join(toText(value(2)));
    case 'split':
      return toText(value(0)).split(toText(value(1)));
    case 'format': {
      const template = toText(value(0));
      return template.replace(/\{(\d+)\}/g, (_, index: string) => toText(value(Number(index) + 1)));
    }
    case 'coalesce':
      for (let index = 0; index < args.length; index++) {
        const candidate = value(index);
        if (candidate !== undefined && candidate !== null && candidate !== '') return candidate;
      }
      return null;
    case 'iif':
      return truthy(value(0)) ? value(1) : value(2);
    case 'join': {
      const items = value(1);
      return Array.isArray(items) ? items.map(toText).join(toText(value(0))) : toText(items);
    }
    case 'length': {
      const target = value(0);
      if (Array.isArray(target) || typeof target === 'string') return target.length;
      return target && typeof target === 'object' ? Object.keys(target).length : 0;
    }
    case 'converttojson':
      return JSON.stringify(value(0), null, 2);
    default:
      throw new ExpressionError(`function ${name}() is not supported by the rehearsal`);
  }
}

export function evaluateText(source: string, context: EvaluationContext): Value {
  return evaluate(parseExpression(source), context);
}
