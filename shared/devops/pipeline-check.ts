import { messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import type { DevOpsClient } from './client';
import { queueStatusName } from './definitions';
import { PipelineRuns } from './runs';
import type { PipelineSelector } from './single-run';

/**
 * The `check` of a pipeline a step would run (RunPipeline's regression pipeline, each pipeline of RunChanges'
 * plan): it exists, once, where the step names it, and its definition is enabled (a paused one would leave
 * the run waiting in the queue, a disabled one refuses it). It queues nothing. Whether the build service may
 * queue it is not readable through a documented call with the job's token, so that is not claimed here.
 */

export interface PipelineToCheck {
  name?: string;
  folder?: string;
  id?: number;
  branch?: string;
  /** Appended to the object, e.g. `(change CHG-12)`. */
  context?: string;
}

function label(pipeline: PipelineToCheck): string {
  if (pipeline.id !== undefined) return `pipeline ${pipeline.id}`;
  return `pipeline ${pipeline.folder ? `${pipeline.folder.replace(/\\+$/, '')}\\` : ''}${pipeline.name}`;
}

export async function checkPipelineDefinition(client: DevOpsClient, runs: PipelineRuns, pipeline: PipelineToCheck): Promise<PreflightFinding> {
  const object = `${label(pipeline)}${pipeline.context ? ` ${pipeline.context}` : ''}`;
  try {
    const found = pipeline.id !== undefined ? await runs.findById(pipeline.id) : await runs.find(pipeline.name!, pipeline.folder);
    if (typeof found === 'string') return { check: 'pipeline', object, verdict: 'NO-GO', why: `${found}.`, fix: 'Correct the pipeline name or folder (renamed or moved?), or create the pipeline.' };
    const build = await client.build();
    const definition = await client.call(`read pipeline ${found.id}`, () => build.getDefinition(client.project, found.id));
    const status = queueStatusName(definition?.queueStatus);
    if (status !== 'enabled') {
      return { check: 'pipeline', object, verdict: 'NO-GO', why: `is ${status}: a run would ${status === 'paused' ? 'wait in the queue' : 'be refused'}.`, fix: 'Enable the pipeline (Settings → Processing of new run requests: Enabled).' };
    }
    return { check: 'pipeline', object, verdict: 'GO', why: `exists (id ${found.id}) and is enabled.`, fix: '', wouldDo: `would run ${found.name}${pipeline.branch ? ` on ${pipeline.branch}` : ''}` };
  } catch (error) {
    return { check: 'pipeline', object, verdict: 'NO-GO', why: messageOf(error), fix: 'Check the Azure DevOps connection, its project and the token\'s access.' };
  }
}

/** RunPipeline's check. */
export async function checkSinglePipeline(options: { client: DevOpsClient; pipeline: PipelineSelector; branch?: string }): Promise<PreflightFinding[]> {
  const { pipeline } = options;
  return [await checkPipelineDefinition(options.client, new PipelineRuns(options.client), { id: pipeline.id, name: pipeline.name, folder: pipeline.folder, branch: options.branch })];
}
