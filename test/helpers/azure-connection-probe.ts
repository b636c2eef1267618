/**
 * Run in a child process the way a task runs (ENDPOINT_* / INPUT_* variables, NODE_EXTRA_CA_CERTS): for
 * each input name given on the command line, turns that AzureRM connection into a credential with
 * `azureConnection`, reads an application gateway through the real SDK client, and prints one JSON line.
 * Usage: node --require tsx/cjs azure-connection-probe.ts <resourceGroup> <gateway> <inputName>...
 */
import { NetworkManagementClient } from '@azure/arm-network';
import { armClientOptions, azureConnection } from '../../shared/azure/credentials';
import { messageOf } from '../../shared/core/errors';
import { TaskInputs } from '../../shared/core/inputs';
import { Log } from '../../shared/core/log';

async function main(): Promise<void> {
  const [resourceGroup, gatewayName, ...inputNames] = process.argv.slice(2);
  const log = new Log();
  const inputs = new TaskInputs(log);
  for (const inputName of inputNames) {
    try {
      const connection = azureConnection(inputs.endpoint(inputName, { required: true }), { log, inputName });
      const client = new NetworkManagementClient(connection.credential, connection.subscriptionId, armClientOptions(connection));
      const gateway = await client.applicationGateways.get(resourceGroup, gatewayName);
      const { scheme, credentialScopes: scopes, armUrl } = connection;
      log.info(`PROBE ${JSON.stringify({ inputName, scheme, scopes, armUrl, gateway: gateway.name, etag: gateway.etag })}`);
    } catch (error) {
      log.info(`PROBE ${JSON.stringify({ inputName, error: messageOf(error) })}`);
    }
  }
}

void main();
