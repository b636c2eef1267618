import { ServiceError, messageOf } from '../core/errors';

/**
 * One error mapping for every Azure SDK client and credential: whatever ARM or Entra answers becomes a message
 * a person on call can act on. Kept apart from the clients (arm.ts) so importing it pulls in no SDK.
 */

/** The role definition shipped with the extension; the advice for every permission error points at it. */
export const ROLE_FILE = 'extension/azure-role-maintenance-window.json';

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
  if (
    rest?.name === 'AuthenticationError' ||
    rest?.name === 'CredentialUnavailableError' ||
    rest?.name === 'AggregateAuthenticationError'
  ) {
    return new ServiceError('Microsoft Entra ID', `could not get a token for the Azure service connection while ${doing}: ${message}`, {
      code: rest.name,
      advice:
        'Check the service connection (secret or certificate not expired, federated credential subject, managed identity on the agent).',
      cause: error,
    });
  }
  let advice: string | undefined;
  if (status === 401) advice = "The token was refused: check the service connection's tenant and audience.";
  else if (status === 403)
    advice = `Give the service connection's identity the role in ${ROLE_FILE} on the resource group (see the README).`;
  else if (status === 404) advice = 'Check the names and the resource group.';
  else if (status === 409) advice = 'Another change to this resource is running; wait for it to finish and run the step again.';
  else if (status === 429) advice = 'Azure is throttling this subscription; run the step again in a few minutes.';
  return new ServiceError('Azure', `${doing} failed${status ? ` (${status}${code ? ` ${code}` : ''})` : ''}: ${message}`, {
    status,
    code,
    advice,
    cause: error,
  });
}
