import * as path from 'node:path';
import { setWriter } from '../../shared/core/commands';
import { Log } from '../../shared/core/log';
import { DevOpsClient } from '../../shared/devops/client';
import { criticalPath } from '../../shared/plan/graph';
import { loadPlan, type Plan } from '../../shared/plan/plan';
import { runChanges } from '../../shared/plan/runner';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { newWorkDirectory, repoRoot } from '../helpers/task-runner';
import type { BenchSection } from './bench';

/**
 * The 2025-03-23 plan run by the real runner and client against the emulator, on a simulated clock so that
 * realistic pipeline durations (minutes) and the real poll interval take a second of wall time. Figures:
 * the time to run the plan against its critical path (the lower bound with unlimited parallelism) and against
 * running the changes one after another, and the Azure DevOps calls per minute of waiting, against a poller that
 * reads each run in flight on its own every interval.
 */

const MINUTE = 60_000;
/** Simulated durations of the plan's pipelines, in minutes (infrastructure long, app deployments short). */
const DURATION_MINUTES: Record<string, number> = {
  Global_Infrastructure: 25,
  Payer_Infrastructure: 30,
  Hub_Infrastructure: 20,
  'Seed KeyVault': 4,
  Deploy: 8,
};

function durationOf(plan: Plan, id: string): number {
  const change = plan.changes.find((candidate) => candidate.id === id)!;
  return change.action.kind === 'pipeline' && change.status !== 'done' ? (DURATION_MINUTES[change.action.name] ?? 10) * MINUTE : 0;
}

interface Measured {
  elapsedMs: number;
  calls: number;
  pipelineRuns: number;
  /** Calls a per-run poller would make over the same runs at the same base interval. */
  naiveCalls: number;
}

async function runOnce(plan: Plan, ado: AzureDevOpsEmulator, options: { maxParallel: number; pollIntervalMs: number }): Promise<Measured> {
  ado.reset();
  let now = Date.parse('2025-03-23T09:00:00Z');
  ado.now = () => now;
  ado.knowPipelinesOfPlan(plan, { durationMs: (name) => (DURATION_MINUTES[name] ?? 10) * MINUTE });
  const log = new Log();
  const restore = setWriter(() => undefined);
  const client = new DevOpsClient({
    connection: { collectionUrl: ado.collectionUrl, project: ado.project, token: ado.token, kind: 'pat', source: 'bench' },
    log,
    now: () => now,
    // Simulated waiting: the clock jumps, and the event loop turns once so finished scripts are noticed.
    sleep: async (ms) => {
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  });
  try {
    const result = await runChanges({
      plan,
      client,
      log,
      windowId: plan.window.id,
      attemptId: 'bench.1',
      maxParallel: options.maxParallel,
      pollIntervalMs: options.pollIntervalMs,
      timeoutMs: 24 * 60 * MINUTE,
      onlyKeys: [],
      confirmedManual: plan.changes.filter((change) => change.action.kind === 'manual').map((change) => change.id),
      scriptRoot: repoRoot,
      scriptEnvironment: () => ({ PATH: process.env.PATH }),
      ledgerFile: path.join(newWorkDirectory('mw-bench-'), 'ledger.json'),
    });
    if (!result.finished || result.counts.failed || result.counts.blocked)
      throw new Error(`the bench plan did not finish cleanly: ${JSON.stringify(result.counts)}`);
    const runs = [...ado.runs.values()];
    const naiveCalls = runs.reduce((sum, run) => sum + Math.ceil(run.durationMs / options.pollIntervalMs) + 2, 0);
    return { elapsedMs: result.elapsedMs, calls: ado.journal.length, pipelineRuns: runs.length, naiveCalls };
  } finally {
    setWriter(restore);
    ado.now = () => Date.now();
  }
}

const minutes = (ms: number) => `${(ms / MINUTE).toFixed(1)} min`;

export async function run(): Promise<BenchSection[]> {
  const plan = loadPlan(path.join(repoRoot, 'plans', '2025-03-23.yml'));
  const items = plan.changes.map((change) => ({ id: change.id, dependsOn: change.dependsOn }));
  const lowerBound = criticalPath(items, (id) => durationOf(plan, id));
  const serialMs = plan.changes.reduce((sum, change) => sum + durationOf(plan, change.id), 0);
  const ado = new AzureDevOpsEmulator();
  await ado.start();
  try {
    const rows = [];
    const callRows = [];
    for (const setting of [
      { maxParallel: 4, pollIntervalMs: 30_000, label: 'maxParallel 4, poll 30 s (defaults)' },
      { maxParallel: 8, pollIntervalMs: 30_000, label: 'maxParallel 8, poll 30 s' },
      { maxParallel: 4, pollIntervalMs: 10_000, label: 'maxParallel 4, poll 10 s' },
    ]) {
      const measured = await runOnce(plan, ado, setting);
      rows.push(
        {
          label: `${setting.label}: time vs critical path`,
          value: minutes(measured.elapsedMs),
          baseline: minutes(lowerBound.lengthMs),
          ratio: measured.elapsedMs / lowerBound.lengthMs,
          note: 'lower bound; 1.00x is ideal',
        },
        {
          label: `${setting.label}: time vs one after another`,
          value: minutes(measured.elapsedMs),
          baseline: minutes(serialMs),
          ratio: measured.elapsedMs / serialMs,
          note: `${(serialMs / measured.elapsedMs).toFixed(1)}x faster than serial`,
        },
      );
      const waitingMinutes = measured.elapsedMs / MINUTE;
      callRows.push({
        label: setting.label,
        value: `${(measured.calls / waitingMinutes).toFixed(2)}/min`,
        baseline: `${(measured.naiveCalls / waitingMinutes).toFixed(2)}/min`,
        ratio: measured.calls / measured.naiveCalls,
        note:
          `${measured.calls} calls for ${measured.pipelineRuns} runs over ${minutes(measured.elapsedMs)}; baseline: each run ` +
          `polled on its own`,
      });
    }
    return [
      { title: `Changes: 2025-03-23 plan, simulated durations (critical path ${lowerBound.path.join(' -> ')})`, rows },
      { title: 'Changes: Azure DevOps calls per minute of waiting (batched polling with backoff)', rows: callRows },
    ];
  } finally {
    await ado.stop();
  }
}
