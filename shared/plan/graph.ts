/**
 * The plan's dependency graph: the checks a schema cannot express (unique ids, known dependencies, no cycles)
 * and the orders the runner and the benchmark need (what may start, the critical path).
 */

export interface GraphNode {
  /** Position in the plan's `changes` list (for messages). */
  index: number;
  id?: string;
  status?: string;
  dependsOn: string[];
}

export interface GraphProblem {
  path: Array<string | number>;
  message: string;
  severity: 'error' | 'warning';
  /** Point at the key rather than the value. */
  onKey?: boolean;
}

const NOT_RUN = new Set(['not-doing', 'deferred']);

/** Duplicate ids, unknown or self dependencies, cycles; every one of them, each cycle once. */
export function dependencyProblems(nodes: GraphNode[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byId = new Map<string, GraphNode>();
  for (const node of nodes) {
    if (!node.id) continue;
    const first = byId.get(node.id);
    if (first) {
      problems.push({
        path: ['changes', node.index, 'id'],
        message: `duplicate id '${node.id}': changes[${first.index}] has it already; ids must be unique.`,
        severity: 'error',
      });
    } else {
      byId.set(node.id, node);
    }
  }
  for (const node of nodes) {
    const seen = new Set<string>();
    node.dependsOn.forEach((dependency, position) => {
      const where = ['changes', node.index, 'dependsOn', position];
      if (seen.has(dependency)) {
        problems.push({ path: where, message: `'${dependency}' is listed twice.`, severity: 'warning' });
        return;
      }
      seen.add(dependency);
      if (dependency === node.id) {
        problems.push({ path: where, message: `'${node.id}' depends on itself.`, severity: 'error' });
        return;
      }
      const target = byId.get(dependency);
      if (!target) {
        const near = [...byId.keys()].filter((id) => id.includes(dependency) || dependency.includes(id));
        problems.push({
          path: where,
          message: `unknown change '${dependency}'${near.length ? ` (did you mean ${near.map((id) => `'${id}'`).join(' or ')}?)` : ''}.`,
          severity: 'error',
        });
      } else if (target.status && NOT_RUN.has(target.status) && !(node.status && NOT_RUN.has(node.status)) && node.status !== 'done') {
        problems.push({
          path: where,
          message: `'${dependency}' is ${target.status}, so '${node.id ?? `changes[${node.index}]`}' will be reported blocked.`,
          severity: 'warning',
        });
      }
    });
  }
  for (const cycle of findCycles(nodes, byId)) {
    const [from, to] = [cycle[cycle.length - 2], cycle[cycle.length - 1]];
    const node = byId.get(from)!;
    problems.push({
      path: ['changes', node.index, 'dependsOn', node.dependsOn.indexOf(to)],
      message: `dependency cycle: ${cycle.join(' -> ')}; a change cannot wait for itself.`,
      severity: 'error',
    });
  }
  return problems;
}

/** Each elementary cycle reachable by depth-first search, as a closed path of ids (a -> b -> a), once each. */
function findCycles(nodes: GraphNode[], byId: Map<string, GraphNode>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const reported = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dependency of byId.get(id)?.dependsOn ?? []) {
      if (dependency === id || !byId.has(dependency)) continue;
      const seen = state.get(dependency);
      if (seen === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(dependency)), dependency];
        const key = [...new Set(cycle)].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          cycles.push(cycle);
        }
      } else if (!seen) {
        visit(dependency);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const node of nodes) if (node.id && byId.get(node.id) === node && !state.has(node.id)) visit(node.id);
  return cycles;
}

export interface DependencyItem {
  id: string;
  dependsOn: string[];
}

/** Changes in an order where each comes after everything it depends on (ties keep the plan's order). */
export function topologicalOrder<T extends DependencyItem>(items: T[]): T[] {
  const remaining = new Map(items.map((item) => [item.id, item]));
  const order: T[] = [];
  while (remaining.size) {
    const next = [...remaining.values()].find((item) => item.dependsOn.every((id) => !remaining.has(id)));
    if (!next) throw new Error(`dependency cycle among ${[...remaining.keys()].join(', ')}`);
    remaining.delete(next.id);
    order.push(next);
  }
  return order;
}

/** Every change that waits, directly or not, for `id`. */
export function dependentsOf(items: DependencyItem[], id: string): string[] {
  const found = new Set<string>();
  const queue = [id];
  while (queue.length) {
    const current = queue.shift()!;
    for (const item of items) {
      if (item.dependsOn.includes(current) && !found.has(item.id)) {
        found.add(item.id);
        queue.push(item.id);
      }
    }
  }
  return [...found];
}

/**
 * The longest chain of durations through the graph: the least time the plan can take with unlimited
 * parallelism. Returns the length and the chain.
 */
export function criticalPath(items: DependencyItem[], durationOf: (id: string) => number): { lengthMs: number; path: string[] } {
  const finish = new Map<string, { at: number; via?: string }>();
  for (const item of topologicalOrder(items)) {
    let start = 0;
    let via: string | undefined;
    for (const dependency of item.dependsOn) {
      const before = finish.get(dependency);
      if (before && before.at > start) {
        start = before.at;
        via = dependency;
      }
    }
    finish.set(item.id, { at: start + durationOf(item.id), via });
  }
  let end: string | undefined;
  for (const [id, value] of finish) if (!end || value.at > finish.get(end)!.at) end = id;
  const path: string[] = [];
  for (let current = end; current; current = finish.get(current)!.via) path.unshift(current);
  return { lengthMs: end ? finish.get(end)!.at : 0, path };
}
