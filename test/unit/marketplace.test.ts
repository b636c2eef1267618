import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatProblem, PipelineValidator } from '../helpers/pipeline-schema';
import { taskFolders, type TaskJson } from '../helpers/task-contract';
import { repoRoot } from '../helpers/task-runner';

/**
 * What the marketplace listing and the task assistant show (issue 12): the pickers (dataSourceBindings), the
 * verified connections (headers, TestConnection, list data sources, icons), the help (helpUrl, "Learn more",
 * docs/tasks/<Task>.md), an icon per task, the manifest's links, licence, privacy statement and changelog,
 * and the plan files' schema line. tfx checks none of this.
 */

interface Binding {
  target: string;
  endpointId: string;
  dataSourceName?: string;
  endpointUrl?: string;
  resultSelector?: string;
  resultTemplate?: string;
  parameters?: Record<string, string>;
}
type Task = TaskJson & { helpUrl?: string; helpMarkDown?: string; releaseNotes?: string; dataSourceBindings?: Binding[] };

interface DataSource {
  name: string;
  endpointUrl: string;
  resultSelector?: string;
  requestVerb?: string;
  requestContent?: string;
}
interface EndpointType {
  name: string;
  iconUrl?: string;
  helpMarkDown: string;
  dataSources?: DataSource[];
  authenticationSchemes: Array<{ type: string; headers?: Array<{ name: string; value: string }> }>;
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(repoRoot, file), 'utf8')) as T;
const manifest = readJson<{
  id: string;
  version: string;
  tags?: string[];
  links?: Record<string, { uri?: string }>;
  repository?: { type: string; uri: string };
  content?: Record<string, { path: string }>;
  branding?: { color?: string; theme?: string };
  screenshots?: Array<{ path: string }>;
  files: Array<{ path: string; addressable?: boolean }>;
  contributions: Array<{ type: string; properties: EndpointType }>;
}>('vss-extension.json');
const folders = taskFolders(repoRoot);
const readTask = (folder: string) => readJson<Task>(path.join('tasks', folder, 'task.json'));
const endpointTypes = new Map(
  manifest.contributions.filter((c) => c.type === 'ms.vss-endpoint.service-endpoint-type').map((c) => [c.properties.name, c.properties]),
);

/** The pickers the issue asks for: task folder → bound input → what it must list from. */
const PICKERS: Record<string, Record<string, RegExp>> = {
  AppGatewayDrainV1: {
    resourceGroupName: /^AzureResourceGroups$/,
    applicationGatewayName:
      /resourceGroups\/\$\(resourceGroupName\)\/resources\?\$filter=resourceType eq 'Microsoft\.Network\/applicationGateways'/,
    backendPoolName: /applicationGateways\/\$\(applicationGatewayName\)\?/,
  },
  PatchVmsV1: {
    resourceGroupName: /^AzureResourceGroups$/,
    virtualMachines: /resourceGroups\/\$\(resourceGroupName\)\/providers\/Microsoft\.Compute\/virtualMachines\?/,
  },
  AlertMuteV1: { resourceGroup: /^AzureResourceGroups$/ },
  RunPipelineV1: { project: /\/_apis\/projects\?/, pipeline: /\/\{\{project\}\}\/_apis\/build\/definitions\?/ },
  PingdomPauseV1: { checkNames: /^PingdomChecks$/ },
  MaintenancePageV1: { zoneName: /^CloudflareZones$/ },
  NotifyV1: { channels: /^SlackChannels$/ },
  MaintenanceWindowV1: { channels: /^SlackChannels$/ },
};
const MULTI_SELECT = ['PatchVmsV1.virtualMachines', 'PingdomPauseV1.checkNames', 'NotifyV1.channels', 'MaintenanceWindowV1.channels'];

/** Data sources the AzureRM endpoint type (Microsoft's) provides and our bindings use. */
const AZURE_RM_DATA_SOURCES = ['AzureResourceGroups'];

describe('pickers in the task assistant (dataSourceBindings)', () => {
  for (const [folder, pickers] of Object.entries(PICKERS)) {
    it(`${folder}: ${Object.keys(pickers).join(', ')}`, () => {
      const task = readTask(folder);
      const bindings = task.dataSourceBindings ?? [];
      assert.deepEqual(bindings.map((b) => b.target).sort(), Object.keys(pickers).sort(), 'one binding per picker');
      for (const binding of bindings) {
        const input = task.inputs!.find((i) => i.name === binding.target)!;
        const where = `${folder}.${binding.target}`;
        assert.equal(input.type, 'pickList', `${where} is a pickList`);
        assert.equal(input.properties?.EditableOptions, 'True', `${where} stays editable, so YAML values and $(variables) work`);
        assert.equal(
          input.properties?.MultiSelectFlatList === 'True',
          MULTI_SELECT.includes(where),
          `${where}: multi-select exactly where several values make sense`,
        );
        assert.equal(input.options, undefined, `${where} lists what the service has, not fixed options`);
        assert.match(binding.dataSourceName ?? binding.endpointUrl ?? '', pickers[binding.target], where);

        const connection = /^\$\((\w+)\)$/.exec(binding.endpointId)?.[1];
        if (connection === undefined) {
          assert.equal(binding.endpointId, 'tfs:teamfoundation', `${where}: endpointId is a connection input or this organization`);
        } else {
          const connectionInput = task.inputs!.find((i) => i.name === connection);
          assert.match(connectionInput?.type ?? '', /^connectedService:/, `${where}: endpointId names the connection input ${connection}`);
          const type = connectionInput!.type.slice('connectedService:'.length);
          if (binding.dataSourceName) {
            const known = type === 'AzureRM' ? AZURE_RM_DATA_SOURCES : (endpointTypes.get(type)?.dataSources ?? []).map((d) => d.name);
            assert.ok(
              known.includes(binding.dataSourceName),
              `${where}: data source ${binding.dataSourceName} is declared by ${type} (${known.join(', ')})`,
            );
          }
        }
        if (binding.endpointUrl) {
          assert.match(binding.endpointUrl, /^\{\{\{?endpoint\.url\}?\}\}/, `${where}: the URL starts at the connection's own URL`);
          assert.match(binding.resultSelector ?? '', /^jsonpath:\$/, `${where}: resultSelector`);
        }
        const names = [...`${binding.endpointUrl ?? ''} ${Object.values(binding.parameters ?? {}).join(' ')}`.matchAll(/\$\((\w+)\)/g)].map(
          (m) => m[1],
        );
        for (const name of names)
          assert.ok(
            task.inputs!.some((i) => i.name === name),
            `${where}: $(${name}) is an input of the task`,
          );
        const template = JSON.parse(binding.resultTemplate ?? '{ "Value": "{{{defaultResultKey}}}", "DisplayValue": "x" }') as Record<
          string,
          string
        >;
        assert.deepEqual(Object.keys(template).sort(), ['DisplayValue', 'Value'], `${where}: resultTemplate is { Value, DisplayValue }`);
      }
    });
  }

  it('no other task binds inputs (a new picker is listed here with what it lists)', () => {
    for (const folder of folders.filter((f) => !(f in PICKERS))) assert.deepEqual(readTask(folder).dataSourceBindings ?? [], [], folder);
  });
});

/** What each connection type sends, and whether a safe read can verify it. */
const CONNECTIONS: Record<string, { header?: [string, string]; verify?: string; lists?: string[]; icon: string }> = {
  'maintenance-pingdom': {
    header: ['Authorization', 'Bearer {{endpoint.apitoken}}'],
    verify: 'checks?limit=1',
    lists: ['PingdomChecks'],
    icon: 'endpoint-pingdom.png',
  },
  'maintenance-cloudflare': {
    header: ['Authorization', 'Bearer {{endpoint.apitoken}}'],
    verify: 'user/tokens/verify',
    lists: ['CloudflareZones'],
    icon: 'endpoint-cloudflare.png',
  },
  'maintenance-slack': {
    header: ['Authorization', 'Bearer {{endpoint.apitoken}}'],
    verify: 'auth.test',
    lists: ['SlackChannels'],
    icon: 'endpoint-slack.png',
  },
  'maintenance-newrelic': { header: ['API-Key', '{{endpoint.apitoken}}'], verify: '', icon: 'endpoint-newrelic.png' },
  'maintenance-slack-webhook': { icon: 'endpoint-slack-webhook.png' },
  'maintenance-teams-webhook': { icon: 'endpoint-teams-webhook.png' },
};

/** The header each client in shared/services sends, read from its source, so manifest and code agree. */
const CLIENT_HEADERS: Record<string, [string, RegExp]> = {
  'maintenance-pingdom': ['shared/services/pingdom-client.ts', /Authorization: `Bearer \$\{/],
  'maintenance-cloudflare': ['shared/services/cloudflare-client.ts', /Authorization: `Bearer \$\{/],
  'maintenance-slack': ['shared/services/slack.ts', /Authorization: `Bearer \$\{/],
  'maintenance-newrelic': ['shared/services/newrelic-client.ts', /'API-Key': /],
};

describe('verified connections (vss-extension.json endpoint types)', () => {
  for (const [name, expected] of Object.entries(CONNECTIONS)) {
    it(`${name}: headers, ${expected.verify === undefined ? 'no Verify (a test would post)' : 'a read-only TestConnection'}, icon`, () => {
      const type = endpointTypes.get(name);
      assert.ok(type, name);
      const headers = type.authenticationSchemes[0].headers ?? [];
      if (expected.header) {
        assert.deepEqual(
          headers.map((h) => [h.name, h.value]),
          [expected.header],
        );
        const [file, pattern] = CLIENT_HEADERS[name];
        assert.match(fs.readFileSync(path.join(repoRoot, file), 'utf8'), pattern, `${file} sends the header the connection declares`);
      } else {
        assert.deepEqual(headers, [], 'a webhook URL is its own credential: no header');
      }
      const sources = type.dataSources ?? [];
      const test = sources.find((d) => d.name === 'TestConnection');
      if (expected.verify === undefined) {
        assert.equal(test, undefined);
        assert.match(type.helpMarkDown, /no \*\*Verify\*\*.*would post/, 'the help says why there is no Verify');
      } else {
        assert.ok(test, 'TestConnection');
        assert.equal(test.endpointUrl, `{{{endpoint.url}}}${expected.verify}`);
        assert.match(type.helpMarkDown, /\*\*Verify\*\*/, 'the help says what Verify proves');
      }
      assert.deepEqual(
        sources.filter((d) => d.name !== 'TestConnection').map((d) => d.name),
        expected.lists ?? [],
      );
      for (const source of sources) {
        assert.match(source.endpointUrl, /^\{\{\{endpoint\.url\}\}\}/, `${source.name} calls the connection's own URL`);
        if (source.requestVerb !== undefined) {
          // Only NerdGraph needs a POST to read; its body must be a query, never a mutation.
          assert.equal(name, 'maintenance-newrelic', `${source.name}: only New Relic's test posts`);
          assert.equal(source.requestVerb, 'POST');
          const body = JSON.parse(source.requestContent ?? '') as { query: string };
          assert.match(body.query, /^\{ actor \{/);
          assert.doesNotMatch(body.query, /mutation/);
        }
      }
      assert.equal(type.iconUrl, `extension/images/${expected.icon}`);
      assert.ok(fs.existsSync(path.join(repoRoot, type.iconUrl)), type.iconUrl);
      assert.ok(
        manifest.files.some((f) => f.path === 'extension/images' && f.addressable),
        'the icons ship addressable',
      );
    });
  }
});

const LEARN_MORE = /\[Learn more\]\((https:\/\/[^)]+)\)$/;

describe('help: helpUrl, "Learn more" and docs/tasks/<Task>.md', () => {
  for (const folder of folders) {
    it(`${folder}: links its page, and the page lists every input and output with an example, what it restores and permissions`, () => {
      const task = readTask(folder);
      const page = `${manifest.repository!.uri}/blob/main/docs/tasks/${folder}.md`;
      assert.equal(task.helpUrl, page);
      assert.equal(LEARN_MORE.exec(task.helpMarkDown ?? '')?.[1], page, 'helpMarkDown ends with a Learn more link to the page');
      const file = path.join(repoRoot, 'docs', 'tasks', `${folder}.md`);
      assert.ok(fs.existsSync(file), `docs/tasks/${folder}.md exists (npm run docs:tasks creates it)`);
      const text = fs.readFileSync(file, 'utf8');
      const rerun = `(run 'npm run docs:tasks' after changing tasks/${folder}/task.json)`;
      for (const input of task.inputs ?? [])
        assert.ok(text.includes(`| \`${input.name}\` |`), `docs/tasks/${folder}.md lists input ${input.name} ${rerun}`);
      for (const output of task.outputVariables ?? [])
        assert.ok(text.includes(`| \`${output.name}\` |`), `docs/tasks/${folder}.md lists output ${output.name} ${rerun}`);
      const section = (title: string) => (text.split(`\n## ${title}\n`)[1] ?? '').split('\n## ')[0].trim();
      assert.match(
        section('Example'),
        new RegExp(`\`\`\`yaml\\n[\\s\\S]*- task: ${task.name}@${task.version.Major}\\n`),
        'an Example with a YAML step',
      );
      assert.ok(section('What it restores').length > 20, 'a "What it restores" section');
      assert.ok(section('Permissions needed').length > 20, 'a "Permissions needed" section');
      assert.ok(task.releaseNotes?.trim(), 'releaseNotes');
    });
  }

  it('npm run docs:tasks has nothing to change (pages and links follow task.json)', function () {
    this.timeout(20_000);
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'extension', 'task-docs.mjs'), '--check'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(file: string): [number, number] {
  const png = fs.readFileSync(file);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

describe('icons', () => {
  it('gives every task its own icon, as SVG and as the 32 x 32 PNG drawn from it', () => {
    const seen = new Map<string, string>();
    for (const folder of folders) {
      const svg = fs.readFileSync(path.join(repoRoot, 'tasks', folder, 'icon.svg'), 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*viewBox="0 0 32 32"/, `${folder}/icon.svg`);
      const png = path.join(repoRoot, 'tasks', folder, 'icon.png');
      assert.deepEqual(pngSize(png), [32, 32], `${folder}/icon.png`);
      for (const [kind, content] of [
        ['svg', svg],
        ['png', fs.readFileSync(png)],
      ] as const) {
        const digest = `${kind}:${createHash('sha256').update(content).digest('hex')}`;
        assert.ok(!seen.has(digest), `${folder} has the same ${kind} icon as ${seen.get(digest)}`);
        seen.set(digest, folder);
      }
    }
  });

  it('draws the extension icon at 128 x 128 and each connection icon at 64 x 64, each from its SVG', () => {
    assert.deepEqual(pngSize(path.join(repoRoot, 'extension', 'images', 'extension-icon.png')), [128, 128]);
    for (const { icon } of Object.values(CONNECTIONS)) {
      assert.deepEqual(pngSize(path.join(repoRoot, 'extension', 'images', icon)), [64, 64], icon);
      assert.ok(fs.existsSync(path.join(repoRoot, 'extension', 'images', icon.replace(/\.png$/, '.svg'))), `${icon} has its SVG`);
    }
  });
});

describe('the marketplace listing (vss-extension.json, overview, licence, privacy, changelog)', () => {
  it('has screenshots that exist as PNG files in the package', () => {
    const screenshots = manifest.screenshots ?? [];
    assert.ok(screenshots.length >= 1, 'at least one screenshot');
    for (const { path: file } of screenshots) {
      assert.ok(file.startsWith('extension/images/'), `${file} ships with extension/images`);
      const [width, height] = pngSize(path.join(repoRoot, file));
      assert.ok(width >= 640 && height >= 360, `${file} is ${width} x ${height}`);
    }
  });

  it('has tags, branding, a git repository and the four links', () => {
    assert.ok((manifest.tags ?? []).length >= 5, 'tags');
    assert.match(manifest.branding?.color ?? '', /^#[0-9a-f]{6}$/i);
    assert.equal(manifest.repository?.type, 'git');
    for (const link of ['getstarted', 'support', 'license', 'privacypolicy']) {
      assert.ok(manifest.links?.[link]?.uri?.startsWith(`${manifest.repository.uri}/`), `links.${link} points into the repository`);
    }
  });

  it('ships the MIT licence package.json names, a privacy statement with no telemetry, and a changelog of this version', () => {
    assert.equal(manifest.content?.license?.path, 'LICENSE');
    assert.equal(readJson<{ license: string }>('package.json').license, 'MIT');
    assert.match(fs.readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'), /^MIT License\n/);
    assert.match(fs.readFileSync(path.join(repoRoot, 'PRIVACY.md'), 'utf8'), /collects \*\*no telemetry\*\*/);
    assert.equal(manifest.content?.changelog?.path, 'CHANGELOG.md');
    assert.ok(
      fs.readFileSync(path.join(repoRoot, 'CHANGELOG.md'), 'utf8').includes(`\n## ${manifest.version}`),
      `CHANGELOG.md has a section for ${manifest.version}`,
    );
  });

  it('overview.md: what it does, prerequisites, connections, the role, and a YAML example of every task', () => {
    const overview = fs.readFileSync(path.join(repoRoot, manifest.content!.details.path), 'utf8');
    for (const heading of ['## What it does', '## Prerequisites', '## Service connections', '## The Azure role'])
      assert.ok(overview.includes(heading), heading);
    for (const folder of folders) {
      const task = readTask(folder);
      assert.match(
        overview,
        new RegExp(`- task: ${task.name}@${task.version.Major}\\n`),
        `a YAML example of ${task.name}@${task.version.Major}`,
      );
    }
  });
});

/** The YAML blocks of a markdown text. */
function yamlBlocks(text: string): string[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]);
}

describe('the YAML examples of the help pages and the overview', function () {
  this.timeout(30_000);

  it('are valid steps for the pipeline schema of Microsoft with our tasks (inputs, options, types)', () => {
    const validator = PipelineValidator.forRepository();
    const pages = [...folders.map((folder) => path.join('docs', 'tasks', `${folder}.md`)), 'extension/overview.md'];
    let count = 0;
    for (const page of pages) {
      for (const [index, block] of yamlBlocks(fs.readFileSync(path.join(repoRoot, page), 'utf8')).entries()) {
        const result = validator.validateText(`steps:\n${block}`, `${page} (YAML block ${index + 1})`, 'stepsTemplate');
        assert.deepEqual(result.problems.map(formatProblem), [], `${page}, YAML block ${index + 1}`);
        count++;
      }
    }
    assert.ok(count >= folders.length * 2, `${count} examples checked`);
  });
});

describe('plan files in editors', () => {
  const schemaLine = '# yaml-language-server: $schema=../shared/plan/plan.schema.json';

  it('every plan starts with the yaml-language-server line naming the schema the validator uses', () => {
    const plans = fs.readdirSync(path.join(repoRoot, 'plans')).filter((name) => /\.ya?ml$/.test(name));
    assert.ok(plans.length > 0);
    for (const plan of plans)
      assert.equal(fs.readFileSync(path.join(repoRoot, 'plans', plan), 'utf8').split('\n')[0], schemaLine, `plans/${plan}`);
    const target = path.resolve(repoRoot, 'plans', schemaLine.split('$schema=')[1]);
    assert.equal(target, path.join(repoRoot, 'shared', 'plan', 'plan.schema.json'));
    assert.match(
      fs.readFileSync(path.join(repoRoot, 'shared', 'plan', 'plan.ts'), 'utf8'),
      /import planSchema from '\.\/plan\.schema\.json';/,
      'the validator reads that very file',
    );
  });
});
