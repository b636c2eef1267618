import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/task-runner';

/**
 * The service endpoint types vss-extension.json contributes. tfx packages any contribution without looking
 * inside, so a wrong type, target or auth scheme would only show when someone tries to create a connection.
 */

interface InputDescriptor {
  id: string;
  name?: string;
  description?: string;
  inputMode?: string;
  isConfidential?: boolean;
  validation?: { isRequired?: boolean; dataType?: string };
}

interface EndpointTypeContribution {
  id: string;
  type: string;
  targets: string[];
  description?: string;
  properties: {
    name: string;
    displayName?: string;
    helpMarkDown?: string;
    url?: { displayName?: string; value?: string; isVisible?: string; helpText?: string };
    inputDescriptors?: InputDescriptor[];
    authenticationSchemes?: Array<{ type: string; inputDescriptors?: InputDescriptor[] }>;
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'vss-extension.json'), 'utf8')) as {
  contributions: Array<EndpointTypeContribution>;
};
const endpointTypes = manifest.contributions.filter((c) => c.type === 'ms.vss-endpoint.service-endpoint-type');

const EXPECTED: Record<string, { url: string; data?: string[] }> = {
  'maintenance-pingdom': { url: 'https://api.pingdom.com/api/3.1/' },
  'maintenance-cloudflare': { url: 'https://api.cloudflare.com/client/v4/' },
  'maintenance-slack': { url: 'https://slack.com/api/' },
  'maintenance-slack-webhook': { url: 'https://hooks.slack.com/' },
  'maintenance-teams-webhook': { url: 'https://api.powerplatform.com/' },
  'maintenance-newrelic': { url: 'https://api.newrelic.com/graphql', data: ['accountId'] },
};

describe('vss-extension.json service endpoint types', () => {
  it('contributes exactly our six endpoint types', () => {
    assert.deepEqual(endpointTypes.map((c) => c.properties.name).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: an endpoint type on the token scheme, with a server URL defaulting to ${expected.url}`, () => {
      const contribution = endpointTypes.find((c) => c.properties.name === name);
      assert.ok(contribution, `${name} is missing`);
      assert.deepEqual(contribution.targets, ['ms.vss-endpoint.endpoint-types']);
      const { properties } = contribution;
      assert.ok(properties.displayName?.trim(), 'displayName');
      assert.ok(properties.helpMarkDown?.trim(), 'helpMarkDown');
      assert.equal(properties.url?.value, expected.url);
      assert.match(properties.url?.isVisible ?? '', /^(true|false)$/, 'url.isVisible is the string "true" or "false"');
      assert.ok(properties.url?.displayName && properties.url.helpText, 'url.displayName and url.helpText');

      assert.equal(properties.authenticationSchemes?.length, 1, 'one authentication scheme');
      const [scheme] = properties.authenticationSchemes;
      assert.equal(scheme.type, 'ms.vss-endpoint.endpoint-auth-scheme-token');
      assert.equal(scheme.inputDescriptors?.length, 1, 'the token scheme takes one input: apitoken');
      const [token] = scheme.inputDescriptors;
      assert.equal(token.id, 'apitoken');
      assert.equal(token.inputMode, 'passwordbox');
      assert.equal(token.isConfidential, true);
      assert.deepEqual(
        { isRequired: token.validation?.isRequired, dataType: token.validation?.dataType },
        { isRequired: true, dataType: 'string' },
      );
      assert.ok(token.name?.trim() && token.description?.trim(), 'the token input has a name and a description saying what to paste');

      const data = (properties.inputDescriptors ?? []).map((d) => d.id);
      assert.deepEqual(data, expected.data ?? [], 'endpoint data fields');
      for (const descriptor of properties.inputDescriptors ?? []) {
        assert.equal(descriptor.isConfidential, false, `${descriptor.id} is endpoint data, not a secret`);
        assert.equal(descriptor.validation?.isRequired, true);
        assert.ok(descriptor.name?.trim() && descriptor.description?.trim());
      }
    });
  }

  it('keeps a server URL visible where a proxy may stand in, and hides it where the webhook URL is the token', () => {
    const visible = Object.fromEntries(endpointTypes.map((c) => [c.properties.name, c.properties.url?.isVisible]));
    for (const name of ['maintenance-pingdom', 'maintenance-cloudflare', 'maintenance-slack', 'maintenance-newrelic'])
      assert.equal(visible[name], 'true', name);
    for (const name of ['maintenance-slack-webhook', 'maintenance-teams-webhook']) assert.equal(visible[name], 'false', name);
  });
});
