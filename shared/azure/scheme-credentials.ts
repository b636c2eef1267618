import type * as Identity from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { InputError } from '../core/errors';
import { pipelineVariable, systemAccessToken, type Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { agentNetwork, azureSdkProxyPolicy } from '../core/proxy';
import type { AzureAuthScheme, JobIdentity } from './credentials';
import { loadAzureIdentity } from '../core/lazy';

/** The Azure SDK credential for each scheme of an AzureRM connection, its secrets registered before use. */

/** A connection parameter (authorization), matched without case; blank is none. */
export function parameter(endpoint: Endpoint, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(endpoint.parameters)) {
    if (name.toLowerCase() === wanted && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** An endpoint data value; blank is none. */
export function data(endpoint: Endpoint, key: string): string | undefined {
  const value = endpoint.data(key)?.trim();
  return value ? value : undefined;
}

/**
 * The identity SDK, loaded when a credential is first made: it is large, and a step that stops at a bad input
 * (or never signs in) starts without it.
 */
function identity(): typeof Identity {
  return loadAzureIdentity();
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

export interface SchemeCredentialOptions {
  endpoint: Endpoint;
  scheme: AzureAuthScheme;
  inputName: string;
  tenantId: string;
  /** The service principal's id (every scheme but managed identity). */
  clientId?: string;
  /** Without a trailing slash. */
  authorityHost: string;
  log: Log;
  job?: JobIdentity;
}

type IdentityOptions = ReturnType<typeof identityOptions>;

/** The authority is our own (the connection's), so MSAL must not ask a public Microsoft URL to validate it. */
function identityOptions(authorityHost: string, log: Log) {
  // The agent's proxy for Entra and the OIDC token, per request URL (see shared/core/proxy.ts).
  return {
    authorityHost,
    disableInstanceDiscovery: true,
    additionalPolicies: [{ policy: azureSdkProxyPolicy(agentNetwork(log)), position: 'perRetry' as const }],
  };
}

function secretCredential(o: SchemeCredentialOptions, options: IdentityOptions): TokenCredential {
  const secret = parameter(o.endpoint, 'serviceprincipalkey');
  if (!secret) throw new InputError(o.inputName, `service connection '${o.endpoint.id}' has no service principal key.`);
  o.log.addSecret(secret);
  return new (identity().ClientSecretCredential)(o.tenantId, o.clientId!, secret, options);
}

function certificateCredential(o: SchemeCredentialOptions, options: IdentityOptions): TokenCredential {
  const pem = parameter(o.endpoint, 'servicePrincipalCertificate');
  if (!pem || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) || !/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new InputError(o.inputName, `service connection '${o.endpoint.id}' needs a PEM certificate with its private key.`);
  }
  maskPem(pem, o.log);
  return new (identity().ClientCertificateCredential)(o.tenantId, o.clientId!, { certificate: pem }, options);
}

function federatedCredential(o: SchemeCredentialOptions, options: IdentityOptions): TokenCredential {
  // AzurePipelinesCredential asks System.OidcRequestUri (the job's `oidctoken` endpoint, agent 3.232.1 or
  // later) for the connection's OIDC token with the job's access token, and hands it to Entra as the assertion.
  const accessToken = o.job?.accessToken ?? systemAccessToken(o.log);
  if (!pipelineVariable('System.OidcRequestUri')) {
    throw new InputError(
      o.inputName,
      `service connection '${o.endpoint.id}' uses workload identity federation, but this agent gives no System.OidcRequestUri ` +
        `(agent 3.232.1 or later is needed).`,
    );
  }
  if (!accessToken) {
    throw new InputError(
      o.inputName,
      `service connection '${o.endpoint.id}' uses workload identity federation, which needs the job's access token ` +
        `(System.AccessToken), and the job has none.`,
    );
  }
  o.log.addSecret(accessToken);
  return new (identity().AzurePipelinesCredential)(o.tenantId, o.clientId!, o.endpoint.id, accessToken, options);
}

function managedIdentityCredential(o: SchemeCredentialOptions): TokenCredential {
  // A user-assigned identity is named by its client id; none means the machine's system-assigned one.
  const msiClientId = data(o.endpoint, 'msiclientId');
  return msiClientId ? new (identity().ManagedIdentityCredential)({ clientId: msiClientId }) : new (identity().ManagedIdentityCredential)();
}

/** The credential of the connection's scheme; every token it hands out is registered as a secret first. */
export function schemeCredential(o: SchemeCredentialOptions): TokenCredential {
  const options = identityOptions(o.authorityHost, o.log);
  const make = {
    ServicePrincipalSecret: () => secretCredential(o, options),
    ServicePrincipalCertificate: () => certificateCredential(o, options),
    WorkloadIdentityFederation: () => federatedCredential(o, options),
    ManagedServiceIdentity: () => managedIdentityCredential(o),
  }[o.scheme];
  return new MaskedTokenCredential(make(), o.log);
}
