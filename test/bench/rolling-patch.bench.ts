import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { AzureFixture, CONNECTION_ID, RESOURCE_GROUP, type WebFarm } from '../helpers/azure-fixture';
import { newWorkDirectory, repoRoot, taskEnvironment } from '../helpers/task-runner';
import { median, type BenchSection } from './bench';

/**
 * A rolling patch of 10 web servers in 2 batches against the ARM emulator with a simulated gateway update
 * time: ours (AppGatewayDrain drain, PatchVms, AppGatewayDrain restore: one gateway write per batch per
 * direction) against a per-server baseline that removes and re-adds one server per gateway write, as CLI
 * scripts do, with the same patching step. Same run, same machine, rounds interleaved.
 */

const GATEWAY_UPDATE_MS = 400;
const ROUNDS = 2;
const BATCHES = [
  [1, 5],
  [6, 10],
];

const POLL = { pollIntervalSeconds: '0.05' };

async function patch(azure: AzureFixture, names: string[]): Promise<void> {
  const run = await azure.run('PatchVmsV1', { ...POLL, virtualMachines: names.join(','), serverGroup: 'web', maxParallel: 5 });
  if (run.result !== 'Succeeded') throw new Error(`patching failed:\n${run.stdout}`);
}

async function ours(azure: AzureFixture, farm: WebFarm): Promise<void> {
  for (const [from, to] of BATCHES) {
    const names = farm.servers.slice(from - 1, to).map((server) => server.name);
    const pool = { ...POLL, applicationGatewayName: farm.gateway, backendPoolName: farm.pool, healthTimeoutSeconds: 60 };
    const drain = await azure.run('AppGatewayDrainV1', { ...pool, action: 'drain', servers: names.join(','), minHealthyServers: 4 });
    if (drain.result !== 'Succeeded') throw new Error(`drain failed:\n${drain.stdout}`);
    await patch(azure, names);
    const restore = await azure.run('AppGatewayDrainV1', { ...pool, action: 'restore', undoRecord: drain.outputs.undoRecord });
    if (restore.result !== 'Succeeded') throw new Error(`restore failed:\n${restore.stdout}`);
  }
}

/** Runs test/helpers/per-server-pool-script.ts as a task would run. */
async function perServer(azure: AzureFixture, farm: WebFarm, mode: 'remove' | 'add', ips: string[]): Promise<void> {
  const env = await taskEnvironment(
    { endpoints: azure.endpoints(), inputs: { azureSubscription: CONNECTION_ID } },
    newWorkDirectory('mw-bench-'),
  );
  const script = path.join(repoRoot, 'test', 'helpers', 'per-server-pool-script.ts');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', script, mode, RESOURCE_GROUP, farm.gateway, farm.pool, ...ips], {
    env,
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`per-server ${mode} failed: ${stderr}`);
}

async function baseline(azure: AzureFixture, farm: WebFarm): Promise<void> {
  for (const [from, to] of BATCHES) {
    const servers = farm.servers.slice(from - 1, to);
    await perServer(
      azure,
      farm,
      'remove',
      servers.map((server) => server.ip),
    );
    await patch(
      azure,
      servers.map((server) => server.name),
    );
    await perServer(
      azure,
      farm,
      'add',
      servers.map((server) => server.ip),
    );
  }
}

async function measure(
  azure: AzureFixture,
  arm: (azure: AzureFixture, farm: WebFarm) => Promise<void>,
): Promise<{ ms: number; writes: number }> {
  azure.reset();
  const farm = azure.seedWebFarm();
  const before = JSON.stringify(azure.arm.pool(RESOURCE_GROUP, farm.gateway, farm.pool).addresses.slice().sort());
  const started = Date.now();
  await arm(azure, farm);
  const ms = Date.now() - started;
  const after = JSON.stringify(azure.arm.pool(RESOURCE_GROUP, farm.gateway, farm.pool).addresses.slice().sort());
  if (after !== before) throw new Error(`the pool did not end as it began: ${after}`);
  return { ms, writes: azure.arm.gatewayWrites(farm.gateway) };
}

export async function run(): Promise<BenchSection[]> {
  const azure = new AzureFixture({
    gatewayUpdateMs: GATEWAY_UPDATE_MS,
    probeDelayMs: 150,
    healthDelayMs: 30,
    patchMs: 300,
    rebootMs: 200,
    retryAfterSeconds: 0,
  });
  await azure.start();
  try {
    const ourRuns: Array<{ ms: number; writes: number }> = [];
    const baseRuns: Array<{ ms: number; writes: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      ourRuns.push(await measure(azure, ours));
      baseRuns.push(await measure(azure, baseline));
    }
    const ourMs = median(ourRuns.map((r) => r.ms));
    const baseMs = median(baseRuns.map((r) => r.ms));
    const ourWrites = ourRuns[0].writes;
    const baseWrites = baseRuns[0].writes;
    return [
      {
        title: `Rolling patch: 10 web servers in 2 batches, gateway update ${GATEWAY_UPDATE_MS} ms (simulated), median of ${ROUNDS}`,
        rows: [
          {
            label: 'gateway writes',
            value: String(ourWrites),
            baseline: `${baseWrites} (per server)`,
            ratio: ourWrites / baseWrites,
            note: 'goal: 1 per batch per direction = 4',
          },
          {
            label: 'wall time',
            value: `${(ourMs / 1000).toFixed(1)} s`,
            baseline: `${(baseMs / 1000).toFixed(1)} s`,
            ratio: ourMs / baseMs,
            note: 'same patching step in both; each gateway write waits for its update',
          },
          {
            label: 'gateway update time',
            value: `${((ourWrites * GATEWAY_UPDATE_MS) / 1000).toFixed(1)} s`,
            baseline: `${((baseWrites * GATEWAY_UPDATE_MS) / 1000).toFixed(1)} s`,
            ratio: ourWrites / baseWrites,
            note: 'writes x update time: the part that grows with real update times (minutes each)',
          },
        ],
      },
    ];
  } finally {
    await azure.stop();
  }
}
