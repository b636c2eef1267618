import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { AZURE_DEVOPS_RESOURCE } from '../../shared/azure/devops-identity';
import { loadPlan } from '../../shared/plan/plan';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { EntraEmulator } from '../emulators/entra';
import { repoRoot, runBundledTask, type EndpointSpec, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/**
 * RescheduleJobsV1, RunChangesV1 and RunPipelineV1 on an Azure DevOps workload identity connection (no PAT):
 * an AzureRM connection with workload identity federation, whose OIDC token from the job's `oidctoken`
 * endpoint is exchanged at Entra for a token for Azure DevOps' resource, which the emulated organization accepts.
 */
describe('the Azure DevOps tasks on a workload identity connection (bundled, Entra and Azure DevOps emulators)', function () {
  this.timeout(90_000);
  const TENANT = '72f988bf-0000-4000-8000-00000000d0d0';
  const CLIENT = 'a0000000-0000-4000-8000-0000000000d1';
  const CONNECTION = 'c0000000-0000-4000-8000-0000000000d2';
  const JOB_TOKEN = 'job-access-token-for-the-oidc-request-0123456789';
  const entra = new EntraEmulator();
  const ado = new AzureDevOpsEmulator().trustEntra(entra);

  before(async () => {
    await Promise.all([entra.start(), ado.start()]);
    entra.addFederatedCredential(TENANT, CLIENT, CONNECTION, 'sc://contoso/Platform/azure-devops-identity');
    entra.addJobAccessToken(JOB_TOKEN);
  });
  after(() => Promise.all([entra.stop(), ado.stop()]));

  const identityConnection = (): EndpointSpec => ({
    url: 'https://management.azure.com/',
    scheme: 'WorkloadIdentityFederation',
    parameters: {
      tenantid: TENANT,
      serviceprincipalid: CLIENT,
      workloadIdentityFederationSubject: 'sc://contoso/Platform/azure-devops-identity',
    },
    data: {
      environment: 'AzureCloud',
      scopeLevel: 'ManagementGroup',
      environmentAuthorityUrl: `${entra.url}/`,
      activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
    },
  });

  async function run(task: string, inputs: RunTaskOptions['inputs'], variables: Record<string, string> = {}): Promise<TaskRun> {
    const result = await runBundledTask(task, {
      timeoutMs: 60_000,
      inputs: { azureDevOpsWorkloadIdentity: CONNECTION, ...inputs },
      // The job's own token authorizes only the OIDC token request; Azure DevOps would refuse it (it is not ado.token).
      endpoints: {
        [CONNECTION]: identityConnection(),
        SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: JOB_TOKEN } },
      },
      variables: {
        'System.CollectionUri': ado.collectionUrl,
        'System.TeamProject': ado.project,
        'System.OidcRequestUri': entra.oidcRequestUri(),
        'Build.BuildId': '5150',
        'System.BuildId': '5150',
        'System.StageAttempt': '1',
        ...variables,
      },
    });
    for (const secret of [JOB_TOKEN, ...entra.issuedTokens()])
      assert.ok(!result.visibleOutput.includes(secret), `${task}: a token reached the output`);
    return result;
  }

  it('hold, run a plan and run a pipeline with Entra tokens for Azure DevOps, never a PAT or the job token', async () => {
    ado.addPipeline({ name: 'Nightly export', folder: '\\Product Integrations' });
    ado.addPipeline({ name: 'Full Regression', folder: '\\Tests', durationMs: 100 });
    ado.knowPipelinesOfPlan(loadPlan(path.join(repoRoot, 'plans', '2025-03-23.yml')), { durationMs: 60 });
    const hold = await run(
      'RescheduleJobsV1',
      { action: 'hold', project: ado.project, pipelines: 'Nightly export' },
      { 'MaintenanceWindow.Id': 'mw-5150' },
    );
    assert.equal(hold.result, 'Succeeded', hold.stdout);
    assert.equal(ado.pipeline('Nightly export', '\\Product Integrations')!.queueStatus, 'paused');
    const pipeline = await run('RunPipelineV1', { pipeline: 'Full Regression', pollIntervalSeconds: '0.04' });
    assert.equal(pipeline.result, 'Succeeded', pipeline.stdout);
    const changes = await run(
      'RunChangesV1',
      { planFile: path.join(repoRoot, 'plans', '2025-03-23.yml'), scriptRoot: repoRoot, maxParallel: '4' },
      { 'MaintenanceWindow.PollIntervalMs': '40' },
    );
    assert.equal(changes.result, 'Succeeded', changes.stdout);
    // The preflight check asks with the identity the night will use (not the job token, which has other rights),
    // including whether it may queue each pipeline.
    const check = await run('RunChangesV1', {
      action: 'check',
      planFile: path.join(repoRoot, 'plans', '2025-03-23.yml'),
      scriptRoot: repoRoot,
    });
    assert.equal(check.result, 'Succeeded', check.stdout);
    assert.ok(!/did not say whether it may be queued/.test(check.stdout), 'it asked who may queue with the Entra token');

    const calls = ado.journal.filter((entry) => entry.method !== 'OPTIONS' || entry.headers.authorization);
    assert.ok(calls.length > 10);
    assert.ok(
      calls.every((entry) => entry.status !== 401 && entry.status !== 203),
      'Azure DevOps accepted every call',
    );
    const bearers = new Set(ado.journal.map((entry) => String(entry.headers.authorization ?? '')).filter(Boolean));
    assert.ok(
      ![...bearers].some((header) => header.includes(JOB_TOKEN) || header.includes(ado.token)),
      'no call carried the job token or a PAT',
    );
    assert.ok(
      entra.grants().some((grant) => grant.via === 'federated' && grant.audience.replace(/\/$/, '') === AZURE_DEVOPS_RESOURCE),
      'Entra issued a federated token for Azure DevOps',
    );
    assert.ok(entra.calls('POST', /oidctoken$/).every((call) => call.query.serviceConnectionId === CONNECTION));
  });

  it('refuses a PAT connection and an identity connection together, naming the input, before any call', async () => {
    ado.reset();
    const result = await runBundledTask('RunPipelineV1', {
      inputs: { azureDevOpsWorkloadIdentity: CONNECTION, azureDevOpsConnection: 'pat', pipeline: 'Full Regression' },
      endpoints: {
        [CONNECTION]: identityConnection(),
        pat: { url: ado.collectionUrl, scheme: 'Token', parameters: { apitoken: ado.token } },
        SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: JOB_TOKEN } },
      },
      variables: {
        'System.CollectionUri': ado.collectionUrl,
        'System.TeamProject': ado.project,
        'System.OidcRequestUri': entra.oidcRequestUri(),
      },
    });
    assert.equal(result.result, 'Failed');
    assert.match(
      result.errors.join('\n'),
      /Input 'azureDevOpsWorkloadIdentity': choose either this workload identity connection or 'azureDevOpsConnection'/,
    );
    assert.equal(ado.journal.length, 0);
  });
});
