import { strict as assert } from 'node:assert';
import * as https from 'node:https';
import { agentFor, axiosAgentsFor, describeAgentNetwork, devopsRequestOptions, proxyFor, type AgentNetwork } from '../../shared/core/proxy';

/** The routing rules of shared/core/proxy.ts on settings made here (the agent's own are read by task tests). */
describe('the agent proxy settings (shared/core/proxy.ts)', () => {
  const network: AgentNetwork = {
    proxy: {
      url: 'http://proxy.contoso.com:8080/',
      username: 'svc',
      password: 'p@ss word',
      bypass: [/\.internal\.contoso\.com/i, /^https:\/\/dev\.azure\.com\/contoso\//i],
    },
  };

  it("follows task-lib's rule: a bypass regex tested on the whole URL, case-insensitive; loopback proxied; link-local direct", () => {
    assert.ok(proxyFor('https://hooks.slack.com/services/x', network));
    assert.equal(proxyFor('https://wiki.INTERNAL.contoso.com/status', network), undefined);
    assert.equal(proxyFor('https://dev.azure.com/contoso/_apis/projects', network), undefined);
    assert.ok(proxyFor('https://dev.azure.com/fabrikam/_apis/projects', network), 'only the organization on the list');
    assert.ok(proxyFor('http://127.0.0.1:8080/', network), 'loopback goes through the proxy, as in task-lib');
    assert.equal(
      proxyFor('http://169.254.169.254/metadata/identity/oauth2/token', network),
      undefined,
      'the managed identity endpoint is never proxied',
    );
    assert.equal(proxyFor('https://hooks.slack.com/', {}), undefined, 'no proxy configured');
  });

  it('hands out a CONNECT tunnel for HTTPS, a forwarding agent for HTTP, and nothing when direct without a CA', () => {
    const tunnel = agentFor('https://api.pingdom.com/api/3.1/checks', network);
    const forward = agentFor('http://status.contoso.com/', network);
    assert.equal(tunnel?.constructor.name, 'TunnelTrustingAgentCa');
    assert.equal(forward?.constructor.name, 'HttpProxyAgent');
    assert.equal(agentFor('https://wiki.internal.contoso.com/', network), undefined);
    assert.deepEqual(axiosAgentsFor('https://wiki.internal.contoso.com/', network), {});
    assert.equal(axiosAgentsFor('https://api.cloudflare.com/', network).httpsAgent, tunnel, 'one agent per network, reused');
  });

  it('trusts Agent.CAInfo on direct HTTPS too', () => {
    const withCa: AgentNetwork = { caFile: '/etc/agent/ca.pem', ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'] };
    const direct = agentFor('https://api.pingdom.com/', withCa) as https.Agent;
    assert.ok(direct instanceof https.Agent);
    assert.deepEqual(direct.options.ca, withCa.ca);
    assert.match(describeAgentNetwork(withCa), /direct \(no agent proxy\), trusting the certificates in \/etc\/agent\/ca\.pem/);
  });

  it('gives azure-devops-node-api the same proxy, bypass list and CA; describes the route without the password', () => {
    const options = devopsRequestOptions({ ...network, caFile: '/etc/agent/ca.pem' });
    assert.deepEqual(options.proxy, {
      proxyUrl: 'http://proxy.contoso.com:8080/',
      proxyUsername: 'svc',
      proxyPassword: 'p@ss word',
      proxyBypassHosts: ['\\.internal\\.contoso\\.com', '^https:\\/\\/dev\\.azure\\.com\\/contoso\\/'],
    });
    assert.deepEqual(options.cert, { caFile: '/etc/agent/ca.pem' });
    const described = describeAgentNetwork(network);
    assert.match(described, /through the agent's proxy http:\/\/proxy\.contoso\.com:8080\/ as svc \(2 bypass pattern\(s\)\)/);
    assert.ok(!described.includes('p@ss'));
  });
});
