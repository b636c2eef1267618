import * as crypto from 'node:crypto';
import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/**
 * Microsoft Entra ID as the Azure SDK sees it, plus the two token sources next to it:
 * - Entra (HTTPS): `/{tenant}/v2.0/.well-known/openid-configuration` and `/{tenant}/oauth2/v2.0/token` for the
 *   client-credentials grant with a client secret, a certificate-signed assertion (RS256 or PS256, checked
 *   against the registered certificate) or a federated assertion (an OIDC token from Azure DevOps, checked
 *   against its issuer key, issuer, subject and audience).
 * - Azure DevOps' `oidctoken` endpoint (same server): the job's OIDC token for a service connection, given
 *   only for the job's access token.
 * - `ImdsEmulator` (plain HTTP, like the real 169.254.169.254): managed identity tokens.
 * Every access token it hands out is recorded with its client and audience, so ARM can check what it gets.
 */

export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export interface IssuedToken {
  tenantId: string;
  clientId: string;
  /** The resource the token is for, e.g. `https://management.core.windows.net/`. */
  audience: string;
  /** How the client proved itself. */
  via: 'secret' | 'certificate' | 'federated' | 'managedIdentity';
  expiresAt: number;
}

interface Application {
  tenantId: string;
  clientId: string;
  secrets: Set<string>;
  /** Registered certificates by their SHA-1 and SHA-256 thumbprints (base64url), as a JWT header names them. */
  certificates: Map<string, crypto.KeyObject>;
  federated: Array<{ issuer: string; subject: string; audience: string }>;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

function decodeJwt(token: string): { header: any; payload: any; signed: string; signature: Buffer } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
      signed: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], 'base64url'),
    };
  } catch {
    return undefined;
  }
}

function verifyRsa(alg: string, key: crypto.KeyObject, signed: string, signature: Buffer): boolean {
  if (alg === 'RS256') return crypto.verify('sha256', Buffer.from(signed), key, signature);
  if (alg === 'PS256') {
    return crypto.verify(
      'sha256',
      Buffer.from(signed),
      { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      signature,
    );
  }
  return false;
}

function oauthError(status: number, error: string, code: number, description: string): EmulatorResponse {
  return {
    status,
    body: { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString() },
  };
}

export class EntraEmulator extends Emulator {
  private readonly applications = new Map<string, Application>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly oidcTokens: string[] = [];
  /** Azure DevOps side: the job tokens it accepts and the OIDC subject of each service connection. */
  private readonly jobTokens = new Set<string>();
  private readonly connectionSubjects = new Map<string, string>();
  private readonly issuerKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  /** The OIDC issuer Azure DevOps signs job tokens as (`https://vstoken.dev.azure.com/{organization id}`). */
  readonly oidcIssuer = 'https://vstoken.dev.azure.com/5c3d2a1e-0000-4000-8000-00000000d0e5';
  tokenLifetimeSeconds = 3600;
  /** Client secrets past their end date: still registered, refused as Entra refuses an expired secret. */
  private readonly expiredSecrets = new Set<string>();

  constructor() {
    super({ name: 'Entra', https: true });
    this.onReset(() => {
      this.tokens.clear();
      this.oidcTokens.length = 0;
      this.expiredSecrets.clear();
    });

    this.route('GET', '/:tenant/v2.0/.well-known/openid-configuration', ({ params }) => ({
      body: this.openIdConfiguration(params.tenant),
    }));
    this.route('POST', '/:tenant/oauth2/v2.0/token', (request) => this.token(request));
    this.route('POST', '/:organization/:project/_apis/distributedtask/hubs/:hub/plans/:plan/jobs/:job/oidctoken', (request) =>
      this.oidcToken(request),
    );
  }

  /** Lets a registered client secret expire (AADSTS7000222 on its next sign-in) until the next reset. */
  expireClientSecret(secret: string): this {
    this.expiredSecrets.add(secret);
    return this;
  }

  /** Registers an application (service principal) that signs in with a client secret. */
  addClientSecret(tenantId: string, clientId: string, secret: string): this {
    this.application(tenantId, clientId).secrets.add(secret);
    return this;
  }

  /** Registers an application's certificate (PEM; the private key, if included, is ignored). */
  addClientCertificate(tenantId: string, clientId: string, pem: string): this {
    const certificate = new crypto.X509Certificate(pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]);
    const der = certificate.raw;
    const app = this.application(tenantId, clientId);
    app.certificates.set(base64url(crypto.createHash('sha1').update(der).digest()), certificate.publicKey);
    app.certificates.set(base64url(crypto.createHash('sha256').update(der).digest()), certificate.publicKey);
    return this;
  }

  /**
   * Registers a federated credential for a service connection: the application trusts Azure DevOps' OIDC
   * tokens whose subject is `sc://{organization}/{project}/{connection name}`.
   */
  addFederatedCredential(tenantId: string, clientId: string, connectionId: string, subject: string): this {
    this.application(tenantId, clientId).federated.push({ issuer: this.oidcIssuer, subject, audience: FEDERATION_AUDIENCE });
    this.connectionSubjects.set(connectionId, subject);
    return this;
  }

  /** Registers a job access token (what `System.AccessToken` holds) that the `oidctoken` endpoint accepts. */
  addJobAccessToken(token: string): this {
    this.jobTokens.add(token);
    return this;
  }

  /** The `System.OidcRequestUri` of a job of this emulated organization. */
  oidcRequestUri(ids: { organization?: string; projectId?: string; planId?: string; jobId?: string } = {}): string {
    const {
      organization = 'contoso',
      projectId = '0f3b2c8e-1111-4a2b-9c3d-5e6f7a8b9c0d',
      planId = '4a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a5b',
      jobId = '9e8d7c6b-3333-4a5b-9c8d-7e6f5a4b3c2d',
    } = ids;
    return `${this.url}/${organization}/${projectId}/_apis/distributedtask/hubs/build/plans/${planId}/jobs/${jobId}/oidctoken`;
  }

  /** Records a token handed out by another source of this emulated cloud (the IMDS emulator). */
  issue(grant: Omit<IssuedToken, 'expiresAt'>): { token: string; expiresIn: number } {
    const token = `eyJ0eXAiOiJKV1Qi.${base64url(crypto.randomBytes(48))}.${base64url(crypto.randomBytes(32))}`;
    this.tokens.set(token, { ...grant, expiresAt: Date.now() + this.tokenLifetimeSeconds * 1000 });
    return { token, expiresIn: this.tokenLifetimeSeconds };
  }

  /** What a bearer token was issued for, or why it is refused. */
  check(authorization: string | undefined, audience: string): { ok: true; grant: IssuedToken } | { ok: false; reason: string } {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'The request has no bearer token.' };
    const grant = this.tokens.get(match[1]);
    if (!grant) return { ok: false, reason: 'The access token is invalid.' };
    if (grant.expiresAt < Date.now()) return { ok: false, reason: 'The access token has expired.' };
    if (trimSlash(grant.audience) !== trimSlash(audience)) {
      return { ok: false, reason: `The access token has audience '${grant.audience}', but this service expects '${audience}'.` };
    }
    return { ok: true, grant };
  }

  /** Every token handed out, access tokens and OIDC tokens (for tests that check none reached the output). */
  issuedTokens(): string[] {
    return [...this.tokens.keys(), ...this.oidcTokens];
  }

  /** How the access tokens handed out were obtained. */
  grants(): IssuedToken[] {
    return [...this.tokens.values()];
  }

  private application(tenantId: string, clientId: string): Application {
    const key = `${tenantId}/${clientId}`.toLowerCase();
    let app = this.applications.get(key);
    if (!app) {
      app = { tenantId, clientId, secrets: new Set(), certificates: new Map(), federated: [] };
      this.applications.set(key, app);
    }
    return app;
  }

  private openIdConfiguration(tenant: string): Record<string, unknown> {
    const base = `${this.url}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${this.url}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${this.url}/${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.url}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid'],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    };
  }

  private token(request: EmulatorRequest): EmulatorResponse {
    const form = (typeof request.body === 'object' && request.body) || {};
    const tenantId: string = request.params.tenant;
    const clientId: string | undefined = form.client_id;
    if (form.grant_type !== 'client_credentials')
      return oauthError(400, 'unsupported_grant_type', 70003, `The grant type '${form.grant_type}' is not supported.`);
    if (!clientId) return oauthError(400, 'invalid_request', 900144, "The request body must contain the parameter 'client_id'.");
    const scope: string = form.scope ?? '';
    const resource = scope.split(' ').find((item) => item.endsWith('/.default'));
    if (!resource)
      return oauthError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope '${scope}' is not valid; client credentials need a '/.default' scope.`,
      );
    const app = this.applications.get(`${tenantId}/${clientId}`.toLowerCase());
    if (!app)
      return oauthError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`,
      );

    let via: IssuedToken['via'];
    if (form.client_secret !== undefined) {
      if (!app.secrets.has(form.client_secret)) return oauthError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
      if (this.expiredSecrets.has(form.client_secret)) {
        return oauthError(
          401,
          'invalid_client',
          7000222,
          `The provided client secret keys for app '${clientId}' are expired. ` +
            'Create new keys for the app, or consider using certificate credentials.',
        );
      }
      via = 'secret';
    } else if (form.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' && form.client_assertion) {
      const refusal = this.checkAssertion(app, form.client_assertion, `${this.url}/${tenantId}/oauth2/v2.0/token`);
      if (typeof refusal === 'string') return oauthError(401, 'invalid_client', 700027, refusal);
      via = refusal.via;
    } else {
      return oauthError(401, 'invalid_client', 7000218, "The request body must contain 'client_assertion' or 'client_secret'.");
    }
    const audience = resource.slice(0, -'.default'.length);
    const { token, expiresIn } = this.issue({ tenantId, clientId, audience, via });
    return { body: { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token } };
  }

  /** Checks a client assertion: a certificate-signed JWT of the application, or a federated OIDC token. */
  private checkAssertion(app: Application, assertion: string, tokenEndpoint: string): { via: 'certificate' | 'federated' } | string {
    const jwt = decodeJwt(assertion);
    if (!jwt) return 'Client assertion is not a JWT.';
    const now = Math.floor(Date.now() / 1000);
    if (typeof jwt.payload.exp !== 'number' || jwt.payload.exp < now) return 'Client assertion has expired.';
    const thumbprint: string | undefined = jwt.header['x5t#S256'] ?? jwt.header.x5t;
    if (thumbprint) {
      const key = app.certificates.get(thumbprint);
      if (!key)
        return (
          `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: ` +
          `'${thumbprint}']`
        );
      if (!verifyRsa(jwt.header.alg, key, jwt.signed, jwt.signature)) return 'Client assertion contains an invalid signature.';
      if (jwt.payload.iss !== app.clientId || jwt.payload.sub !== app.clientId)
        return 'Client assertion issuer and subject must be the client id.';
      if (jwt.payload.aud !== tokenEndpoint)
        return `Client assertion audience '${jwt.payload.aud}' is not the token endpoint '${tokenEndpoint}'.`;
      return { via: 'certificate' };
    }
    if (!verifyRsa(jwt.header.alg, this.issuerKey.publicKey, jwt.signed, jwt.signature))
      return 'Federated assertion has an invalid signature for its issuer.';
    const audiences: string[] = Array.isArray(jwt.payload.aud) ? jwt.payload.aud : [jwt.payload.aud];
    const match = app.federated.find(
      (credential) =>
        credential.issuer === jwt.payload.iss && credential.subject === jwt.payload.sub && audiences.includes(credential.audience),
    );
    if (!match) {
      return (
        `No matching federated identity record found for presented assertion issuer '${jwt.payload.iss}' with subject ` +
        `'${jwt.payload.sub}'.`
      );
    }
    return { via: 'federated' };
  }

  private oidcToken(request: EmulatorRequest): EmulatorResponse {
    const job = /^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''));
    if (!job || !this.jobTokens.has(job[1])) {
      return {
        status: 401,
        body: { message: 'TF400813: The user is not authorized to access this resource.', typeKey: 'UnauthorizedRequestException' },
      };
    }
    const connectionId = request.query.get('serviceConnectionId') ?? '';
    const subject = this.connectionSubjects.get(connectionId);
    if (!subject) {
      return {
        status: 400,
        body: {
          message: `Service connection ${connectionId} does not use workload identity federation.`,
          typeKey: 'InvalidServiceEndpointException',
        },
      };
    }
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'emulator-issuer' }));
    const payload = base64url(
      JSON.stringify({
        jti: crypto.randomUUID(),
        sub: subject,
        aud: FEDERATION_AUDIENCE,
        iss: this.oidcIssuer,
        nbf: now,
        iat: now,
        exp: now + 600,
      }),
    );
    const signature = base64url(crypto.sign('sha256', Buffer.from(`${header}.${payload}`), this.issuerKey.privateKey));
    const oidcToken = `${header}.${payload}.${signature}`;
    this.oidcTokens.push(oidcToken);
    return { body: { oidcToken } };
  }
}

function trimSlash(value: string): string {
  return value.replace(/\/+$/, '').toLowerCase();
}

/**
 * The Azure Instance Metadata Service's token endpoint, for managed identity. Plain HTTP like the real one;
 * the SDK is pointed at it the way AKS pod identity points it elsewhere (`AZURE_POD_IDENTITY_AUTHORITY_HOST`).
 */
export class ImdsEmulator extends Emulator {
  /** Client ids of the identities assigned to this "machine"; the first is the system-assigned one. */
  readonly identities: Array<{ clientId: string; tenantId: string }> = [];

  constructor(private readonly entra: EntraEmulator) {
    super({ name: 'IMDS', https: false });
    this.route('GET', '/metadata/identity/oauth2/token', (request) => {
      if (request.headers.metadata !== 'true')
        return { status: 400, body: { error: 'invalid_request', error_description: 'Required metadata header not specified' } };
      const resource = request.query.get('resource');
      if (!resource)
        return { status: 400, body: { error: 'invalid_request', error_description: 'Required query variable resource is missing' } };
      const wanted = request.query.get('client_id');
      const identity = wanted ? this.identities.find((candidate) => candidate.clientId === wanted) : this.identities[0];
      if (!identity) return { status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } };
      const { token, expiresIn } = this.entra.issue({
        tenantId: identity.tenantId,
        clientId: identity.clientId,
        audience: resource,
        via: 'managedIdentity',
      });
      return {
        body: {
          access_token: token,
          client_id: identity.clientId,
          expires_in: String(expiresIn),
          expires_on: String(Math.floor(Date.now() / 1000) + expiresIn),
          ext_expires_in: String(expiresIn),
          not_before: String(Math.floor(Date.now() / 1000)),
          resource,
          token_type: 'Bearer',
        },
      };
    });
  }

  /** The environment that points the Azure SDK's managed identity at this emulator. */
  environment(): Record<string, string> {
    return { AZURE_POD_IDENTITY_AUTHORITY_HOST: this.url };
  }
}
