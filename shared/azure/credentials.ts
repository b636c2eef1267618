import type * as Identity from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { InputError } from '../core/errors';
import { pipelineVariable, systemAccessToken, type Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { agentNetwork, azureSdkProxyPolicy } from '../core/proxy';

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

function parameter(endpoint: Endpoint, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(endpoint.parameters)) {
    if (name.toLowerCase() === wanted && value.trim() !== '') return value.trim();
  }
  return undefined;
}

function data(endpoint: Endpoint, key: string): string | undefined {
  const value = endpoint.data(key)?.trim();
  return value ? value : undefined;
}

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

/**
 * The identity SDK, loaded when a credential is first made: it is large, and a step that stops at a bad input
 * (or never signs in) starts without it. A `require` in a function is what keeps it out of the bundle's start.
 */
let identitySdk: typeof Identity | undefined;
function identity(): typeof Identity {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  identitySdk ??= require('@azure/identity') as typeof Identity;
  return identitySdk;
}

/** Registers every line of a PEM's private key too, so no part of it can be printed. */
function maskPem(pem: string, log: Log): void {
  log.addSecret(pem);
  for (const block of pem.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g) ?? []) {
    const body = block.split(/\r?\n/).filter((line) => line && !line.startsWith('-----'));
    for (const line of body) log.addSecret(line.trim());
    log.addSecret(body.join(''));
  }
}

/** Hands out the inner credential's tokens after registering them as secrets. */
class MaskedTokenCredential implements TokenCredential {
  constructor(
    private readonly inner: TokenCredential,
    private readonly log: Log,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const token = await this.inner.getToken(scopes, options);
    if (token) this.log.addSecret(token.token);
    return token;
  }
}

/** Turns a task's AzureRM service connection into a credential, ARM URL, subscription and scope. */
export function azureConnection(endpoint: Endpoint, options: AzureConnectionOptions): AzureConnection {
  const { log } = options;
  const inputName = options.inputName ?? 'azureSubscription';
  const scheme = schemeOf(endpoint, inputName);
  const environment = data(endpoint, 'environment') ?? 'AzureCloud';
  const known = KNOWN_CLOUDS[environment.toLowerCase()];

  if (!endpoint.url) throw new InputError(inputName, `service connection '${endpoint.id}' has no Azure Resource Manager URL.`);
  const armUrl = withoutTrailingSlash(endpoint.url);
  const subscriptionId = data(endpoint, 'subscriptionId') ?? (options.requireSubscription === false ? '' : undefined);
  if (subscriptionId === undefined) {
    throw new InputError(
      inputName,
      `service connection '${endpoint.id}' is not scoped to a subscription (its endpoint data has no subscriptionId).`,
    );
  }
  const authorityHost = data(endpoint, 'environmentAuthorityUrl') ?? data(endpoint, 'activeDirectoryAuthority') ?? known?.authority;
  const audience = data(endpoint, 'activeDirectoryServiceEndpointResourceId') ?? known?.audience;
  if (!authorityHost || !audience) {
    throw new InputError(
      inputName,
      `service connection '${endpoint.id}' (environment '${environment}') gives no environmentAuthorityUrl or ` +
        `activeDirectoryServiceEndpointResourceId; recreate it or fill them in.`,
    );
  }
  const tenantId = parameter(endpoint, 'tenantid') ?? '';
  const clientId = parameter(endpoint, 'serviceprincipalid');
  const needsApplication = scheme !== 'ManagedServiceIdentity';
  if (needsApplication && (!tenantId || !clientId)) {
    throw new InputError(inputName, `service connection '${endpoint.id}' lacks its tenant id or service principal id.`);
  }
  // The authority is our own (the connection's), so MSAL must not ask a public Microsoft URL to validate it.
  // The agent's proxy for Entra and the OIDC token, per request URL (see shared/core/proxy.ts).
  const identityOptions = {
    authorityHost: withoutTrailingSlash(authorityHost),
    disableInstanceDiscovery: true,
    additionalPolicies: [{ policy: azureSdkProxyPolicy(agentNetwork(log)), position: 'perRetry' as const }],
  };

  let credential: TokenCredential;
  switch (scheme) {
    case 'ServicePrincipalSecret': {
      const secret = parameter(endpoint, 'serviceprincipalkey');
      if (!secret) throw new InputError(inputName, `service connection '${endpoint.id}' has no service principal key.`);
      log.addSecret(secret);
      credential = new (identity().ClientSecretCredential)(tenantId, clientId!, secret, identityOptions);
      break;
    }
    case 'ServicePrincipalCertificate': {
      const pem = parameter(endpoint, 'servicePrincipalCertificate');
      if (!pem || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) || !/-----BEGIN CERTIFICATE-----/.test(pem)) {
        throw new InputError(inputName, `service connection '${endpoint.id}' needs a PEM certificate with its private key.`);
      }
      maskPem(pem, log);
      credential = new (identity().ClientCertificateCredential)(tenantId, clientId!, { certificate: pem }, identityOptions);
      break;
    }
    case 'WorkloadIdentityFederation': {
      // AzurePipelinesCredential asks System.OidcRequestUri (the job's `oidctoken` endpoint, agent 3.232.1 or
      // later) for the connection's OIDC token with the job's access token, and hands it to Entra as the assertion.
      const accessToken = options.job?.accessToken ?? systemAccessToken(log);
      if (!pipelineVariable('System.OidcRequestUri')) {
        throw new InputError(
          inputName,
          `service connection '${endpoint.id}' uses workload identity federation, but this agent gives no System.OidcRequestUri (agent 3.232.1 or later is needed).`,
        );
      }
      if (!accessToken) {
        throw new InputError(
          inputName,
          `service connection '${endpoint.id}' uses workload identity federation, which needs the job's access token ` +
            `(System.AccessToken), and the job has none.`,
        );
      }
      log.addSecret(accessToken);
      credential = new (identity().AzurePipelinesCredential)(tenantId, clientId!, endpoint.id, accessToken, identityOptions);
      break;
    }
    case 'ManagedServiceIdentity': {
      // A user-assigned identity is named by its client id; none means the machine's system-assigned one.
      const msiClientId = data(endpoint, 'msiclientId');
      credential = msiClientId
        ? new (identity().ManagedIdentityCredential)({ clientId: msiClientId })
        : new (identity().ManagedIdentityCredential)();
      break;
    }
  }
  log.debug(
    `Azure connection '${endpoint.id}': ${scheme}, ${environment}, ARM ${armUrl}, authority ${authorityHost}, subscription ` +
      `${subscriptionId}.`,
  );
  return {
    credential: new MaskedTokenCredential(credential, log),
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
