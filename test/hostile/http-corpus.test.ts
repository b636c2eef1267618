import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setWriter } from '../../shared/core/commands';
import { Log } from '../../shared/core/log';
import { DevOpsClient, devOpsShape } from '../../shared/devops/client';
import { buildSelections, selectDefinitions } from '../../shared/devops/definitions';
import { readApprovers } from '../../shared/devops/approvals';
import { readRunTimeline } from '../../shared/devops/timeline';
import { CloudflareClient } from '../../shared/services/cloudflare';
import { NewRelicClient } from '../../shared/services/newrelic';
import { PingdomClient } from '../../shared/services/pingdom';
import { postSlackWebhook, SlackClient } from '../../shared/services/slack';
import { postTeamsWorkflow, teamsMessage } from '../../shared/services/teams';
import { runCheck } from '../../shared/smoke/checks';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { CLOUDFLARE_TOKEN, CloudflareEmulator, ZONE_ID } from '../emulators/cloudflare';
import { type Emulator, HOSTILE_FAULTS, type HostileFault, type JournalEntry } from '../emulators/kit';
import { trustEmulatorsInProcess } from '../helpers/emulator-trust';
import { NEWRELIC_ACCOUNT, NEWRELIC_KEY, NewRelicEmulator } from '../emulators/newrelic';
import { PINGDOM_TOKEN, PingdomEmulator } from '../emulators/pingdom';
import { SLACK_BOT_TOKEN, SlackEmulator, SlackWebhookEmulator } from '../emulators/slack';
import { testClock } from '../helpers/clock';
import { TeamsEmulator } from '../emulators/teams';
import { WebsiteEmulator } from '../emulators/website';
import { newWorkDirectory, repoRoot, runBundledTask, type TaskRun } from '../helpers/task-runner';

/**
 * Hostile corpus, HTTP part (issue 10, items 1 and 2): every client of the window, every kind of broken answer
 * (`HOSTILE_FAULTS`: an HTML page at 200, JSON of the wrong shape, a body dripped a byte at a time, a huge body,
 * a reset mid-body, truncated JSON, a wrong content type), on the calls that matter. Each case asserts a clear
 * error naming the service (and the content type where there is one), never "does not exist" or an empty
 * answer; the end within the call's deadline plus a margin (measured); and no wrong write in the emulator's
 * journal. The restore paths are also run as the agent runs them (the bundles): a restore whose read-back is
 * broken fails and writes no receipt.
 */

/** The call's deadline in these tests (`retry.deadlineMs`): short, so a dripping server costs little. */
const DEADLINE_MS = 1500;
/** What a case may take beyond it: event-loop lag on a loaded 2-core machine, and the last retry's wait. */
const MARGIN_MS = 1500;
const CONCURRENCY = 8;
const retry = { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: DEADLINE_MS };
/** The body limit in these tests (`maxBodyBytes`; 10 MiB by default), and the huge bodies sent: 4 times that. */
const MAX_BODY_BYTES = 256 * 1024;
const HUGE_BYTES = 4 * MAX_BODY_BYTES;

/** What the error must say, by fault. */
const SAYS: Record<HostileFault, RegExp> = {
  html: /text\/html/,
  shape: /not the documented answer|expected/,
  drip: /deadline|within/,
  huge: /limit|refused without reading/,
  'reset-mid-body': /connection broke|ECONNRESET|closed before the end/,
  truncated: /not valid JSON|cut short|expected/,
  'content-type': /text\/plain/,
};
/** What an error must never say: a broken answer is not an answer. */
const MISREAD = /does not exist|was not found|no check|nothing to do|deleted/i;

interface Harness {
  emulator: Emulator;
  run(): Promise<unknown>;
  /** Anything that proves nothing changed, compared before and after (state beyond the journal). */
  state?(): unknown;
  stop(): Promise<void>;
}

interface Operation {
  service: RegExp;
  name: string;
  /** The call the fault hits. */
  method: string;
  path: RegExp;
  /**
   * `none`: nothing may reach a write route (a read, or a read before a write); `target`: only the faulted
   * write itself may reach its route (its answer is what broke), and a non-idempotent one (`once`) only once.
   */
  writes: 'none' | 'target';
  once?: boolean;
  /** Faults that are the documented answer for this call (a Teams workflow may answer JSON). */
  skip?: HostileFault[];
  start(log: Log): Promise<Harness>;
}

async function started<E extends Emulator>(emulator: E): Promise<E> {
  await emulator.start();
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------
// Each client's calls that matter

function pingdom(
  name: string,
  method: string,
  pathTest: RegExp,
  writes: Operation['writes'],
  call: (client: PingdomClient, window: { id: number; from: number }) => Promise<unknown>,
  once = false,
): Operation {
  return {
    service: /Pingdom/,
    name: `Pingdom ${name}`,
    method,
    path: pathTest,
    writes,
    once,
    async start(log) {
      const emulator = await started(new PingdomEmulator());
      const client = new PingdomClient({
        baseUrl: `${emulator.url}/api/3.1`,
        token: PINGDOM_TOKEN,
        log,
        retry,
        maxBodyBytes: MAX_BODY_BYTES,
        clock: testClock(),
      });
      // A window not begun yet: Pingdom deletes only those.
      const window = { id: 9001, from: emulator.now() + 3600 };
      emulator.windows.set(window.id, { ...window, description: 'corpus', to: window.from + 3600, uptime: [1001], tms: [] });
      return { emulator, run: () => call(client, window), state: () => emulator.effectiveState(), stop: () => emulator.stop() };
    },
  };
}

function cloudflare(
  name: string,
  method: string,
  pathTest: RegExp,
  writes: Operation['writes'],
  call: (client: CloudflareClient, wwwId: string) => Promise<unknown>,
): Operation {
  return {
    service: /Cloudflare/,
    name: `Cloudflare ${name}`,
    method,
    path: pathTest,
    writes,
    async start(log) {
      const emulator = await started(new CloudflareEmulator());
      const client = new CloudflareClient({
        baseUrl: `${emulator.url}/client/v4`,
        token: CLOUDFLARE_TOKEN,
        log,
        retry,
        maxBodyBytes: MAX_BODY_BYTES,
        clock: testClock(),
      });
      const wwwId = emulator.find('www.invoicecloud.com')!.id;
      return { emulator, run: () => call(client, wwwId), state: () => emulator.dnsState(), stop: () => emulator.stop() };
    },
  };
}

function newRelic(
  name: string,
  writes: Operation['writes'],
  call: (client: NewRelicClient, ruleId: string) => Promise<unknown>,
  once = false,
): Operation {
  return {
    service: /New Relic/,
    name: `New Relic ${name}`,
    method: 'POST',
    path: /\/graphql$/,
    writes,
    once,
    async start(log) {
      const emulator = await started(new NewRelicEmulator());
      const client = new NewRelicClient({
        baseUrl: `${emulator.url}/graphql`,
        apiKey: NEWRELIC_KEY,
        accountId: NEWRELIC_ACCOUNT,
        log,
        retry,
        maxBodyBytes: MAX_BODY_BYTES,
      });
      const ruleId = String([...emulator.rules.keys()][0]);
      return { emulator, run: () => call(client, ruleId), state: () => emulator.ruleState(), stop: () => emulator.stop() };
    },
  };
}

const RULE = {
  name: 'corpus',
  description: 'hostile corpus',
  enabled: true,
  condition: { operator: 'AND' as const, conditions: [{ attribute: 'policyName', operator: 'IN' as const, values: ['Web servers'] }] },
  schedule: { startTime: '2030-01-01T00:00:00', endTime: '2030-01-01T02:00:00', timeZone: 'America/New_York' },
  actionOnMutingRuleWindowEnded: 'CLOSE_ISSUES_ON_INACTIVE' as const,
};

function devOps(
  name: string,
  method: string,
  pathTest: RegExp,
  writes: Operation['writes'],
  call: (client: DevOpsClient, emulator: AzureDevOpsEmulator, id: number) => Promise<unknown>,
  options: { once?: boolean; skip?: HostileFault[] } = {},
): Operation {
  return {
    service: /Azure DevOps/,
    name: `Azure DevOps ${name}`,
    method,
    path: pathTest,
    writes,
    ...options,
    async start(log) {
      const emulator = await started(new AzureDevOpsEmulator());
      const { id } = emulator.addPipeline({ name: 'Nightly export', folder: '\\Product Integrations' });
      const connection = {
        collectionUrl: emulator.collectionUrl,
        project: emulator.project,
        token: emulator.token,
        kind: 'job-token' as const,
        source: 'the corpus',
      };
      const client = new DevOpsClient({
        connection,
        log,
        maxRetries: 2,
        baseDelayMs: 10,
        deadlineMs: DEADLINE_MS,
        maxBodyBytes: MAX_BODY_BYTES,
        sleep: async () => {},
      });
      const state = () =>
        [...emulator.definitions.values()]
          .map((definition) => `${definition.name} ${definition.queueStatus} r${definition.revision}`)
          .concat(`${emulator.runs.size} runs`);
      return { emulator, run: () => call(client, emulator, id), state, stop: () => emulator.stop() };
    },
  };
}

const OPERATIONS: Operation[] = [
  // Pingdom: resume and finish read the checks and windows back; a misread there is a false "back".
  pingdom('GET /checks (pause selects, resume reads back)', 'GET', /\/checks$/, 'none', (client) => client.listChecks()),
  pingdom('GET /maintenance (resume finds its window)', 'GET', /\/maintenance$/, 'none', (client) => client.listWindows()),
  pingdom('PUT /checks (pause, unpause)', 'PUT', /\/checks$/, 'target', (client) => client.setPaused([1001], false)),
  pingdom(
    'POST /maintenance (open the window)',
    'POST',
    /\/maintenance$/,
    'target',
    (client) => client.createWindow({ description: 'x', to: Math.floor(Date.now() / 1000) + 600, checkIds: [1002] }),
    true,
  ),
  pingdom('PUT /maintenance/{id} (end the window)', 'PUT', /\/maintenance\/\d+$/, 'target', (client, window) =>
    client.setWindowEnd(window.id, window.from + 3700),
  ),
  pingdom('DELETE /maintenance/{id} (end a window not begun)', 'DELETE', /\/maintenance\/\d+$/, 'target', (client, window) =>
    client.deleteWindow(window.id),
  ),
  // Cloudflare: the zone and record reads are what restore compares against.
  cloudflare('GET /zones (find the zone)', 'GET', /\/zones$/, 'none', (client) => client.findZone('invoicecloud.com')),
  cloudflare('GET dns_records?name.exact (enable reads the originals)', 'GET', /\/dns_records$/, 'none', (client) =>
    client.recordsNamed(ZONE_ID, 'www.invoicecloud.com'),
  ),
  cloudflare('GET dns_records/{id} (restore reads back)', 'GET', /\/dns_records\/[0-9a-f]+$/, 'none', (client, id) =>
    client.getRecord(ZONE_ID, id),
  ),
  cloudflare('PATCH dns_records/{id} (swap, restore)', 'PATCH', /\/dns_records\/[0-9a-f]+$/, 'target', (client, id) =>
    client.patchRecord(ZONE_ID, id, { content: 'pal.invoicecloud.com' }),
  ),
  cloudflare('POST purge_cache', 'POST', /\/purge_cache$/, 'target', (client) => client.purge(ZONE_ID, { everything: true })),
  // Slack Web API and webhooks.
  {
    service: /Slack/,
    name: 'Slack conversations.list (channel names)',
    method: 'GET',
    path: /conversations\.list$/,
    writes: 'none',
    async start(log) {
      const emulator = await started(new SlackEmulator());
      const client = new SlackClient({
        token: SLACK_BOT_TOKEN,
        baseUrl: emulator.url,
        log,
        retry,
        maxBodyBytes: MAX_BODY_BYTES,
        clock: testClock(),
      });
      return {
        emulator,
        run: () => client.resolveChannels(['#maintenance']),
        state: () => emulator.messages.length,
        stop: () => emulator.stop(),
      };
    },
  },
  {
    service: /Slack/,
    name: 'Slack chat.postMessage',
    method: 'POST',
    path: /chat\.postMessage$/,
    writes: 'target',
    once: true,
    async start(log) {
      const emulator = await started(new SlackEmulator());
      const client = new SlackClient({
        token: SLACK_BOT_TOKEN,
        baseUrl: emulator.url,
        log,
        retry,
        maxBodyBytes: MAX_BODY_BYTES,
        clock: testClock(),
      });
      const channel = emulator.channelByName('maintenance')!;
      return {
        emulator,
        run: () => client.postMessage({ id: channel.id, name: channel.name }, { text: 'corpus' }),
        stop: () => emulator.stop(),
      };
    },
  },
  {
    service: /Slack/,
    name: 'Slack incoming webhook',
    method: 'POST',
    path: /\/services\//,
    writes: 'target',
    once: true,
    // `ok` as text/plain is still Slack's documented answer.
    skip: ['content-type'],
    async start(log) {
      const emulator = await started(new SlackWebhookEmulator());
      const url = emulator.addHook('maintenance');
      return {
        emulator,
        run: () => postSlackWebhook(url, { text: 'corpus' }, { log, retry, maxBodyBytes: MAX_BODY_BYTES, clock: testClock() }),
        stop: () => emulator.stop(),
      };
    },
  },
  {
    service: /Teams/,
    name: 'Teams workflow webhook',
    method: 'POST',
    path: /\/invoke$/,
    writes: 'target',
    once: true,
    // The workflow answers 202 with an empty body (nothing to cut short), or JSON from a Response action.
    skip: ['shape', 'truncated', 'content-type', 'reset-mid-body'],
    async start(log) {
      const emulator = await started(new TeamsEmulator());
      const url = emulator.addWorkflow();
      const card = teamsMessage({
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        body: [{ type: 'TextBlock', text: 'corpus' }],
      });
      return {
        emulator,
        run: () => postTeamsWorkflow(url, card, { log, retry, maxBodyBytes: MAX_BODY_BYTES, clock: testClock() }),
        stop: () => emulator.stop(),
      };
    },
  },
  // New Relic: every call is a POST to /graphql; reads must leave the rules as they are.
  newRelic('mutingRules query (unmute finds its rule)', 'target', (client) => client.listRules()),
  newRelic('alertsMutingRuleCreate', 'target', (client) => client.createRule(RULE), true),
  newRelic('alertsMutingRuleDelete', 'target', (client, id) => client.deleteRule(id)),
  // Azure DevOps through azure-devops-node-api: connecting, listing, reading back, queueing.
  devOps('GET _apis/ResourceAreas (connect)', 'GET', /\/_apis\/ResourceAreas$/i, 'none', (client) => client.build()),
  devOps('GET build/Definitions (hold selects)', 'GET', /\/_apis\/build\/Definitions$/i, 'none', (client) =>
    selectDefinitions(client, buildSelections(['Nightly export']), new Log(), 'pipelines'),
  ),
  devOps(
    'GET build/Definitions/{id} (release reads back)',
    'GET',
    /\/_apis\/build\/Definitions\/\d+$/i,
    'none',
    async (client, emulator, id) => {
      const build = await client.build();
      return client.call('read pipeline Nightly export', () => build.getDefinition(emulator.project, id), {
        expect: devOpsShape.resourceOrMissing,
      });
    },
  ),
  devOps(
    "GET build/builds/{id}/timeline (finish reads the night's times)",
    'GET',
    /\/_apis\/build\/builds\/\d+\/Timeline$/i,
    'none',
    (client, emulator) => {
      emulator.setTimeline(77, [
        {
          id: 's',
          parentId: null,
          type: 'Stage',
          name: 'Changes',
          identifier: 'Changes',
          order: 1,
          state: 'completed',
          result: 'succeeded',
        },
      ]);
      return readRunTimeline({ client, buildId: 77 });
    },
  ),
  devOps('GET pipelines/approvals (finish asks who approved)', 'GET', /\/_apis\/pipelines\/approvals$/i, 'none', (client, emulator) => {
    const id = 'a7c1e3f0-1111-4a2b-9c3d-000000000001';
    emulator.setApprovals(77, [
      { id, runId: 77, status: 'approved', approver: 'Ada Lovelace', createdOn: '2025-04-13T08:45:00Z', decidedOn: '2025-04-13T08:52:00Z' },
    ]);
    return readApprovers({ client, buildId: 77, approvals: [{ id, stage: 'StartingMaintenance', result: 'Succeeded' }] });
  }),
  devOps(
    'GET pipelines/{id}/runs (a run started earlier)',
    'GET',
    /\/_apis\/pipelines\/\d+\/runs$/i,
    'none',
    async (client, emulator, id) => {
      const pipelines = await client.pipelines();
      return client.call('list runs of Nightly export', () => pipelines.listRuns(emulator.project, id), { expect: devOpsShape.list });
    },
  ),
  devOps(
    'POST pipelines/{id}/runs (queue a run)',
    'POST',
    /\/_apis\/pipelines\/\d+\/runs$/i,
    'target',
    async (client, emulator, id) => {
      const pipelines = await client.pipelines();
      return client.call('run Nightly export', () => pipelines.runPipeline({}, emulator.project, id), { idempotent: false });
    },
    // Its caller checks the run it gets; a wrong shape here is single-run.ts's to judge.
    { once: true, skip: ['shape'] },
  ),
];

/** The smoke checks read websites as text: only the faults that are not about JSON apply. */
const SMOKE_FAULTS: HostileFault[] = ['drip', 'huge', 'reset-mid-body'];

interface Case {
  operation: Operation;
  fault: HostileFault;
}

const CASES: Case[] = OPERATIONS.flatMap((operation) =>
  HOSTILE_FAULTS.filter((fault) => !operation.skip?.includes(fault)).map((fault) => ({ operation, fault })),
);

interface Outcome {
  name: string;
  elapsedMs: number;
  problems: string[];
}

async function runCase({ operation, fault }: Case): Promise<Outcome> {
  const name = `${operation.name} × ${fault}`;
  const log = new Log();
  const harness = await operation.start(log);
  const problems: string[] = [];
  const before = JSON.stringify(harness.state?.());
  harness.emulator.journal.length = 0;
  harness.emulator.fault({ kind: fault, method: operation.method, path: operation.path, times: 100, intervalMs: 100, bytes: HUGE_BYTES });
  const started = Date.now();
  let error: unknown;
  try {
    await harness.run();
  } catch (caught) {
    error = caught;
  }
  const elapsedMs = Date.now() - started;
  try {
    const message = error instanceof Error ? error.message : '';
    if (!error) problems.push('no error: the broken answer was taken as an answer');
    else {
      if (!operation.service.test(message)) problems.push(`the error does not name the service: ${message}`);
      if (!SAYS[fault].test(message)) problems.push(`the error does not say what came (${SAYS[fault]}): ${message}`);
      if (MISREAD.test(message)) problems.push(`the error misreads the answer as a fact: ${message}`);
      if (/TypeError|Cannot read prop|undefined/.test(message)) problems.push(`a crash, not a clear error: ${message}`);
    }
    if (elapsedMs > DEADLINE_MS + MARGIN_MS)
      problems.push(`took ${elapsedMs} ms, more than the ${DEADLINE_MS} ms deadline plus ${MARGIN_MS} ms`);
    const applied = harness.emulator.appliedWrites();
    const wrong = applied.filter(
      (entry) => operation.writes === 'none' || entry.method !== operation.method || !operation.path.test(entry.path),
    );
    if (wrong.length) problems.push(`wrong writes: ${wrong.map((entry) => `${entry.method} ${entry.path}`).join(', ')}`);
    if (operation.once && applied.length > 1)
      problems.push(`a call that is not safe to repeat reached the service ${applied.length} times`);
    if (operation.writes === 'none' && harness.state && JSON.stringify(harness.state()) !== before)
      problems.push('the emulator state changed');
  } finally {
    await harness.stop();
  }
  return { name, elapsedMs, problems };
}

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

describe('hostile corpus (http): broken answers from every service', function () {
  this.timeout(120_000);
  let restoreWriter: ReturnType<typeof setWriter>;
  let untrust: (() => void) | undefined;
  const counted: string[] = [];

  before(async () => {
    untrust = await trustEmulatorsInProcess();
    restoreWriter = setWriter(() => {});
  });
  after(() => {
    setWriter(restoreWriter);
    untrust?.();
    console.log(`      hostile corpus (http): ${counted.length} cases`);
  });

  it(
    `every client × every broken answer ends in a clear error within ${DEADLINE_MS} ms + ${MARGIN_MS} ms, ` + 'with no wrong write',
    async () => {
      const outcomes = await inBatches(CASES, CONCURRENCY, runCase);
      counted.push(...outcomes.map((outcome) => outcome.name));
      const slowest = outcomes.reduce((a, b) => (a.elapsedMs >= b.elapsedMs ? a : b));
      console.log(`      ${outcomes.length} client cases; slowest ${slowest.elapsedMs} ms (${slowest.name}); deadline ${DEADLINE_MS} ms`);
      const failed = outcomes.filter((outcome) => outcome.problems.length);
      assert.deepEqual(
        failed.map((outcome) => `${outcome.name}: ${outcome.problems.join('; ')}`),
        [],
      );
      assert.ok(outcomes.length >= 80, `${outcomes.length} cases`);
    },
  );

  it('a smoke check against a website that drips, floods or breaks off fails within its own timeout', async () => {
    const site = await started(new WebsiteEmulator());
    try {
      const outcomes = await inBatches(SMOKE_FAULTS, 3, async (fault) => {
        const log = new Log();
        const check = {
          name: `home page (${fault})`,
          method: 'GET' as const,
          url: `${site.url}/?${fault}`,
          expectStatus: [200],
          retries: 0,
          retryDelaySeconds: 0,
        };
        site.fault({ kind: fault, path: '/', times: 1, intervalMs: 100 });
        const started = Date.now();
        const result = await runCheck(check, { timeoutSeconds: 1, log });
        return { fault, elapsedMs: Date.now() - started, result };
      });
      for (const { fault, elapsedMs, result } of outcomes) {
        counted.push(`smoke check × ${fault}`);
        assert.equal(result.passed, false, `${fault}: a broken page is not a pass`);
        assert.match(result.reasons.join('; '), SAYS[fault], fault);
        assert.ok(elapsedMs < 1000 + MARGIN_MS, `${fault} took ${elapsedMs} ms`);
      }
    } finally {
      await site.stop();
    }
  });

  it(
    'restores that read back through a broken answer fail, write nothing and leave no receipt (bundles, as the agent ' + 'runs them)',
    async () => {
      const outcomes = (await inBatches(BUNDLE_GROUPS, BUNDLE_CONCURRENCY, runBundleGroup)).flat();
      counted.push(...outcomes.map((outcome) => outcome.name));
      const slowest = outcomes.reduce((a, b) => (a.elapsedMs >= b.elapsedMs ? a : b));
      console.log(`      ${outcomes.length} bundle cases; slowest restore ${slowest.elapsedMs} ms (${slowest.name})`);
      assert.deepEqual(
        outcomes.filter((outcome) => outcome.problems.length).map((outcome) => `${outcome.name}: ${outcome.problems.join('; ')}`),
        [],
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// The restore paths as the agent runs them: apply with the service healthy, restore with the fault on.

const BUNDLE_CONCURRENCY = 5;
/** A bundled restore must fail well inside the step's time: these faults answer at once. */
const BUNDLE_LIMIT_MS = 30_000;

/**
 * One restore path: applied once with the service healthy, then restored once per broken answer. Each failed
 * restore must leave everything as the apply left it, so the next one restores the same state.
 */
interface BundleGroup {
  name: string;
  service: RegExp;
  faults: Array<{ kind: HostileFault; method: string; path: RegExp; says?: RegExp }>;
  emulator(): Emulator;
  apply(emulator: Emulator, dir: string): Promise<TaskRun>;
  restore(emulator: Emulator, record: string, dir: string): Promise<TaskRun>;
  /** Calls that reach the service but change nothing (GraphQL queries are POSTs). */
  harmless?: (entry: JournalEntry) => boolean;
  /** What must still be as the apply left it: not back, and not reported back. */
  stillApplied(emulator: Emulator): boolean;
}

const BUILD_ID = { 'Build.BuildId': '4242' };

function pingdomTask(emulator: Emulator, inputs: Record<string, string | number>, dir: string): Promise<TaskRun> {
  return runBundledTask('PingdomPauseV1', {
    inputs: { pingdomConnection: 'pingdom', ...inputs },
    endpoints: { pingdom: { url: `${emulator.url}/api/3.1`, scheme: 'Token', parameters: { apitoken: PINGDOM_TOKEN } } },
    variables: BUILD_ID,
    workDirectory: dir,
  });
}

function cloudflareTask(emulator: Emulator, inputs: Record<string, string>, dir: string): Promise<TaskRun> {
  return runBundledTask('MaintenancePageV1', {
    inputs: { cloudflareConnection: 'cf', ...inputs },
    endpoints: { cf: { url: `${emulator.url}/client/v4`, scheme: 'Token', parameters: { apitoken: CLOUDFLARE_TOKEN } } },
    variables: BUILD_ID,
    workDirectory: dir,
  });
}

function newRelicTask(emulator: Emulator, inputs: Record<string, string | number>, dir: string): Promise<TaskRun> {
  return runBundledTask('AlertMuteV1', {
    inputs: { provider: 'newRelic', newRelicConnection: 'nr', ...inputs },
    endpoints: {
      nr: {
        url: `${emulator.url}/graphql`,
        scheme: 'Token',
        parameters: { apitoken: NEWRELIC_KEY },
        data: { accountId: String(NEWRELIC_ACCOUNT) },
      },
    },
    variables: BUILD_ID,
    workDirectory: dir,
  });
}

function rescheduleTask(emulator: Emulator, inputs: Record<string, string>, dir: string): Promise<TaskRun> {
  const ado = emulator as AzureDevOpsEmulator;
  return runBundledTask('RescheduleJobsV1', {
    endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
    variables: { 'System.CollectionUri': ado.collectionUrl, 'System.TeamProject': ado.project, 'MaintenanceWindow.Id': '2025-04-13' },
    inputs,
    workDirectory: dir,
  });
}

const PLAN = path.join(repoRoot, 'plans', '2025-04-13.yml');

const BUNDLE_GROUPS: BundleGroup[] = [
  // The issue's own case: resume of paused checks reading GET /checks back.
  {
    name: 'Pingdom resume (paused checks)',
    service: /Pingdom/,
    faults: (['html', 'shape', 'content-type', 'truncated'] as const).map((kind) => ({ kind, method: 'GET', path: /\/checks$/ })),
    emulator: () => new PingdomEmulator(),
    apply: (emulator, dir) => pingdomTask(emulator, { action: 'pause', checkTags: 'web', mode: 'pauseChecks', durationMinutes: 60 }, dir),
    restore: (emulator, record, dir) => pingdomTask(emulator, { action: 'resume', undoRecord: record }, dir),
    stillApplied: (emulator) => (emulator as PingdomEmulator).silencedChecks().includes(1001),
  },
  {
    name: 'Pingdom resume (maintenance window)',
    service: /Pingdom/,
    faults: (['html', 'shape'] as const).map((kind) => ({ kind, method: 'GET', path: /\/maintenance$/ })),
    emulator: () => new PingdomEmulator(),
    apply: (emulator, dir) => pingdomTask(emulator, { action: 'pause', checkTags: 'web', durationMinutes: 60 }, dir),
    restore: (emulator, record, dir) => pingdomTask(emulator, { action: 'resume', undoRecord: record }, dir),
    stillApplied: (emulator) => (emulator as PingdomEmulator).silencedChecks().includes(1001),
  },
  {
    name: 'Cloudflare maintenance page off',
    service: /Cloudflare/,
    faults: (['html', 'shape', 'content-type', 'truncated'] as const).map((kind) => ({ kind, method: 'GET', path: /\/dns_records/ })),
    emulator: () => new CloudflareEmulator(),
    apply: (emulator, dir) =>
      cloudflareTask(
        emulator,
        { action: 'enable', zoneName: 'invoicecloud.com', records: 'www\nmy', maintenanceTarget: 'icmaintenance.azurewebsites.net' },
        dir,
      ),
    restore: (emulator, record, dir) => cloudflareTask(emulator, { action: 'disable', undoRecord: record }, dir),
    stillApplied: (emulator) =>
      (emulator as CloudflareEmulator).find('www.invoicecloud.com')?.content === 'icmaintenance.azurewebsites.net',
  },
  {
    name: 'Azure DevOps release of held pipelines',
    service: /Azure DevOps/,
    faults: (['html', 'shape', 'truncated'] as const).map((kind) => ({
      kind,
      method: 'GET',
      path: /\/_apis\/build\/Definitions\/\d+$/i,
      says: kind === 'shape' ? /not the documented answer/ : undefined,
    })),
    emulator: () => {
      const ado = new AzureDevOpsEmulator();
      ado.addPipeline({ name: 'Nightly export', folder: '\\Product Integrations' });
      ado.addPipeline({ name: 'Usage reports', folder: '\\Product Engineering' });
      return ado;
    },
    apply: (emulator, dir) => rescheduleTask(emulator, { action: 'hold', planFile: PLAN }, dir),
    restore: (emulator, record, dir) => rescheduleTask(emulator, { action: 'release', undoRecord: record }, dir),
    stillApplied: (emulator) =>
      [...(emulator as AzureDevOpsEmulator).definitions.values()].some((definition) => definition.queueStatus === 'paused'),
  },
  {
    name: 'New Relic unmute',
    service: /New Relic/,
    faults: (['html', 'shape', 'truncated'] as const).map((kind) => ({ kind, method: 'POST', path: /\/graphql$/ })),
    emulator: () => new NewRelicEmulator(),
    apply: (emulator, dir) =>
      newRelicTask(emulator, { action: 'mute', policyNames: 'Web servers', durationMinutes: 60, graceMinutes: 5 }, dir),
    restore: (emulator, record, dir) => newRelicTask(emulator, { action: 'unmute', undoRecord: record }, dir),
    harmless: (entry) => /^\s*query\b/.test(String(entry.body?.query ?? '')),
    stillApplied: (emulator) => (emulator as NewRelicEmulator).rules.size === 2,
  },
];

function receipts(dir: string): string[] {
  const records = path.join(dir, 'records');
  return fs.existsSync(records) ? fs.readdirSync(records).filter((name) => name.endsWith('.restored.json')) : [];
}

/** Applies once, then restores through each broken answer in turn. */
async function runBundleGroup(group: BundleGroup): Promise<Outcome[]> {
  const emulator = group.emulator();
  await emulator.start();
  const outcomes: Outcome[] = [];
  try {
    const dir = newWorkDirectory();
    const applied = await group.apply(emulator, dir);
    if (applied.result !== 'Succeeded')
      return [{ name: group.name, elapsedMs: 0, problems: [`the apply failed: ${applied.errors.join('; ')}`] }];
    for (const fault of group.faults) {
      emulator.journal.length = 0;
      emulator.clearFaults();
      emulator.fault({ ...fault, times: 100 });
      const restored = await group.restore(emulator, applied.outputs.undoRecord, dir);
      outcomes.push({
        name: `bundle: ${group.name} × ${fault.kind} on ${fault.method} ${fault.path}`,
        elapsedMs: restored.durationMs,
        problems: judgeRestore(group, fault.says ?? SAYS[fault.kind], restored, emulator, dir),
      });
    }
  } finally {
    await emulator.stop();
  }
  return outcomes;
}

function judgeRestore(group: BundleGroup, says: RegExp, restored: TaskRun, emulator: Emulator, dir: string): string[] {
  const problems: string[] = [];
  const error = restored.errors.join('\n');
  if (restored.result !== 'Failed') problems.push(`the restore ended ${restored.result}: ${restored.stdout.slice(-500)}`);
  if (!group.service.test(error)) problems.push(`the error does not name the service: ${error}`);
  if (!says.test(error)) problems.push(`the error does not say what came (${says}): ${error}`);
  if (MISREAD.test(error)) problems.push(`the error misreads the answer as a fact: ${error}`);
  if (/restored for|everything is back/i.test(restored.stdout)) problems.push('the log says it is back');
  const writes = emulator.appliedWrites().filter((entry) => !group.harmless?.(entry));
  if (writes.length) problems.push(`writes on a broken read-back: ${writes.map((entry) => `${entry.method} ${entry.path}`).join(', ')}`);
  if (receipts(dir).length) problems.push(`a receipt for what is not back: ${receipts(dir).join(', ')}`);
  if (!group.stillApplied(emulator)) problems.push('what the apply did is no longer in place (a write got through)');
  if (restored.durationMs > BUNDLE_LIMIT_MS) problems.push(`took ${restored.durationMs} ms`);
  return problems;
}
