import { messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import type { DevOpsClient } from './client';
import { queueStatusName } from './definitions';
import { PipelineRuns } from './runs';
import type { PipelineSelector } from './single-run';

/**
 * The `check` of a pipeline a step would run (RunPipeline's regression pipeline, each pipeline of RunChanges'
 * plan): it exists, once, where the step names it, and its definition is enabled (a paused one would leave
 * the run waiting in the queue, a disabled one refuses it), and the job's identity (the build service, or the
 * connection's user) holds Queue builds on it, asked with Permissions - Has Permissions, a GET. It queues nothing.
 */

/** The Build security namespace and its Queue builds bit (Azure DevOps security namespace reference). */
const BUILD_NAMESPACE = '33344d9c-fc72-4d6f-aba5-fa317101a7e9';
const QUEUE_BUILDS = 128;
const PERMISSIONS_API_VERSION = '7.1-preview.2';

/** Whether the caller may queue the definition; undefined when Azure DevOps does not say (the check then warns). */
export async function mayQueue(
  client: DevOpsClient,
  definition: { id: number; path?: string; projectId?: string },
): Promise<boolean | undefined> {
  if (!definition.projectId) return undefined;
  // The Build namespace's tokens are the project id, the definition's folders and its id, joined by '/'.
  const folders = (definition.path ?? '\\').split('\\').filter(Boolean);
  const token = [definition.projectId, ...folders, String(definition.id)].join('/');
  try {
    const answer = await client.getFromOrganization(`ask whether this identity may queue pipeline ${definition.id}`, {
      path: `_apis/permissions/${BUILD_NAMESPACE}/${QUEUE_BUILDS}`,
      query: { tokens: token, alwaysAllowAdministrators: 'true', 'api-version': PERMISSIONS_API_VERSION },
      expect: (body) => (Array.isArray((body as { value?: unknown } | null)?.value) ? undefined : 'expected {count, value: [booleans]}'),
    });
    const value = (answer as { value: unknown[] }).value[0];
    return typeof value === 'boolean' ? value : undefined;
  } catch {
    return undefined;
  }
}

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

export async function checkPipelineDefinition(
  client: DevOpsClient,
  runs: PipelineRuns,
  pipeline: PipelineToCheck,
): Promise<PreflightFinding> {
  const object = `${label(pipeline)}${pipeline.context ? ` ${pipeline.context}` : ''}`;
  try {
    const found = pipeline.id !== undefined ? await runs.findById(pipeline.id) : await runs.find(pipeline.name!, pipeline.folder);
    if (typeof found === 'string')
      return {
        check: 'pipeline',
        object,
        verdict: 'NO-GO',
        why: `${found}.`,
        fix: 'Correct the pipeline name or folder (renamed or moved?), or create the pipeline.',
      };
    const build = await client.build();
    const definition = await client.call(`read pipeline ${found.id}`, () => build.getDefinition(client.project, found.id));
    const status = queueStatusName(definition?.queueStatus);
    if (status !== 'enabled') {
      return {
        check: 'pipeline',
        object,
        verdict: 'NO-GO',
        why: `is ${status}: a run would ${status === 'paused' ? 'wait in the queue' : 'be refused'}.`,
        fix: 'Enable the pipeline (Settings → Processing of new run requests: Enabled).',
      };
    }
    const queue = await mayQueue(client, { id: found.id, path: definition?.path, projectId: definition?.project?.id });
    if (queue === false) {
      return {
        check: 'pipeline',
        object,
        verdict: 'NO-GO',
        why: "the job's identity (the project build service) may not queue it: Queue builds is not allowed.",
        fix: "Allow 'Queue builds' for the project's build service on this pipeline (Pipeline → Manage security).",
      };
    }
    const unknown = queue === undefined;
    return {
      check: 'pipeline',
      object,
      verdict: unknown ? 'WARN' : 'GO',
      why:
        `exists (id ${found.id}) and is enabled; ` +
        `${unknown ? 'Azure DevOps did not say whether it may be queued' : 'the job may queue it'}.`,
      fix: unknown ? "Check that the project's build service may queue it (Manage security: Queue builds)." : '',
      wouldDo: `would run ${found.name}${pipeline.branch ? ` on ${pipeline.branch}` : ''}`,
    };
  } catch (error) {
    return {
      check: 'pipeline',
      object,
      verdict: 'NO-GO',
      why: messageOf(error),
      fix: "Check the Azure DevOps connection, its project and the token's access.",
    };
  }
}

/** RunPipeline's check. */
export async function checkSinglePipeline(options: {
  client: DevOpsClient;
  pipeline: PipelineSelector;
  branch?: string;
}): Promise<PreflightFinding[]> {
  const { pipeline } = options;
  return [
    await checkPipelineDefinition(options.client, new PipelineRuns(options.client), {
      id: pipeline.id,
      name: pipeline.name,
      folder: pipeline.folder,
      branch: options.branch,
    }),
  ];
}
