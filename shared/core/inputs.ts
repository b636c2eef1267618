import * as tl from 'azure-pipelines-task-lib/task';
import { InputError } from './errors';
import type { Log } from './log';

/**
 * The one place that reads the agent's environment (through task-lib): task inputs, service connections
 * and pipeline variables. Everything else in shared/ takes typed values.
 *
 * Tasks call these with literal input names (`input.string('zoneName')`): a test reads those calls to check
 * that every input the code reads is declared in task.json and the other way round.
 */

/** A service connection as the agent hands it to a step. */
export interface Endpoint {
  /** The connection's id (the value of the task input that names it). */
  id: string;
  /** The server URL typed on the connection, exactly as given (trailing slash or not). */
  url: string;
  /** The authorization scheme, e.g. `Token`, `ServicePrincipal`, `WorkloadIdentityFederation`. */
  scheme: string;
  /** Authorization parameters; the secret ones are already masked in the log. */
  parameters: Record<string, string>;
  /** Endpoint data (non-secret fields such as a New Relic account id or an Azure subscription id). */
  data(key: string): string | undefined;
}

/** Authorization parameters that identify rather than authenticate; everything else is masked. */
const NON_SECRET_AUTH_PARAMETERS = new Set([
  'tenantid',
  'serviceprincipalid',
  'authenticationtype',
  'scope',
  'workloadidentityfederationsubject',
  'workloadidentityfederationissuer',
  'username',
]);

export interface NumberOptions {
  default?: number;
  min?: number;
  max?: number;
  required?: boolean;
}

export class TaskInputs {
  constructor(private readonly log: Log) {}

  private raw(name: string): string | undefined {
    const value = tl.getInput(name, false);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  /** A text input; `required` refuses an empty value. */
  string(name: string, options: { required: true; default?: string }): string;
  string(name: string, options?: { required?: boolean; default?: string }): string | undefined;
  string(name: string, options: { required?: boolean; default?: string } = {}): string | undefined {
    const value = this.raw(name) ?? options.default;
    if (options.required && value === undefined) throw new InputError(name, 'is required but empty.');
    return value;
  }

  /** A multi-line text input, kept as typed (line breaks preserved). */
  text(name: string, options: { required?: boolean } = {}): string | undefined {
    const value = tl.getInput(name, false);
    if (value === undefined || value.trim() === '') {
      if (options.required) throw new InputError(name, 'is required but empty.');
      return undefined;
    }
    return value;
  }

  /** A pick list; anything else is refused with the allowed values. */
  choice<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const value = this.raw(name);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new InputError(name, `is required; use one of: ${allowed.join(', ')}.`);
    }
    const match = allowed.find((option) => option.toLowerCase() === value.toLowerCase());
    if (!match) throw new InputError(name, `'${value}' is not allowed; use one of: ${allowed.join(', ')}.`);
    return match;
  }

  /** A whole number within bounds. */
  int(name: string, options: NumberOptions & { default: number }): number;
  int(name: string, options?: NumberOptions): number | undefined;
  int(name: string, options: NumberOptions = {}): number | undefined {
    const value = this.raw(name);
    if (value === undefined) {
      if (options.required && options.default === undefined) throw new InputError(name, 'is required but empty.');
      return options.default;
    }
    if (!/^[-+]?\d+$/.test(value)) throw new InputError(name, `'${value}' is not a whole number.`);
    const parsed = Number(value);
    if (options.min !== undefined && parsed < options.min) {
      throw new InputError(name, `${parsed} is below the minimum of ${options.min}.`);
    }
    if (options.max !== undefined && parsed > options.max) {
      throw new InputError(name, `${parsed} is above the maximum of ${options.max}.`);
    }
    return parsed;
  }

  /** A boolean (`true`/`false`, as the agent passes checkboxes). */
  bool(name: string, fallback = false): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (/^(true|yes|1)$/i.test(value)) return true;
    if (/^(false|no|0)$/i.test(value)) return false;
    throw new InputError(name, `'${value}' is not a boolean; use true or false.`);
  }

  /** A list given one per line or comma-separated; blanks and `# ` comments dropped (see splitList). */
  list(name: string, options: { required?: boolean } = {}): string[] {
    const value = tl.getInput(name, false) ?? '';
    const items = splitList(value);
    if (options.required && items.length === 0) throw new InputError(name, 'is required but lists nothing.');
    return items;
  }

  /** A service connection named by an input; its secrets are masked before this returns. */
  endpoint(name: string, options: { required: true }): Endpoint;
  endpoint(name: string, options?: { required?: boolean }): Endpoint | undefined;
  endpoint(name: string, options: { required?: boolean } = {}): Endpoint | undefined {
    const id = this.raw(name);
    if (id === undefined) {
      if (options.required) throw new InputError(name, 'is required: choose a service connection.');
      return undefined;
    }
    const auth = tl.getEndpointAuthorization(id, true);
    if (!auth) throw new InputError(name, `service connection '${id}' was not found or is not authorized for this pipeline.`);
    const parameters: Record<string, string> = {};
    for (const [key, value] of Object.entries(auth.parameters ?? {})) {
      if (typeof value !== 'string') continue;
      parameters[key] = value;
      if (!NON_SECRET_AUTH_PARAMETERS.has(key.toLowerCase())) this.log.addSecret(value);
    }
    const url = tl.getEndpointUrl(id, true) ?? '';
    return {
      id,
      url,
      scheme: auth.scheme ?? '',
      parameters,
      data: (key) => tl.getEndpointDataParameter(id, key, true) || undefined,
    };
  }
}

/**
 * Splits a list given one per line or comma-separated. A lone `#` or `#` followed by a space starts a comment;
 * `#dailyops` is a value (Slack channels, Pingdom check names), not a comment.
 */
export function splitList(value: string): string[] {
  return value
    .split(/[\r\n,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '' && item !== '#' && !/^#\s/.test(item));
}

/** A pipeline variable (e.g. `System.TeamProject`), or undefined. */
export function pipelineVariable(name: string): string | undefined {
  return tl.getVariable(name) || undefined;
}

/** The job's own access token (`System.AccessToken`), masked, when the pipeline maps it. */
export function systemAccessToken(log: Log): string | undefined {
  const auth = tl.getEndpointAuthorization('SYSTEMVSSCONNECTION', true);
  const token = auth?.parameters?.AccessToken ?? tl.getVariable('System.AccessToken');
  if (token) log.addSecret(token);
  return token || undefined;
}

/**
 * The environment for a process a step starts (a change's script): the agent's own, without this step's inputs,
 * service connection credentials, secret variables or job token, plus `extra`.
 */
export function childProcessEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(INPUT_|ENDPOINT_AUTH_|SECRET_|SECUREFILE_)/i.test(key) || /^SYSTEM_ACCESSTOKEN$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
