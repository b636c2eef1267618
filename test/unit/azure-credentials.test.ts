import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { generate } from 'selfsigned';
import { azureConnection, scopeOf } from '../../shared/azure/credentials';
import { setWriter, type Writer } from '../../shared/core/commands';
import { InputError } from '../../shared/core/errors';
import type { Endpoint } from '../../shared/core/inputs';
import { Log } from '../../shared/core/log';
import { ArmEmulator } from '../emulators/arm';
import { EntraEmulator, ImdsEmulator } from '../emulators/entra';
import { newWorkDirectory, parseRun, repoRoot, taskEnvironment, type EndpointSpec, type TaskRun } from '../helpers/task-runner';

const TENANT = '72f988bf-0000-4000-8000-00000000a1b2';
const AUDIENCE = 'https://management.emulator.test/';
const SECRET = 'Sp~8Q~secret-value-for-the-emulator_0123456789';
const JOB_TOKEN = 'job-access-token-eyJhbGciOi-0123456789abcdef';
const CLIENTS = {
  secret: 'a0000000-0000-4000-8000-000000000001',
  certificate: 'a0000000-0000-4000-8000-000000000002',
  federated: 'a0000000-0000-4000-8000-000000000003',
  managed: 'a0000000-0000-4000-8000-000000000004',
};
const CONNECTIONS = {
  secret: 'c0000000-0000-4000-8000-0000000000a1',
  certificate: 'c0000000-0000-4000-8000-0000000000a2',
  federated: 'c0000000-0000-4000-8000-0000000000a3',
  managed: 'c0000000-0000-4000-8000-0000000000a4',
};

/** Runs the probe (test/helpers/azure-connection-probe.ts) in a child process, as a task would run. */
async function probe(options: {
  endpoints: Record<string, EndpointSpec>;
  variables?: Record<string, string>;
  env?: Record<string, string>;
}): Promise<{ run: TaskRun; results: any[] }> {
  const workDirectory = newWorkDirectory('mw-azure-probe-');
  const inputs = Object.fromEntries(Object.keys(options.endpoints).map((id) => [`conn_${id.slice(-2)}`, id]));
  const env = await taskEnvironment(
    { inputs, endpoints: options.endpoints, variables: options.variables, env: options.env },
    workDirectory,
  );
  const script = path.join(repoRoot, 'test', 'helpers', 'azure-connection-probe.ts');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', script, 'rg-web-prd', 'agw-pri-appgateway0-prd', ...Object.keys(inputs)], {
    env,
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const started = Date.now();
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  const run = parseRun('probe', stdout, stderr, code, signal, false, Date.now() - started, workDirectory);
  const results = run.lines.filter((line) => line.startsWith('PROBE ')).map((line) => JSON.parse(line.slice('PROBE '.length)));
  return { run, results };
}

function endpoint(overrides: Partial<Endpoint> & { dataValues?: Record<string, string> } = {}): Endpoint {
  const values: Record<string, string> = {
    subscriptionId: '11111111-2222-4333-8444-555555555555',
    environment: 'AzureCloud',
    ...overrides.dataValues,
  };
  return {
    id: 'conn',
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    parameters: { tenantid: TENANT, serviceprincipalid: CLIENTS.secret, serviceprincipalkey: SECRET, authenticationType: 'spnKey' },
    data: (key) => Object.entries(values).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1],
    ...overrides,
  };
}

describe('Azure credentials from an AzureRM service connection', function () {
  describe('reading the connection', () => {
    // What these print (the secret registrations) is checked in the child-process tests below.
    let restoreWriter: Writer | undefined;
    before(() => (restoreWriter = setWriter(() => undefined)));
    after(() => restoreWriter && setWriter(restoreWriter));
    const quiet = () => new Log();

    it('takes the ARM URL, subscription, authority and audience from the connection', () => {
      const connection = azureConnection(
        endpoint({
          url: 'https://management.usgovcloudapi.net/',
          dataValues: {
            environment: 'AzureUSGovernment',
            environmentAuthorityUrl: 'https://login.microsoftonline.us/',
            activeDirectoryServiceEndpointResourceId: 'https://management.core.usgovcloudapi.net/',
          },
        }),
        { log: quiet() },
      );
      assert.equal(connection.armUrl, 'https://management.usgovcloudapi.net');
      assert.equal(connection.authorityHost, 'https://login.microsoftonline.us/');
      assert.deepEqual(connection.credentialScopes, ['https://management.core.usgovcloudapi.net/.default']);
      assert.equal(connection.subscriptionId, '11111111-2222-4333-8444-555555555555');
      assert.equal(connection.scheme, 'ServicePrincipalSecret');
    });

    it('falls back to the public cloud of the named environment when the connection omits authority and audience', () => {
      const connection = azureConnection(
        endpoint({ dataValues: { environment: 'AzureChinaCloud' }, url: 'https://management.chinacloudapi.cn' }),
        { log: quiet() },
      );
      assert.equal(connection.authorityHost, 'https://login.chinacloudapi.cn/');
      assert.deepEqual(connection.credentialScopes, ['https://management.core.chinacloudapi.cn/.default']);
    });

    it('builds .default scopes the way Azure CLI does', () => {
      assert.equal(scopeOf('https://management.core.windows.net/'), 'https://management.core.windows.net/.default');
      assert.equal(scopeOf('https://management.azure.com'), 'https://management.azure.com/.default');
    });

    it('refuses a connection it cannot use, naming the input, before any call', () => {
      const cases: Array<[Endpoint, RegExp]> = [
        [endpoint({ scheme: 'UsernamePassword' }), /Input 'azureSubscription': .*scheme 'UsernamePassword'/],
        [endpoint({ dataValues: { subscriptionId: '' } }), /not scoped to a subscription/],
        [
          endpoint({ dataValues: { environment: 'AzureStack' } }),
          /gives no environmentAuthorityUrl or activeDirectoryServiceEndpointResourceId/,
        ],
        [
          endpoint({ parameters: { tenantid: TENANT, serviceprincipalid: CLIENTS.secret, authenticationType: 'spnKey' } }),
          /no service principal key/,
        ],
        [
          endpoint({
            parameters: {
              tenantid: TENANT,
              serviceprincipalid: CLIENTS.secret,
              authenticationType: 'spnCertificate',
              servicePrincipalCertificate: 'not a pem',
            },
          }),
          /PEM certificate with its private key/,
        ],
        [
          endpoint({ parameters: { tenantid: TENANT, serviceprincipalid: CLIENTS.secret, authenticationType: 'spnPassword' } }),
          /authenticationType 'spnpassword'/,
        ],
        [
          endpoint({ scheme: 'WorkloadIdentityFederation', parameters: { tenantid: TENANT, serviceprincipalid: CLIENTS.federated } }),
          /System.OidcRequestUri|System.AccessToken/,
        ],
      ];
      for (const [connection, message] of cases) {
        assert.throws(
          () => azureConnection(connection, { log: quiet() }),
          (error: unknown) => {
            assert.ok(error instanceof InputError, String(error));
            assert.match((error as Error).message, message);
            return true;
          },
        );
      }
    });
  });

  describe('every scheme gets a token from the Entra emulator and reads ARM (child process, real SDK)', function () {
    const entra = new EntraEmulator();
    const imds = new ImdsEmulator(entra);
    const arm = new ArmEmulator(entra, { audience: AUDIENCE });
    let pem = '';

    before(async () => {
      await Promise.all([entra.start(), imds.start(), arm.start()]);
      const certificate = await generate([{ name: 'commonName', value: 'maintenance-window-deployer' }], {
        keySize: 2048,
        algorithm: 'sha256',
      });
      pem = `${certificate.private}\n${certificate.cert}`;
      entra
        .addClientSecret(TENANT, CLIENTS.secret, SECRET)
        .addClientCertificate(TENANT, CLIENTS.certificate, certificate.cert)
        .addFederatedCredential(TENANT, CLIENTS.federated, CONNECTIONS.federated, 'sc://contoso/platform/azure-maintenance')
        .addJobAccessToken(JOB_TOKEN);
      imds.identities.push({ clientId: CLIENTS.managed, tenantId: TENANT });
    });
    after(() => Promise.all([entra.stop(), imds.stop(), arm.stop()]));
    beforeEach(() => {
      entra.reset();
      imds.reset();
      arm.reset();
      arm.addGateway({ resourceGroup: 'rg-web-prd', name: 'agw-pri-appgateway0-prd', pools: [{ name: 'web', addresses: ['10.0.2.4'] }] });
    });

    function connection(scheme: string, parameters: Record<string, string>): EndpointSpec {
      return {
        url: `${arm.url}/`,
        scheme,
        parameters: { tenantid: TENANT, ...parameters },
        data: {
          subscriptionId: arm.subscriptionId,
          subscriptionName: 'Production',
          environment: 'AzureCloud',
          scopeLevel: 'Subscription',
          environmentAuthorityUrl: `${entra.url}/`,
          activeDirectoryServiceEndpointResourceId: AUDIENCE,
        },
      };
    }

    it('service principal with a secret, with a certificate, workload identity federation and managed identity', async () => {
      const { run, results } = await probe({
        endpoints: {
          [CONNECTIONS.secret]: connection('ServicePrincipal', {
            serviceprincipalid: CLIENTS.secret,
            serviceprincipalkey: SECRET,
            authenticationType: 'spnKey',
          }),
          [CONNECTIONS.certificate]: connection('ServicePrincipal', {
            serviceprincipalid: CLIENTS.certificate,
            servicePrincipalCertificate: pem,
            authenticationType: 'spnCertificate',
          }),
          [CONNECTIONS.federated]: connection('WorkloadIdentityFederation', {
            serviceprincipalid: CLIENTS.federated,
            workloadIdentityFederationSubject: 'sc://contoso/platform/azure-maintenance',
            workloadIdentityFederationIssuer: entra.oidcIssuer,
          }),
          [CONNECTIONS.managed]: connection('ManagedServiceIdentity', {}),
        },
        variables: { 'System.OidcRequestUri': entra.oidcRequestUri() },
        env: {
          ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({ scheme: 'OAuth', parameters: { AccessToken: JOB_TOKEN } }),
          ...imds.environment(),
        },
      });
      assert.equal(results.length, 4, run.stdout + run.stderr);
      for (const result of results) {
        assert.equal(result.error, undefined, `${result.inputName}: ${result.error}`);
        assert.equal(result.gateway, 'agw-pri-appgateway0-prd');
        assert.deepEqual(result.scopes, [`${AUDIENCE}.default`]);
        assert.equal(result.armUrl, arm.url);
      }
      assert.deepEqual(
        results.map((result) => result.scheme),
        ['ServicePrincipalSecret', 'ServicePrincipalCertificate', 'WorkloadIdentityFederation', 'ManagedServiceIdentity'],
      );
      assert.deepEqual(
        entra
          .grants()
          .map((grant) => grant.via)
          .sort(),
        ['certificate', 'federated', 'managedIdentity', 'secret'],
      );
      assert.ok(
        entra.grants().every((grant) => grant.audience.replace(/\/$/, '') === AUDIENCE.replace(/\/$/, '')),
        "every token is for the connection's audience",
      );
      // The SDK asks for the assertion each time it builds a token request (twice for the first token).
      assert.ok(entra.calls('POST', /oidctoken$/).length >= 1, "the federated connection used the job's OIDC token");
      assert.ok(
        entra
          .calls('POST', /oidctoken$/)
          .every((call) => call.query.serviceConnectionId === CONNECTIONS.federated && call.query['api-version'] === '7.1'),
      );
      assert.equal(
        entra.calls('GET', /openid-configuration/).length >= 3,
        true,
        "authority metadata from the connection's authority, no instance discovery",
      );

      const secrets = [
        SECRET,
        JOB_TOKEN,
        ...entra.issuedTokens(),
        ...pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
      ];
      for (const secret of secrets)
        assert.ok(!run.visibleOutput.includes(secret), `a secret reached the output: ${secret.slice(0, 12)}...`);
      assert.ok(run.secrets.includes(SECRET) && run.secrets.includes(JOB_TOKEN), 'the agent is told to mask the secrets');
    });

    it("a wrong secret fails with Entra's reason and without the secret in the output", async () => {
      const wrong = 'Sp~8Q~this-is-not-the-registered-secret-000';
      const { run, results } = await probe({
        endpoints: {
          [CONNECTIONS.secret]: connection('ServicePrincipal', {
            serviceprincipalid: CLIENTS.secret,
            serviceprincipalkey: wrong,
            authenticationType: 'spnKey',
          }),
        },
      });
      assert.equal(results.length, 1, run.stdout + run.stderr);
      assert.match(results[0].error, /AADSTS7000215|Invalid client secret/);
      assert.ok(!run.visibleOutput.includes(wrong));
      assert.equal(arm.journal.length, 0, 'ARM was never called without a token');
    });

    it('ARM refuses a token for another audience, so the scope really comes from the connection', async () => {
      const other = connection('ServicePrincipal', {
        serviceprincipalid: CLIENTS.secret,
        serviceprincipalkey: SECRET,
        authenticationType: 'spnKey',
      });
      other.data!.activeDirectoryServiceEndpointResourceId = 'https://management.core.windows.net/';
      const { run, results } = await probe({ endpoints: { [CONNECTIONS.secret]: other } });
      assert.match(results[0].error, /audience 'https:\/\/management.core.windows.net\/'/, run.stdout);
      assert.ok(arm.calls('GET').every((call) => call.status === 401));
    });
  });
});
