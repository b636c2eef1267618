import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkManagementClient, NetworkManagementClientOptionalParams } from '@azure/arm-network';
import { armClientOptions, type AzureConnection } from './credentials';
import { loadArmCompute, loadArmNetwork } from '../core/lazy';

// The error mapping lives in arm-errors.ts so that a step using one SDK client does not bundle the others.
export { armFailure, describeArmError, ROLE_FILE } from './arm-errors';

/**
 * Azure Resource Manager clients for the connection, conditional writes, and one error mapping: whatever
 * ARM or Entra answers becomes a message a person on call can act on.
 */

type PipelinePolicy = NonNullable<NetworkManagementClientOptionalParams['additionalPolicies']>[number]['policy'];

/**
 * Sends `If-Match` on our PUTs of a resource, and only on them. The SDK's createOrUpdate has no ifMatch
 * option, and a header set through `requestOptions` would also ride on the operation's poll GETs and on
 * its final GET of the resource, whose etag our own write has changed (a conditional GET that the service
 * may answer 412). A pipeline policy sees each request, so it can add the header to the PUT alone.
 */
export class ConditionalWrites {
  private readonly expected = new Map<string, string>();

  readonly policy: PipelinePolicy = {
    name: 'maintenanceWindowIfMatch',
    sendRequest: (request, next) => {
      if (request.method === 'PUT') {
        // The ARM URL may carry a path of its own (a proxy, Azure Stack): match the resource id at the end.
        const target = new URL(request.url).pathname.toLowerCase();
        for (const [resourceId, etag] of this.expected) if (target.endsWith(resourceId)) request.headers.set('If-Match', etag);
      }
      return next(request);
    },
  };

  /** Runs `write` with its PUT to `resourceId` conditional on `etag`. */
  async withEtag<T>(resourceId: string, etag: string | undefined, write: () => Promise<T>): Promise<T> {
    const key = resourceId.toLowerCase();
    if (etag) this.expected.set(key, etag);
    try {
      return await write();
    } finally {
      this.expected.delete(key);
    }
  }
}

export interface ArmClients {
  network: NetworkManagementClient;
  compute: ComputeManagementClient;
  conditional: ConditionalWrites;
  connection: AzureConnection;
}

export function armClients(connection: AzureConnection): ArmClients {
  // The SDKs are loaded here, on first use: a step that stops at its inputs starts without them.
  const { NetworkManagementClient } = loadArmNetwork();
  const { ComputeManagementClient } = loadArmCompute();
  const conditional = new ConditionalWrites();
  const options = armClientOptions(connection);
  return {
    network: new NetworkManagementClient(connection.credential, connection.subscriptionId, {
      ...options,
      additionalPolicies: [...options.additionalPolicies, { policy: conditional.policy, position: 'perCall' }],
    }),
    compute: new ComputeManagementClient(connection.credential, connection.subscriptionId, options),
    conditional,
    connection,
  };
}
