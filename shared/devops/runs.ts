import type { Build } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { BUILD_QUERY_ORDER, BUILD_RESULT, BUILD_STATUS } from './build-values';
import { ServiceError } from '../core/errors';
import { listBuilds } from './builds';
import type { DevOpsClient } from './client';
import { queuedDifferently, type PassedOver, type QueuedWith } from './run-match';

export type { PassedOver, QueuedWith } from './run-match';

/**
 * Pipeline runs of the window's changes: finding each pipeline by name (and folder), starting a run with a
 * branch and template parameters, tagging it with the window, the change and the attempt so a later run can
 * find it again, and reading the state of every run in flight with one call.
 */

export interface PipelineRef {
  id: number;
  name: string;
  folder: string;
}

export interface RunState {
  id: number;
  /** `running` until the run completes. */
  status: 'running' | 'succeeded' | 'failed' | 'canceled' | 'partially-succeeded';
  webUrl?: string;
  name?: string;
  tags: string[];
  startedAt?: number;
  finishedAt?: number;
}

/** How far the agent's clock may be ahead of the service's when looking for a run queued since a time. */
export const CLOCK_SKEW_MS = 60_000;

/** `change:` tags a run of a plan change (RunChangesV1), `run:` a single run a step awaits (RunPipelineV1). */
export const TAG_PREFIX = { window: 'window:', change: 'change:', run: 'run:', attempt: 'attempt:' } as const;

export function runTags(windowId: string, changeId: string, attemptId: string): string[] {
  return [`${TAG_PREFIX.window}${windowId}`, `${TAG_PREFIX.change}${changeId}`, `${TAG_PREFIX.attempt}${attemptId}`, 'maintenance-window'];
}

/** Tags of a single run a step starts and awaits (`key` tells two such steps of one window apart). */
export function singleRunTags(windowId: string, key: string, attemptId: string): string[] {
  return [`${TAG_PREFIX.window}${windowId}`, `${TAG_PREFIX.run}${key}`, `${TAG_PREFIX.attempt}${attemptId}`, 'maintenance-window'];
}

/** Was this run tagged by one of the window's steps (a change's run or a single run)? */
function taggedByWindow(tags: string[] | undefined): boolean {
  return (tags ?? []).some((tag) => tag.startsWith(TAG_PREFIX.change) || tag.startsWith(TAG_PREFIX.run));
}

export function tagValue(tags: string[], prefix: string): string | undefined {
  return tags.find((tag) => tag.toLowerCase().startsWith(prefix))?.slice(prefix.length);
}

function normalizeFolder(folder: string | undefined): string {
  const trimmed = (folder ?? '\\').replace(/\//g, '\\').replace(/\\+$/, '');
  return (trimmed.startsWith('\\') ? trimmed : `\\${trimmed}`) || '\\';
}

export function toRunState(build: Build): RunState {
  let status: RunState['status'] = 'running';
  if (build.status === BUILD_STATUS.Completed) {
    switch (build.result) {
      case BUILD_RESULT.Succeeded:
        status = 'succeeded';
        break;
      case BUILD_RESULT.PartiallySucceeded:
        status = 'partially-succeeded';
        break;
      case BUILD_RESULT.Canceled:
        status = 'canceled';
        break;
      default:
        status = 'failed';
    }
  }
  const time = (value: Date | string | undefined) => (value ? new Date(value).getTime() : undefined);
  return {
    id: build.id!,
    status,
    webUrl: (build._links as { web?: { href?: string } } | undefined)?.web?.href,
    name: build.buildNumber,
    tags: build.tags ?? [],
    startedAt: time(build.startTime) ?? time(build.queueTime),
    finishedAt: time(build.finishTime),
  };
}

export class PipelineRuns {
  private readonly byName = new Map<string, Promise<PipelineRef[]>>();

  constructor(
    private readonly client: DevOpsClient,
    private readonly onTagFailure?: (runId: number, error: unknown) => void,
  ) {}

  /** Pipelines with this exact name, in any folder (one call per distinct name). */
  private named(name: string): Promise<PipelineRef[]> {
    const key = name.toLowerCase();
    let found = this.byName.get(key);
    if (!found) {
      found = (async () => {
        const build = await this.client.build();
        const definitions = await this.client.call(`find pipeline ${name}`, () => build.getDefinitions(this.client.project, name));
        return (definitions ?? [])
          .filter((definition) => (definition.name ?? '').toLowerCase() === key)
          .map((definition) => ({ id: definition.id!, name: definition.name!, folder: normalizeFolder(definition.path) }));
      })();
      found.catch(() => this.byName.delete(key));
      this.byName.set(key, found);
    }
    return found;
  }

  /** The pipeline with this name (in this folder, when given); a message when there is none or several. */
  async find(name: string, folder?: string): Promise<PipelineRef | string> {
    const named = await this.named(name);
    const matches = folder ? named.filter((pipeline) => pipeline.folder.toLowerCase() === normalizeFolder(folder).toLowerCase()) : named;
    if (matches.length === 1) return matches[0];
    if (matches.length === 0) {
      const elsewhere =
        folder && named.length ? ` (pipelines of that name are in ${named.map((pipeline) => pipeline.folder).join(', ')})` : '';
      return `no pipeline '${name}'${folder ? ` in folder ${folder}` : ''} in project ${this.client.project}${elsewhere}`;
    }
    return `${matches.length} pipelines are named '${name}' (in ${matches.map((pipeline) => pipeline.folder).join(', ')}); give its folder`;
  }

  /** The pipeline with this id; a message when there is none. */
  async findById(id: number): Promise<PipelineRef | string> {
    const build = await this.client.build();
    try {
      const definition = await this.client.call(`read pipeline ${id}`, () => build.getDefinition(this.client.project, id));
      if (definition?.id === undefined) return `no pipeline with id ${id} in project ${this.client.project}`;
      return { id: definition.id, name: definition.name ?? String(id), folder: normalizeFolder(definition.path) };
    } catch (error) {
      if ((error as ServiceError).status === 404) return `no pipeline with id ${id} in project ${this.client.project}`;
      throw error;
    }
  }

  /** Every run tagged with this window, newest first (one call for the whole plan). */
  async runsOfWindow(windowId: string): Promise<RunState[]> {
    const build = await this.client.build();
    const builds = await this.client.call(`find the runs of window ${windowId}`, () =>
      listBuilds(build, this.client.project, { tagFilters: [`${TAG_PREFIX.window}${windowId}`] }),
    );
    return (builds ?? []).map(toRunState).sort((a, b) => b.id - a.id);
  }

  /**
   * Starts a run and tags it. A start that failed in a way that may have created the run (a server error, a
   * dropped connection) is not sent again blindly: the newest untagged run of the pipeline started since is
   * taken as ours.
   */
  async start(
    pipeline: PipelineRef,
    options: {
      branch?: string;
      parameters: Record<string, string>;
      tags: string[];
      /** Told once the run exists and before it is tagged (the caller logs it: a crash here leaves it untagged). */
      onQueued?: (runId: number) => void;
      /** Told of an untagged run queued since that is not this start's (other parameters or branch), and left alone. */
      onPassedOver?: PassedOver;
    },
  ): Promise<RunState> {
    const api = await this.client.pipelines();
    const requestedAt = this.client.now();
    const body = {
      templateParameters: options.parameters,
      ...(options.branch
        ? {
            resources: {
              repositories: { self: { refName: options.branch.startsWith('refs/') ? options.branch : `refs/heads/${options.branch}` } },
            },
          }
        : {}),
    };
    let runId: number;
    try {
      const run = await this.client.call(`start pipeline ${pipeline.name}`, () => api.runPipeline(body, this.client.project, pipeline.id), {
        idempotent: false,
      });
      runId = run.id!;
    } catch (error) {
      const status = (error as ServiceError).status;
      if (status !== undefined && status < 500) throw error;
      const sent = { parameters: options.parameters, branch: options.branch };
      const adopted = await this.findUntaggedSince(pipeline, { since: requestedAt, sent, onPassedOver: options.onPassedOver });
      if (!adopted) throw error;
      runId = adopted;
    }
    options.onQueued?.(runId);
    return this.tagAndRead(pipeline, runId, options.tags);
  }

  /**
   * After a crash between queueing a run and tagging it: the newest run of the pipeline queued since `since`
   * (less a margin for clock skew) that no step of a window has tagged, not one of `exclude`, and not certainly
   * queued with other parameters or on another branch than `sent` (run-match.ts), tagged now and returned;
   * undefined when there is none (the run was never queued).
   */
  async adoptUntagged(
    pipeline: PipelineRef,
    options: { since: number; tags: string[]; sent: QueuedWith; exclude?: ReadonlySet<number>; onPassedOver?: PassedOver },
  ): Promise<RunState | undefined> {
    const runId = await this.findUntaggedSince(pipeline, options);
    return runId === undefined ? undefined : this.tagAndRead(pipeline, runId, options.tags);
  }

  /** Tags the run (a failure is told to `onTagFailure`, the run goes on) and reads its state. */
  private async tagAndRead(pipeline: PipelineRef, runId: number, tags: string[]): Promise<RunState> {
    const build = await this.client.build();
    let tagged = true;
    try {
      await this.client.call(`tag run ${runId} of ${pipeline.name}`, () => build.addBuildTags(tags, this.client.project, runId));
    } catch (error) {
      // The run is going: follow it anyway, and say that a later run of the step will not recognise it.
      tagged = false;
      this.onTagFailure?.(runId, error);
    }
    const started = await this.client.call(`read run ${runId}`, () => build.getBuild(this.client.project, runId)).catch(() => undefined);
    const state = started ? toRunState(started) : { id: runId, status: 'running' as const, tags: [] };
    return tagged ? { ...state, tags: [...new Set([...state.tags, ...tags])] } : state;
  }

  /** Runs queued since `since`: by queue time, as `minTime` filters on the time `queryOrder` names. */
  private async findUntaggedSince(
    pipeline: PipelineRef,
    options: { since: number; sent: QueuedWith; exclude?: ReadonlySet<number>; onPassedOver?: PassedOver },
  ): Promise<number | undefined> {
    const build = await this.client.build();
    const minTime = new Date(options.since - CLOCK_SKEW_MS);
    const recent = await this.client.call(`look for a run of ${pipeline.name} started just now`, () =>
      listBuilds(build, this.client.project, { definitions: [pipeline.id], minTime, queryOrder: BUILD_QUERY_ORDER.QueueTimeDescending }),
    );
    const untagged = (recent ?? []).filter((run) => !taggedByWindow(run.tags) && !options.exclude?.has(run.id!));
    const ours = untagged.filter((run) => {
      const why = queuedDifferently(run, options.sent);
      if (why) options.onPassedOver?.({ id: run.id!, name: run.buildNumber ?? undefined, why });
      return !why;
    });
    return ours.sort((a, b) => b.id! - a.id!)[0]?.id;
  }

  /** The state of these runs, with one call. */
  async poll(runIds: number[]): Promise<Map<number, RunState>> {
    const states = new Map<number, RunState>();
    if (runIds.length === 0) return states;
    const build = await this.client.build();
    const builds = await this.client.call(`read ${runIds.length} run(s)`, () =>
      listBuilds(build, this.client.project, { buildIds: runIds }),
    );
    for (const found of builds ?? []) states.set(found.id!, toRunState(found));
    return states;
  }
}
