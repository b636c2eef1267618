import type * as azdev from 'azure-devops-node-api';
import type { IBuildApi } from 'azure-devops-node-api/BuildApi';
import type { BearerCredentialHandler } from 'azure-devops-node-api/handlers/bearertoken';
import type { IPipelinesApi } from 'azure-devops-node-api/PipelinesApi';
import type { ITaskAgentApi } from 'azure-devops-node-api/TaskAgentApi';
import { InputError, ServiceError } from '../core/errors';
import { systemAccessToken, type Endpoint } from '../core/inputs';
import type { Log } from '../core/log';
import { textOf } from '../core/text';
import { agentNetwork, devopsRequestOptions } from '../core/proxy';
import { DEFAULT_MAX_BODY_BYTES, notTheApiAdvice } from '../core/http';
import { realClock, type WindowClock } from '../core/clock';
import { parseRetryAfter, retry, sleep as realSleep, type RetryPolicy } from '../core/retry';
import { identityConnection, resolveConnection, type DevOpsConnection, type DevOpsIdentity } from './connection';
import { guardRestClient, NotTheApiError, type RestGuardOptions } from './rest-guard';
import { loadDevOpsApi, loadDevOpsBearerHandler } from '../core/lazy';

/**
 * The Azure DevOps client every task of the window uses: `azure-devops-node-api` on a connection (a PAT) or on
 * the job's own access token and `System.CollectionUri`. Calls go through `call`, which retries what is safe to
 * retry (throttling always, server errors for reads), waits what `Retry-After` asks, keeps the latest
 * rate-limit headers so pollers can slow down, and turns failures into messages a person can act on.
 */

export const SERVICE = 'Azure DevOps';

export { rehearsalPollIntervalMs, resolveConnection, type DevOpsConnection, type DevOpsIdentity } from './connection';
export { devOpsShape } from './response-shapes';

/**
 * The client of a task that takes an optional `azureDevOpsConnection` and `project`: the connection's PAT when
 * one is chosen, otherwise the job's own token, collection and project.
 */
export function clientForTask(options: {
  endpoint?: Endpoint;
  /** A workload identity connection instead of a PAT (input `azureDevOpsWorkloadIdentity`). */
  identity?: DevOpsIdentity;
  project?: string;
  log: Log;
  variable: (name: string) => string | undefined;
  /** Tighter bounds than a task's default (retries, attempt and call time), for a read that must not hold the step up. */
  limits?: Pick<DevOpsClientOptions, 'maxRetries' | 'baseDelayMs' | 'attemptTimeoutMs' | 'deadlineMs'>;
}): DevOpsClient {
  if (options.identity && options.endpoint) {
    throw new InputError(
      options.identity.inputName,
      "choose either this workload identity connection or 'azureDevOpsConnection' (a PAT), not both.",
    );
  }
  const connection = options.identity
    ? identityConnection(
        options.identity,
        options.variable('System.CollectionUri'),
        options.project ?? options.variable('System.TeamProject'),
      )
    : resolveConnection({
        inputName: 'azureDevOpsConnection',
        endpoint: options.endpoint,
        systemAccessToken: options.endpoint ? undefined : systemAccessToken(options.log),
        collectionUri: options.variable('System.CollectionUri'),
        project: options.project ?? options.variable('System.TeamProject'),
        projectInputName: 'project',
      });
  return new DevOpsClient({ connection, log: options.log, ...options.limits });
}

/** What the latest answers said about the rate limit. */
export interface RateLimitInfo {
  retryAfterMs?: number;
  delayMs?: number;
  limit?: number;
  remaining?: number;
  /** Epoch ms when the limit resets. */
  resetAt?: number;
}

export interface DevOpsClientOptions {
  connection: DevOpsConnection;
  log: Log;
  /** Retries of a throttled or failed call (default 5). */
  maxRetries?: number;
  baseDelayMs?: number;
  /**
   * Longest single attempt, from sending to the last byte of the answer (default 60 s): the client's socket
   * timeout (idle), a limit on reading the body from its headers on, and a timer around the whole attempt.
   */
  attemptTimeoutMs?: number;
  /** Largest answer body read (default 10 MiB); a larger one is refused. */
  maxBodyBytes?: number;
  /** Real time one `call` may take, every attempt and wait included (default 10 minutes). */
  deadlineMs?: number;
  /** Replace waiting and the clock (benchmarks run on a simulated clock). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface ClientFailure {
  statusCode?: number;
  message?: string;
  code?: string;
  rateLimit?: { retryAfter?: number; delay?: number };
  responseHeaders?: Record<string, string>;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ESOCKETTIMEDOUT']);

export class DevOpsClient {
  readonly connection: DevOpsConnection;
  private readonly webApi: azdev.WebApi;
  /** The bearer handler, when the token may change (workload identity); PATs never do. */
  private bearer?: BearerCredentialHandler;
  private readonly log: Log;
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly guard: RestGuardOptions;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** The real clock, which bounds every call whatever `now` says. */
  private readonly realClock: WindowClock = realClock();
  private buildApi?: Promise<IBuildApi>;
  private pipelinesApi?: Promise<IPipelinesApi>;
  private taskAgentApi?: Promise<ITaskAgentApi>;
  /** Calls made (attempts, including retries), for progress lines and benchmarks. */
  calls = 0;
  rateLimit: RateLimitInfo = {};

  constructor(options: DevOpsClientOptions) {
    this.connection = options.connection;
    this.log = options.log;
    this.log.addSecret(options.connection.token);
    this.maxRetries = options.maxRetries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.sleep = options.sleep ?? ((ms) => realSleep(ms));
    this.now = options.now ?? (() => this.realClock.now().getTime());
    // The client library is loaded here, on first use: a step that stops at its inputs starts without it.
    const api = loadDevOpsApi();
    const { BearerCredentialHandler: Bearer } = loadDevOpsBearerHandler();
    const handler =
      options.connection.kind === 'pat'
        ? api.getPersonalAccessTokenHandler(options.connection.token)
        : (this.bearer = new Bearer(options.connection.token));
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 60_000;
    this.deadlineMs = options.deadlineMs ?? 10 * 60_000;
    this.guard = { service: SERVICE, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, bodyTimeoutMs: this.attemptTimeoutMs };
    this.webApi = new api.WebApi(options.connection.collectionUrl, handler, {
      socketTimeout: this.attemptTimeoutMs,
      allowRetries: false,
      // The library would find task-lib's proxy by itself; given explicitly, it is the same read as every client's.
      ...devopsRequestOptions(agentNetwork(this.log)),
    });
    // Every REST client the WebApi makes (its own, the locations API behind each get*Api, each API) reads
    // bodies through the guard: bounded in size and time, and a 2xx that is not JSON is an error.
    guardRestClient(this.webApi.rest, this.guard);
    const getLocationsApi = this.webApi.getLocationsApi.bind(this.webApi);
    this.webApi.getLocationsApi = async (...args: Parameters<azdev.WebApi['getLocationsApi']>) =>
      this.guarded(await getLocationsApi(...args));
  }

  /** Puts the identity's current token on the handler before the call (a cached one unless about to expire). */
  private withFreshToken<T>(body: () => Promise<T>): () => Promise<T> {
    return async () => {
      this.bearer!.token = await this.connection.tokenSource!();
      return body();
    };
  }

  private guarded<T extends { rest: unknown }>(api: T): T {
    guardRestClient(api.rest, this.guard);
    return api;
  }

  get project(): string {
    return this.connection.project;
  }

  /** The Build API (definitions, builds, tags); the location negotiation happens once, retried like any call. */
  build(): Promise<IBuildApi> {
    this.buildApi ??= this.call('connect to the build service', async () => this.guarded(await this.webApi.getBuildApi())).catch(
      (error) => {
        this.buildApi = undefined;
        throw error;
      },
    );
    return this.buildApi;
  }

  pipelines(): Promise<IPipelinesApi> {
    this.pipelinesApi ??= this.call('connect to the pipelines service', async () =>
      this.guarded(await this.webApi.getPipelinesApi()),
    ).catch((error) => {
      this.pipelinesApi = undefined;
      throw error;
    });
    return this.pipelinesApi;
  }

  /** The Task Agent API (environments). */
  taskAgent(): Promise<ITaskAgentApi> {
    this.taskAgentApi ??= this.call('connect to the distributed task service', async () =>
      this.guarded(await this.webApi.getTaskAgentApi()),
    ).catch((error) => {
      this.taskAgentApi = undefined;
      throw error;
    });
    return this.taskAgentApi;
  }

  /**
   * A GET of an API the client library has no call for (Approvals - Query, Permissions - Has Permissions),
   * through the WebApi's own REST client: the same token (a workload identity's renewed before each call),
   * proxy, body guard (an HTML page at 200 is an error, not an empty answer), retries and bounds as every call.
   * `path` is under the organization; returns the parsed body (null for a 404), once `expect` accepts it.
   */
  async getFromOrganization(
    what: string,
    request: { path: string; query: Record<string, string>; expect: (body: unknown) => string | undefined },
  ): Promise<unknown> {
    const url = `${this.connection.collectionUrl}${request.path}?${new URLSearchParams(request.query).toString()}`;
    const response = await this.call(what, () => this.webApi.rest.get<unknown>(url), {
      expect: (answer) => request.expect((answer as { result?: unknown } | undefined)?.result),
    });
    return response.result;
  }

  /** `getFromOrganization` of a path under the project. */
  getFromProject(what: string, request: { path: string; query: Record<string, string>; expect: (body: unknown) => string | undefined }) {
    return this.getFromOrganization(what, { ...request, path: `${encodeURIComponent(this.project)}/${request.path}` });
  }

  /**
   * Runs one client call. Throttling (429) is retried whatever the call, since the service refused it; server
   * errors and dropped connections only when `idempotent` (a POST that may have been applied is not sent
   * twice). `what` says what the call does, for messages ("read pipeline 12").
   */
  async call<T>(
    what: string,
    body: () => Promise<T>,
    options: { idempotent?: boolean; expect?: (result: unknown) => string | undefined } = {},
  ): Promise<T> {
    if (this.connection.tokenSource) body = this.withFreshToken(body);
    const idempotent = options.idempotent ?? true;
    // Real time, not `now`: a simulated clock must not make a real call wait forever, nor end it early.
    const started = this.realClock.now().getTime();
    return retry(
      async () => {
        this.calls++;
        try {
          const result = await this.withinAttemptTimeout(what, body, this.deadlineMs - (this.realClock.now().getTime() - started));
          this.noteRateLimit((result as { rateLimit?: ClientFailure['rateLimit'] } | undefined)?.rateLimit);
          const problem = options.expect?.(result);
          // The client turns `{}` or a 404 into an empty or null result: the caller says what it must be.
          if (problem)
            throw new ServiceError(SERVICE, `could not ${what}: the answer is not the documented answer (${problem}).`, {
              code: 'unexpected-shape',
              advice: notTheApiAdvice(SERVICE),
            });
          return result;
        } catch (caught) {
          this.noteRateLimit((caught as ClientFailure).rateLimit);
          throw caught;
        }
      },
      this.policy(idempotent),
      {
        clock: { now: this.realClock.now, wait: this.sleep },
        onRetry: ({ failure, attempt, maxAttempts, delayMs, asked }) =>
          this.log.info(
            `Azure DevOps answered ${failure.statusCode ?? failure.code} to '${what}'; ${asked ? 'it asked to wait' : 'waiting'} ` +
              `${(delayMs / 1000).toFixed(1)} s before attempt ${attempt + 1} of ${maxAttempts}.`,
          ),
        giveUp: (failure, reason, { delayMs }) => {
          const error = this.describe(what, failure);
          if (reason === 'deadline')
            error.message +=
              `; giving up: waiting ${(delayMs / 1000).toFixed(1)} s more would pass the ` +
              `${(this.deadlineMs / 1000).toFixed(1)} s deadline`;
          return error;
        },
      },
    );
  }

  /** Throttling (429) always; server errors and dropped connections only when the call is idempotent. */
  private policy(idempotent: boolean): RetryPolicy<ClientFailure> {
    return {
      maxRetries: this.maxRetries,
      retryable: (error) => {
        const status = error.statusCode;
        const network = error.code !== undefined && NETWORK_CODES.has(error.code);
        return status === 429 || (idempotent && ((status !== undefined && status >= 500) || network));
      },
      backoff: { kind: 'exponential', baseDelayMs: this.baseDelayMs, maxDelayMs: 60_000 },
      retryAfterMs: (error) =>
        error.rateLimit?.retryAfter !== undefined
          ? error.rateLimit.retryAfter * 1000
          : parseRetryAfter(error.responseHeaders?.['retry-after']),
      deadlineMs: this.deadlineMs,
    };
  }

  /**
   * Bounds one attempt by a real timer: the socket timeout only sees an idle socket and the body guard starts
   * at the headers, so this is what holds for a server that never finishes. The request itself is ended by
   * the socket timeout or the body guard; the caller is not kept waiting for it.
   */
  private withinAttemptTimeout<T>(what: string, body: () => Promise<T>, remainingMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limitMs = Math.max(0, Math.min(this.attemptTimeoutMs, remainingMs));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const which =
          limitMs < this.attemptTimeoutMs
            ? `the call's ${(this.deadlineMs / 1000).toFixed(1)} s deadline`
            : `${(this.attemptTimeoutMs / 1000).toFixed(1)} s`;
        // Past the call's deadline nothing is retried: the code says "no answer", not a dropped connection.
        reject(
          new NotTheApiError(
            `${SERVICE} did not finish answering '${what}' within ${which}`,
            undefined,
            limitMs < this.attemptTimeoutMs ? 'deadline' : 'ETIMEDOUT',
          ),
        );
      }, limitMs);
    });
    return Promise.race([body(), timeout]).finally(() => clearTimeout(timer));
  }

  /** How long a poller should hold back before its next call, from the latest rate-limit headers. */
  suggestedPauseMs(): number {
    const info = this.rateLimit;
    let pause = Math.max(info.retryAfterMs ?? 0, info.delayMs ?? 0);
    // Nearly out of the budget: wait for the reset rather than be blocked.
    if (info.limit && info.remaining !== undefined && info.resetAt && info.remaining <= Math.max(1, info.limit * 0.05)) {
      pause = Math.max(pause, info.resetAt - this.now());
    }
    return Math.max(0, Math.min(pause, 5 * 60_000));
  }

  private noteRateLimit(
    rateLimit: (ClientFailure['rateLimit'] & { limit?: number; remaining?: number; reset?: number }) | undefined,
  ): void {
    if (!rateLimit) {
      this.rateLimit = {};
      return;
    }
    this.rateLimit = {
      retryAfterMs: rateLimit.retryAfter !== undefined ? rateLimit.retryAfter * 1000 : undefined,
      delayMs: rateLimit.delay !== undefined ? rateLimit.delay * 1000 : undefined,
      limit: rateLimit.limit,
      remaining: rateLimit.remaining,
      resetAt: rateLimit.reset !== undefined ? rateLimit.reset * 1000 : undefined,
    };
  }

  private describe(what: string, error: ClientFailure): ServiceError {
    const status = error.statusCode;
    const detail = this.log.mask(error.message ?? textOf(error)).split('\n')[0];
    const where = `${this.connection.collectionUrl}${this.connection.project}`;
    let advice: string | undefined;
    if (status === 401) {
      advice =
        `The token from ${this.connection.source} was refused: check that it has not expired and that it belongs to ` +
        `${this.connection.collectionUrl}.`;
    } else if (status === 403) {
      advice =
        this.connection.kind === 'job-token'
          ? `The job's identity (the project's Build Service account) lacks a permission for this; grant it on the pipelines ` +
            `concerned (e.g. "Edit build pipeline" to hold jobs, "Queue builds" to run them), or use a service connection.`
          : `The PAT from ${this.connection.source} lacks a scope or permission for this (Build: Read & execute).`;
    } else if (error instanceof TypeError) {
      // The library trips over an answer it did not expect (`{}` where a list was): not a fact about the project.
      return new ServiceError(SERVICE, `could not ${what} in ${where}: the answer is not the documented answer (${detail}).`, {
        code: 'unexpected-shape',
        advice: notTheApiAdvice(SERVICE),
        cause: error,
      });
    } else if (error instanceof NotTheApiError) {
      advice = error.code === 'not-json' || error.code === 'too-large' ? notTheApiAdvice(SERVICE) : undefined;
    } else if (status === 404 && /project/i.test(detail)) {
      advice = `Check the project name '${this.connection.project}'.`;
    }
    return new ServiceError(
      SERVICE,
      `could not ${what} in ${where}: ${status && !(error instanceof NotTheApiError) ? `${status} ` : ''}${detail}`,
      { status, code: error.code, advice, cause: error },
    );
  }
}
