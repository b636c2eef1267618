import { createHash, randomUUID } from 'node:crypto';
import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/** Azure DevOps' Entra resource id: the audience of its tokens. */
const AZURE_DEVOPS_RESOURCE = '499b84ac-1321-427f-aa17-267ca6975798';

/**
 * Azure DevOps Services, as much of it as the maintenance window uses, for the real `azure-devops-node-api`
 * client over plain HTTP (the client allows it) and for raw REST calls:
 *
 * - the location negotiation the client does before its first call (`OPTIONS {org}/_apis/Location`,
 *   `GET {org}/_apis/ResourceAreas` answering `{count: 0, value: null}` so every area stays on the org URL,
 *   `OPTIONS {org}/_apis/{area}` listing route templates and versions);
 * - build definitions: list (name with `*`, folder and its subfolders), get, update (a PUT of the whole
 *   definition carrying the revision it was read at; a stale revision is refused), queue status
 *   (enabled / paused / disabled, as strings on the wire), and the definition's tags, which only the definition
 *   Tags API changes (add one, add several, add and remove, remove one, list; case-insensitive): a definition
 *   PUT ignores its `tags`, as the service does (MicrosoftDocs/vsts-rest-api-specs issue #429);
 * - pipelines and runs: list pipelines, run with template parameters and a branch, get and list runs, and the
 *   same runs as builds (`_apis/build/builds`, filters `definitions`, `buildIds`, `tagFilters`, `statusFilter`) with tags.
 *   A run's timeline (Timeline - Get, `_apis/build/builds/{id}/timeline`) is what a test or the rehearsal sets
 *   with `setTimeline` (EmulatedTimelineRecord).
 *   Each pipeline has a simulated duration and result; runs of a paused definition wait until it is enabled;
 *   a disabled definition refuses new runs;
 * - environments (`_apis/distributedtask/environments`) and check configurations
 *   (`_apis/pipelines/checks/configurations`, which insists on a `-preview` api-version), approvals (Approvals
 *   - Query, `_apis/pipelines/approvals`, set with `setApprovals`), identities search, projects;
 * - authentication (Basic with a PAT or Bearer with the job token), rate-limit headers (`X-RateLimit-*`)
 *   and throttling (429 with `Retry-After`), plus the kit's faults.
 */

export type QueueStatus = 'enabled' | 'paused' | 'disabled';
export type RunResult = 'succeeded' | 'failed' | 'canceled';

export interface PipelineOptions {
  name: string;
  /** `\\Folder\\Sub`; the root folder `\\` when absent. */
  folder?: string;
  /** How long a run takes once it starts (default `defaultDurationMs`). */
  durationMs?: number;
  /** How runs end (default succeeded). */
  result?: RunResult;
  queueStatus?: QueueStatus;
  /** Template parameters the pipeline declares; a run passing any other is refused like the real service. */
  parameters?: string[];
}

export interface EmulatedDefinition {
  id: number;
  name: string;
  path: string;
  revision: number;
  queueStatus: QueueStatus;
  durationMs: number;
  result: RunResult;
  /** Results for the next runs, taken before `result`. */
  nextResults: RunResult[];
  parameters?: string[];
  /**
   * The definition's tags. Like the service, only the definition Tags API (`…/definitions/{id}/tags`) changes
   * them: `tags` sent in a definition PUT is ignored (MicrosoftDocs/vsts-rest-api-specs issue #429).
   */
  tags: string[];
  /** Everything else a full definition carries, kept across updates. */
  extra: Record<string, unknown>;
}

export interface EmulatedRun {
  id: number;
  definitionId: number;
  buildNumber: string;
  queuedAt: number;
  /** When it started running; undefined while its definition is paused. */
  startedAt?: number;
  durationMs: number;
  result: RunResult;
  templateParameters: Record<string, string>;
  branch: string;
  tags: Set<string>;
  canceled?: boolean;
}

export interface EmulatedEnvironment {
  id: number;
  name: string;
  description: string;
  createdOn: string;
  lastModifiedOn: string;
}

export interface EmulatedCheck {
  id: number;
  version: number;
  type: { id: string; name: string };
  settings: unknown;
  resource: { type: string; id: string; name?: string };
  timeout: number;
  createdOn: string;
  modifiedOn: string;
}

/**
 * One record of a run's timeline as Timeline - Get sends it (`GET {project}/_apis/build/builds/{buildId}/timeline`).
 * A YAML run has `Stage` records (`identifier` = the YAML stage name, `name` = its displayName), a `Phase` under
 * each, `Job` records under the phase, `Task` records under each job, and, for a stage's checks, a `Checkpoint`
 * under the stage with one `Checkpoint.Approval` per approval. `parentId` links a record to the one above,
 * `order` orders siblings; times are ISO text, absent until the record starts or ends.
 */
export interface EmulatedTimelineRecord {
  id: string;
  parentId: string | null;
  type: 'Stage' | 'Phase' | 'Job' | 'Task' | 'Checkpoint' | 'Checkpoint.Approval';
  name: string;
  identifier?: string | null;
  order: number;
  state: 'pending' | 'inProgress' | 'completed';
  result?: 'succeeded' | 'succeededWithIssues' | 'failed' | 'canceled' | 'skipped' | 'abandoned' | null;
  startTime?: string | null;
  finishTime?: string | null;
}

/**
 * One approval as Approvals - Query answers it (`GET {project}/_apis/pipelines/approvals?approvalIds=…&$expand=steps`):
 * asked by run `runId` (the answer's `pipeline.owner.id`), of one step: `assignedApprover` asked, `approver` (the
 * step's `actualApprover`) answered at `decidedOn`. `stage` is for the test's own reading: an Approval does not
 * name its stage on the wire.
 */
export interface EmulatedApproval {
  id: string;
  runId: number;
  stage?: string;
  status: 'pending' | 'approved' | 'rejected' | 'timedOut' | 'canceled';
  /** Who is asked (a display name; default "Approvers"). */
  assignedApprover?: string;
  /** Who answered (a display name), once decided. */
  approver?: string;
  createdOn: string;
  decidedOn?: string;
  /** The pipeline's name (`pipeline.name`; default "maintenance-window"). */
  pipelineName?: string;
}

export interface RateLimitState {
  resource?: string;
  limit: number;
  remaining: number;
  /** Seconds the server says it delayed this call (`X-RateLimit-Delay`). */
  delaySeconds?: number;
  /** Seconds until the limit resets (sent as an epoch time in `X-RateLimit-Reset`). */
  resetInSeconds: number;
}

interface Throttle {
  remaining: number;
  retryAfterSeconds: number;
  path?: string | RegExp;
}

const LOCATIONS: Record<string, Array<{ id: string; resourceName: string; routeTemplate: string; resourceVersion: number }>> = {
  location: [
    {
      id: 'e81700f7-3be2-46de-8624-2eb35882fcaa',
      resourceName: 'ResourceAreas',
      routeTemplate: '_apis/{resource}/{areaId}',
      resourceVersion: 1,
    },
    { id: '00d9565f-ed9c-4a06-9a50-00e7896ccab4', resourceName: 'ConnectionData', routeTemplate: '_apis/{resource}', resourceVersion: 1 },
  ],
  build: [
    {
      id: 'dbeaf647-6167-421a-bda9-c9327b25e2e6',
      resourceName: 'Definitions',
      routeTemplate: '{project}/_apis/build/{resource}/{definitionId}',
      resourceVersion: 7,
    },
    {
      id: '0cd358e1-9217-4d94-8269-1c1ee6f93dcf',
      resourceName: 'Builds',
      routeTemplate: '{project}/_apis/build/{resource}/{buildId}',
      resourceVersion: 7,
    },
    {
      id: '6e6114b2-8161-44c8-8f6c-c5505782427f',
      resourceName: 'Tags',
      routeTemplate: '{project}/_apis/build/builds/{buildId}/{resource}/{*tag}',
      resourceVersion: 3,
    },
    {
      id: '8baac422-4c6e-4de5-8532-db96d92acffa',
      resourceName: 'Timeline',
      routeTemplate: '{project}/_apis/build/builds/{buildId}/{resource}/{timelineId}',
      resourceVersion: 2,
    },
    {
      id: 'cb894432-134a-4d31-a839-83beceaace4b',
      resourceName: 'Tags',
      routeTemplate: '{project}/_apis/build/definitions/{definitionId}/{resource}/{*tag}',
      resourceVersion: 3,
    },
  ],
  pipelines: [
    {
      id: '28e1305e-2afe-47bf-abaf-cbb0e6a91988',
      resourceName: 'pipelines',
      routeTemplate: '{project}/_apis/{area}/{pipelineId}',
      resourceVersion: 1,
    },
    {
      id: '7859261e-d2e9-4a68-b820-a5d84cc5bb3d',
      resourceName: 'runs',
      routeTemplate: '{project}/_apis/{area}/{pipelineId}/{resource}/{runId}',
      resourceVersion: 1,
    },
  ],
  distributedtask: [
    {
      id: '8572b1fc-2482-47fa-8f74-7e3ed53ee54b',
      resourceName: 'environments',
      routeTemplate: '{project}/_apis/{area}/{resource}/{environmentId}',
      resourceVersion: 1,
    },
  ],
};

const AREA_NAMES: Record<string, string> = {
  location: 'Location',
  build: 'build',
  pipelines: 'pipelines',
  distributedtask: 'distributedtask',
};

function normalizeFolder(folder: string | undefined): string {
  if (!folder) return '\\';
  const trimmed = folder.replace(/\//g, '\\').replace(/\\+$/, '');
  return trimmed.startsWith('\\') ? trimmed || '\\' : `\\${trimmed}`;
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
}

/** The plan's one timeline id, and who changes a timeline (the build service). */
const TIMELINE_ID = '8f8a2d7b-6c8e-4a44-9f3b-9a1f7f2f0c11';
const BUILD_SERVICE_IDENTITY = '00000002-0000-8888-8000-000000000000';

/** The Build security namespace and its Queue builds bit (Security namespace and permission reference). */
const BUILD_NAMESPACE = '33344d9c-fc72-4d6f-aba5-fa317101a7e9';
const QUEUE_BUILDS = 128;

function apiError(status: number, message: string, typeKey: string): EmulatorResponse {
  return {
    status,
    body: {
      $id: '1',
      innerException: null,
      message,
      typeName: `Microsoft.TeamFoundation.${typeKey}`,
      typeKey,
      errorCode: 0,
      eventId: 3000,
    },
  };
}

/**
 * List Builds' `minTime`: builds that finished, started or were queued at or after it, "based on the queryOrder
 * specified" (REST reference); with no order given this takes the finish time, so a run still going is not found.
 */
function minTimeFilter(
  minTime: string | null,
  queryOrder: string | null,
): { test: (run: EmulatedRun, finishedAt: number | undefined) => boolean } | undefined {
  if (!minTime) return undefined;
  const since = new Date(minTime).getTime();
  const order = (queryOrder ?? '').toLowerCase();
  const at = (run: EmulatedRun, finishedAt: number | undefined) =>
    order.startsWith('queuetime') || order === '4' || order === '5'
      ? run.queuedAt
      : order.startsWith('starttime')
        ? run.startedAt
        : finishedAt;
  return { test: (run, finishedAt) => (at(run, finishedAt) ?? -Infinity) >= since };
}

export class AzureDevOpsEmulator extends Emulator {
  readonly organization = 'contoso';
  readonly project = 'Platform';
  readonly projectId = '6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c';
  /** The PAT or job token calls must carry (Basic with any user name, or Bearer). */
  token = 'ado-emulator-token-5f0c2e';
  /** Duration of a run when its pipeline sets none. */
  defaultDurationMs = 150;
  /** Status answered to a PUT with a stale revision (the service has been seen to answer 404 too). */
  staleRevisionStatus: 409 | 404 = 409;
  /** Sent on every answer when set. */
  rateLimit?: RateLimitState;
  /** The clock runs are timed with; a benchmark may replace it with a simulated one. */
  now: () => number = () => Date.now();
  /**
   * Called when a poll of given runs (List Builds with `buildIds`, what a step waiting for its runs sends) finds
   * some still running, with the time the first of them finishes: a simulated clock moves there, so a run takes
   * its duration in simulated time and no time in real time.
   */
  onWaitForRuns?: (finishesAt: number) => void;

  readonly definitions = new Map<number, EmulatedDefinition>();
  readonly runs = new Map<number, EmulatedRun>();
  readonly environments = new Map<number, EmulatedEnvironment>();
  readonly checks = new Map<number, EmulatedCheck>();
  /** Pipelines the job's identity (the build service) may not queue: Build namespace, Queue builds denied. */
  readonly queueDenied = new Set<number>();
  readonly identities = new Map<string, { id: string; displayName: string }>();
  /**
   * Runs' timelines by build id (Timeline - Get), set with `setTimeline`: records, or a function read at each
   * call (the rehearsal's run, which grows while it is read). A run without one answers an empty timeline.
   */
  readonly timelines = new Map<number, EmulatedTimelineRecord[] | (() => EmulatedTimelineRecord[])>();
  /** Approvals by the run that asked them (Approvals - Query), set with `setApprovals`: a list or a function read at each call. */
  readonly approvals = new Map<number, EmulatedApproval[] | (() => EmulatedApproval[])>();
  private throttles: Throttle[] = [];
  private tagsHeld = false;
  private heldTagCalls: Array<(apply: boolean) => void> = [];
  private readonly pendingEdits = new Map<number, Partial<Pick<EmulatedDefinition, 'queueStatus' | 'name'>>>();
  private nextDefinitionId = 1;
  private nextRunId = 1000;
  private nextEnvironmentId = 1;
  private nextCheckId = 1;

  constructor() {
    super({ name: 'Azure DevOps', https: false });
    this.onReset(() => {
      this.queueDenied.clear();
      this.definitions.clear();
      this.runs.clear();
      this.environments.clear();
      this.checks.clear();
      this.identities.clear();
      this.timelines.clear();
      this.approvals.clear();
      this.throttles = [];
      this.pendingEdits.clear();
      this.releaseTags({ apply: false });
      this.rateLimit = undefined;
      this.onWaitForRuns = undefined;
      this.staleRevisionStatus = 409;
      this.defaultDurationMs = 150;
      this.nextDefinitionId = 1;
      this.nextRunId = 1000;
      this.nextEnvironmentId = 1;
      this.nextCheckId = 1;
    });
    this.registerRoutes();
  }

  /** `http://127.0.0.1:port/contoso/`, what `System.CollectionUri` holds. */
  get collectionUrl(): string {
    return `${this.url}/${this.organization}/`;
  }

  // ---- set-up helpers for tests and the rehearsal -------------------------------------------------------

  addPipeline(options: PipelineOptions): EmulatedDefinition {
    const definition: EmulatedDefinition = {
      id: this.nextDefinitionId++,
      name: options.name,
      path: normalizeFolder(options.folder),
      revision: 1,
      queueStatus: options.queueStatus ?? 'enabled',
      durationMs: options.durationMs ?? this.defaultDurationMs,
      result: options.result ?? 'succeeded',
      nextResults: [],
      parameters: options.parameters,
      tags: [],
      extra: {
        type: 'build',
        quality: 'definition',
        process: { type: 2, yamlFilename: `/pipelines/${options.name.replace(/\s+/g, '-').toLowerCase()}.yml` },
        repository: { id: randomUUID(), type: 'TfsGit', name: 'platform', defaultBranch: 'refs/heads/main' },
        triggers: [
          {
            triggerType: 'schedule',
            schedules: [{ branchFilters: ['+refs/heads/main'], startHours: 2, startMinutes: 0, daysToBuild: 127 }],
          },
        ],
        variables: {},
      },
    };
    this.definitions.set(definition.id, definition);
    return definition;
  }

  /** The pipeline with this name (and folder, when given). */
  pipeline(name: string, folder?: string): EmulatedDefinition | undefined {
    return [...this.definitions.values()].find(
      (definition) =>
        definition.name.toLowerCase() === name.toLowerCase() &&
        (folder === undefined || definition.path.toLowerCase() === normalizeFolder(folder).toLowerCase()),
    );
  }

  /**
   * Makes every pipeline a plan names exist (succeeding after `durationMs` unless told otherwise), and a few
   * scheduled pipelines in each folder its `jobs` select, so any plan can be rehearsed.
   */
  knowPipelinesOfPlan(
    plan: {
      changes: Array<{ action: { kind: string; name?: string; folder?: string } }>;
      jobs?: Array<{ folder?: string; names?: string[] }>;
    },
    options: { durationMs?: number | ((name: string, folder?: string) => number); jobsPerFolder?: number } = {},
  ): void {
    for (const change of plan.changes) {
      if (change.action.kind !== 'pipeline' || !change.action.name) continue;
      if (this.pipeline(change.action.name, change.action.folder)) continue;
      const duration =
        typeof options.durationMs === 'function' ? options.durationMs(change.action.name, change.action.folder) : options.durationMs;
      this.addPipeline({ name: change.action.name, folder: change.action.folder, durationMs: duration });
    }
    for (const job of plan.jobs ?? []) {
      for (const name of job.names ?? []) if (!this.pipeline(name)) this.addPipeline({ name });
      if (job.folder) {
        const label = normalizeFolder(job.folder).split('\\').pop() || 'Jobs';
        for (let n = 1; n <= (options.jobsPerFolder ?? 2); n++) {
          if (!this.pipeline(`${label} scheduled job ${n}`, job.folder))
            this.addPipeline({ name: `${label} scheduled job ${n}`, folder: job.folder });
        }
      }
    }
  }

  /** The next `count` runs of a pipeline end with `result` (then its usual result again). */
  failNextRuns(name: string, count = 1, result: RunResult = 'failed', folder?: string): void {
    const definition = this.pipeline(name, folder);
    if (!definition) throw new Error(`no emulated pipeline '${name}'`);
    for (let n = 0; n < count; n++) definition.nextResults.push(result);
  }

  /** The next `times` matching calls get 429 with `Retry-After` and rate-limit headers. */
  /**
   * Holds every call that tags a run (not answered, not applied) until `releaseTags`: a crash test kills the
   * step between queueing a run and tagging it, deterministically.
   */
  holdTags(): void {
    this.tagsHeld = true;
  }

  /** Ends `holdTags`: held calls are applied and answered, or with `apply: false` dropped (answered 503). */
  releaseTags(options: { apply: boolean } = { apply: true }): void {
    this.tagsHeld = false;
    const held = this.heldTagCalls;
    this.heldTagCalls = [];
    for (const resume of held) resume(options.apply);
  }

  throttle(options: { times?: number; retryAfterSeconds?: number; path?: string | RegExp } = {}): void {
    this.throttles.push({ remaining: options.times ?? 1, retryAfterSeconds: options.retryAfterSeconds ?? 1, path: options.path });
  }

  /** Someone edits a definition in the web UI (its revision goes up). */
  editDefinition(id: number, change: Partial<Pick<EmulatedDefinition, 'queueStatus' | 'name'>> = {}): void {
    const definition = this.definitions.get(id);
    if (!definition) throw new Error(`no definition ${id}`);
    Object.assign(definition, change);
    definition.revision++;
    if (definition.queueStatus === 'enabled') this.startWaitingRuns(definition);
  }

  /** Someone saves the definition between our read and our write: the next PUT carries a stale revision. */
  editBeforeNextUpdate(id: number, change: Partial<Pick<EmulatedDefinition, 'queueStatus' | 'name'>> = {}): void {
    this.pendingEdits.set(id, change);
  }

  addIdentity(displayName: string, id: string = randomUUID()): { id: string; displayName: string } {
    const identity = { id, displayName };
    this.identities.set(id, identity);
    return identity;
  }

  /**
   * A run of `name` someone queued outside the tests' view (another run of the same pipeline): running for
   * `durationMs` from now, or waiting for an agent (`queued`) until the test starts it.
   */
  queueRun(
    name: string,
    options: { durationMs?: number; queued?: boolean; branch?: string; parameters?: Record<string, string> } = {},
  ): EmulatedRun {
    const definition = this.pipeline(name) ?? this.addPipeline({ name });
    const run = this.createRun(definition, options.parameters ?? {}, options.branch ?? 'refs/heads/main');
    if (options.durationMs !== undefined) run.durationMs = options.durationMs;
    if (options.queued) run.startedAt = undefined;
    return run;
  }

  /**
   * Past runs of a pipeline, finished before now, newest last: what its history in Azure DevOps shows (the
   * preflight's forecast takes the median of the successful ones). One run a day, each lasting `durationsMs[i]`.
   */
  addRunHistory(name: string, durationsMs: number[], options: { folder?: string; result?: RunResult } = {}): EmulatedRun[] {
    const definition = this.pipeline(name, options.folder) ?? this.addPipeline({ name, folder: options.folder });
    const now = this.now();
    return durationsMs.map((durationMs, index) => {
      const startedAt = now - (durationsMs.length - index) * 24 * 3_600_000;
      // Not createRun: a history must not take a result queued for the night's next run (failNextRuns).
      const id = this.nextRunId++;
      const buildNumber = `${new Date(startedAt).toISOString().slice(0, 10).replace(/-/g, '')}.${id}`;
      const run: EmulatedRun = {
        id,
        definitionId: definition.id,
        buildNumber,
        queuedAt: startedAt,
        startedAt,
        durationMs,
        result: options.result ?? 'succeeded',
        templateParameters: {},
        branch: 'refs/heads/main',
        tags: new Set(),
      };
      this.runs.set(id, run);
      return run;
    });
  }

  /**
   * What Timeline - Get answers for run `buildId` (no run of that id need exist: a task under test is given any
   * `Build.BuildId`). To make the route fail, use the kit's faults on its path: `fault({ kind: 'html', path:
   * /\/timeline/ })` answers an HTML page at 200, `fault({ kind: 'status', status: 500, path: /\/timeline/ })` a 500.
   */
  setTimeline(buildId: number, records: EmulatedTimelineRecord[] | (() => EmulatedTimelineRecord[])): void {
    this.timelines.set(buildId, records);
  }

  /**
   * The approvals run `runId` asked for, as Approvals - Query answers them. Like the service, the route wants a
   * `-preview` api-version and GUIDs in `approvalIds`, and sends the steps only with `$expand=steps`. To make it
   * fail, use the kit's faults on its path (`fault({ kind: 'status', status: 403, path: /\/approvals/ })`).
   */
  setApprovals(runId: number, approvals: EmulatedApproval[] | (() => EmulatedApproval[])): void {
    this.approvals.set(runId, approvals);
  }

  runsOf(name: string, folder?: string): EmulatedRun[] {
    const definition = this.pipeline(name, folder);
    return definition ? [...this.runs.values()].filter((run) => run.definitionId === definition.id) : [];
  }

  // ---- run state -------------------------------------------------------------------------------------

  private state(run: EmulatedRun): { status: 'notStarted' | 'inProgress' | 'completed'; result?: RunResult; finishedAt?: number } {
    if (run.canceled) return { status: 'completed', result: 'canceled', finishedAt: run.startedAt ?? run.queuedAt };
    if (run.startedAt === undefined) return { status: 'notStarted' };
    const finishedAt = run.startedAt + run.durationMs;
    return this.now() >= finishedAt ? { status: 'completed', result: run.result, finishedAt } : { status: 'inProgress' };
  }

  private startWaitingRuns(definition: EmulatedDefinition): void {
    for (const run of this.runs.values()) if (run.definitionId === definition.id && run.startedAt === undefined) run.startedAt = this.now();
  }

  private webUrl(run: EmulatedRun): string {
    return `${this.collectionUrl}${this.project}/_build/results?buildId=${run.id}`;
  }

  private toRun(run: EmulatedRun): Record<string, unknown> {
    const definition = this.definitions.get(run.definitionId)!;
    const state = this.state(run);
    return {
      id: run.id,
      name: run.buildNumber,
      state: state.status === 'completed' ? 'completed' : 'inProgress',
      ...(state.result ? { result: state.result } : {}),
      createdDate: new Date(run.queuedAt).toISOString(),
      ...(state.finishedAt !== undefined ? { finishedDate: new Date(state.finishedAt).toISOString() } : {}),
      pipeline: {
        id: definition.id,
        name: definition.name,
        folder: definition.path,
        revision: definition.revision,
        url: `${this.collectionUrl}${this.projectId}/_apis/pipelines/${definition.id}?revision=${definition.revision}`,
      },
      templateParameters: run.templateParameters,
      resources: { repositories: { self: { refName: run.branch, version: 'a1b2c3d4e5f6' } } },
      url: `${this.collectionUrl}${this.projectId}/_apis/pipelines/${definition.id}/runs/${run.id}`,
      _links: {
        web: { href: this.webUrl(run) },
        self: { href: `${this.collectionUrl}${this.projectId}/_apis/pipelines/${definition.id}/runs/${run.id}` },
      },
    };
  }

  private toBuild(run: EmulatedRun): Record<string, unknown> {
    const definition = this.definitions.get(run.definitionId)!;
    const state = this.state(run);
    return {
      id: run.id,
      buildNumber: run.buildNumber,
      status: state.status,
      ...(state.result ? { result: state.result } : {}),
      queueTime: new Date(run.queuedAt).toISOString(),
      ...(run.startedAt !== undefined ? { startTime: new Date(run.startedAt).toISOString() } : {}),
      ...(state.finishedAt !== undefined ? { finishTime: new Date(state.finishedAt).toISOString() } : {}),
      definition: {
        id: definition.id,
        name: definition.name,
        path: definition.path,
        revision: definition.revision,
        type: 'build',
        queueStatus: definition.queueStatus,
      },
      project: { id: this.projectId, name: this.project },
      sourceBranch: run.branch,
      templateParameters: run.templateParameters,
      tags: [...run.tags],
      url: `${this.collectionUrl}${this.projectId}/_apis/build/Builds/${run.id}`,
      _links: { web: { href: this.webUrl(run) } },
    };
  }

  private toDefinitionReference(definition: EmulatedDefinition): Record<string, unknown> {
    return {
      id: definition.id,
      name: definition.name,
      path: definition.path,
      revision: definition.revision,
      queueStatus: definition.queueStatus,
      type: 'build',
      quality: 'definition',
      project: { id: this.projectId, name: this.project },
      url: `${this.collectionUrl}${this.projectId}/_apis/build/Definitions/${definition.id}?revision=${definition.revision}`,
      _links: { web: { href: `${this.collectionUrl}${this.project}/_build/definition?definitionId=${definition.id}` } },
    };
  }

  private toDefinition(definition: EmulatedDefinition): Record<string, unknown> {
    return { ...definition.extra, ...this.toDefinitionReference(definition), tags: [...definition.tags] };
  }

  private createRun(definition: EmulatedDefinition, templateParameters: Record<string, string>, branch: string): EmulatedRun {
    const id = this.nextRunId++;
    const now = this.now();
    const run: EmulatedRun = {
      id,
      definitionId: definition.id,
      buildNumber: `${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}.${id}`,
      queuedAt: now,
      startedAt: definition.queueStatus === 'enabled' ? now : undefined,
      durationMs: definition.durationMs,
      result: definition.nextResults.shift() ?? definition.result,
      templateParameters,
      branch,
      tags: new Set(),
    };
    this.runs.set(id, run);
    return run;
  }

  // ---- HTTP ------------------------------------------------------------------------------------------

  /** Also accept Entra tokens issued for Azure DevOps (workload identity connections) by this emulated Entra. */
  trustEntra(entra: { check(authorization: string | undefined, audience: string): { ok: boolean } }): this {
    this.entraCheck = (header) => entra.check(header, AZURE_DEVOPS_RESOURCE).ok;
    return this;
  }
  private entraCheck?: (authorization: string) => boolean;

  private authorized(request: EmulatorRequest): boolean {
    const header = String(request.headers.authorization ?? '');
    const [scheme, value] = header.split(/\s+/, 2);
    if (/^bearer$/i.test(scheme)) return value === this.token || (this.entraCheck?.(header) ?? false);
    if (/^basic$/i.test(scheme) && value) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      return decoded.slice(decoded.indexOf(':') + 1) === this.token;
    }
    return false;
  }

  private rateLimitHeaders(): Record<string, string | number> {
    if (!this.rateLimit) return {};
    const limit = this.rateLimit;
    return {
      'X-RateLimit-Resource': limit.resource ?? 'Core',
      'X-RateLimit-Limit': limit.limit,
      'X-RateLimit-Remaining': limit.remaining,
      'X-RateLimit-Reset': Math.ceil(Date.now() / 1000 + limit.resetInSeconds),
      ...(limit.delaySeconds !== undefined ? { 'X-RateLimit-Delay': limit.delaySeconds } : {}),
    };
  }

  /** Every route goes through here: throttling, authentication, rate-limit headers. */
  private api(method: string, path: string, handler: (request: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>): void {
    this.route(method, path, async (request) => {
      const throttle = this.throttles.find(
        (t) => t.remaining > 0 && (!t.path || (typeof t.path === 'string' ? request.path.includes(t.path) : t.path.test(request.path))),
      );
      if (throttle) {
        throttle.remaining--;
        return {
          status: 429,
          headers: {
            'Retry-After': throttle.retryAfterSeconds,
            'X-RateLimit-Resource': 'Core',
            'X-RateLimit-Delay': throttle.retryAfterSeconds,
            'X-RateLimit-Limit': 200,
            'X-RateLimit-Remaining': 0,
            'X-RateLimit-Reset': Math.ceil(Date.now() / 1000 + throttle.retryAfterSeconds),
          },
          body: {
            message: 'Request was blocked due to exceeding usage of resource Core in namespace User.',
            typeKey: 'RequestBlockedException',
          },
        };
      }
      if (!this.authorized(request)) {
        return {
          status: 401,
          headers: { 'WWW-Authenticate': 'Bearer, Basic realm="https://tfsprodcus.visualstudio.com/"' },
          body: { message: 'TF400813: The user is not authorized to access this resource.', typeKey: 'UnauthorizedRequestException' },
        };
      }
      const projectName = request.params.project;
      if (projectName !== undefined && ![this.project.toLowerCase(), this.projectId].includes(projectName.toLowerCase())) {
        return apiError(
          404,
          `TF200016: The following project does not exist: ${projectName}. Verify that the name of the project is correct and that ` +
            `the project exists on the specified Azure DevOps Server.`,
          'ProjectDoesNotExistWithNameException',
        );
      }
      const response = await handler(request);
      return { ...response, headers: { ...this.rateLimitHeaders(), ...(response.headers ?? {}) } };
    });
  }

  private findDefinition(id: string): EmulatedDefinition | undefined {
    return this.definitions.get(Number(id));
  }

  private registerRoutes(): void {
    const org = `/${this.organization}`;
    const project = `${org}/:project`;

    // Location negotiation.
    this.api('OPTIONS', `${org}/_apis/:area`, (request) => {
      const key = request.params.area.toLowerCase();
      const locations = LOCATIONS[key];
      if (!locations) return { status: 200, body: { count: 0, value: [] } };
      return {
        body: {
          count: locations.length,
          value: locations.map((location) => ({
            ...location,
            area: AREA_NAMES[key],
            minVersion: '1.0',
            maxVersion: '7.2',
            releasedVersion: '7.1',
          })),
        },
      };
    });
    // Permissions - Has Permissions: the caller's permissions on security tokens. Only the Build namespace's Queue
    // builds bit (128) on `projectId[/folder...]/definitionId` tokens is modelled; everything else is allowed.
    this.api('GET', `${org}/_apis/permissions/:namespace/:permissions`, (request) => {
      const tokens = (request.query.get('tokens') ?? '').split(request.query.get('delimiter') ?? ',').filter(Boolean);
      const queue = request.params.namespace.toLowerCase() === BUILD_NAMESPACE && (Number(request.params.permissions) & QUEUE_BUILDS) !== 0;
      const value = tokens.map((token) => !(queue && this.queueDenied.has(Number(token.split('/').pop()))));
      return { body: { count: value.length, value } };
    });
    this.api('GET', `${org}/_apis/ResourceAreas`, () => ({ body: { count: 0, value: null } }));
    this.api('GET', `${org}/_apis/projects/:project`, (request) =>
      [this.project.toLowerCase(), this.projectId].includes(request.params.project.toLowerCase())
        ? { body: { id: this.projectId, name: this.project, state: 'wellFormed', visibility: 'private' } }
        : apiError(
            404,
            `TF200016: The following project does not exist: ${request.params.project}.`,
            'ProjectDoesNotExistWithNameException',
          ),
    );
    this.api('GET', `${org}/_apis/identities`, (request) => {
      const filter = (request.query.get('filterValue') ?? '').toLowerCase();
      const found = [...this.identities.values()].filter((identity) => identity.displayName.toLowerCase().includes(filter));
      return {
        body: {
          count: found.length,
          value: found.map((identity) => ({ id: identity.id, providerDisplayName: identity.displayName, isActive: true })),
        },
      };
    });

    // Build definitions.
    this.api('GET', `${project}/_apis/build/Definitions`, (request) => {
      const name = request.query.get('name');
      const folder = request.query.get('path');
      const ids = request.query.get('definitionIds')?.split(',').map(Number);
      const matches = [...this.definitions.values()].filter((definition) => {
        if (name && !wildcard(name).test(definition.name)) return false;
        if (folder) {
          const wanted = normalizeFolder(folder).toLowerCase();
          const path = definition.path.toLowerCase();
          if (!(path === wanted || path.startsWith(wanted === '\\' ? '\\' : `${wanted}\\`))) return false;
        }
        return !ids || ids.includes(definition.id);
      });
      return { body: { count: matches.length, value: matches.map((definition) => this.toDefinitionReference(definition)) } };
    });
    this.api('GET', `${project}/_apis/build/Definitions/:id`, (request) => {
      const definition = this.findDefinition(request.params.id);
      if (!definition) return apiError(404, `The pipeline with ID ${request.params.id} does not exist.`, 'DefinitionNotFoundException');
      return { body: this.toDefinition(definition) };
    });
    this.api('PUT', `${project}/_apis/build/Definitions/:id`, (request) => {
      const definition = this.findDefinition(request.params.id);
      if (!definition) return apiError(404, `The pipeline with ID ${request.params.id} does not exist.`, 'DefinitionNotFoundException');
      const edit = this.pendingEdits.get(definition.id);
      if (edit) {
        this.pendingEdits.delete(definition.id);
        this.editDefinition(definition.id, edit);
      }
      const body = request.body as Record<string, any>;
      if (!body || typeof body !== 'object') return apiError(400, 'A definition is required in the body.', 'ArgumentNullException');
      if (Number(body.id) !== definition.id) {
        return apiError(
          400,
          `The request specifies pipeline ID ${definition.id} but the supplied pipeline has ID ${body.id ?? 0}.`,
          'RouteIdConflictException',
        );
      }
      if (Number(body.revision) !== definition.revision) {
        return this.staleRevisionStatus === 404
          ? apiError(404, `Build pipeline ${definition.id} was not found.`, 'DefinitionNotFoundException')
          : apiError(
              409,
              `The pipeline could not be updated because it was changed by someone else (revision ${body.revision} is not the ` +
                `latest, ${definition.revision}). Get the latest and try again.`,
              'DefinitionRevisionMismatchException',
            );
      }
      const status = queueStatusOf(body.queueStatus);
      if (status === undefined) return apiError(400, `'${body.queueStatus}' is not a valid queue status.`, 'ArgumentException');
      // `tags` in the body is ignored, as the service does: only the definition Tags API changes them.
      const {
        id: _id,
        revision: _revision,
        queueStatus: _queueStatus,
        name,
        path,
        _links,
        url,
        project: _project,
        tags: _tags,
        ...rest
      } = body;
      definition.extra = { ...definition.extra, ...rest };
      if (typeof name === 'string') definition.name = name;
      if (typeof path === 'string') definition.path = normalizeFolder(path);
      definition.queueStatus = status;
      definition.revision++;
      if (status === 'enabled') this.startWaitingRuns(definition);
      return { body: this.toDefinition(definition) };
    });

    // Builds (the same runs, seen from the build API) and their tags.
    this.api('GET', `${project}/_apis/build/Builds`, (request) => {
      const definitions = request.query.get('definitions')?.split(',').map(Number);
      const buildIds = request.query.get('buildIds')?.split(',').map(Number);
      const tags = request.query.get('tagFilters')?.split(',').filter(Boolean) ?? [];
      const status = request.query.get('statusFilter');
      const result = request.query.get('resultFilter');
      const since = minTimeFilter(request.query.get('minTime'), request.query.get('queryOrder'));
      let runs = [...this.runs.values()].filter(
        (run) =>
          (!definitions || definitions.includes(run.definitionId)) &&
          (!since || since.test(run, this.state(run).finishedAt)) &&
          (!buildIds || buildIds.includes(run.id)) &&
          tags.every((tag) => [...run.tags].some((own) => own.toLowerCase() === tag.toLowerCase())) &&
          matchesStatusFilter(status, this.state(run).status) &&
          matchesResultFilter(result, this.state(run).result),
      );
      runs = runs.sort((a, b) => (request.query.get('queryOrder') === 'queueTimeAscending' ? a.id - b.id : b.id - a.id));
      const top = Number(request.query.get('$top') ?? 0);
      if (top > 0) runs = runs.slice(0, top);
      if (buildIds && this.onWaitForRuns) {
        const running = runs.filter((run) => run.startedAt !== undefined && this.state(run).status === 'inProgress');
        if (running.length) this.onWaitForRuns(Math.min(...running.map((run) => run.startedAt! + run.durationMs)));
      }
      return { body: { count: runs.length, value: runs.map((run) => this.toBuild(run)) } };
    });
    this.api('GET', `${project}/_apis/build/Builds/:id`, (request) => {
      const run = this.runs.get(Number(request.params.id));
      return run
        ? { body: this.toBuild(run) }
        : apiError(404, `The requested build ${request.params.id} could not be found.`, 'BuildNotFoundException');
    });
    // Timeline - Get: the run's records (no timeline set and no such run: 404 as for any build).
    this.api('GET', `${project}/_apis/build/builds/:id/timeline`, (request) => {
      const id = Number(request.params.id);
      const set = this.timelines.get(id);
      if (!set && !this.runs.has(id))
        return apiError(404, `The requested build ${request.params.id} could not be found.`, 'BuildNotFoundException');
      const records = typeof set === 'function' ? set() : (set ?? []);
      const lastChangedOn = new Date(this.now()).toISOString();
      return {
        body: {
          records,
          lastChangedBy: BUILD_SERVICE_IDENTITY,
          lastChangedOn,
          id: TIMELINE_ID,
          changeId: records.length,
          url: request.path,
        },
      };
    });
    this.api('GET', `${project}/_apis/build/builds/:id/tags`, (request) => {
      const run = this.runs.get(Number(request.params.id));
      return run
        ? { body: { count: run.tags.size, value: [...run.tags] } }
        : apiError(404, `The requested build ${request.params.id} could not be found.`, 'BuildNotFoundException');
    });
    const addTags = async (request: EmulatorRequest, tags: string[]): Promise<EmulatorResponse> => {
      if (this.tagsHeld) {
        // Held until released: a caller killed meanwhile never tagged the run (the call did not reach the service).
        const apply = await new Promise<boolean>((resolve) => this.heldTagCalls.push(resolve));
        if (!apply) return apiError(503, 'The service is unavailable.', 'ServiceUnavailableException');
      }
      const run = this.runs.get(Number(request.params.id));
      if (!run) return apiError(404, `The requested build ${request.params.id} could not be found.`, 'BuildNotFoundException');
      for (const tag of tags) if (tag.trim()) run.tags.add(tag.trim());
      return { body: { count: run.tags.size, value: [...run.tags] } };
    };
    this.api('POST', `${project}/_apis/build/builds/:id/tags`, (request) =>
      Array.isArray(request.body)
        ? addTags(request, request.body.map(String))
        : apiError(400, 'A list of tags is required.', 'ArgumentException'),
    );
    this.api('PUT', `${project}/_apis/build/builds/:id/tags/:tag*`, (request) => addTags(request, [request.params.tag]));

    // Definition tags: the only way to change them (a definition PUT ignores `tags`). Case-insensitive like the
    // service; every answer is the definition's tags after the call, `{count, value}`. Whether the service also
    // counts a tag change as a new revision is not documented; here it does not.
    const definitionTags = (
      request: EmulatorRequest,
      change: (definition: EmulatedDefinition) => EmulatorResponse | void,
    ): EmulatorResponse => {
      const definition = this.findDefinition(request.params.id);
      if (!definition) return apiError(404, `The pipeline with ID ${request.params.id} does not exist.`, 'DefinitionNotFoundException');
      const refused = change(definition);
      return refused ?? { body: { count: definition.tags.length, value: [...definition.tags] } };
    };
    const sameTag = (a: string) => (b: string) => a.toLowerCase() === b.toLowerCase();
    const addDefinitionTags = (definition: EmulatedDefinition, tags: string[]) => {
      for (const tag of tags.map((text) => text.trim()).filter(Boolean)) if (!definition.tags.some(sameTag(tag))) definition.tags.push(tag);
    };
    const removeDefinitionTags = (definition: EmulatedDefinition, tags: string[]) => {
      definition.tags = definition.tags.filter((own) => !tags.some(sameTag(own)));
    };
    this.api('GET', `${project}/_apis/build/definitions/:id/tags`, (request) => definitionTags(request, () => undefined));
    this.api('PUT', `${project}/_apis/build/definitions/:id/tags/:tag*`, (request) =>
      definitionTags(request, (definition) => addDefinitionTags(definition, [request.params.tag])),
    );
    this.api('DELETE', `${project}/_apis/build/definitions/:id/tags/:tag*`, (request) =>
      definitionTags(request, (definition) => removeDefinitionTags(definition, [request.params.tag])),
    );
    this.api('POST', `${project}/_apis/build/definitions/:id/tags`, (request) =>
      definitionTags(request, (definition) =>
        Array.isArray(request.body)
          ? addDefinitionTags(definition, request.body.map(String))
          : apiError(400, 'A list of tags is required.', 'ArgumentException'),
      ),
    );
    this.api('PATCH', `${project}/_apis/build/definitions/:id/tags`, (request) =>
      definitionTags(request, (definition) => {
        const body = (request.body ?? {}) as { tagsToAdd?: unknown; tagsToRemove?: unknown };
        const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
        if (!Array.isArray(body.tagsToAdd) && !Array.isArray(body.tagsToRemove))
          return apiError(400, 'tagsToAdd or tagsToRemove is required.', 'ArgumentException');
        removeDefinitionTags(definition, list(body.tagsToRemove));
        addDefinitionTags(definition, list(body.tagsToAdd));
      }),
    );

    // Pipelines and runs.
    this.api('GET', `${project}/_apis/pipelines`, () => {
      const all = [...this.definitions.values()];
      return {
        body: {
          count: all.length,
          value: all.map((definition) => ({
            id: definition.id,
            name: definition.name,
            folder: definition.path,
            revision: definition.revision,
            url: `${this.collectionUrl}${this.projectId}/_apis/pipelines/${definition.id}`,
          })),
        },
      };
    });
    // Approvals - Query: the approvals of the ids asked (all when none), steps only with $expand=steps. Before
    // `pipelines/:id`, which would take `approvals` for a pipeline id.
    this.api('GET', `${project}/_apis/pipelines/approvals`, (request) => {
      const refused = previewRequired(request);
      if (refused) return refused;
      const ids = (request.query.get('approvalIds') ?? '')
        .split(',')
        .map((id) => id.trim().toLowerCase())
        .filter(Boolean);
      const invalid = ids.find((id) => !GUID.test(id));
      if (invalid) return apiError(400, `The value '${invalid}' is not valid for approvalIds: a Guid is expected.`, 'ArgumentException');
      const all = [...this.approvals.values()].flatMap((source) => (typeof source === 'function' ? source() : source));
      const found = ids.length ? all.filter((approval) => ids.includes(approval.id.toLowerCase())) : all;
      const steps = (request.query.get('$expand') ?? '').toLowerCase().split(',').includes('steps');
      return { body: { count: found.length, value: found.map((approval) => this.toApproval(approval, steps)) } };
    });
    this.api('GET', `${project}/_apis/pipelines/:id`, (request) => {
      const definition = this.findDefinition(request.params.id);
      return definition
        ? {
            body: {
              id: definition.id,
              name: definition.name,
              folder: definition.path,
              revision: definition.revision,
              configuration: { type: 'yaml', path: (definition.extra.process as { yamlFilename: string }).yamlFilename },
            },
          }
        : apiError(404, `Pipeline ${request.params.id} not found.`, 'PipelineNotFoundException');
    });
    this.api('GET', `${project}/_apis/pipelines/:id/runs`, (request) => {
      const runs = [...this.runs.values()].filter((run) => run.definitionId === Number(request.params.id)).sort((a, b) => b.id - a.id);
      return { body: { count: runs.length, value: runs.map((run) => this.toRun(run)) } };
    });
    this.api('GET', `${project}/_apis/pipelines/:id/runs/:runId`, (request) => {
      const run = this.runs.get(Number(request.params.runId));
      return run && run.definitionId === Number(request.params.id)
        ? { body: this.toRun(run) }
        : apiError(404, `Run ${request.params.runId} not found.`, 'PipelineRunNotFoundException');
    });
    this.api('POST', `${project}/_apis/pipelines/:id/runs`, (request) => {
      const definition = this.findDefinition(request.params.id);
      if (!definition) return apiError(404, `Pipeline ${request.params.id} not found.`, 'PipelineNotFoundException');
      if (this.queueDenied.has(definition.id)) {
        return apiError(
          403,
          `TF215106: Access denied. The build service needs Queue builds permission for ${definition.name}.`,
          'AccessDeniedException',
        );
      }
      if (definition.queueStatus === 'disabled') {
        return apiError(
          400,
          `Could not queue the build because the build definition ${definition.name} is disabled.`,
          'DefinitionDisabledException',
        );
      }
      const body = (request.body ?? {}) as {
        templateParameters?: Record<string, unknown>;
        resources?: { repositories?: { self?: { refName?: string } } };
        previewRun?: boolean;
      };
      const parameters = Object.fromEntries(Object.entries(body.templateParameters ?? {}).map(([key, value]) => [key, String(value)]));
      if (definition.parameters) {
        const unknown = Object.keys(parameters).filter((key) => !definition.parameters!.includes(key));
        if (unknown.length) return apiError(400, `Unexpected parameter(s) ${unknown.join(', ')}.`, 'PipelineValidationException');
      }
      const branch = body.resources?.repositories?.self?.refName ?? 'refs/heads/main';
      const run = this.createRun(definition, parameters, branch.startsWith('refs/') ? branch : `refs/heads/${branch}`);
      return { body: this.toRun(run) };
    });

    // Environments.
    const toEnvironment = (environment: EmulatedEnvironment) => ({
      id: environment.id,
      name: environment.name,
      description: environment.description,
      createdBy: { id: 'a1f0b6c2-0000-0000-0000-000000000001', displayName: 'Emulated User' },
      createdOn: environment.createdOn,
      lastModifiedBy: { id: 'a1f0b6c2-0000-0000-0000-000000000001', displayName: 'Emulated User' },
      lastModifiedOn: environment.lastModifiedOn,
      project: { id: this.projectId, name: this.project },
    });
    this.api('GET', `${project}/_apis/distributedtask/environments`, (request) => {
      const name = request.query.get('name');
      const found = [...this.environments.values()].filter((environment) => !name || wildcard(name).test(environment.name));
      return { body: { count: found.length, value: found.map(toEnvironment) } };
    });
    this.api('GET', `${project}/_apis/distributedtask/environments/:id`, (request) => {
      const environment = this.environments.get(Number(request.params.id));
      return environment
        ? { body: toEnvironment(environment) }
        : apiError(404, `Environment ${request.params.id} not found.`, 'EnvironmentNotFoundException');
    });
    this.api('POST', `${project}/_apis/distributedtask/environments`, (request) => {
      const body = (request.body ?? {}) as { name?: string; description?: string };
      if (!body.name || !String(body.name).trim()) return apiError(400, 'Environment name is required.', 'ArgumentException');
      if ([...this.environments.values()].some((environment) => environment.name.toLowerCase() === String(body.name).toLowerCase())) {
        return apiError(409, `Environment '${body.name}' already exists in the project.`, 'EnvironmentExistsException');
      }
      const at = new Date(this.now()).toISOString();
      const environment: EmulatedEnvironment = {
        id: this.nextEnvironmentId++,
        name: String(body.name),
        description: String(body.description ?? ''),
        createdOn: at,
        lastModifiedOn: at,
      };
      this.environments.set(environment.id, environment);
      return { body: toEnvironment(environment) };
    });
    this.api('PATCH', `${project}/_apis/distributedtask/environments/:id`, (request) => {
      const environment = this.environments.get(Number(request.params.id));
      if (!environment) return apiError(404, `Environment ${request.params.id} not found.`, 'EnvironmentNotFoundException');
      const body = (request.body ?? {}) as { name?: string; description?: string };
      if (body.name !== undefined) environment.name = String(body.name);
      if (body.description !== undefined) environment.description = String(body.description);
      environment.lastModifiedOn = new Date(this.now()).toISOString();
      return { body: toEnvironment(environment) };
    });
    this.api('DELETE', `${project}/_apis/distributedtask/environments/:id`, (request) =>
      this.environments.delete(Number(request.params.id))
        ? { status: 204 }
        : apiError(404, `Environment ${request.params.id} not found.`, 'EnvironmentNotFoundException'),
    );

    // Check configurations (approvals): raw REST only, and only with a -preview api-version.
    const toCheck = (check: EmulatedCheck, expand: boolean) => ({
      id: check.id,
      version: check.version,
      type: check.type,
      ...(expand ? { settings: check.settings } : {}),
      resource: check.resource,
      timeout: check.timeout,
      createdBy: { id: 'a1f0b6c2-0000-0000-0000-000000000001', displayName: 'Emulated User' },
      createdOn: check.createdOn,
      modifiedBy: { id: 'a1f0b6c2-0000-0000-0000-000000000001', displayName: 'Emulated User' },
      modifiedOn: check.modifiedOn,
      url: `${this.collectionUrl}${this.projectId}/_apis/pipelines/checks/configurations/${check.id}`,
      _links: { self: { href: `${this.collectionUrl}${this.projectId}/_apis/pipelines/checks/configurations/${check.id}` } },
    });
    const validateCheck = (body: any): string | undefined => {
      if (!body || typeof body !== 'object') return 'A check configuration is required in the body.';
      if (!body.type?.id && !body.type?.name) return 'type.id or type.name is required.';
      if (!body.resource?.type || body.resource?.id === undefined) return 'resource.type and resource.id are required.';
      if (body.resource.type === 'environment' && !this.environments.has(Number(body.resource.id)))
        return `Environment ${body.resource.id} not found.`;
      const known = CHECK_TYPES.find((type) => type.id === String(body.type?.id ?? '').toLowerCase() || type.name === body.type?.name);
      if (!known) return `Check type ${body.type?.id ?? body.type?.name} is not a known check type.`;
      if (known.name === 'Approval') {
        if (!Array.isArray(body.settings?.approvers) || body.settings.approvers.length === 0)
          return 'An approval check needs at least one approver.';
      }
      return undefined;
    };
    this.api('GET', `${project}/_apis/pipelines/checks/configurations`, (request) => {
      const refused = previewRequired(request);
      if (refused) return refused;
      const type = request.query.get('resourceType');
      const id = request.query.get('resourceId');
      const found = [...this.checks.values()].filter(
        (check) => (!type || check.resource.type === type) && (!id || String(check.resource.id) === id),
      );
      const expand = (request.query.get('$expand') ?? '').toLowerCase() === 'settings';
      return { body: { count: found.length, value: found.map((check) => toCheck(check, expand)) } };
    });
    this.api('GET', `${project}/_apis/pipelines/checks/configurations/:id`, (request) => {
      const refused = previewRequired(request);
      if (refused) return refused;
      const check = this.checks.get(Number(request.params.id));
      return check
        ? { body: toCheck(check, true) }
        : apiError(404, `Check configuration ${request.params.id} not found.`, 'CheckConfigurationNotFoundException');
    });
    this.api('POST', `${project}/_apis/pipelines/checks/configurations`, (request) => {
      const refused = previewRequired(request);
      if (refused) return refused;
      const problem = validateCheck(request.body);
      if (problem) return apiError(400, problem, 'InvalidCheckConfigurationException');
      const body = request.body as EmulatedCheck;
      const at = new Date(this.now()).toISOString();
      const check: EmulatedCheck = {
        id: this.nextCheckId++,
        version: 1,
        // The service answers with the type's id and name whichever of the two was sent.
        type: { ...CHECK_TYPES.find((type) => type.id === String(body.type.id ?? '').toLowerCase() || type.name === body.type.name)! },
        settings: body.settings,
        resource: { type: body.resource.type, id: String(body.resource.id), name: body.resource.name },
        timeout: Number(body.timeout ?? 43200),
        createdOn: at,
        modifiedOn: at,
      };
      this.checks.set(check.id, check);
      return { body: toCheck(check, true) };
    });
    const updateCheck = (request: EmulatorRequest): EmulatorResponse => {
      const refused = previewRequired(request);
      if (refused) return refused;
      const check = this.checks.get(Number(request.params.id));
      if (!check) return apiError(404, `Check configuration ${request.params.id} not found.`, 'CheckConfigurationNotFoundException');
      const body = { ...toCheck(check, true), ...(request.body as object) } as any;
      const problem = validateCheck(body);
      if (problem) return apiError(400, problem, 'InvalidCheckConfigurationException');
      check.settings = body.settings;
      check.timeout = Number(body.timeout);
      check.version++;
      check.modifiedOn = new Date(this.now()).toISOString();
      return { body: toCheck(check, true) };
    };
    this.api('PATCH', `${project}/_apis/pipelines/checks/configurations/:id`, updateCheck);
    this.api('PUT', `${project}/_apis/pipelines/checks/configurations/:id`, updateCheck);
    this.api('DELETE', `${project}/_apis/pipelines/checks/configurations/:id`, (request) => {
      const refused = previewRequired(request);
      if (refused) return refused;
      return this.checks.delete(Number(request.params.id))
        ? { status: 204 }
        : apiError(404, `Check configuration ${request.params.id} not found.`, 'CheckConfigurationNotFoundException');
    });
  }

  /** An Approval on the wire: the documented fields, and `pipeline` as answers show it (owner = the run). */
  private toApproval(approval: EmulatedApproval, withSteps: boolean): Record<string, unknown> {
    const identity = (displayName: string) => ({ displayName, id: identityIdOf(displayName) });
    const lastModifiedOn = approval.decidedOn ?? approval.createdOn;
    const self = `${this.collectionUrl}${this.projectId}/_apis/pipelines/approvals/${approval.id}`;
    const step = {
      assignedApprover: identity(approval.assignedApprover ?? 'Approvers'),
      ...(approval.approver && approval.decidedOn ? { actualApprover: identity(approval.approver) } : {}),
      status: approval.status,
      comment: '',
      initiatedOn: approval.createdOn,
      lastModifiedOn,
      order: 1,
      history: [],
    };
    const run = this.runs.get(approval.runId);
    return {
      id: approval.id,
      steps: withSteps ? [step] : [],
      status: approval.status,
      createdOn: approval.createdOn,
      lastModifiedOn,
      executionOrder: 'anyOrder',
      minRequiredApprovers: 1,
      blockedApprovers: [],
      _links: { self: { href: self } },
      pipeline: {
        owner: {
          _links: { web: { href: `${this.collectionUrl}${this.project}/_build/results?buildId=${approval.runId}` } },
          id: approval.runId,
          name: run?.buildNumber ?? String(approval.runId),
        },
        id: String(run?.definitionId ?? 1),
        name: approval.pipelineName ?? 'maintenance-window',
      },
    };
  }
}

/** Checks and approvals want a `-preview` api-version, as the service does. */
function previewRequired(request: EmulatorRequest): EmulatorResponse | undefined {
  const version = request.query.get('api-version') ?? /api-version=([^;,\s]+)/.exec(String(request.headers.accept ?? ''))?.[1];
  if (!version)
    return apiError(
      400,
      'No api-version was supplied for the GET request. An api-version must be supplied.',
      'VssVersionNotSpecifiedException',
    );
  if (!/-preview/.test(version)) {
    return apiError(
      400,
      `The requested version "${version}" of the resource is under preview. The -preview flag must be supplied in the ` +
        `api-version for such requests. For example: "${version}-preview"`,
      'VssInvalidPreviewVersionException',
    );
  }
  return undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable identity id for a display name (the same person has the same id in every answer). */
function identityIdOf(displayName: string): string {
  const hex = createHash('sha1').update(displayName).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The check types the emulator knows (Approvals and checks): an approval, and the exclusive lock (no settings). */
const CHECK_TYPES = [
  { id: '8c6f20a7-a545-4486-9777-f762fafe0d4d', name: 'Approval' },
  { id: '2ef31ad6-baa0-403a-8b45-2cbc9b4e5563', name: 'ExclusiveLock' },
];

/** The wire takes the queue status as a name or as the client's number (Enabled=0, Paused=1, Disabled=2). */
function queueStatusOf(value: unknown): QueueStatus | undefined {
  if (value === undefined || value === null) return 'enabled';
  const names: QueueStatus[] = ['enabled', 'paused', 'disabled'];
  if (typeof value === 'number') return names[value];
  const text = String(value).toLowerCase();
  return names.find((name) => name === text) ?? (/^\d$/.test(text) ? names[Number(text)] : undefined);
}

/** `resultFilter` as the service takes it: a name (`succeeded`) or the BuildResult flags (`2` succeeded, `8` failed, `32` canceled). */
function matchesResultFilter(filter: string | null, result: RunResult | undefined): boolean {
  if (!filter) return true;
  if (!result) return false;
  const flags: Record<RunResult, number> = { succeeded: 2, failed: 8, canceled: 32 };
  const wanted = /^\d+$/.test(filter)
    ? Number(filter)
    : filter.split(',').reduce((sum, name) => sum | (flags[name.trim().toLowerCase() as RunResult] ?? 0), 0);
  return (wanted & flags[result]) !== 0;
}

/**
 * `statusFilter` of List Builds: a BuildStatus flags value, as the client sends it (`1` inProgress, `2`
 * completed, `4` cancelling, `8` postponed, `16` abandoned, `32` notStarted, `47`/`63` all) or by name(s).
 */
function matchesStatusFilter(filter: string | null, status: 'notStarted' | 'inProgress' | 'completed'): boolean {
  if (!filter) return true;
  const flag = { inprogress: 1, completed: 2, notstarted: 32 }[status.toLowerCase() as 'inprogress' | 'completed' | 'notstarted'];
  const names: Record<string, number> = {
    inprogress: 1,
    completed: 2,
    cancelling: 4,
    postponed: 8,
    abandoned: 16,
    notstarted: 32,
    all: 63,
  };
  const wanted = filter
    .split(',')
    .reduce((bits, part) => bits | (/^\d+$/.test(part.trim()) ? Number(part) : (names[part.trim().toLowerCase()] ?? 0)), 0);
  return (wanted & flag) !== 0;
}
