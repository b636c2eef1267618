import { InputError } from '../core/errors';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';

/** Which organization, project and token the Azure DevOps client uses, from a task's inputs and the job. */

export interface DevOpsConnection {
  /** `https://dev.azure.com/org/` (always with one trailing slash). */
  collectionUrl: string;
  project: string;
  token: string;
  /** A PAT goes as Basic auth, the job token as Bearer. */
  kind: 'pat' | 'job-token';
  /** Where the connection came from, for messages. */
  source: string;
  /**
   * A token that expires (Entra, through a workload identity connection): asked before every call, so a run of
   * hours keeps a valid one (the credential caches it and renews it before it expires). `token` is then unused.
   */
  tokenSource?: () => Promise<string>;
}

/** An Entra token for Azure DevOps from an identity connection (shared/azure/devops-identity.ts). */
export interface DevOpsIdentity {
  /** The connection's id and the task input that named it, for messages. */
  connectionId: string;
  inputName: string;
  getToken: () => Promise<string>;
}

/** The job's organization and project, called with the Entra token of a workload identity connection. */
export function identityConnection(
  identity: DevOpsIdentity,
  collectionUri: string | undefined,
  project: string | undefined,
): DevOpsConnection {
  if (!project?.trim())
    throw new InputError('project', 'no project: give the project name (System.TeamProject is not set outside a pipeline).');
  if (!collectionUri)
    throw new InputError(identity.inputName, 'needs System.CollectionUri (the organization the job runs in), which is not set.');
  return {
    collectionUrl: withTrailingSlash(collectionUri),
    project: project.trim(),
    token: '',
    kind: 'job-token',
    source: `workload identity connection '${identity.connectionId}'`,
    tokenSource: identity.getToken,
  };
}

/**
 * A rehearsal runs hours of pipelines in seconds by setting the pipeline variable `MaintenanceWindow.PollIntervalMs`;
 * a real window never sets it, and when it is set every step says so as a warning.
 */
export function rehearsalPollIntervalMs(variable: (name: string) => string | undefined, log: Log): number | undefined {
  const value = Number(variable('MaintenanceWindow.PollIntervalMs') ?? NaN);
  if (!Number.isFinite(value) || value <= 0) return undefined;
  log.warn(`Poll interval set to ${value} ms by MaintenanceWindow.PollIntervalMs: a rehearsal setting, not for a real window.`);
  return value;
}

/**
 * Chooses the connection: the service connection when one is given (its PAT), otherwise the job's own token
 * and collection URL. `inputName` is the task input that names the connection, for messages.
 */
export function resolveConnection(options: {
  inputName: string;
  endpoint?: Endpoint;
  systemAccessToken?: string;
  collectionUri?: string;
  project?: string;
  projectInputName?: string;
}): DevOpsConnection {
  const project = options.project?.trim();
  if (!project) {
    throw new InputError(
      options.projectInputName ?? 'project',
      'no project: give the project name (System.TeamProject is not set outside a pipeline).',
    );
  }
  if (options.endpoint) {
    const endpoint = options.endpoint;
    const parameters = Object.fromEntries(Object.entries(endpoint.parameters).map(([key, value]) => [key.toLowerCase(), value]));
    const token = parameters.apitoken ?? parameters.password ?? parameters.accesstoken ?? parameters.token;
    if (!token) {
      throw new InputError(
        options.inputName,
        `service connection '${endpoint.id}' has no token: use a personal access token (scheme Token, or the password of a user ` +
          `name/password connection).`,
      );
    }
    if (!/^https?:\/\//i.test(endpoint.url)) {
      throw new InputError(
        options.inputName,
        `service connection '${endpoint.id}' has no server URL; set it to the organization, e.g. https://dev.azure.com/contoso.`,
      );
    }
    return {
      collectionUrl: withTrailingSlash(endpoint.url),
      project,
      token,
      kind: /oauth/i.test(endpoint.scheme) ? 'job-token' : 'pat',
      source: `service connection '${endpoint.id}'`,
    };
  }
  if (!options.systemAccessToken) {
    throw new InputError(
      options.inputName,
      "is empty and the job's access token is not available: choose a service connection, or give the job its token (`env: " +
        'SYSTEM_ACCESSTOKEN: $(System.AccessToken)`, or allow scripts to access the OAuth token).',
    );
  }
  if (!options.collectionUri) {
    throw new InputError(
      options.inputName,
      'is empty and System.CollectionUri is not set: choose a service connection with the organization URL.',
    );
  }
  return {
    collectionUrl: withTrailingSlash(options.collectionUri),
    project,
    token: options.systemAccessToken,
    kind: 'job-token',
    source: "the job's access token",
  };
}

function withTrailingSlash(url: string): string {
  return `${url.trim().replace(/\/+$/, '')}/`;
}
