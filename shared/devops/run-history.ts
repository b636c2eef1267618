import { BUILD_RESULT, BUILD_STATUS } from './build-values';
import { listBuilds } from './builds';
import type { DevOpsClient } from './client';
import { PipelineRuns, toRunState, type RunState } from './runs';

/**
 * How long a pipeline usually takes: its newest successful runs, for the preflight's forecast. Read only (List
 * Builds of the definition, completed and succeeded, newest first): the preflight writes nothing.
 */

export interface PipelineHistory {
  /** The pipeline as the plan names it. */
  name: string;
  folder?: string;
  /** Newest first; empty when it has never succeeded (or does not exist: `problem` says so). */
  runs: RunState[];
  problem?: string;
}

export async function recentSuccessfulRuns(
  client: DevOpsClient,
  pipelines: Array<{ name: string; folder?: string }>,
  limit = 10,
): Promise<PipelineHistory[]> {
  const lookup = new PipelineRuns(client);
  const build = await client.build();
  const histories: PipelineHistory[] = [];
  for (const pipeline of pipelines) {
    const found = await lookup.find(pipeline.name, pipeline.folder);
    if (typeof found === 'string') {
      histories.push({ ...pipeline, runs: [], problem: found });
      continue;
    }
    const builds = await client.call(`read the recent successful runs of ${pipeline.name}`, () =>
      listBuilds(build, client.project, {
        definitions: [found.id],
        statusFilter: BUILD_STATUS.Completed,
        resultFilter: BUILD_RESULT.Succeeded,
        top: limit,
      }),
    );
    histories.push({ ...pipeline, runs: (builds ?? []).map(toRunState) });
  }
  return histories;
}
