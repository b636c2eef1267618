import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { loadPlan } from '../../shared/plan/plan';
import { startWorld, type World } from '../e2e/world';
import { Emulator, emulatorCertificate } from '../emulators/kit';
import { ProxyEmulator } from '../emulators/proxy';
import { repoRoot, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/**
 * Every task that calls out, run from its bundle as the agent runs it behind a corporate proxy: the agent's
 * proxy settings as the agent hands them over (`AGENT_PROXYURL`, `AGENT_PROXYUSERNAME`, the password as the
 * secret variable `SECRET_AGENT_PROXYPASSWORD`, `AGENT_PROXYBYPASSLIST`), a proxy that demands those
 * credentials, and every emulator checking where each call came from: the proxy's own outbound ports.
 */
describe("behind the agent's proxy: every task that calls out goes through it (bundled, CONNECT proxy emulator)", function () {
  this.timeout(120_000);
  const PROXY_USER = 'svc-build-proxy';
  const PROXY_PASSWORD = 'Pr0xy-pa55word-of-the-agent!';
  const proxy = new ProxyEmulator({ credentials: { username: PROXY_USER, password: PROXY_PASSWORD } });
  let world: World;
  /** A plain-HTTP site (an intranet status page): the proxy forwards it rather than tunnelling. */
  const intranet = new Emulator({ name: 'Intranet status page', https: false }).route('GET', '/status', () => ({
    body: 'OK',
    headers: { 'Content-Type': 'text/plain' },
  }));
  const runs: TaskRun[] = [];

  before(async () => {
    [world] = await Promise.all([startWorld(), proxy.start(), intranet.start()]);
    world.azure.seedWebFarm({ count: 2 });
    world.devops.addPipeline({ name: 'Full Regression', folder: '\\Tests', durationMs: 100 });
    world.devops.addPipeline({ name: 'Nightly export', folder: '\\Product Integrations' });
    world.devops.knowPipelinesOfPlan(loadPlan(path.join(repoRoot, 'plans', '2025-03-23.yml')), { durationMs: 60 });
  });
  after(async () => {
    await Promise.all([world?.stop(), proxy.stop(), intranet.stop()]);
  });

  const proxyVariables = (bypass: string[] = []): Record<string, string> => ({
    'Agent.ProxyUrl': proxy.url,
    'Agent.ProxyUsername': PROXY_USER,
    'Agent.ProxyBypassList': JSON.stringify(bypass),
  });

  /**
   * The output but task-lib's own debug line of the secret variable (`Agent.ProxyPassword=...`, printed as it
   * loads, before any code of ours runs): the agent masks every secret variable it hands a step, so that line
   * never shows on an agent. Everything else must not carry the password.
   */
  const shown = (result: TaskRun): string =>
    result.visibleOutput
      .split('\n')
      .filter((line) => !line.startsWith('##vso[task.debug]Agent.ProxyPassword='))
      .join('\n');

  async function run(task: string, inputs: RunTaskOptions['inputs'], options: Partial<RunTaskOptions> = {}): Promise<TaskRun> {
    const result = await runBundledTask(task, {
      timeoutMs: 60_000,
      ...options,
      inputs,
      endpoints: { ...world.systemEndpoints, ...options.endpoints },
      variables: {
        ...world.variables,
        'Build.BuildId': '4242',
        'System.BuildId': '4242',
        'System.StageAttempt': '1',
        ...proxyVariables(),
        ...options.variables,
      },
      env: { SECRET_AGENT_PROXYPASSWORD: PROXY_PASSWORD, ...options.env },
    });
    runs.push(result);
    assert.ok(!shown(result).includes(PROXY_PASSWORD), `${task}: the proxy password reached the output`);
    for (const secret of world.secrets) assert.ok(!result.visibleOutput.includes(secret), `${task}: a secret reached the output`);
    return result;
  }

  const connection = (type: string) => world.connections[type];
  const farm = () => ({ resourceGroupName: 'rg-web-prd', applicationGatewayName: 'agw-pri-appgateway0-prd' });

  /** One call of each task that talks to a service, each against its emulator. */
  const calls: Array<[string, () => Promise<TaskRun>]> = [
    [
      'NotifyV1',
      () =>
        run(
          'NotifyV1',
          { slackConnection: 'slack', channels: 'dailyops', message: 'Behind a proxy.' },
          { endpoints: { slack: connection('maintenance-slack') } },
        ),
    ],
    [
      'PingdomPauseV1',
      () =>
        run(
          'PingdomPauseV1',
          { pingdomConnection: 'pingdom', action: 'pause', checkIds: '1001', durationMinutes: 10, graceMinutes: 0 },
          { endpoints: { pingdom: connection('maintenance-pingdom') } },
        ),
    ],
    [
      'MaintenancePageV1',
      () =>
        run(
          'MaintenancePageV1',
          {
            cloudflareConnection: 'cf',
            action: 'enable',
            zoneName: 'invoicecloud.com',
            records: 'www',
            maintenanceTarget: 'icmaintenance.azurewebsites.net',
          },
          {
            endpoints: { cf: connection('maintenance-cloudflare') },
          },
        ),
    ],
    [
      'AlertMuteV1',
      () =>
        run(
          'AlertMuteV1',
          {
            provider: 'newRelic',
            newRelicConnection: 'nr',
            action: 'mute',
            policyNames: 'Web servers',
            entityNames: 'IC-Web1',
            durationMinutes: 60,
            graceMinutes: 5,
          },
          {
            endpoints: { nr: connection('maintenance-newrelic') },
          },
        ),
    ],
    [
      'AppGatewayDrainV1',
      () =>
        run(
          'AppGatewayDrainV1',
          { azureSubscription: 'azure', ...farm(), backendPoolName: 'web', action: 'status' },
          { endpoints: { azure: connection('AzureRM') } },
        ),
    ],
    [
      'PatchVmsV1',
      () =>
        run(
          'PatchVmsV1',
          {
            azureSubscription: 'azure',
            resourceGroupName: 'rg-web-prd',
            virtualMachines: 'IC-Web1',
            serverGroup: 'web',
            action: 'install',
            pollIntervalSeconds: '0.02',
          },
          {
            endpoints: { azure: connection('AzureRM') },
          },
        ),
    ],
    ['SmokeTestV1', () => run('SmokeTestV1', { checks: `${world.website.url}/\n${intranet.url}/status`, retries: 0 })],
    [
      'RescheduleJobsV1',
      () =>
        run(
          'RescheduleJobsV1',
          { action: 'hold', project: world.devops.project, pipelines: 'Nightly export' },
          { variables: { 'MaintenanceWindow.Id': 'mw-4242' } },
        ),
    ],
    ['RunPipelineV1', () => run('RunPipelineV1', { pipeline: 'Full Regression', pollIntervalSeconds: '0.04' })],
    [
      'RunChangesV1',
      () =>
        run(
          'RunChangesV1',
          { planFile: path.join(repoRoot, 'plans', '2025-03-23.yml'), scriptRoot: repoRoot, maxParallel: '4' },
          { variables: { 'MaintenanceWindow.PollIntervalMs': '40' } },
        ),
    ],
    [
      'MaintenanceWindowV1',
      () =>
        run(
          'MaintenanceWindowV1',
          {
            action: 'gate',
            notBefore: 'Sat 19:00',
            scheduledStart: true,
            lateToleranceMinutes: 90,
            oneRunAtATime: true,
            provider: 'slack',
            slackConnection: 'slack',
          },
          {
            endpoints: { slack: connection('maintenance-slack') },
            variables: { 'Build.Reason': 'Manual', 'MaintenanceWindow.Now': '2025-04-13T00:01:00Z', 'System.DefinitionId': '1' },
          },
        ),
    ],
  ];

  it("runs every task through the proxy with its credentials: every emulator saw only the proxy's connections", async () => {
    // Two at a time: the machine is shared, and each task is a process of its own.
    const queue = [...calls];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [task, call] = next;
        const result = await call();
        assert.match(result.result ?? '', /^Succeeded/, `${task} did not succeed behind the proxy:\n${result.stdout}\n${result.stderr}`);
      }
    };
    await Promise.all([worker(), worker()]);

    const through = proxy.outboundPorts();
    const refused = proxy.journal.filter((entry) => entry.status !== 200);
    assert.deepEqual(refused, [], "the proxy accepted every request: the tasks sent the agent's credentials");
    assert.ok(proxy.journal.every((entry) => entry.user === PROXY_USER));
    const emulators = [...world.emulators, intranet];
    for (const emulator of emulators) {
      const direct = emulator.journal.filter((entry) => !through.has(entry.remotePort ?? -1));
      assert.deepEqual(
        direct.map((entry) => `${entry.method} ${entry.path}`),
        [],
        `${emulator.name} was called directly, not through the proxy`,
      );
    }
    const called = emulators
      .filter((emulator) => emulator.journal.length > 0)
      .map((emulator) => emulator.name)
      .sort();
    assert.deepEqual(called, emulators.map((emulator) => emulator.name).sort(), 'every emulated service was called (through the proxy)');
    assert.ok(
      proxy.journal.some((entry) => entry.kind === 'tunnel' && entry.target === new URL(world.azure.arm.url).host),
      'HTTPS through a CONNECT tunnel',
    );
    assert.ok(
      proxy.journal.some((entry) => entry.kind === 'forward' && entry.target === `${intranet.url}/status`),
      'plain HTTP forwarded',
    );
    for (const result of runs)
      assert.ok(result.secrets.includes(PROXY_PASSWORD), `${result.task} tells the agent to mask the proxy password`);
  });

  it('a host on the bypass list goes direct, the others still through the proxy', async () => {
    proxy.reset();
    world.website.reset();
    world.slack.reset();
    const site = new URL(world.website.url);
    const bypass = [`^${site.protocol}//${site.hostname.replace(/\./g, '\\.')}:${site.port}/`];
    const result = await run(
      'SmokeTestV1',
      { checks: `${world.website.url}/\n${world.website.url}/health`, retries: 0 },
      { variables: proxyVariables(bypass) },
    );
    assert.equal(result.result, 'Succeeded', result.stdout);
    assert.equal(world.website.journal.length, 2);
    assert.ok(
      world.website.journal.every((entry) => !proxy.outboundPorts().has(entry.remotePort ?? -1)),
      'the bypassed site was called directly',
    );
    assert.deepEqual(proxy.journal, [], 'the proxy saw nothing of it');

    const notify = await run(
      'NotifyV1',
      { slackConnection: 'slack', channels: 'dailyops', message: 'Still through the proxy.' },
      {
        endpoints: { slack: connection('maintenance-slack') },
        variables: proxyVariables(bypass),
      },
    );
    assert.equal(notify.result, 'Succeeded', notify.stdout);
    assert.ok(
      world.slack.journal.length > 0 && world.slack.journal.every((entry) => proxy.outboundPorts().has(entry.remotePort ?? -1)),
      'a host not on the list still goes through the proxy',
    );
  });

  it("trusts the agent's certificate authorities (Agent.CAInfo) through the tunnel, with NODE_EXTRA_CA_CERTS gone", async () => {
    const { file } = await emulatorCertificate();
    const smoke = await run(
      'SmokeTestV1',
      { checks: `${world.website.url}/`, retries: 0 },
      { env: { NODE_EXTRA_CA_CERTS: '' }, variables: { 'Agent.CAInfo': file } },
    );
    assert.equal(smoke.result, 'Succeeded', smoke.stdout);
    const untrusted = await run('SmokeTestV1', { checks: `${world.website.url}/`, retries: 0 }, { env: { NODE_EXTRA_CA_CERTS: '' } });
    assert.equal(untrusted.result, 'Failed', 'without the CA the emulator certificate is refused, so the CA above was what made it pass');
  });

  it("a proxy refusing the credentials fails the step with the proxy's 407, never the password", async () => {
    const result = await run(
      'SmokeTestV1',
      { checks: `${world.website.url}/`, retries: 0 },
      { env: { SECRET_AGENT_PROXYPASSWORD: 'not-the-password-0000' } },
    );
    assert.equal(result.result, 'Failed');
    assert.match(result.visibleOutput, /407/);
    assert.ok(!shown(result).includes('not-the-password-0000'));
  });
});
