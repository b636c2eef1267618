import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandMacros } from './rehearsal';
import { toText } from './expressions';
import type { ExpandedPipeline, PipelineJob, PipelineStage, PipelineStep } from './pipeline-expander';

/**
 * What Azure DevOps refuses before a run starts, refused by the rehearsal too, before anything runs:
 * - stage, job and step names that are not identifiers. The service answers "Valid names may only contain
 *   alphanumeric characters and '_' and may not start with a number" for stages and jobs; a step's `name:` is
 *   what output variables are read by (`dependencies.job.outputs['step.var']`), held to the same rule here
 *   (the YAML schema's looser `[-_A-Za-z0-9]*` lets through names that cannot be referenced);
 * - server-only tasks (Delay, ManualValidation: "this task can only be used in an agentless job") in an agent
 *   job, and anything that needs an agent (our tasks, scripts, checkout, publish, download) in `pool: server`;
 * - two artifacts of the same name in one run (PublishPipelineArtifact fails: the artifact already exists).
 * Each refusal names the file and the place (stage › job › step) it is about.
 */

export class PipelineRefusedError extends Error {
  override name = 'PipelineRefusedError';
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Tasks that run only in an agentless (`pool: server`) job. */
export const SERVER_ONLY_TASKS = new Set(['delay', 'manualvalidation', 'invokerestapi', 'azurefunction', 'queryworkitems', 'azuremonitor']);

/** Where a name is written: the first file of the expansion that declares it, with its line. */
function locate(pipeline: ExpandedPipeline, key: string, name: string): string {
  const pattern = new RegExp(`^[ \\t]*-?[ \\t]*${key}:[ \\t]*['"]?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?[ \\t]*$`, 'm');
  for (const file of pipeline.files) {
    const text = fs.readFileSync(file, 'utf8');
    const match = pattern.exec(text);
    if (match) return `${path.relative(process.cwd(), file)}:${text.slice(0, match.index).split('\n').length}`;
  }
  return path.relative(process.cwd(), pipeline.file);
}

function stepLabel(step: PipelineStep): string {
  return step.task ? `${step.displayName} (${step.task}@${step.taskVersion})` : step.displayName;
}

function needsAgent(step: PipelineStep): boolean {
  return step.kind !== 'task' || !SERVER_ONLY_TASKS.has(step.task!.toLowerCase());
}

function artifactName(stage: PipelineStage, job: PipelineJob, step: PipelineStep): string | undefined {
  let raw: string | undefined;
  if (step.kind === 'publish') raw = toText(step.raw.artifact);
  else if (step.kind === 'task' && step.task!.toLowerCase() === 'publishpipelineartifact')
    raw = step.inputs.artifact ?? step.inputs.artifactName;
  if (raw === undefined) return undefined;
  const known: Record<string, string> = {
    'system.stagename': stage.name,
    'system.jobname': job.name,
    'system.jobattempt': '1',
    'system.stageattempt': '1',
  };
  const name = expandMacros(raw, (variable) => known[variable.toLowerCase()]);
  return name.includes('$(') ? undefined : name;
}

function jobRefusals(pipeline: ExpandedPipeline, stage: PipelineStage, job: PipelineJob, artifacts: Map<string, string>): string[] {
  const refusals: string[] = [];
  const where = `stage ${stage.name} › job ${job.name}`;
  if (!IDENTIFIER.test(job.name)) {
    refusals.push(
      `${locate(pipeline, job.kind === 'deployment' ? 'deployment' : 'job', job.name)}: ${where}: job name '${job.name}' is ` +
        `invalid: valid names contain only letters, digits and '_' and do not start with a digit`,
    );
  }
  for (const step of job.steps) {
    const at = `${where} › step ${stepLabel(step)}`;
    if (step.name !== undefined && !IDENTIFIER.test(step.name)) {
      refusals.push(
        `${locate(pipeline, 'name', step.name)}: ${at}: step name '${step.name}' is invalid: valid names contain only letters, ` +
          `digits and '_' and do not start with a digit`,
      );
    }
    if (job.server && needsAgent(step) && !(step.kind === 'checkout' && toText(step.raw.checkout) === 'none')) {
      refusals.push(`${locate(pipeline, 'job', job.name)}: ${at}: needs an agent, but the job is agentless (pool: server)`);
    }
    if (!job.server && step.kind === 'task' && SERVER_ONLY_TASKS.has(step.task!.toLowerCase())) {
      refusals.push(
        `${locate(pipeline, 'job', job.name)}: ${at}: ${step.task}@${step.taskVersion} can only be used in an agentless job (pool: server)`,
      );
    }
    const artifact = artifactName(stage, job, step);
    if (artifact === undefined) continue;
    const first = artifacts.get(artifact.toLowerCase());
    if (first)
      refusals.push(
        `${locate(pipeline, 'job', job.name)}: ${at}: artifact '${artifact}' is also published by ${first}: artifact names must be ` +
          `unique in a run`,
      );
    else artifacts.set(artifact.toLowerCase(), at);
  }
  return refusals;
}

/** Every reason Azure DevOps would refuse to run this pipeline (empty when it would run it). */
export function refusals(pipeline: ExpandedPipeline): string[] {
  const found: string[] = [];
  const artifacts = new Map<string, string>();
  for (const stage of pipeline.stages) {
    if (stage.name !== '__default' && !IDENTIFIER.test(stage.name)) {
      found.push(
        `${locate(pipeline, 'stage', stage.name)}: stage name '${stage.name}' is invalid: valid names contain only letters, digits ` +
          `and '_' and do not start with a digit`,
      );
    }
    for (const job of stage.jobs) found.push(...jobRefusals(pipeline, stage, job, artifacts));
  }
  return found;
}

/** Throws, naming every refusal, when Azure DevOps would not run the pipeline. */
export function assertRunnable(pipeline: ExpandedPipeline): void {
  const found = refusals(pipeline);
  if (found.length)
    throw new PipelineRefusedError(`Azure DevOps would refuse ${path.relative(process.cwd(), pipeline.file)}:\n  ${found.join('\n  ')}`);
}
