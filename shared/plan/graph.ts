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

/**
 * Each cycle found by depth-first search, as a closed path of ids (a -> b -> a), once each. Iterative (an explicit
 * stack), so a dependsOn chain thousands of changes long cannot overflow the call stack.
 */
function findCycles(nodes: GraphNode[], byId: Map<string, GraphNode>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const onPath = new Map<string, number>();
  const cycles: string[][] = [];
  const reported = new Set<string>();
  const report = (dependency: string) => {
    const cycle = [...path.slice(onPath.get(dependency)), dependency];
    const key = [...new Set(cycle)].sort().join(',');
    if (!reported.has(key)) {
      reported.add(key);
      cycles.push(cycle);
    }
  };
  for (const root of nodes) {
    if (!root.id || byId.get(root.id) !== root || state.has(root.id)) continue;
    // Each frame: a change on the path and the position of the next dependency to look at.
    const frames: Array<{ id: string; next: number }> = [{ id: root.id, next: 0 }];
    state.set(root.id, 'visiting');
    onPath.set(root.id, path.push(root.id) - 1);
    while (frames.length) {
      const frame = frames[frames.length - 1];
      const dependencies = byId.get(frame.id)?.dependsOn ?? [];
      if (frame.next >= dependencies.length) {
        frames.pop();
        path.pop();
        onPath.delete(frame.id);
        state.set(frame.id, 'done');
        continue;
      }
      const dependency = dependencies[frame.next++];
      if (dependency === frame.id || !byId.has(dependency)) continue;
      const seen = state.get(dependency);
      if (seen === 'visiting') report(dependency);
      else if (!seen) {
        state.set(dependency, 'visiting');
        onPath.set(dependency, path.push(dependency) - 1);
        frames.push({ id: dependency, next: 0 });
      }
    }
  }
  return cycles;
}

/**
 * The longest chain of changes waiting for each id (itself included): the runner starts the longest first.
 * Computed in dependency order without recursion, so a deep chain cannot overflow the stack; ids in a cycle
 * (refused by validation) count 1.
 */
export function chainHeights(items: DependencyItem[]): Map<string, number> {
  const ids = new Set(items.map((item) => item.id));
  const dependents = new Map<string, string[]>();
  const waitingOn = new Map<string, number>();
  for (const item of items) {
    const known = [...new Set(item.dependsOn)].filter((id) => ids.has(id) && id !== item.id);
    waitingOn.set(item.id, known.length);
    for (const dependency of known) dependents.set(dependency, [...(dependents.get(dependency) ?? []), item.id]);
  }
  // Kahn's order from the roots; heights are then filled from the leaves back.
  const order: string[] = items.filter((item) => waitingOn.get(item.id) === 0).map((item) => item.id);
  for (let index = 0; index < order.length; index++) {
    for (const dependent of dependents.get(order[index]) ?? []) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) order.push(dependent);
    }
  }
  const height = new Map<string, number>();
  for (const item of items) height.set(item.id, 1);
  for (let index = order.length - 1; index >= 0; index--) {
    const id = order[index];
    height.set(id, 1 + Math.max(0, ...(dependents.get(id) ?? []).map((dependent) => height.get(dependent) ?? 0)));
  }
  return height;
}

export interface DependencyItem {
  id: string;
  dependsOn: string[];
}

/**
 * The order the runner starts ready changes in, as a rank per id (lower first): the longest chain waiting first
 * (it bounds the night), ties in the plan's order.
 */
export function startPriority(items: DependencyItem[]): Map<string, number> {
  const height = chainHeights(items);
  const ranked = items
    .map((item, index) => ({ id: item.id, index, height: height.get(item.id) ?? 1 }))
    .sort((a, b) => b.height - a.height || a.index - b.index);
  return new Map(ranked.map((item, rank) => [item.id, rank]));
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
