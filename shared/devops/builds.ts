import type { Build, BuildQueryOrder, BuildResult, BuildStatus } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import type { IBuildApi } from 'azure-devops-node-api/BuildApi';

/**
 * List Builds with its filters named. azure-devops-node-api takes them as 21 positional arguments, where one
 * `undefined` too many or too few sends a filter as another (a time as a status); this names the few we use once.
 */

export interface BuildQuery {
  /** Runs of these pipelines (definition ids). */
  definitions?: number[];
  /** Runs whose time (the one `queryOrder` names) is at or after this. */
  minTime?: Date;
  statusFilter?: BuildStatus;
  resultFilter?: BuildResult;
  /** Runs carrying every one of these tags. */
  tagFilters?: string[];
  /** At most this many runs. */
  top?: number;
  queryOrder?: BuildQueryOrder;
  /** Exactly these runs. */
  buildIds?: number[];
}

/** The runs of `project` that match `query` (one page: the client does not follow continuation tokens). */
export function listBuilds(build: IBuildApi, project: string, query: BuildQuery): Promise<Build[]> {
  const { definitions, minTime, statusFilter, resultFilter, tagFilters, top, queryOrder, buildIds } = query;
  return build.getBuilds(
    project,
    definitions,
    undefined, // queues
    undefined, // buildNumber
    minTime,
    undefined, // maxTime
    undefined, // requestedFor
    undefined, // reasonFilter
    statusFilter,
    resultFilter,
    tagFilters,
    undefined, // properties
    top,
    undefined, // continuationToken
    undefined, // maxBuildsPerDefinition
    undefined, // deletedFilter
    queryOrder,
    undefined, // branchName
    buildIds,
  );
}
