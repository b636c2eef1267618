import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as azdev from 'azure-devops-node-api';
import { HttpClient, HttpError } from '../../shared/core/http';
import { loadPlan } from '../../shared/plan/plan';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { repoRoot } from '../helpers/task-runner';

/** The emulator answers the real azure-devops-node-api client and raw REST the way the service does. */
describe('Azure DevOps emulator', () => {
  const ado = new AzureDevOpsEmulator();
  before(() => ado.start());
  after(() => ado.stop());
  beforeEach(() => ado.reset());

  const client = () => new azdev.WebApi(ado.collectionUrl, azdev.getBearerHandler(ado.token));
  const rest = () =>
    new HttpClient({
      baseUrl: `${ado.collectionUrl}${ado.project}/_apis/`,
      service: 'Azure DevOps',
      headers: { Authorization: `Bearer ${ado.token}` },
      retry: { maxRetries: 0 },
    });

  it('negotiates locations like the service, then serves definitions, runs and tags to the real client', async () => {
    const deploy = ado.addPipeline({ name: 'Deploy', folder: '\\Payer\\PayerPortalUI', durationMs: 30, result: 'failed' });
    const api = client();
    const pipelines = await api.getPipelinesApi();
    const run = await pipelines.runPipeline({ templateParameters: { environment: 'XAT' } }, ado.project, deploy.id);
    assert.deepEqual(
      ado.journal.slice(0, 4).map((call) => `${call.method} ${call.path}`),
      [
        'OPTIONS /contoso/_apis/Location',
        'GET /contoso/_apis/ResourceAreas',
        'OPTIONS /contoso/_apis/pipelines',
        `POST /contoso/Platform/_apis/pipelines/${deploy.id}/runs`,
      ],
    );
    assert.match(String(ado.journal[3].headers.accept), /api-version=7\.2-preview\.1/);
    assert.equal(run.state, 1, 'InProgress as the client enumerates it');
    const build = await api.getBuildApi();
    await build.addBuildTags(['window:2025-03-23', 'change:portal-ui-deploy'], ado.project, run.id!);
    await new Promise((resolve) => setTimeout(resolve, 40));
    const [found] = await build.getBuilds(
      ado.project,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      ['change:portal-ui-deploy'],
    );
    assert.equal(found.id, run.id);
    assert.equal(found.status, 2, 'Completed');
    assert.equal(found.result, 8, 'Failed');
    assert.equal(ado.runs.get(run.id!)!.templateParameters.environment, 'XAT');
  });

  it('changes definition tags only through the Tags API, like the service (a definition PUT ignores `tags`)', async () => {
    const nightly = ado.addPipeline({ name: 'Nightly' });
    const build = await client().getBuildApi();
    // MicrosoftDocs/vsts-rest-api-specs issue #429: tags sent in a definition PUT (or POST) are not stored.
    const read = await build.getDefinition(ado.project, nightly.id);
    const updated = await build.updateDefinition({ ...read, tags: ['sent-in-the-put'] }, ado.project, nightly.id);
    assert.deepEqual(updated.tags, [], 'the answer to the PUT has no such tag');
    assert.deepEqual((await build.getDefinition(ado.project, nightly.id)).tags, [], 'nor does the definition read again');
    assert.deepEqual(nightly.tags, []);

    assert.deepEqual(await build.addDefinitionTag(ado.project, nightly.id, 'maintenance-window.held:2025-04-13:enabled'), [
      'maintenance-window.held:2025-04-13:enabled',
    ]);
    assert.deepEqual(
      await build.addDefinitionTag(ado.project, nightly.id, 'MAINTENANCE-window.held:2025-04-13:enabled'),
      ['maintenance-window.held:2025-04-13:enabled'],
      'case-insensitive: no second copy',
    );
    assert.deepEqual(await build.addDefinitionTags(['owner:platform', 'nightly'], ado.project, nightly.id), [
      'maintenance-window.held:2025-04-13:enabled',
      'owner:platform',
      'nightly',
    ]);
    assert.deepEqual(
      (await build.getDefinition(ado.project, nightly.id)).tags,
      ['maintenance-window.held:2025-04-13:enabled', 'owner:platform', 'nightly'],
      'GET definition shows them',
    );
    const kept = await build.getDefinition(ado.project, nightly.id);
    assert.deepEqual(
      (await build.updateDefinition({ ...kept, tags: [] }, ado.project, nightly.id)).tags,
      kept.tags,
      'a PUT with other tags keeps the stored ones',
    );
    assert.deepEqual(
      await build.deleteDefinitionTag(ado.project, nightly.id, 'Maintenance-Window.Held:2025-04-13:ENABLED'),
      ['owner:platform', 'nightly'],
      'removed whatever its case',
    );
    assert.deepEqual(await build.updateDefinitionTags({ tagsToAdd: ['weekly'], tagsToRemove: ['nightly'] }, ado.project, nightly.id), [
      'owner:platform',
      'weekly',
    ]);
    assert.deepEqual(await build.getDefinitionTags(ado.project, nightly.id), ['owner:platform', 'weekly']);
    assert.deepEqual(
      ado
        .calls()
        .filter((call) => /\/tags/i.test(call.path))
        .map((call) => `${call.method} ${call.path.replace(/^.*\/_apis\/build\//, '').replace(/\/tags\b/i, '/tags')}`),
      [
        `PUT definitions/${nightly.id}/tags/maintenance-window.held:2025-04-13:enabled`,
        `PUT definitions/${nightly.id}/tags/MAINTENANCE-window.held:2025-04-13:enabled`,
        `POST definitions/${nightly.id}/tags`,
        `DELETE definitions/${nightly.id}/tags/Maintenance-Window.Held:2025-04-13:ENABLED`,
        `PATCH definitions/${nightly.id}/tags`,
        `GET definitions/${nightly.id}/tags`,
      ],
      'the documented routes, found through the location the client negotiated',
    );
    await assert.rejects(
      build.addDefinitionTags('not a list' as unknown as string[], ado.project, nightly.id),
      (error: { statusCode?: number }) => error.statusCode === 400,
    );
  });

  it('knows every pipeline a plan names, and sample jobs in the folders it holds', () => {
    const plan = loadPlan(path.join(repoRoot, 'plans', '2025-03-23.yml'));
    ado.knowPipelinesOfPlan(plan, { durationMs: 10 });
    for (const change of plan.changes) {
      if (change.action.kind === 'pipeline') assert.ok(ado.pipeline(change.action.name, change.action.folder), change.id);
    }
    assert.equal([...ado.definitions.values()].filter((definition) => definition.path.startsWith('\\Product Integrations')).length, 2);
  });

  it('refuses a disabled pipeline, queues runs of a paused one until it is enabled', async () => {
    const held = ado.addPipeline({ name: 'Nightly', queueStatus: 'paused', durationMs: 10 });
    const off = ado.addPipeline({ name: 'Retired', queueStatus: 'disabled' });
    const pipelines = await client().getPipelinesApi();
    await assert.rejects(
      pipelines.runPipeline({}, ado.project, off.id),
      (error: { statusCode?: number; message: string }) => error.statusCode === 400 && /is disabled/.test(error.message),
    );
    const run = await pipelines.runPipeline({}, ado.project, held.id);
    assert.equal(ado.runs.get(run.id!)!.startedAt, undefined, 'waits while paused');
    ado.editDefinition(held.id, { queueStatus: 'enabled' });
    assert.ok(ado.runs.get(run.id!)!.startedAt !== undefined);
  });

  it('serves environments (list, get, create, update) and check configurations only with a -preview api-version', async () => {
    const http = rest();
    const created = await http.request<{ id: number; name: string }>({
      method: 'POST',
      path: 'distributedtask/environments?api-version=7.1',
      body: { name: 'maintenance-platform-approver', description: 'Changes' },
    });
    assert.equal(created.data.name, 'maintenance-platform-approver');
    await assert.rejects(
      http.request({
        method: 'POST',
        path: 'distributedtask/environments?api-version=7.1',
        body: { name: 'maintenance-platform-approver' },
      }),
      (error: HttpError) => error.status === 409,
    );
    const updated = await http.request<{ description: string }>({
      method: 'PATCH',
      path: `distributedtask/environments/${created.data.id}?api-version=7.1`,
      body: { description: 'Platform Approver' },
    });
    assert.equal(updated.data.description, 'Platform Approver');
    const listed = await (await client().getTaskAgentApi()).getEnvironments(ado.project, 'maintenance-*');
    assert.equal(listed.length, 1);

    const check = {
      type: { id: '8c6f20a7-a545-4486-9777-f762fafe0d4d', name: 'Approval' },
      settings: {
        approvers: [{ id: ado.addIdentity('Platform Approvers').id }],
        minRequiredApprovers: 1,
        executionOrder: 1,
        instructions: 'Approve the changes',
        requesterCannotBeApprover: true,
        blockedApprovers: [],
      },
      resource: { type: 'environment', id: String(created.data.id) },
      timeout: 43200,
    };
    await assert.rejects(
      http.request({ method: 'POST', path: 'pipelines/checks/configurations?api-version=7.1', body: check }),
      (error: HttpError) => error.status === 400 && /-preview flag must be supplied/.test(JSON.stringify(error.data)),
    );
    const made = await http.request<{ id: number; version: number }>({
      method: 'POST',
      path: 'pipelines/checks/configurations?api-version=7.1-preview.1',
      body: check,
    });
    const list = await http.request<{ count: number; value: Array<{ settings?: unknown }> }>({
      method: 'GET',
      path:
        `pipelines/checks/configurations?api-version=7.1-preview.1&resourceType=environment&resourceId=${created.data.id}&` +
        `$expand=settings`,
    });
    assert.equal(list.data.count, 1);
    assert.ok(list.data.value[0].settings);
    const changed = await http.request<{ version: number }>({
      method: 'PATCH',
      path: `pipelines/checks/configurations/${made.data.id}?api-version=7.1-preview.1`,
      body: { timeout: 720 },
    });
    assert.equal(changed.data.version, 2);
  });

  it('sends rate-limit headers, throttles with Retry-After, and refuses a wrong token', async () => {
    ado.rateLimit = { limit: 200, remaining: 3, resetInSeconds: 20 };
    ado.throttle({ times: 1, retryAfterSeconds: 2 });
    const http = rest();
    await assert.rejects(
      http.request({ method: 'GET', path: 'build/Definitions' }),
      (error: HttpError) => error.status === 429 && error.headers['retry-after'] === '2',
    );
    const ok = await http.request({ method: 'GET', path: 'build/Definitions' });
    assert.equal(ok.headers['x-ratelimit-remaining'], '3');
    const stranger = new HttpClient({
      baseUrl: ado.collectionUrl,
      service: 'Azure DevOps',
      headers: { Authorization: 'Bearer nope' },
      retry: { maxRetries: 0 },
    });
    await assert.rejects(
      stranger.request({ method: 'GET', path: `${ado.project}/_apis/build/Definitions` }),
      (error: HttpError) => error.status === 401,
    );
  });
});
