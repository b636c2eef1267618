import { messageOf, ServiceError } from '../core/errors';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { azureConnection } from './credentials';

/**
 * Azure DevOps without a PAT: an AzureRM service connection (workload identity federation, or any scheme the
 * Azure tasks accept) whose identity is a user of the organization signs in at Entra for Azure DevOps itself.
 * The token is for Azure DevOps' resource id; the credential caches it and renews it before it expires, so
 * asking before each call costs nothing and a step of hours never runs on an expired token.
 */

/** The Entra resource (application) id of Azure DevOps, the same in every cloud and tenant. */
export const AZURE_DEVOPS_RESOURCE = '499b84ac-1321-427f-aa17-267ca6975798';

/** What the Azure DevOps client takes (`DevOpsIdentity` in shared/devops/client.ts). */
export interface AzureDevOpsIdentity {
  connectionId: string;
  inputName: string;
  getToken: () => Promise<string>;
}

export function azureDevOpsIdentity(endpoint: Endpoint, options: { log: Log; inputName: string }): AzureDevOpsIdentity {
  const connection = azureConnection(endpoint, { log: options.log, inputName: options.inputName, requireSubscription: false });
  const scope = `${AZURE_DEVOPS_RESOURCE}/.default`;
  return {
    connectionId: endpoint.id,
    inputName: options.inputName,
    async getToken() {
      try {
        const token = await connection.credential.getToken(scope);
        if (!token) throw new Error('the credential returned no token');
        return token.token;
      } catch (error) {
        throw new ServiceError(
          'Microsoft Entra ID',
          `could not get a token for Azure DevOps with service connection '${endpoint.id}': ${messageOf(error).split('\n')[0]}`,
          {
            advice:
              'Check the connection (its federated credential subject, or secret) and that its identity is a user of ' +
              'the organization with access to this project.',
            cause: error,
          },
        );
      }
    },
  };
}
