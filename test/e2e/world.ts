import { parsePipelineSelector } from '../../shared/devops/single-run';
import { loadPlan } from '../../shared/plan/plan';
import type { EndpointSpec } from '../helpers/task-runner';
import { AzureFixture } from '../helpers/azure-fixture';
import { toText, Version } from './expressions';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { CLOUDFLARE_TOKEN, CloudflareEmulator } from '../emulators/cloudflare';
import type { Emulator } from '../emulators/kit';
import { NEWRELIC_ACCOUNT, NEWRELIC_KEY, NewRelicEmulator } from '../emulators/newrelic';
import { PINGDOM_TOKEN, PingdomEmulator } from '../emulators/pingdom';
import { SlackEmulator } from '../emulators/slack';
import { WebsiteEmulator } from '../emulators/website';
import type { Value } from './expressions';
import type { ExpandedPipeline } from './pipeline-expander';
import { median } from '../../shared/plan/forecast';

/**
 * Everything the night touches, emulated on loopback: started together, seeded from the pipeline's own
 * parameter values (the seed's servers, gateway, channels), and handed to the rehearsal as service
 * connections by endpoint type, plus the parameter values that must point at an emulator (URLs).
 */

export interface World {
  website: WebsiteEmulator;
  slack: SlackEmulator;
  pingdom: PingdomEmulator;
  cloudflare: CloudflareEmulator;
  devops: AzureDevOpsEmulator;
  newRelic: NewRelicEmulator;
  azure: AzureFixture;
  emulators: Emulator[];
  /** Service connections by endpoint type. */
  connections: Record<string, EndpointSpec>;
  /** Connections every step has, as on the agent (SYSTEMVSSCONNECTION: the job's own token). */
  systemEndpoints: Record<string, EndpointSpec>;
  /** Every secret handed to a step or issued to one (tokens): none may appear in what the steps print. */
  readonly secrets: string[];
  /** Pipeline parameters whose values must point at the emulators, by parameter name. */
  parameterOverrides(declared: Record<string, Value>): Record<string, Value>;
  /** Predefined variables of the run that point at an emulator (collection URL...). */
  variables: Record<string, string>;
  /** Seeds the emulators from the expanded pipeline's values (servers, gateway, pipelines of the plan). */
  seed?: (pipeline: ExpandedPipeline) => Promise<void>;
  /**
   * Makes the emulators whose answers depend on the time (Pingdom's windows, New Relic's muting schedules) read
   * the rehearsal's simulated clock, the same one the steps are given as `MaintenanceWindow.Now`. With
   * `advanceTo`, Azure DevOps times its runs on that clock too, and a step waiting for a run moves the clock to
   * the run's end: each run takes its pipeline's duration (REHEARSAL_HISTORY_MINUTES, what the preflight's
   * forecast reads) in simulated time, so the rehearsed timeline is the forecast.
   */
  followClock(now: () => Date, advanceTo?: (at: Date) => void): void;
  /** What is still silenced or swapped in the emulators: empty when the night left everything as it found it. */
  leftovers(): string[];
  /** Notes what the night has changed so far (called after every step): what must come back. */
  observe(): void;
  /**
   * The night's account, from the emulators themselves: every thing it changed that must come back (a drained
   * pool member, a silenced Pingdom check or window, a DNS record, a muting rule, a held pipeline), and those
   * of them not back now. `left` names the same things `leftovers()` describes.
   */
  account(): { changed: string[]; left: string[] };
  stop(): Promise<void>;
}

/**
 * How long the emulated pipelines run, in minutes, as their history in Azure DevOps shows it: the plan's
 * pipelines and the regression. A rehearsed run takes the median (on the simulated clock), and the preflight's
 * forecast takes the median of the same history, so the two agree.
 */
export const REHEARSAL_HISTORY_MINUTES = { change: [18, 22, 20, 25, 19], regression: [55, 62, 58] } as const;

function medianMinutesMs(minutes: readonly number[]): number {
  return (median([...minutes]) ?? 0) * 60_000;
}

export interface WorldOptions {
  /** The plan rehearsed: the emulated Azure DevOps knows every pipeline it names and the jobs it holds. */
  planFile?: string;
  /** Plan change ids whose pipelines fail in the emulated Azure DevOps. */
  failChanges?: string[];
  /**
   * How long each of the plan's pipelines (and the regression pipeline) runs in the emulator (default: the median of
   * REHEARSAL_HISTORY_MINUTES).
   */
  pipelineDurationMs?: number;
  /** Pipelines (by name, `\Folder\Name` or id) whose next run fails: a plan's or the regression pipeline. */
  failPipelines?: string[];
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const website = new WebsiteEmulator();
  const slack = new SlackEmulator();
  const pingdom = new PingdomEmulator();
  const cloudflare = new CloudflareEmulator();
  const devops = new AzureDevOpsEmulator();
  const newRelic = new NewRelicEmulator();
  // Gateway updates, probes and patching take tens of milliseconds here, minutes in Azure.
  const azure = new AzureFixture({
    gatewayUpdateMs: [40, 120],
    probeDelayMs: 40,
    healthDelayMs: 10,
    retryAfterSeconds: 0,
    patchMs: 80,
    rebootMs: 40,
    assessMs: 20,
  });
  const emulators: Emulator[] = [website, slack, pingdom, cloudflare, devops, newRelic, azure.entra, azure.arm];
  await Promise.all(emulators.filter((emulator) => emulator !== azure.entra && emulator !== azure.arm).map((emulator) => emulator.start()));
  await azure.start();
  let poolBefore: string[] = [];
  let poolOf: () => string[] = () => [];
  if (options.planFile) {
    const plan = loadPlan(options.planFile);
    devops.knowPipelinesOfPlan(plan, { durationMs: options.pipelineDurationMs ?? medianMinutesMs(REHEARSAL_HISTORY_MINUTES.change) });
    for (const id of options.failChanges ?? []) {
      const change = plan.changes.find((candidate) => candidate.id === id);
      if (!change)
        throw new Error(`--fail-change ${id}: the plan has no change with that id (${plan.changes.map((c) => c.id).join(', ')})`);
      if (change.action.kind !== 'pipeline')
        throw new Error(
          `--fail-change ${id}: that change is a ${change.action.kind}, not a pipeline the emulated Azure DevOps runs; use ` +
            `--fail-step on the Changes stage's step instead`,
        );
      devops.failNextRuns(change.action.name, 1, 'failed', change.action.folder);
    }
  }
  const queueStatuses = () =>
    [...devops.definitions.values()].map((definition) => `${definition.path}\\${definition.name}: ${definition.queueStatus}`).sort();
  let queueBefore = queueStatuses();
  const dnsBefore = cloudflare.dnsState();
  const silencedBefore = new Set(pingdom.silencedChecks());
  const rulesBefore = newRelic.ruleState();
  const windowsBefore = new Set(pingdom.windows.keys());
  const changed = new Set<string>();
  let nameOfAddress = new Map<string, string>();
  /**
   * How the services differ from before the night. Pingdom cannot delete a running maintenance window, so
   * resume ends it a minute from now: silences are judged `lookAheadSeconds` on (two minutes at the end).
   */
  const differences = (lookAheadSeconds = 120) => {
    pingdom.advance(lookAheadSeconds);
    const checks = pingdom.silencedChecks().filter((id) => !silencedBefore.has(id));
    const windows = [...pingdom.windows.values()]
      .filter((window) => !windowsBefore.has(window.id) && window.to > pingdom.now())
      .map((window) => window.id);
    pingdom.advance(-lookAheadSeconds);
    const dnsNow = cloudflare.dnsState();
    const dns = [
      ...dnsNow.filter((line) => !dnsBefore.includes(line)),
      ...dnsBefore.filter((line) => !dnsNow.includes(line)).map((line) => `${line} (gone)`),
    ];
    const rules = newRelic.ruleState().filter((rule) => !rulesBefore.includes(rule));
    const held = queueStatuses().filter((line) => !queueBefore.includes(line));
    const poolNow = poolOf();
    const pool = poolBefore.filter((address) => !poolNow.includes(address));
    return { checks, windows, dns, rules, held, pool };
  };
  /** One key per thing: the same thing observed twice (a DNS record swapped, then its TTL changed) counts once. */
  const itemsOf = (found: ReturnType<typeof differences>): Array<[string]> => [
    ...found.checks.map((id): [string] => [`Pingdom check ${id}`]),
    ...found.windows.map((id): [string] => [`Pingdom maintenance window ${id}`]),
    ...found.dns.map((line): [string] => [`DNS record ${line.split(' ').slice(1, 3).join(' ')}`]),
    ...found.rules.map((line): [string] => [`New Relic muting rule ${line.split(' ').slice(1, 2).join(' ') || line}`]),
    ...found.held.map((line): [string] => [`held pipeline ${line.split(':')[0]}`]),
    ...found.pool.map((address): [string] => [`pool member ${nameOfAddress.get(address) ?? address}`]),
  ];
  const token = (url: string, apitoken: string, data?: Record<string, string>): EndpointSpec => ({
    url,
    scheme: 'Token',
    parameters: { apitoken },
    data,
  });
  return {
    website,
    slack,
    pingdom,
    cloudflare,
    devops,
    newRelic,
    azure,
    emulators,
    connections: {
      'maintenance-slack': token(slack.url, slack.token),
      'maintenance-pingdom': token(`${pingdom.url}/api/3.1`, PINGDOM_TOKEN),
      'maintenance-cloudflare': token(`${cloudflare.url}/client/v4`, CLOUDFLARE_TOKEN),
      'maintenance-newrelic': token(`${newRelic.url}/graphql`, NEWRELIC_KEY, { accountId: String(NEWRELIC_ACCOUNT) }),
      AzureRM: azure.endpoint(),
    },
    systemEndpoints: { SYSTEMVSSCONNECTION: { url: devops.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: devops.token } } },
    get secrets() {
      return [slack.token, PINGDOM_TOKEN, CLOUDFLARE_TOKEN, devops.token, NEWRELIC_KEY, ...azure.secrets()];
    },
    async seed(pipeline) {
      const parameters = pipeline.parameters;
      // The regression pipeline the Regression stage starts and awaits, declaring the parameters it is given.
      const regression = toText(parameters.regressionPipeline ?? '');
      if (regression && !/^\d+$/.test(regression)) {
        const selector = parsePipelineSelector('regressionPipeline', regression);
        const given = parameters.regressionParameters;
        const declared = given && typeof given === 'object' && !Array.isArray(given) ? Object.keys(given) : [];
        if (!devops.pipeline(selector.name!, selector.folder)) {
          devops.addPipeline({
            name: selector.name!,
            folder: selector.folder,
            parameters: declared,
            durationMs: options.pipelineDurationMs ?? medianMinutesMs(REHEARSAL_HISTORY_MINUTES.regression),
          });
          queueBefore = queueStatuses();
        }
      }
      for (const name of options.failPipelines ?? []) {
        const selector = parsePipelineSelector('--fail-pipeline', name);
        const definition =
          selector.id !== undefined ? devops.definitions.get(selector.id) : devops.pipeline(selector.name!, selector.folder);
        if (!definition)
          throw new Error(
            `--fail-pipeline ${name}: the emulated Azure DevOps has no such pipeline ` +
              `(${[...devops.definitions.values()].map((d) => d.name).join(', ')})`,
          );
        devops.failNextRuns(definition.name, 1, 'failed', definition.path);
      }
      // The gateway, its web pool and every server the pipeline names, as its parameters describe them.
      const resourceGroup = toText(parameters.resourceGroupName);
      const gateway = toText(parameters.applicationGatewayName);
      const pool = toText(parameters.backendPoolName);
      if (!resourceGroup || !gateway || !pool) return;
      const web = [
        ...(Array.isArray(parameters.webBatch1) ? parameters.webBatch1 : []),
        ...(Array.isArray(parameters.webBatch2) ? parameters.webBatch2 : []),
      ].map(toText);
      const webServers = web.map((name, index) => ({ name, ip: `10.0.2.${index + 4}` }));
      azure.arm.addGateway({
        resourceGroup,
        name: gateway,
        pools: [{ name: pool, addresses: webServers.map((server) => server.ip) }],
        drainTimeoutInSec: 0,
      });
      for (const server of webServers) azure.arm.addVm({ resourceGroup, name: server.name, privateIp: server.ip });
      const groups = Array.isArray(parameters.serverGroups) ? parameters.serverGroups : [];
      groups.forEach((group, groupIndex) => {
        const vms =
          group && typeof group === 'object' && !Array.isArray(group) && !(group instanceof Version) && Array.isArray(group.vms)
            ? group.vms.map(toText)
            : [];
        vms.forEach((name, index) => azure.arm.addVm({ resourceGroup, name, privateIp: `10.0.${10 + groupIndex}.${index + 4}` }));
      });
      poolOf = () => azure.arm.pool(resourceGroup, gateway, pool).addresses.slice().sort();
      nameOfAddress = new Map(webServers.map((server) => [server.ip, server.name]));
      poolBefore = poolOf();
    },
    variables: {
      'System.CollectionUri': devops.collectionUrl,
      'System.TeamFoundationCollectionUri': devops.collectionUrl,
      'System.TeamProject': devops.project,
      'System.TeamProjectId': devops.projectId,
      // RunChangesV1 polls the emulated runs this often instead of every 30 s; it warns that it is a rehearsal setting.
      'MaintenanceWindow.PollIntervalMs': '100',
    },
    parameterOverrides(declared) {
      const overrides: Record<string, Value> = {};
      if ('siteUrl' in declared) overrides.siteUrl = website.url;
      // The emulated Azure answers in milliseconds: poll it every 50 ms rather than every 10-15 s.
      if ('azurePollSeconds' in declared) overrides.azurePollSeconds = '0.05';
      return overrides;
    },
    followClock(now, advanceTo) {
      pingdom.followClock(now);
      newRelic.followClock(now);
      if (advanceTo) {
        devops.now = () => now().getTime();
        devops.onWaitForRuns = (finishesAt) => advanceTo(new Date(finishesAt));
      }
    },
    leftovers() {
      const now = differences();
      const left: string[] = [];
      if (now.checks.length) left.push(`Pingdom checks still silenced: ${now.checks.join(', ')}`);
      if (now.windows.length) left.push(`Pingdom maintenance windows still open: ${now.windows.join(', ')}`);
      if (now.dns.length) left.push(`Cloudflare DNS differs from before the window: ${now.dns.join('; ')}`);
      if (now.rules.length) left.push(`New Relic muting rules still there: ${now.rules.join('; ')}`);
      if (now.held.length) left.push(`Scheduled pipelines not back to their queue status: ${now.held.join('; ')}`);
      if (now.pool.length) left.push(`Web servers not back in the gateway pool: ${now.pool.join(', ')}`);
      return left;
    },
    observe() {
      for (const [key] of itemsOf(differences(0))) changed.add(key);
    },
    account() {
      // One thing changed in two ways (a DNS record's content and its proxying) is one thing to bring back.
      const left = [...new Set(itemsOf(differences()).map(([key]) => key))];
      left.forEach((key) => changed.add(key));
      return { changed: [...changed].sort(), left: left.sort() };
    },
    async stop() {
      await Promise.all(
        emulators.filter((emulator) => emulator !== azure.entra && emulator !== azure.arm).map((emulator) => emulator.stop()),
      );
      await azure.stop();
    },
  };
}
