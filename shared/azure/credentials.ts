import type { TokenCredential } from '@azure/identity';
import { InputError } from '../core/errors';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { azureSdkProxyPolicy } from '../core/proxy';
import { data, parameter, schemeCredential } from './scheme-credentials';

/**
 * An AzureRM service connection turned into what the Azure SDK clients need: a credential, the ARM URL,
 * the subscription and the token scope. Everything is read from the connection itself, the way Microsoft's
 * own Azure tasks read it (the connection's URL, and the endpoint data `subscriptionId`, `environment`,
 * `environmentAuthorityUrl`, `activeDirectoryServiceEndpointResourceId`), so sovereign clouds and Azure
 * Stack work, and so does an emulator: there is no switch for tests.
 *
 * Schemes: `ServicePrincipal` with a secret (`authenticationType: spnKey`) or a certificate
 * (`spnCertificate`), `WorkloadIdentityFederation` (`AzurePipelinesCredential`: the job's OIDC token for the
 * connection, from `System.OidcRequestUri`, exchanged as a client assertion)
 * and `ManagedServiceIdentity` (the agent machine's identity).
 */

export type AzureAuthScheme =
  'ServicePrincipalSecret' | 'ServicePrincipalCertificate' | 'WorkloadIdentityFederation' | 'ManagedServiceIdentity';

export interface AzureConnection {
  credential: TokenCredential;
  /** Azure Resource Manager URL without a trailing slash, e.g. `https://management.azure.com`. */
  armUrl: string;
  subscriptionId: string;
  tenantId: string;
  /** The token scope for ARM, from the connection's audience, e.g. `https://management.core.windows.net/.default`. */
  credentialScopes: string[];
  /** The cloud's name as the connection gives it (`AzureCloud`, `AzureUSGovernment`, `AzureStack`...). */
  environment: string;
  /** The Entra authority host the credential signs in at. */
  authorityHost: string;
  scheme: AzureAuthScheme;
  /** The service connection's id (used to ask for its OIDC token). */
  connectionId: string;
}

/** What workload identity federation needs of the job; read from the agent when not given. */
export interface JobIdentity {
  /** The job's access token (`System.AccessToken` / SYSTEMVSSCONNECTION), which authorizes the OIDC token request. */
  accessToken?: string;
}

export interface AzureConnectionOptions {
  log: Log;
  /** The task input that names the connection, for messages. */
  inputName?: string;
  /** Overrides what is read from the agent (the rehearsal passes its own). */
  job?: JobIdentity;
  /** False for a connection used only for its identity (Azure DevOps), which need not name a subscription. */
  requireSubscription?: boolean;
}

/** Authority and ARM audience of the public clouds, for connections that do not carry them (older ones). */
const KNOWN_CLOUDS: Record<string, { authority: string; audience: string }> = {
  azurecloud: { authority: 'https://login.microsoftonline.com/', audience: 'https://management.core.windows.net/' },
  azureusgovernment: { authority: 'https://login.microsoftonline.us/', audience: 'https://management.core.usgovcloudapi.net/' },
  azurechinacloud: { authority: 'https://login.chinacloudapi.cn/', audience: 'https://management.core.chinacloudapi.cn/' },
};

/** `https://host/` → `https://host`; a path (Azure Stack, a proxy) is kept. */
function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The `.default` scope of a resource id, the way Azure CLI builds it (`https://x/` → `https://x/.default`). */
export function scopeOf(resourceId: string): string {
  return `${withoutTrailingSlash(resourceId)}/.default`;
}

function schemeOf(endpoint: Endpoint, inputName: string): AzureAuthScheme {
  const scheme = endpoint.scheme.toLowerCase();
  // An AzureRM connection with no scheme is a service principal, as Microsoft's tasks assume.
  if (scheme === 'serviceprincipal' || scheme === '') {
    const type = (parameter(endpoint, 'authenticationType') ?? 'spnKey').toLowerCase();
    if (type === 'spnkey') return 'ServicePrincipalSecret';
    if (type === 'spncertificate') return 'ServicePrincipalCertificate';
    throw new InputError(
      inputName,
      `service connection '${endpoint.id}' has authenticationType '${type}'; expected spnKey or spnCertificate.`,
    );
  }
  if (scheme === 'workloadidentityfederation') return 'WorkloadIdentityFederation';
  if (scheme === 'managedserviceidentity') return 'ManagedServiceIdentity';
  throw new InputError(
    inputName,
    `service connection '${endpoint.id}' uses scheme '${endpoint.scheme}', which is not an Azure Resource Manager scheme this task ` +
      `supports (ServicePrincipal, WorkloadIdentityFederation, ManagedServiceIdentity).`,
  );
}

/** The connection's Entra authority and ARM audience: its own endpoint data, else the public cloud's it names. */
function cloudOf(endpoint: Endpoint, inputName: string, environment: string): { authorityHost: string; audience: string } {
  const known = KNOWN_CLOUDS[environment.toLowerCase()];
  const authorityHost = data(endpoint, 'environmentAuthorityUrl') ?? data(endpoint, 'activeDirectoryAuthority') ?? known?.authority;
  const audience = data(endpoint, 'activeDirectoryServiceEndpointResourceId') ?? known?.audience;
  if (!authorityHost || !audience) {
    throw new InputError(
      inputName,
      `service connection '${endpoint.id}' (environment '${environment}') gives no environmentAuthorityUrl or ` +
        `activeDirectoryServiceEndpointResourceId; recreate it or fill them in.`,
    );
  }
  return { authorityHost, audience };
}

/** Turns a task's AzureRM service connection into a credential, ARM URL, subscription and scope. */
export function azureConnection(endpoint: Endpoint, options: AzureConnectionOptions): AzureConnection {
  const { log } = options;
  const inputName = options.inputName ?? 'azureSubscription';
  const scheme = schemeOf(endpoint, inputName);
  const environment = data(endpoint, 'environment') ?? 'AzureCloud';

  if (!endpoint.url) throw new InputError(inputName, `service connection '${endpoint.id}' has no Azure Resource Manager URL.`);
  const armUrl = withoutTrailingSlash(endpoint.url);
  const subscriptionId = data(endpoint, 'subscriptionId') ?? (options.requireSubscription === false ? '' : undefined);
  if (subscriptionId === undefined) {
    throw new InputError(
      inputName,
      `service connection '${endpoint.id}' is not scoped to a subscription (its endpoint data has no subscriptionId).`,
    );
  }
  const { authorityHost, audience } = cloudOf(endpoint, inputName, environment);
  const tenantId = parameter(endpoint, 'tenantid') ?? '';
  const clientId = parameter(endpoint, 'serviceprincipalid');
  const needsApplication = scheme !== 'ManagedServiceIdentity';
  if (needsApplication && (!tenantId || !clientId)) {
    throw new InputError(inputName, `service connection '${endpoint.id}' lacks its tenant id or service principal id.`);
  }
  const credential = schemeCredential({
    endpoint,
    scheme,
    inputName,
    tenantId,
    clientId,
    authorityHost: withoutTrailingSlash(authorityHost),
    log,
    job: options.job,
  });
  log.debug(
    `Azure connection '${endpoint.id}': ${scheme}, ${environment}, ARM ${armUrl}, authority ${authorityHost}, subscription ` +
      `${subscriptionId}.`,
  );
  return {
    credential,
    armUrl,
    subscriptionId,
    tenantId,
    credentialScopes: [scopeOf(audience)],
    environment,
    authorityHost,
    scheme,
    connectionId: endpoint.id,
  };
}

/**
 * Client options that point an Azure SDK management client at the connection's ARM URL with its scope.
 * Fits both client generations: `endpoint` + `credentialScopes` (`@azure/arm-network`, `@azure/arm-resources`)
 * and `endpoint` + `credentials.scopes` (`@azure/arm-compute` 24).
 */
export function armClientOptions(connection: AzureConnection): {
  endpoint: string;
  credentialScopes: string[];
  credentials: { scopes: string[] };
  userAgentOptions: { userAgentPrefix: string };
  additionalPolicies: Array<{ policy: ReturnType<typeof azureSdkProxyPolicy>; position: 'perRetry' }>;
} {
  return {
    endpoint: connection.armUrl,
    credentialScopes: connection.credentialScopes,
    credentials: { scopes: connection.credentialScopes },
    userAgentOptions: { userAgentPrefix: 'maintenance-window-tasks/1' },
    // The agent's proxy and CA (shared/core/proxy.ts); callers adding policies of their own keep this one.
    additionalPolicies: [{ policy: azureSdkProxyPolicy(), position: 'perRetry' }],
  };
}
