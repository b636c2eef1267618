import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../emulators/arm';
import { AzureFixture, RESOURCE_GROUP, type WebFarm } from '../helpers/azure-fixture';
import { newWorkDirectory, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/**
 * The task SIGKILLed at seeded random points of drain and of restore (by time, and by how far its output got),
 * then restore run again: the pool must end exactly as it began, every time. A killed drain is followed
 * either by a restore (from its record file, or from the drained tags when it died before writing one) or,
 * as a re-run of the job in a fresh workspace would, by a NEW drain of the same batch and then a restore from
 * that drain's record. No drained tag may be left at the end. The seed is printed on failure and can be
 * replayed with MW_CRASH_SEED.
 */

const TASK = 'AppGatewayDrainV1';
const SEED = Number(process.env.MW_CRASH_SEED ?? 20250413);
const RUNS = Number(process.env.MW_CRASH_RUNS ?? 52);
const LANES = 3;

interface Plan {
  index: number;
  /** Which step is killed: the drain (then restore), or the restore after a full drain (then restore again). */
  phase: 'drain' | 'restore';
  /** After a killed drain: restore at once, or drain the same batch again from a fresh workspace first. */
  then: 'restore' | 'drain again';
  kind: 'addresses' | 'nics';
  /** Kill by elapsed time or after this share of the step's usual output. */
  by: 'time' | 'line';
  fraction: number;
}

type KillPoint =
  'before the undo record' | 'after the record, before any write' | 'after a write was accepted' | 'not killed (finished first)';

describe('AppGatewayDrainV1 killed at random points (SIGKILL, seeded)', function () {
  const azure = new AzureFixture({ gatewayUpdateMs: [50, 200], probeDelayMs: 50, healthDelayMs: 20, retryAfterSeconds: 0 });
  before(() => azure.start());
  after(() => azure.stop());

  const run = (
    farm: WebFarm,
    inputs: RunTaskOptions['inputs'],
    options: Omit<RunTaskOptions, 'inputs' | 'endpoints'> = {},
  ): Promise<TaskRun> =>
    azure.run(
      TASK,
      { applicationGatewayName: farm.gateway, backendPoolName: farm.pool, healthTimeoutSeconds: 30, ...inputs },
      { timeoutMs: 60_000, ...options },
    );

  function recordFile(dir: string): string | undefined {
    const folder = path.join(dir, 'records');
    if (!fs.existsSync(folder)) return undefined;
    const name = fs.readdirSync(folder).find((file) => file.endsWith('.json') && !file.endsWith('.restored.json'));
    return name ? path.join(folder, name) : undefined;
  }

  /** Writes ARM accepted for this farm's gateway or its servers' NICs since a time (lanes run side by side). */
  function acceptedWrites(farm: WebFarm, since: number): number {
    const nics = new Set(farm.servers.map((server) => `/networkinterfaces/${server.name.toLowerCase()}-nic`));
    return azure.arm.journal.filter(
      (entry) =>
        entry.at >= since &&
        entry.method === 'PUT' &&
        entry.status === 200 &&
        (entry.path.toLowerCase().endsWith(`/applicationgateways/${farm.gateway.toLowerCase()}`) ||
          [...nics].some((nic) => entry.path.toLowerCase().endsWith(nic))),
    ).length;
  }

  /** What state the killed step left: judged from its record file and the writes ARM accepted meanwhile. */
  function killPoint(run: TaskRun, dir: string, farm: WebFarm, since: number): KillPoint {
    if (run.result) return 'not killed (finished first)';
    if (acceptedWrites(farm, since)) return 'after a write was accepted';
    return recordFile(dir) ? 'after the record, before any write' : 'before the undo record';
  }

  it(`converges to the starting pool after ${RUNS} kills (seed ${SEED})`, async function () {
    this.timeout(300_000);
    azure.reset();
    const random = mulberry32(SEED);
    const plans: Plan[] = Array.from({ length: RUNS }, (_, index) => ({
      index,
      phase: index % 2 === 0 ? 'drain' : 'restore',
      // Two killed drains in three are drained again (both pool kinds, killed by time and by line).
      then: Math.floor(index / 2) % 3 === 2 ? 'restore' : 'drain again',
      kind: index % 4 >= 2 ? 'nics' : 'addresses',
      // Drains are mostly killed by time (a time can land inside the write's long-running operation, where
      // no line is printed); restores half by time, half by line.
      by: index % 2 === 0 ? (index % 8 === 0 ? 'line' : 'time') : index % 4 === 1 ? 'time' : 'line',
      fraction: random(),
    }));

    // Where the work of a whole drain and restore lies after the process starts (its first section line to
    // its end) and how many lines of its own it prints, kept current from every whole run, since the lanes
    // load the machine: the kill points are spread over the work, not over node's start-up.
    const span = { drain: { section: 0, end: 0, lines: 0 }, restore: { section: 0, end: 0, lines: 0 } };
    // The task's own lines, its debug lines included (one per poll of a long-running operation, so a kill
    // by line can land while an update runs); task-lib's start-up debug lines are left out.
    const ownLine = (line: string) => !line.startsWith('##vso[task.debug]');
    async function timed(
      phase: 'drain' | 'restore',
      farm: WebFarm,
      inputs: RunTaskOptions['inputs'],
      options: Omit<RunTaskOptions, 'inputs' | 'endpoints'> = {},
    ): Promise<TaskRun> {
      const started = Date.now();
      let section: number | undefined;
      const kill = options.killOnLine;
      const result = await run(farm, inputs, {
        ...options,
        killOnLine: (line) => {
          if (section === undefined && line.startsWith('##[section]')) section = Date.now() - started;
          return kill ? kill(line) : false;
        },
      });
      // Only runs that did the whole work count (a restore with nothing left to put back is much shorter).
      const whole = phase === 'drain' || result.stdout.includes('Putting back into');
      if (result.result === 'Succeeded' && whole && section !== undefined && !options.killAfterMs && !kill) {
        const known = span[phase];
        const weight = known.end ? 0.5 : 1;
        known.section += weight * (section - known.section);
        known.end += weight * (Date.now() - started - known.end);
        known.lines = result.lines.filter(ownLine).length;
      }
      return result;
    }

    const calibration = azure.seedWebFarm({ gateway: 'agw-crash-calibration', prefix: 'CAL-Web', count: 6, subnet: 9 });
    const servers = (farm: WebFarm) =>
      farm.servers
        .slice(0, 3)
        .map((server) => server.name)
        .join(',');
    const fullDrain = await timed('drain', calibration, { action: 'drain', servers: servers(calibration) });
    assert.equal(fullDrain.result, 'Succeeded', fullDrain.stdout);
    const fullRestore = await timed('restore', calibration, { action: 'restore', undoRecord: fullDrain.outputs.undoRecord });
    assert.equal(fullRestore.result, 'Succeeded', fullRestore.stdout);

    const failures: string[] = [];
    const points = new Map<string, number>();
    const note = (point: KillPoint, phase: string): void => {
      points.set(`${phase}: ${point}`, (points.get(`${phase}: ${point}`) ?? 0) + 1);
    };

    async function killIn(farm: WebFarm, plan: Plan, inputs: RunTaskOptions['inputs'], dir: string): Promise<TaskRun> {
      const usual = span[plan.phase];
      if (plan.by === 'time') {
        return timed(plan.phase, farm, inputs, {
          workDirectory: dir,
          killAfterMs: Math.round(usual.section + plan.fraction * (usual.end - usual.section) * 1.15),
        });
      }
      const stopAt = Math.max(1, Math.round(plan.fraction * usual.lines));
      let seen = 0;
      return timed(plan.phase, farm, inputs, { workDirectory: dir, killOnLine: (line) => ownLine(line) && ++seen >= stopAt });
    }

    async function scenario(plan: Plan): Promise<void> {
      const farm = azure.seedWebFarm({
        gateway: `agw-crash-${plan.index}`,
        prefix: `K${plan.index}-Web`,
        count: 6,
        kind: plan.kind,
        subnet: 10 + plan.index,
      });
      const before = azure.arm.pool(RESOURCE_GROUP, farm.gateway, farm.pool);
      const dir = newWorkDirectory();
      const label =
        `run ${plan.index} (${plan.phase} killed by ${plan.by} at ` +
        `${plan.fraction.toFixed(3)}${plan.phase === 'drain' ? `, then ${plan.then}` : ''}, ${plan.kind} pool)`;
      const fail = (message: string, detail = ''): void => {
        failures.push(`${label}: ${message}${detail ? `\n${detail.split('\n').slice(-25).join('\n')}` : ''}`);
      };

      if (plan.phase === 'drain') {
        const since = Date.now();
        const killed = await killIn(farm, plan, { action: 'drain', servers: servers(farm) }, dir);
        const point = killPoint(killed, dir, farm, since);
        note(point, 'drain');
        if (plan.then === 'drain again') {
          note(point, 'drained again');
          // The job re-run: a fresh workspace (no record file), the same batch. Not timed: a drain that finds
          // its batch already out is shorter than the drains the kill points are spread over.
          const again = await run(farm, { action: 'drain', servers: servers(farm) }, { workDirectory: newWorkDirectory() });
          if (again.result !== 'Succeeded') return fail('the new drain after the killed drain failed', again.stdout + again.stderr);
          const restore = await timed('restore', farm, { action: 'restore', undoRecord: again.outputs.undoRecord });
          if (restore.result !== 'Succeeded') return fail('the restore after the new drain failed', restore.stdout + restore.stderr);
        } else {
          const file = recordFile(dir);
          const restore = await timed('restore', farm, file ? { action: 'restore', undoRecord: file } : { action: 'restore' });
          if (restore.result !== 'Succeeded') return fail('the restore after the killed drain failed', restore.stdout + restore.stderr);
        }
      } else {
        const drain = await timed('drain', farm, { action: 'drain', servers: servers(farm) }, { workDirectory: dir });
        if (drain.result !== 'Succeeded') return fail('the drain failed', `exit ${drain.exitCode}\n${drain.stdout}${drain.stderr}`);
        const file = recordFile(dir)!;
        const since = Date.now();
        const killed = await killIn(farm, plan, { action: 'restore', undoRecord: file }, dir);
        note(
          killed.result
            ? 'not killed (finished first)'
            : acceptedWrites(farm, since)
              ? 'after a write was accepted'
              : 'after the record, before any write',
          'restore',
        );
        const again = await timed('restore', farm, { action: 'restore', undoRecord: file });
        if (again.result !== 'Succeeded') return fail('the second restore failed', again.stdout + again.stderr);
      }
      const after = azure.arm.pool(RESOURCE_GROUP, farm.gateway, farm.pool);
      try {
        assert.deepEqual(after, before);
      } catch {
        fail(`the pool did not end as it began: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      }
      const leftTags = [
        ...Object.keys(azure.arm.gateway(RESOURCE_GROUP, farm.gateway).tags ?? {}),
        ...farm.servers.flatMap((server) => Object.keys(azure.arm.nicTags(RESOURCE_GROUP, `${server.name.toLowerCase()}-nic`))),
      ].filter((name) => name.startsWith('maintenance-window.drained.'));
      if (leftTags.length) fail(`drained tags left at the end: ${leftTags.join(', ')}`);
      const health = azure.arm.healthOf(RESOURCE_GROUP, farm.gateway, farm.pool);
      const unhealthy = Object.entries(health).filter(([, value]) => value !== 'Up');
      if (unhealthy.length) fail(`servers not healthy at the end: ${JSON.stringify(unhealthy)}`);
    }

    const queue = [...plans];
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        for (let plan = queue.shift(); plan; plan = queue.shift()) await scenario(plan);
      }),
    );

    const distribution = [...points.entries()].map(([point, count]) => `${point}: ${count}`).join('; ');
    assert.deepEqual(
      failures,
      [],
      `seed ${SEED} (replay with MW_CRASH_SEED=${SEED}); kill points: ${distribution}\n${failures.join('\n\n')}`,
    );
    // The kills must have hit the interesting places, or the test proves little.
    assert.ok((points.get('drain: after a write was accepted') ?? 0) >= 3, `too few drains killed after their write: ${distribution}`);
    assert.ok(
      (points.get('drain: after the record, before any write') ?? 0) + (points.get('drain: before the undo record') ?? 0) >= 3,
      `too few drains killed before writing: ${distribution}`,
    );
    assert.ok((points.get('restore: after a write was accepted') ?? 0) >= 3, `too few restores killed after their write: ${distribution}`);
    assert.ok(
      (points.get('drained again: after a write was accepted') ?? 0) >= 3,
      `too few drains killed after their write and then drained again: ${distribution}`,
    );
    console.log(`      ${RUNS} kills, seed ${SEED}: ${distribution}`);
  });
});
