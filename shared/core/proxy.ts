import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import * as tl from 'azure-pipelines-task-lib/task';
import type { HttpsProxyAgent } from 'https-proxy-agent';
import { InputError } from './errors';
import type { Log } from './log';
import { loadHttpProxyAgent, loadHttpsProxyAgent } from './lazy';

/**
 * The agent's web proxy and certificate settings, read once through task-lib and given to every client:
 * axios (`HttpClient`), the Azure SDK clients and credentials, azure-devops-node-api.
 *
 * Which URLs go through the proxy is task-lib's rule (`getHttpProxyConfiguration(url)`): every URL unless one
 * of the `Agent.ProxyBypassList` regexes matches the whole URL (case-insensitive). Loopback is proxied like
 * any other host: the agent's own C# client skips loopback (`IsBypassed`), but task-lib and
 * azure-devops-node-api do not, and a task behaves like the libraries it runs with (it also lets a test prove
 * that every call goes through a proxy on 127.0.0.1). The one exception is link-local (169.254.0.0/16, the
 * instance metadata endpoint of a managed identity), which no proxy can reach.
 *
 * HTTPS goes through a CONNECT tunnel (axios cannot tunnel on its own), plain HTTP is forwarded with the
 * absolute URL. The Azure SDK gets the same agents through a pipeline policy rather than its `proxyOptions`:
 * `proxyOptions` is one proxy for every request of a client, and the credential talks to two hosts (Azure
 * DevOps for the OIDC token, the Entra authority) which the bypass list may treat differently.
 *
 * `Agent.CAInfo` (the agent's `--sslcacert`) is trusted in addition to Node's roots and NODE_EXTRA_CA_CERTS.
 */

export interface AgentProxy {
  /** The proxy's URL without credentials (safe to print). */
  url: string;
  username?: string;
  /** A secret: masked as soon as it is read. */
  password?: string;
  /** `Agent.ProxyBypassList`: regexes tested against the whole request URL. */
  bypass: RegExp[];
}

export interface AgentNetwork {
  proxy?: AgentProxy;
  /** `Agent.CAInfo`, the file of extra certificate authorities. */
  caFile?: string;
  /** Every CA to trust when `caFile` is set (Node's roots, NODE_EXTRA_CA_CERTS, the file); else undefined. */
  ca?: string[];
}

let cached: AgentNetwork | undefined;

/** The agent's settings, read once; a `log` registers the proxy password as a secret. */
export function agentNetwork(log?: Log): AgentNetwork {
  cached ??= readAgentNetwork();
  if (cached.proxy?.password) log?.addSecret(cached.proxy.password);
  return cached;
}

function readAgentNetwork(): AgentNetwork {
  const config = tl.getHttpProxyConfiguration();
  const network: AgentNetwork = {};
  if (config?.proxyUrl) {
    if (config.proxyPassword) tl.setSecret(config.proxyPassword);
    network.proxy = {
      url: proxyUrlWithoutCredentials(config.proxyUrl),
      username: config.proxyUsername || undefined,
      password: config.proxyPassword || undefined,
      bypass: bypassList(config.proxyBypassHosts),
    };
  }
  const caFile = tl.getHttpCertConfiguration()?.caFile;
  if (caFile) {
    let pem: string;
    try {
      pem = fs.readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new InputError(
        'Agent.CAInfo',
        `names the certificate file '${caFile}', which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      );
    }
    network.caFile = caFile;
    network.ca = [...tls.rootCertificates, ...extraCaCertificates(), pem];
  }
  return network;
}

function proxyUrlWithoutCredentials(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError('Agent.ProxyUrl', `'${value}' is not a URL (expected e.g. http://proxy.contoso.com:8080).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError('Agent.ProxyUrl', `'${url.protocol}' proxies are not supported; use an http:// or https:// proxy.`);
  url.username = '';
  url.password = '';
  return url.toString();
}

function bypassList(patterns: string[] | undefined): RegExp[] {
  return (patterns ?? []).map((pattern) => {
    try {
      return new RegExp(pattern, 'i');
    } catch {
      throw new InputError('Agent.ProxyBypassList', `'${pattern}' is not a valid regular expression.`);
    }
  });
}

/** NODE_EXTRA_CA_CERTS stops counting once a client passes its own `ca`, so it is read in too. */
function extraCaCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [fs.readFileSync(file, 'utf8')];
  } catch {
    return [];
  }
}

/** The proxy a request to `url` goes through, or undefined when it goes direct. */
export function proxyFor(url: string, network: AgentNetwork = agentNetwork()): AgentProxy | undefined {
  const proxy = network.proxy;
  if (!proxy) return undefined;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return proxy;
  }
  if (/^169\.254\./.test(host)) return undefined;
  return proxy.bypass.some((pattern) => pattern.test(url)) ? undefined : proxy;
}

interface Agents {
  tunnel?: https.Agent;
  forward?: http.Agent;
  directHttps?: https.Agent;
}
const agentCache = new WeakMap<AgentNetwork, Agents>();

function agentsOf(network: AgentNetwork): Agents {
  let agents = agentCache.get(network);
  if (!agents) {
    agents = {};
    const proxy = network.proxy;
    if (proxy) {
      const url = new URL(proxy.url);
      if (proxy.username) url.username = encodeURIComponent(proxy.username);
      if (proxy.password) url.password = encodeURIComponent(proxy.password);
      // The agent libraries are loaded only when a proxy is configured.
      const { HttpsProxyAgent: Tunnel } = loadHttpsProxyAgent();
      const { HttpProxyAgent: Forward } = loadHttpProxyAgent();
      agents.tunnel = tunnelAgent(Tunnel, url, network.ca);
      agents.forward = new Forward(url);
    }
    if (network.ca) agents.directHttps = new https.Agent({ ca: network.ca });
    agentCache.set(network, agents);
  }
  return agents;
}

/** A CONNECT tunnel whose TLS to the target trusts the agent's CAs too. */
function tunnelAgent(Tunnel: typeof HttpsProxyAgent, proxy: URL, ca: string[] | undefined): HttpsProxyAgent<string> {
  class TunnelTrustingAgentCa extends Tunnel<string> {
    override connect(
      request: http.ClientRequest,
      options: Parameters<HttpsProxyAgent<string>['connect']>[1],
    ): ReturnType<HttpsProxyAgent<string>['connect']> {
      return super.connect(request, ca ? ({ ...options, ca } as typeof options) : options);
    }
  }
  return new TunnelTrustingAgentCa(proxy);
}

/**
 * The node agent a request to `url` needs: a tunnel or a forwarding agent when proxied, a TLS agent trusting
 * `Agent.CAInfo` when direct, or undefined when nothing is configured (Node's default).
 */
export function agentFor(url: string, network: AgentNetwork = agentNetwork()): http.Agent | undefined {
  const secure = url.toLowerCase().startsWith('https:');
  const agents = agentsOf(network);
  if (proxyFor(url, network)) return secure ? agents.tunnel : agents.forward;
  return secure ? agents.directHttps : undefined;
}

/** axios request options for `url`: both agents set, so a redirect to the other scheme is covered too. */
export function axiosAgentsFor(url: string, network: AgentNetwork = agentNetwork()): { httpAgent?: http.Agent; httpsAgent?: https.Agent } {
  const agents = agentsOf(network);
  if (proxyFor(url, network)) return { httpAgent: agents.forward, httpsAgent: agents.tunnel };
  return network.ca ? { httpsAgent: agents.directHttps } : {};
}

/** What a pipeline policy of the Azure SDK needs to see of a request. */
interface SdkRequest {
  url: string;
  agent?: unknown;
}

/**
 * An Azure SDK pipeline policy (for `additionalPolicies`, position `perRetry`) that sends each request through
 * the agent's proxy or direct by its own URL, trusting `Agent.CAInfo`.
 */
export function azureSdkProxyPolicy(network: AgentNetwork = agentNetwork()): {
  name: string;
  sendRequest<R extends SdkRequest, T>(request: R, next: (request: R) => Promise<T>): Promise<T>;
} {
  return {
    name: 'maintenanceWindowAgentProxy',
    sendRequest(request, next) {
      const agent = agentFor(request.url, network);
      if (agent) request.agent = agent;
      return next(request);
    },
  };
}

/** azure-devops-node-api's `proxy` and `cert` options from the same settings. */
export function devopsRequestOptions(network: AgentNetwork = agentNetwork()): {
  proxy?: { proxyUrl: string; proxyUsername?: string; proxyPassword?: string; proxyBypassHosts: string[] };
  cert?: { caFile: string };
} {
  const proxy = network.proxy;
  return {
    ...(proxy
      ? {
          proxy: {
            proxyUrl: proxy.url,
            proxyUsername: proxy.username,
            proxyPassword: proxy.password,
            proxyBypassHosts: proxy.bypass.map((pattern) => pattern.source),
          },
        }
      : {}),
    ...(network.caFile ? { cert: { caFile: network.caFile } } : {}),
  };
}

/** One line for the log: where calls go (no credentials). */
export function describeAgentNetwork(network: AgentNetwork = agentNetwork()): string {
  const proxy = network.proxy;
  const user = proxy?.username ? ` as ${proxy.username}` : '';
  const bypass = proxy?.bypass.length ? ` (${proxy.bypass.length} bypass pattern(s))` : '';
  const route = proxy ? `through the agent's proxy ${proxy.url}${user}${bypass}` : 'direct (no agent proxy)';
  return `Outgoing calls go ${route}${network.caFile ? `, trusting the certificates in ${network.caFile}` : ''}.`;
}
