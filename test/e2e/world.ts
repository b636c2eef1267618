import type { EndpointSpec } from '../helpers/task-runner';
import type { Emulator } from '../emulators/kit';
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
  emulators: Emulator[];
  /** Service connections by endpoint type. */
  connections: Record<string, EndpointSpec>;
  /** Pipeline parameters whose values must point at the emulators, by parameter name. */
  parameterOverrides(declared: Record<string, Value>): Record<string, Value>;
  /** Predefined variables of the run that point at an emulator (collection URL...). */
  variables: Record<string, string>;
  /** Seeds the emulators from the expanded pipeline's values (servers, gateway, pipelines of the plan). */
  seed?(pipeline: ExpandedPipeline): Promise<void>;
  stop(): Promise<void>;
}

export interface WorldOptions {
  /** Plan change ids whose pipelines fail in the emulated Azure DevOps. */
  failChanges?: string[];
}

export async function startWorld(_options: WorldOptions = {}): Promise<World> {
  const website = new WebsiteEmulator();
  const emulators: Emulator[] = [website];
  await Promise.all(emulators.map((emulator) => emulator.start()));
  return {
    website,
    emulators,
    connections: {},
    variables: {},
    parameterOverrides(declared) {
      const overrides: Record<string, Value> = {};
      if ('siteUrl' in declared) overrides.siteUrl = website.url;
      return overrides;
    },
    async stop() {
      await Promise.all(emulators.map((emulator) => emulator.stop()));
    },
  };
}
