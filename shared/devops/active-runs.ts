import type { BuildStatus } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { BUILD_STATUS } from './build-values';
import { listBuilds } from './builds';
import { InputError, ServiceError } from '../core/errors';
import { devOpsShape, type DevOpsClient } from './client';

/**
 * The other runs of this pipeline that are not finished: what the window's first gate asks so that a manual run
 * and the scheduled run of the same night never work on the same gateway at once. Only an OLDER run (a lower
 * build id, queued first) holds this one back; a newer run never stops an older one, so of two runs exactly
 * the first goes on.
 */

export interface ActiveRun {
  id: number;
  buildNumber: string;
  /** `in progress`, `being cancelled` or `queued`. */
  status: string;
  link?: string;
}

/**
 * One status per call: `statusFilter` is a flags enum, but one value per call is what the List Builds page
 * documents. A run being cancelled still runs its always() steps (its restores), so it counts as active.
 */
const ACTIVE: ReadonlyArray<{ status: BuildStatus; label: string }> = [
  { status: BUILD_STATUS.InProgress, label: 'in progress' },
  { status: BUILD_STATUS.Cancelling, label: 'being cancelled' },
  { status: BUILD_STATUS.NotStarted, label: 'queued' },
];

/** The older runs of pipeline `definitionId` still active, oldest first. A refusal names the permission needed. */
export async function olderActiveRuns(options: { client: DevOpsClient; definitionId: number; buildId: number }): Promise<ActiveRun[]> {
  const { client, definitionId, buildId } = options;
  const found = new Map<number, ActiveRun>();
  try {
    const build = await client.build();
    for (const { status, label } of ACTIVE) {
      const builds = await client.call(
        `list the ${label} runs of pipeline ${definitionId}`,
        () => listBuilds(build, client.project, { definitions: [definitionId], statusFilter: status }),
        { expect: devOpsShape.list },
      );
      for (const run of builds) {
        if (typeof run.id !== 'number' || run.id >= buildId || found.has(run.id)) continue;
        found.set(run.id, {
          id: run.id,
          buildNumber: run.buildNumber ?? String(run.id),
          status: label,
          link: (run._links as { web?: { href?: string } } | undefined)?.web?.href,
        });
      }
    }
  } catch (error) {
    if (error instanceof ServiceError && (error.status === 401 || error.status === 403)) {
      throw new ServiceError(
        error.service,
        `the gate cannot tell whether another run of this pipeline is going on (${error.status} from ${client.connection.source}), ` +
          `and does not open the window blindly. Give the project's Build Service account "View builds" on this pipeline (or choose an ` +
          `Azure DevOps connection whose PAT has Build: Read).`,
        { status: error.status, code: 'cannot-check-overlap', cause: error },
      );
    }
    throw error;
  }
  return [...found.values()].sort((a, b) => a.id - b.id);
}

/** `System.DefinitionId` and `Build.BuildId` as numbers, or an error naming the missing variable. */
export function thisRun(variable: (name: string) => string | undefined): { definitionId: number; buildId: number } {
  const number = (name: string): number => {
    const text = variable(name)?.trim();
    const value = Number(text);
    if (!text || !Number.isSafeInteger(value) || value < 1) {
      throw new InputError(
        'oneRunAtATime',
        `needs the predefined variable ${name} (got '${text ?? ''}'): it only works in a pipeline run.`,
      );
    }
    return value;
  };
  return { definitionId: number('System.DefinitionId'), buildId: number('Build.BuildId') };
}
