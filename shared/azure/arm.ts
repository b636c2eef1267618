import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient, type NetworkManagementClientOptionalParams } from '@azure/arm-network';
import { ServiceError, messageOf } from '../core/errors';
import { armClientOptions, type AzureConnection } from './credentials';

/**
 * Azure Resource Manager clients for the connection, conditional writes, and one error mapping: whatever
 * ARM or Entra answers becomes a message a person on call can act on.
 */

type PipelinePolicy = NonNullable<NetworkManagementClientOptionalParams['additionalPolicies']>[number]['policy'];

/** The role definition shipped with the extension; the advice for every permission error points at it. */
export const ROLE_FILE = 'extension/azure-role-maintenance-window.json';

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

interface RestLikeError {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  details?: { error?: { code?: string; message?: string } };
}

/** The HTTP status and ARM error code of an SDK error, when it has them. */
export function armFailure(error: unknown): { status?: number; code?: string } {
  const rest = error as RestLikeError;
  return { status: rest?.statusCode, code: rest?.details?.error?.code ?? rest?.code };
}

/** Turns an SDK or credential error into a ServiceError that says what to do. */
export function describeArmError(error: unknown, doing: string): ServiceError {
  if (error instanceof ServiceError) return error;
  const rest = error as RestLikeError;
  const { status, code } = armFailure(error);
  const message = messageOf(error).split('\n')[0];
  if (rest?.name === 'AuthenticationError' || rest?.name === 'CredentialUnavailableError' || rest?.name === 'AggregateAuthenticationError') {
    return new ServiceError('Microsoft Entra ID', `could not get a token for the Azure service connection while ${doing}: ${message}`, {
      code: rest.name,
      advice: 'Check the service connection (secret or certificate not expired, federated credential subject, managed identity on the agent).',
      cause: error,
    });
  }
  let advice: string | undefined;
  if (status === 401) advice = 'The token was refused: check the service connection\'s tenant and audience.';
  else if (status === 403) advice = `Give the service connection's identity the role in ${ROLE_FILE} on the resource group (see the README).`;
  else if (status === 404) advice = 'Check the names and the resource group.';
  else if (status === 409) advice = 'Another change to this resource is running; wait for it to finish and run the step again.';
  else if (status === 429) advice = 'Azure is throttling this subscription; run the step again in a few minutes.';
  return new ServiceError('Azure', `${doing} failed${status ? ` (${status}${code ? ` ${code}` : ''})` : ''}: ${message}`, { status, code, advice, cause: error });
}
