import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { CLOUDFLARE_TOKEN, CloudflareEmulator } from '../emulators/cloudflare';
import { emulatorCertificate, type Emulator } from '../emulators/kit';
import { PINGDOM_TOKEN, PingdomEmulator, SEED_CHECKS } from '../emulators/pingdom';
import { SLACK_BOT_TOKEN, SlackEmulator } from '../emulators/slack';
import { repoRoot } from '../helpers/task-runner';

/**
 * The connections' data sources and the task pickers bound to them, executed the way Azure DevOps executes
 * them (the URL's `{{{endpoint.url}}}` and the auth scheme's header filled in, the resultSelector applied,
 * then the binding's resultTemplate) against the emulators, which follow the documented API shapes. So a
 * wrong path, selector or template field shows here, not in someone's task assistant.
 * Not covered: Cloudflare's `user/tokens/verify` and New Relic's NerdGraph test, which the emulators do not
 * answer.
 */

interface DataSource {
  name: string;
  endpointUrl: string;
  resultSelector?: string;
}
interface EndpointType {
  name: string;
  dataSources?: DataSource[];
  authenticationSchemes: Array<{ headers?: Array<{ name: string; value: string }> }>;
}
interface Binding {
  target: string;
  dataSourceName?: string;
  resultTemplate?: string;
}

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'vss-extension.json'), 'utf8')) as {
  contributions: Array<{ type: string; properties: EndpointType }>;
};
const endpointType = (name: string): EndpointType => manifest.contributions.find((c) => c.properties.name === name)!.properties;
const binding = (folder: string, target: string): Binding =>
  (
    JSON.parse(fs.readFileSync(path.join(repoRoot, 'tasks', folder, 'task.json'), 'utf8')) as { dataSourceBindings: Binding[] }
  ).dataSourceBindings.find((b) => b.target === target)!;

/** Mustache as the data source templates use it here: `{{{name}}}` and `{{name}}`, from one object. */
function fill(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{\{\{?\s*([\w.]+)\s*\}?\}\}/g, (_match, key: string) =>
    String(key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], values) ?? ''),
  );
}

/** The JSONPath subset our selectors use: `jsonpath:$.a.b` and `jsonpath:$.a[*]`. */
function select(selector: string, body: unknown): unknown[] {
  const match = /^jsonpath:\$((?:\.\w+)*)(\[\*\])?((?:\.\w+)*)$/.exec(selector);
  assert.ok(match, `selector ${selector} is in the subset this test reads`);
  const walk = (value: unknown, dotted: string) =>
    dotted
      .split('.')
      .filter(Boolean)
      .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], value);
  const head = walk(body, match[1]);
  if (!match[2]) return [head];
  assert.ok(Array.isArray(head), `${selector}: ${match[1]} is an array`);
  return head.map((item) => walk(item, match[3]));
}

interface Answer {
  status: number;
  body: unknown;
}

async function execute(source: DataSource, type: EndpointType, endpoint: { url: string; apitoken: string }, ca: Buffer): Promise<Answer> {
  const url = new URL(fill(source.endpointUrl, { endpoint }));
  const headers = Object.fromEntries((type.authenticationSchemes[0].headers ?? []).map((h) => [h.name, fill(h.value, { endpoint })]));
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      { method: 'GET', headers: { ...headers, Accept: 'application/json' }, ca, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text });
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** What the task assistant would list: each selected item through the binding's resultTemplate. */
function pickerValues(answer: Answer, source: DataSource, template: string): Array<{ Value: string; DisplayValue: string }> {
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return select(source.resultSelector!, answer.body).map(
    (item) => JSON.parse(fill(template, item as Record<string, unknown>)) as { Value: string; DisplayValue: string },
  );
}

describe('connection data sources and pickers against the emulators', function () {
  this.timeout(30_000);
  const pingdom = new PingdomEmulator();
  const cloudflare = new CloudflareEmulator();
  const slack = new SlackEmulator();
  let ca: Buffer;

  before(async () => {
    ca = fs.readFileSync((await emulatorCertificate()).file);
    await Promise.all([pingdom, cloudflare, slack].map((emulator: Emulator) => emulator.start()));
  });
  after(async () => {
    await Promise.all([pingdom, cloudflare, slack].map((emulator: Emulator) => emulator.stop()));
  });

  it('Pingdom: Verify passes with the token and fails without it; the check picker lists every check by name', async () => {
    const type = endpointType('maintenance-pingdom');
    const sources = new Map(type.dataSources!.map((s) => [s.name, s]));
    const endpoint = { url: `${pingdom.url}/api/3.1/`, apitoken: PINGDOM_TOKEN };
    assert.equal((await execute(sources.get('TestConnection')!, type, endpoint, ca)).status, 200);
    assert.equal((await execute(sources.get('TestConnection')!, type, { ...endpoint, apitoken: 'wrong' }, ca)).status, 401);

    const checks = pickerValues(
      await execute(sources.get('PingdomChecks')!, type, endpoint, ca),
      sources.get('PingdomChecks')!,
      binding('PingdomPauseV1', 'checkNames').resultTemplate!,
    );
    assert.deepEqual(
      checks.map((c) => c.Value),
      SEED_CHECKS.map((c) => c.name),
    );
    assert.equal(checks[0].DisplayValue, `${SEED_CHECKS[0].name} (${SEED_CHECKS[0].hostname})`);
  });

  it('Cloudflare: the zone picker lists the zones the token can read, by name', async () => {
    const type = endpointType('maintenance-cloudflare');
    const source = type.dataSources!.find((s) => s.name === 'CloudflareZones')!;
    const answer = await execute(source, type, { url: `${cloudflare.url}/client/v4/`, apitoken: CLOUDFLARE_TOKEN }, ca);
    const zones = pickerValues(answer, source, binding('MaintenancePageV1', 'zoneName').resultTemplate!);
    const readable = cloudflare.tokens.get(CLOUDFLARE_TOKEN)!.zones;
    assert.deepEqual(
      zones.map((z) => z.Value),
      [...cloudflare.zones.values()].filter((zone) => readable === '*' || readable.includes(zone.id)).map((zone) => zone.name),
    );
  });

  it('Slack: Verify is auth.test (HTTP 200 even for a bad token, as the help says); the channel picker lists channel names', async () => {
    const type = endpointType('maintenance-slack');
    const sources = new Map(type.dataSources!.map((s) => [s.name, s]));
    const endpoint = { url: `${slack.url}/api/`, apitoken: SLACK_BOT_TOKEN };
    const good = await execute(sources.get('TestConnection')!, type, endpoint, ca);
    assert.deepEqual([good.status, (good.body as { ok: boolean }).ok], [200, true]);
    const bad = await execute(sources.get('TestConnection')!, type, { ...endpoint, apitoken: 'xoxb-wrong' }, ca);
    assert.deepEqual([bad.status, (bad.body as { ok: boolean }).ok], [200, false]);

    const source = sources.get('SlackChannels')!;
    for (const folder of ['NotifyV1', 'MaintenanceWindowV1']) {
      const channels = pickerValues(await execute(source, type, endpoint, ca), source, binding(folder, 'channels').resultTemplate!);
      const names = [...slack.channels.values()].filter((c) => !c.is_archived).map((c) => c.name);
      assert.ok(
        channels.length > 0 && channels.every((c) => names.includes(c.Value) && c.DisplayValue === `#${c.Value}`),
        JSON.stringify(channels),
      );
    }
  });
});
