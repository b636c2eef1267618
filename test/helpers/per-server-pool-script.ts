/**
 * The benchmark's baseline: what CLI scripts do today, one server per gateway write. Run in a child process the
 * way a task runs (ENDPOINT_* / INPUT_* variables, NODE_EXTRA_CA_CERTS), with the real SDK client:
 *   node --require tsx/cjs per-server-pool-script.ts <remove|add> <resourceGroup> <gateway> <pool> <ip>...
 * `remove` takes each address out with its own read-modify-write of the gateway; `add` puts each back the same
 * way, then waits until all of them are Up in backend health (as our restore does).
 */
import { armClients } from '../../shared/azure/arm';
import { azureConnection } from '../../shared/azure/credentials';
import { TaskInputs } from '../../shared/core/inputs';
import { Log } from '../../shared/core/log';
import { sleep } from '../../shared/core/retry';

async function main(): Promise<void> {
  const [mode, resourceGroup, gatewayName, poolName, ...ips] = process.argv.slice(2);
  const log = new Log();
  const { network } = armClients(azureConnection(new TaskInputs(log).endpoint('azureSubscription', { required: true }), { log }));
  const interval = { updateIntervalInMs: 50 };
  for (const ip of ips) {
    const gateway = await network.applicationGateways.get(resourceGroup, gatewayName);
    const pool = gateway.backendAddressPools!.find((candidate) => candidate.name === poolName)!;
    const others = (pool.backendAddresses ?? []).filter((address) => address.ipAddress !== ip);
    pool.backendAddresses = mode === 'remove' ? others : [...others, { ipAddress: ip }];
    await network.applicationGateways.beginCreateOrUpdateAndWait(resourceGroup, gatewayName, gateway, interval);
    log.info(`${mode} ${ip}: one gateway write`);
  }
  if (mode === 'add') {
    for (;;) {
      const health = await network.applicationGateways.beginBackendHealthAndWait(resourceGroup, gatewayName, interval);
      const servers = (health.backendAddressPools ?? []).flatMap((entry) =>
        (entry.backendHttpSettingsCollection ?? []).flatMap((settings) => settings.servers ?? []),
      );
      if (ips.every((ip) => servers.some((server) => server.address === ip && server.health === 'Up'))) break;
      await sleep(50);
    }
  }
}

main().catch((error) => {
  console.error(String(error));
  process.exitCode = 1;
});
