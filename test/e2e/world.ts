import type { EndpointSpec } from '../helpers/task-runner';
import { CLOUDFLARE_TOKEN, CloudflareEmulator } from '../emulators/cloudflare';
import type { Emulator } from '../emulators/kit';
import { PINGDOM_TOKEN, PingdomEmulator } from '../emulators/pingdom';
import { SlackEmulator } from '../emulators/slack';
import { WebsiteEmulator } from '../emulators/website';
import type { Value } from './expressions';
import type { ExpandedPipeline } from './pipeline-expander';

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
  emulators: Emulator[];
  /** Service connections by endpoint type. */
  connections: Record<string, EndpointSpec>;
  /** Every secret handed to a step: none may appear in what the steps print. */
  secrets: string[];
  /** Pipeline parameters whose values must point at the emulators, by parameter name. */
  parameterOverrides(declared: Record<string, Value>): Record<string, Value>;
  /** Predefined variables of the run that point at an emulator (collection URL...). */
  variables: Record<string, string>;
  /** Seeds the emulators from the expanded pipeline's values (servers, gateway, pipelines of the plan). */
  seed?(pipeline: ExpandedPipeline): Promise<void>;
  /** What is still silenced or swapped in the emulators: empty when the night left everything as it found it. */
  leftovers(): string[];
  stop(): Promise<void>;
}

export interface WorldOptions {
  /** Plan change ids whose pipelines fail in the emulated Azure DevOps. */
  failChanges?: string[];
}

export async function startWorld(_options: WorldOptions = {}): Promise<World> {
  const website = new WebsiteEmulator();
  const slack = new SlackEmulator();
  const pingdom = new PingdomEmulator();
  const cloudflare = new CloudflareEmulator();
  const emulators: Emulator[] = [website, slack, pingdom, cloudflare];
  await Promise.all(emulators.map((emulator) => emulator.start()));
  const dnsBefore = cloudflare.dnsState();
  const silencedBefore = new Set(pingdom.silencedChecks());
  const token = (url: string, apitoken: string, data?: Record<string, string>): EndpointSpec => ({ url, scheme: 'Token', parameters: { apitoken }, data });
  return {
    website,
    slack,
    pingdom,
    cloudflare,
    emulators,
    connections: {
      'maintenance-slack': token(slack.url, slack.token),
      'maintenance-pingdom': token(`${pingdom.url}/api/3.1`, PINGDOM_TOKEN),
      'maintenance-cloudflare': token(`${cloudflare.url}/client/v4`, CLOUDFLARE_TOKEN),
    },
    secrets: [slack.token, PINGDOM_TOKEN, CLOUDFLARE_TOKEN],
    variables: {},
    parameterOverrides(declared) {
      const overrides: Record<string, Value> = {};
      if ('siteUrl' in declared) overrides.siteUrl = website.url;
      return overrides;
    },
    leftovers() {
      const left: string[] = [];
      // Pingdom cannot delete a running maintenance window, so resume ends it a minute from now: look two minutes on.
      pingdom.advance(120);
      const newlySilenced = pingdom.silencedChecks().filter((id) => !silencedBefore.has(id));
      pingdom.advance(-120);
      if (newlySilenced.length) left.push(`Pingdom checks still silenced: ${newlySilenced.join(', ')}`);
      const dnsNow = cloudflare.dnsState();
      const changed = dnsNow.filter((line) => !dnsBefore.includes(line));
      if (changed.length) left.push(`Cloudflare DNS differs from before the window: ${changed.join('; ')}`);
      return left;
    },
    async stop() {
      await Promise.all(emulators.map((emulator) => emulator.stop()));
    },
  };
}
