import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  expandPipeline,
  readYaml,
  type ExpandedPipeline,
  type PipelineJob,
  type PipelineStage,
  type PipelineStep,
} from '../e2e/pipeline-expander';
import type { Value } from '../e2e/expressions';

/**
 * What a Cancel, a job timeout or a queue-time parameter can do to a pipeline of ours, checked on the expanded
 * YAML (templates resolved by the rehearsal's expander), as Azure Pipelines documents it:
 * - a job's default condition is succeeded(), false after a Cancel, whatever its stage says; a condition
 *   without a status function "might run even if the parent is canceled";
 * - after a Cancel or a job timeout the always() steps get the job's cancelTimeoutInMinutes (default 5);
 * - Microsoft-hosted agents stop a job at 360 minutes (60 on the free private grant);
 * - ManualValidation's onTimeout applies only if its own timeout comes before its job's;
 * - an environment named by a queue-time parameter is whatever the person queueing types (one with no
 *   checks is created on the fly).
 * Restoring steps are found by task and action input, not by name.
 */

/** The longest a restoring step can take after a Cancel, in minutes, from the task's own limits. */
const RESTORE_BUDGETS: Record<string, { action: string; minutes: (step: PipelineStep) => number; why: string }> = {
  AppGatewayDrain: {
    action: 'restore',
    // The gateway busy with another update (busyTimeoutMs, 30 min), the write (HTTP retries give up after 5 min), the health wait.
    minutes: (step) => 30 + 5 + Math.ceil(Number(step.inputs.healthTimeoutSeconds || 900) / 60),
    why: 'gateway busy wait 30 + write 5 + healthTimeoutSeconds',
  },
  AlertMute: { action: 'unmute', minutes: () => 5, why: 'HTTP retries 5' },
  PingdomPause: { action: 'resume', minutes: () => 5, why: 'HTTP retries 5' },
  MaintenancePage: { action: 'disable', minutes: () => 10, why: 'DNS restore, purge and read-back 10' },
  RescheduleJobs: { action: 'release', minutes: () => 10, why: 'release of every held pipeline 10' },
  MaintenanceWindow: { action: 'finish', minutes: () => 5, why: 'the finish report 5' },
};

export const HOSTED_CAP_MINUTES = 360;
const DEFAULT_CANCEL_TIMEOUT = 5;
const DEFAULT_JOB_TIMEOUT = 60;
const RUNS_AFTER_CANCEL = /\b(always|canceled)\s*\(\s*\)/i;
const STATUS_FUNCTION = /\b(always|canceled|succeeded|failed|succeededOrFailed)\s*\(/i;

export function isRestoringStep(step: PipelineStep): boolean {
  const budget = step.task ? RESTORE_BUDGETS[step.task] : undefined;
  return !!budget && (step.inputs.action ?? '').toLowerCase() === budget.action;
}

function restoreMinutes(step: PipelineStep): number {
  return RESTORE_BUDGETS[step.task!].minutes(step);
}

/** The step's undo record is the output of a step of the same job (`$(drain.undoRecord)`): nothing to undo before the job starts. */
function recordFromSameJob(step: PipelineStep, job: PipelineJob): boolean {
  const reference = /^\$\(([A-Za-z0-9_]+)\.undoRecord\)$/.exec((step.inputs.undoRecord ?? '').trim());
  return !!reference && job.steps.some((other) => other !== step && other.name === reference[1]);
}

export interface CheckOptions {
  /** The longest agent job the pool allows (the pipeline's agentJobTimeoutMinutes, else the hosted cap). */
  capMinutes?: number;
}

/** Every problem of one expanded pipeline, one line each naming the stage, job and step. */
export function cancelSafetyProblems(pipeline: ExpandedPipeline, options: CheckOptions = {}): string[] {
  const cap = options.capMinutes ?? Number(pipeline.parameters.agentJobTimeoutMinutes ?? HOSTED_CAP_MINUTES);
  const problems: string[] = [];
  if (cap > HOSTED_CAP_MINUTES)
    problems.push(`agentJobTimeoutMinutes ${cap} is above the Microsoft-hosted cap of ${HOSTED_CAP_MINUTES} minutes`);
  for (const stage of pipeline.stages) {
    if (stage.condition && !STATUS_FUNCTION.test(stage.condition))
      problems.push(`stage ${stage.name}: condition '${stage.condition}' has no status function, so it can run after a Cancel`);
    for (const job of stage.jobs) {
      const where = `${stage.name}.${job.name}`;
      if (job.condition && !STATUS_FUNCTION.test(job.condition))
        problems.push(`job ${where}: condition '${job.condition}' has no status function, so it can start after a Cancel`);
      problems.push(...restoreProblems(stage, job), ...timeoutProblems(where, job, cap));
    }
  }
  return problems;
}

function restoreProblems(stage: PipelineStage, job: PipelineJob): string[] {
  const where = `${stage.name}.${job.name}`;
  const problems: string[] = [];
  const restoring = job.steps.filter(isRestoringStep);
  for (const step of restoring) {
    const label = `${where}.${step.name ?? step.displayName} (${step.task} ${step.inputs.action})`;
    if (!RUNS_AFTER_CANCEL.test(step.condition ?? ''))
      problems.push(`${label}: the step's condition '${step.condition ?? 'succeeded()'}' is false after a Cancel`);
    if (recordFromSameJob(step, job)) continue;
    // Its record comes from an earlier job or stage: this job must start even after a Cancel.
    if (!RUNS_AFTER_CANCEL.test(job.condition ?? ''))
      problems.push(
        `${label}: job ${where} has condition '${job.condition ?? 'succeeded()'}', so a Cancel skips it and what it restores stays changed`,
      );
    if (!RUNS_AFTER_CANCEL.test(stage.condition ?? ''))
      problems.push(`${label}: stage ${stage.name} has condition '${stage.condition ?? 'succeeded()'}', so a Cancel skips it`);
  }
  // The records a restore reads often arrive by a download step: it must run after a Cancel too.
  if (restoring.length) {
    for (const step of job.steps.filter((candidate) => candidate.kind === 'download')) {
      if (!RUNS_AFTER_CANCEL.test(step.condition ?? '')) {
        problems.push(
          `${where}.${step.displayName ?? 'download'} (download): the step's condition '${step.condition ?? 'succeeded()'}' ` +
            'is false after a Cancel, so the restores and the report miss the records it brings',
        );
      }
    }
  }
  if (restoring.length) {
    const needed = restoring.reduce((sum, step) => sum + restoreMinutes(step), 0);
    const given = job.cancelTimeoutInMinutes ?? DEFAULT_CANCEL_TIMEOUT;
    if (given < needed) {
      const parts = restoring
        .map((step) => `${step.name ?? step.task} ${restoreMinutes(step)} (${RESTORE_BUDGETS[step.task!].why})`)
        .join(' + ');
      problems.push(
        `job ${where}: cancelTimeoutInMinutes ${job.cancelTimeoutInMinutes ?? `unset (${DEFAULT_CANCEL_TIMEOUT})`} is shorter than ` +
          `its restores after a Cancel: ${parts} = ${needed} min`,
      );
    }
  }
  return problems;
}

function timeoutProblems(where: string, job: PipelineJob, cap: number): string[] {
  const problems: string[] = [];
  const jobTimeout = job.timeoutInMinutes ?? DEFAULT_JOB_TIMEOUT;
  if (!job.server) {
    if (job.timeoutInMinutes === 0) problems.push(`job ${where}: timeoutInMinutes 0 asks for the agent's maximum; give at most ${cap}`);
    else if (jobTimeout > cap)
      problems.push(
        `job ${where}: timeoutInMinutes ${jobTimeout} is above the agent's cap of ${cap} minutes: the agent stops the job before ` +
          `the task's own timeout`,
      );
    for (const step of job.steps.filter((s) => s.task === 'RunChanges' || s.task === 'RunPipeline')) {
      const own = Number(step.inputs.timeoutMinutes || (step.task === 'RunChanges' ? 360 : 120));
      if (!(own < jobTimeout))
        problems.push(
          `${where}.${step.name ?? step.task}: the ${step.task} timeoutMinutes ${own} is not below its job's timeout ${jobTimeout}`,
        );
    }
  }
  for (const step of job.steps.filter((s) => s.task === 'ManualValidation')) {
    const own = step.raw.timeoutInMinutes === undefined ? undefined : Number(step.raw.timeoutInMinutes);
    if (own === undefined || !(own > 0))
      problems.push(
        `${where}.${step.displayName}: ManualValidation has no timeoutInMinutes of its own, so its job's timeout fires first and ` +
          `onTimeout never applies`,
      );
    else if (job.timeoutInMinutes === undefined || !(own < job.timeoutInMinutes))
      problems.push(
        `${where}.${step.displayName}: ManualValidation timeoutInMinutes ${own} is not below its job's ` +
          `${job.timeoutInMinutes ?? 'default'}, so onTimeout never applies`,
      );
  }
  return problems;
}

/** A deployment job's environment that follows a queue-time parameter: names each such parameter. */
export function environmentsFromParameters(file: string, values: Record<string, Value> = {}): string[] {
  const declared = parameterDeclarations(file);
  const baseline = environmentsOf(expandPipeline(file, values));
  const problems: string[] = [];
  for (const parameter of declared.filter((p) => (p.type ?? 'string') === 'string')) {
    const probe = `queued-${parameter.name}`;
    let moved: Map<string, string>;
    try {
      moved = environmentsOf(expandPipeline(file, { ...values, [parameter.name]: probe }));
    } catch {
      continue; // A parameter with a list of allowed values cannot take the probe: it cannot name an environment either.
    }
    for (const [job, environment] of moved) {
      if (environment !== baseline.get(job))
        problems.push(
          `job ${job}: environment '${baseline.get(job)}' comes from queue-time parameter '${parameter.name}' (queued as '${probe}' ` +
            `it deploys to '${environment}')`,
        );
    }
  }
  return problems;
}

function environmentsOf(pipeline: ExpandedPipeline): Map<string, string> {
  const found = new Map<string, string>();
  for (const stage of pipeline.stages)
    for (const job of stage.jobs) if (job.environment !== undefined) found.set(`${stage.name}.${job.name}`, job.environment);
  return found;
}

interface Declaration {
  name: string;
  type?: string;
  default?: Value;
}

function parameterDeclarations(file: string): Declaration[] {
  const body = readYaml(file) as Record<string, Value>;
  return Array.isArray(body?.parameters) ? (body.parameters as unknown as Declaration[]) : [];
}

/** Values for parameters without a default (a runId, say), so a pipeline can be expanded as it would be queued. */
export function queueValues(file: string): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (const declaration of parameterDeclarations(file)) {
    if (declaration.default !== undefined) continue;
    const type = declaration.type ?? 'string';
    values[declaration.name] = type === 'number' ? 1 : type === 'boolean' ? false : type === 'object' ? {} : '1';
  }
  return values;
}

/** The pipelines (not templates) in a folder: top-level *.yml files. */
export function pipelineFiles(folder: string): string[] {
  return fs
    .readdirSync(folder)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => path.join(folder, name))
    .filter((file) => fs.statSync(file).isFile());
}
