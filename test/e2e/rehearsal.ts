import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundlePath, parseRun, repoRoot, taskEnvironment, type EndpointSpec, type TaskRun } from '../helpers/task-runner';
import { evaluateText, toText, truthy, type EvaluationContext, type Value } from './expressions';
import type { ExpandedPipeline, PipelineJob, PipelineStage, PipelineStep } from './pipeline-expander';
import { BUILT_IN_TASKS, loadTaskCatalog, type TaskDefinition } from './task-catalog';

/**
 * Runs an expanded pipeline the way Azure Pipelines would: stages and jobs in dependency order, `condition:`
 * evaluated with the status functions and the output variables of what they depend on, `$[ ]` variables and
 * `$(macros)` resolved, approvals on environments granted and printed, and each of our task steps run as a
 * child process of its bundle with `INPUT_*`, `ENDPOINT_*` and variables, its `##vso` commands read back.
 * Each job gets its own workspace, as on an agent: files pass between jobs only as pipeline artifacts.
 * Microsoft's built-in steps are acted out (ManualValidation approved, Delay moves the clock, artifacts
 * copied). The clock is simulated: every step gets `MaintenanceWindow.Now`.
 */

export type Result = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Skipped' | 'Canceled';

export interface TimelineEntry {
  stage: string;
  stageDisplayName: string;
  job: string;
  step: string;
  /** `SmokeTest@1`, `approval`, `ManualValidation@1`... */
  what: string;
  /** Simulated time the step started. */
  at: Date;
  durationMs: number;
  result: Result;
  /** One line: what the step did (or why it failed, or why it was skipped). */
  did: string;
  outputs: Record<string, string>;
  /** The inputs the step was given (macros resolved, defaults not added). */
  inputs?: Record<string, string>;
  errors: string[];
  warnings: string[];
  summaries: string[];
  injected?: boolean;
  run?: TaskRun;
}

export interface RehearsalEvents {
  stageStart?(stage: PipelineStage, at: Date): void;
  stageEnd?(stage: PipelineStage, result: Result, why?: string): void;
  step?(entry: TimelineEntry): void;
  /** Lines a step printed (for `--verbose`). */
  line?(line: string): void;
}

export interface RehearsalOptions {
  pipeline: ExpandedPipeline;
  /** Simulated time the run starts (the cron slot). */
  clockStart: Date;
  /** Service connections by endpoint type (`maintenance-slack`, `AzureRM`...) or by connection name. */
  connections: Record<string, EndpointSpec>;
  /** Connections every step gets whatever its inputs (SYSTEMVSSCONNECTION). */
  systemEndpoints?: Record<string, EndpointSpec>;
  /** Predefined variables (Build.BuildId, Build.Reason, System.CollectionUri...). */
  variables: Record<string, string>;
  /** Folder for job workspaces, artifacts and logs. */
  runDirectory: string;
  /** Steps that do their work and then fail: `stage.job.step`, `job.step`, a step name or a display name. */
  failSteps?: string[];
  /** Steps left out of the run (as if someone deleted them): same names as `failSteps`. */
  skipSteps?: string[];
  /** Simulated minutes an approval takes. */
  approvalMinutes?: number;
  stepTimeoutMs?: number;
  events?: RehearsalEvents;
}

export interface StageRun {
  name: string;
  displayName: string;
  result: Result;
  jobs: Array<{ name: string; result: Result }>;
}

export interface RehearsalResult {
  result: Result;
  stages: StageRun[];
  timeline: TimelineEntry[];
  approvals: Array<{ stage: string; environment: string; at: Date }>;
  /** Unused connections or other notes worth printing. */
  notes: string[];
  clockEnd: Date;
}

interface JobState {
  result: Result;
  outputs: Record<string, string>;
  kind: PipelineJob['kind'];
}

interface StageState {
  result: Result;
  jobs: Map<string, JobState>;
}

class SimulatedClock {
  private offset: number;
  constructor(start: Date) {
    this.offset = start.getTime() - Date.now();
  }
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
  advance(ms: number): void {
    this.offset += Math.max(0, ms);
  }
  advanceTo(at: Date): void {
    this.advance(at.getTime() - this.now().getTime());
  }
}

function variableEnvName(name: string): string {
  return name.replace(/[.\s]/g, '_').toUpperCase();
}

/** Replaces `$(name)` macros with known variables; unknown ones stay as written, as on the agent. */
export function expandMacros(text: string, lookup: (name: string) => string | undefined, depth = 0): string {
  return text.replace(/\$\(([A-Za-z0-9_.\-]+)\)/g, (whole, name: string) => {
    const value = lookup(name);
    if (value === undefined) return whole;
    return depth < 5 ? expandMacros(value, lookup, depth + 1) : value;
  });
}

function matchesFailure(patterns: string[], stage: string, job: string, step: PipelineStep): boolean {
  const names = [
    step.name && `${stage}.${job}.${step.name}`,
    step.name && `${job}.${step.name}`,
    step.name,
    step.displayName,
  ].filter((name): name is string => !!name).map((name) => name.toLowerCase());
  return patterns.some((pattern) => names.includes(pattern.toLowerCase()));
}

function firstHeading(markdown: string): string | undefined {
  const line = markdown.split('\n').find((candidate) => /^#{1,6}\s/.test(candidate));
  return line?.replace(/^#+\s*/, '').trim();
}

function describeRun(run: TaskRun): string {
  if (run.result === 'Failed' || run.errors.length) return run.errors[run.errors.length - 1] ?? `exit code ${run.exitCode}`;
  const heading = run.summaries.map(firstHeading).find(Boolean);
  if (heading) return heading;
  const sections = run.lines.filter((line) => line.startsWith('##[section]')).map((line) => line.slice('##[section]'.length));
  if (sections.length) return sections[sections.length - 1];
  const plain = run.lines.filter((line) => !line.startsWith('##'));
  return plain[plain.length - 1] ?? 'done';
}

function copyDirectory(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyDirectory(source, target);
    else fs.copyFileSync(source, target);
  }
}

function topologicalJobs(stage: PipelineStage): PipelineJob[] {
  const ordered: PipelineJob[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (job: PipelineJob) => {
    if (done.has(job.name)) return;
    if (visiting.has(job.name)) throw new Error(`stage ${stage.name}: jobs depend on each other in a cycle through ${job.name}`);
    visiting.add(job.name);
    for (const dependency of job.dependsOn) visit(stage.jobs.find((candidate) => candidate.name === dependency)!);
    visiting.delete(job.name);
    done.add(job.name);
    ordered.push(job);
  };
  stage.jobs.forEach(visit);
  return ordered;
}

export class Rehearsal {
  private readonly catalog = loadTaskCatalog();
  private readonly clock: SimulatedClock;
  private readonly stages = new Map<string, StageState>();
  private readonly timeline: TimelineEntry[] = [];
  private readonly approvals: RehearsalResult['approvals'] = [];
  private readonly notes: string[] = [];
  private readonly artifactsDirectory: string;

  constructor(private readonly options: RehearsalOptions) {
    this.clock = new SimulatedClock(options.clockStart);
    this.artifactsDirectory = path.join(options.runDirectory, 'artifacts');
    fs.mkdirSync(this.artifactsDirectory, { recursive: true });
  }

  /** The simulated time now: what every step is given as `MaintenanceWindow.Now`, and what the emulators follow. */
  now(): Date {
    return this.clock.now();
  }

  async run(): Promise<RehearsalResult> {
    const stageRuns: StageRun[] = [];
    for (const stage of this.options.pipeline.stages) stageRuns.push(await this.runStage(stage));
    const results = stageRuns.map((stage) => stage.result);
    const result: Result = results.includes('Failed') ? 'Failed' : results.includes('SucceededWithIssues') ? 'SucceededWithIssues' : 'Succeeded';
    return { result, stages: stageRuns, timeline: this.timeline, approvals: this.approvals, notes: this.notes, clockEnd: this.clock.now() };
  }

  private pipelineVariables(): Record<string, string> {
    return { ...this.options.variables, ...this.options.pipeline.variables };
  }

  private dependencyView(names: string[]): Record<string, Value> {
    const view: Record<string, Value> = {};
    for (const name of names) {
      const state = this.stages.get(name);
      if (!state) continue;
      const outputs: Record<string, string> = {};
      for (const [jobName, job] of state.jobs) {
        for (const [key, value] of Object.entries(job.outputs)) {
          // Stage-level keys put the job name first: `job.step.var`, and for a runOnce deployment job, whose
          // own keys already start with its name, `job.job.step.var`.
          outputs[`${jobName}.${key}`] = value;
        }
      }
      view[name] = { result: state.result, outputs };
    }
    return view;
  }

  private stageDependenciesView(names: string[]): Record<string, Value> {
    const view: Record<string, Value> = {};
    for (const name of names) {
      const state = this.stages.get(name);
      if (!state) continue;
      const jobs: Record<string, Value> = {};
      for (const [jobName, job] of state.jobs) jobs[jobName] = { result: job.result, outputs: { ...job.outputs } };
      view[name] = jobs;
    }
    return view;
  }

  private evaluateCondition(condition: string | undefined, context: EvaluationContext, where: string): boolean {
    const source = condition?.trim() || 'succeeded()';
    try {
      return truthy(evaluateText(source, context));
    } catch (error) {
      throw new Error(`${where}: condition '${source}': ${(error as Error).message}`);
    }
  }

  /** Variables whose value is a `$[ ]` runtime expression are evaluated now; others are kept for macros. */
  private resolveVariables(variables: Record<string, string>, context: EvaluationContext, where: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      const runtime = /^\s*\$\[\s*([\s\S]*?)\s*\]\s*$/.exec(value);
      if (!runtime) {
        out[name] = value;
        continue;
      }
      try {
        out[name] = toText(evaluateText(runtime[1], context));
      } catch (error) {
        throw new Error(`${where}: variable ${name}: ${(error as Error).message}`);
      }
    }
    return out;
  }

  private async runStage(stage: PipelineStage): Promise<StageRun> {
    const dependencyResults = stage.dependsOn.map((name) => this.stages.get(name)?.result ?? 'Skipped');
    const baseVariables = this.pipelineVariables();
    const context: EvaluationContext = {
      names: {
        dependencies: this.dependencyView(stage.dependsOn),
        stageDependencies: this.stageDependenciesView(stage.dependsOn),
        variables: baseVariables,
      },
      status: { results: dependencyResults },
    };
    const state: StageState = { result: 'Skipped', jobs: new Map() };
    this.stages.set(stage.name, state);
    const runs: StageRun = { name: stage.name, displayName: stage.displayName, result: 'Skipped', jobs: [] };
    if (!this.evaluateCondition(stage.condition, context, `stage ${stage.name}`)) {
      for (const job of stage.jobs) {
        state.jobs.set(job.name, { result: 'Skipped', outputs: {}, kind: job.kind });
        runs.jobs.push({ name: job.name, result: 'Skipped' });
      }
      this.options.events?.stageEnd?.(stage, 'Skipped', `condition ${stage.condition?.trim() || 'succeeded()'} is false`);
      return runs;
    }
    this.options.events?.stageStart?.(stage, this.clock.now());
    const stageVariables = { ...baseVariables, ...this.resolveVariables(stage.variables, context, `stage ${stage.name}`) };

    // Checks on every environment the stage deploys to are evaluated before the stage starts.
    const environments = [...new Set(stage.jobs.map((job) => job.environment).filter((name): name is string => !!name))];
    for (const environment of environments) {
      const started = Date.now();
      const at = this.clock.now();
      this.clock.advance((this.options.approvalMinutes ?? 2) * 60_000);
      this.approvals.push({ stage: stage.name, environment, at });
      this.record({
        stage: stage.name,
        stageDisplayName: stage.displayName,
        job: '-',
        step: `Approval on environment ${environment}`,
        what: 'approval',
        at,
        durationMs: Date.now() - started,
        result: 'Succeeded',
        did: `approved (rehearsal: granted automatically; in Azure DevOps an approver of '${environment}' clicks Approve)`,
        outputs: {},
        errors: [],
        warnings: [],
        summaries: [],
      });
    }

    for (const job of topologicalJobs(stage)) {
      const jobState = await this.runJob(stage, job, stageVariables);
      state.jobs.set(job.name, jobState);
      runs.jobs.push({ name: job.name, result: jobState.result });
    }
    const results = [...state.jobs.values()].map((job) => job.result);
    state.result = results.includes('Failed')
      ? 'Failed'
      : results.every((result) => result === 'Skipped')
        ? 'Skipped'
        : results.includes('SucceededWithIssues')
          ? 'SucceededWithIssues'
          : 'Succeeded';
    runs.result = state.result;
    this.options.events?.stageEnd?.(stage, state.result);
    return runs;
  }

  private async runJob(stage: PipelineStage, job: PipelineJob, stageVariables: Record<string, string>): Promise<JobState> {
    const stageState = this.stages.get(stage.name)!;
    const dependencies: Record<string, Value> = {};
    for (const name of job.dependsOn) {
      const state = stageState.jobs.get(name)!;
      dependencies[name] = { result: state.result, outputs: { ...state.outputs } };
    }
    const context: EvaluationContext = {
      names: {
        dependencies,
        stageDependencies: this.stageDependenciesView(stage.dependsOn),
        variables: stageVariables,
      },
      status: { results: job.dependsOn.map((name) => stageState.jobs.get(name)!.result) },
    };
    const state: JobState = { result: 'Skipped', outputs: {}, kind: job.kind };
    if (!this.evaluateCondition(job.condition, context, `job ${stage.name}.${job.name}`)) {
      this.record({
        stage: stage.name,
        stageDisplayName: stage.displayName,
        job: job.name,
        step: job.displayName,
        what: 'job',
        at: this.clock.now(),
        durationMs: 0,
        result: 'Skipped',
        did: `skipped: condition ${job.condition?.trim() || 'succeeded()'} is false`,
        outputs: {},
        errors: [],
        warnings: [],
        summaries: [],
      });
      return state;
    }
    const workspace = path.join(this.options.runDirectory, 'agents', `${stage.name}.${job.name}`);
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.mkdirSync(workspace, { recursive: true });
    const jobVariables: Record<string, string> = {
      ...stageVariables,
      ...this.resolveVariables(job.variables, context, `job ${stage.name}.${job.name}`),
      'System.StageName': stage.name,
      'System.StageDisplayName': stage.displayName,
      'System.JobName': job.name,
      'System.JobDisplayName': job.displayName,
      'System.JobAttempt': '1',
      'System.StageAttempt': '1',
      'Agent.JobName': job.displayName,
      'Pipeline.Workspace': workspace,
      'Agent.TempDirectory': path.join(workspace, '_temp'),
      'System.DefaultWorkingDirectory': path.join(workspace, 's'),
      'Build.SourcesDirectory': path.join(workspace, 's'),
      'Build.ArtifactStagingDirectory': path.join(workspace, 'a'),
    };
    if (job.environment) jobVariables['Environment.Name'] = job.environment;
    // Regular agent jobs check the repository out unless told not to; deployment jobs only when asked.
    const checkoutStep = job.steps.find((step) => step.kind === 'checkout');
    let checkedOut = !job.server && (checkoutStep ? toText(checkoutStep.raw.checkout) !== 'none' : job.kind === 'job');
    // A deployment job downloads the run's artifacts first, unless it has its own download steps.
    if (job.kind === 'deployment' && !job.steps.some((step) => step.kind === 'download')) this.downloadArtifacts(workspace, '*');

    const stepOutputs: Record<string, string> = {};
    const stepResults: Result[] = [];
    const plainVariables: Record<string, string> = {};
    for (const step of job.steps) {
      const lookup = (name: string) => {
        const key = Object.keys(stepOutputs).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
        if (key) return stepOutputs[key];
        const all = { ...jobVariables, ...plainVariables };
        const variable = Object.keys(all).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
        return variable === undefined ? undefined : all[variable];
      };
      const stepContext: EvaluationContext = {
        names: { variables: { ...jobVariables, ...plainVariables, ...stepOutputs } },
        status: { results: stepResults.filter((result) => result !== 'Skipped') },
      };
      const at = this.clock.now();
      const base = { stage: stage.name, stageDisplayName: stage.displayName, job: job.name, step: step.displayName, at };
      if (!this.evaluateCondition(step.condition, stepContext, `step ${stage.name}.${job.name}.${step.displayName}`)) {
        this.record({ ...base, what: step.task ? `${step.task}@${step.taskVersion}` : step.kind, durationMs: 0, result: 'Skipped', did: `skipped: condition ${step.condition?.trim() || 'succeeded()'} is false`, outputs: {}, errors: [], warnings: [], summaries: [] });
        continue;
      }
      if (step.kind === 'checkout') {
        checkedOut = toText(step.raw.checkout) !== 'none';
        continue;
      }
      if (matchesFailure(this.options.skipSteps ?? [], stage.name, job.name, step)) {
        this.record({ ...base, what: step.task ? `${step.task}@${step.taskVersion}` : step.kind, durationMs: 0, result: 'Skipped', did: 'LEFT OUT by the rehearsal (--skip-step)', injected: true, outputs: {}, errors: [], warnings: [], summaries: [] });
        stepResults.push('Skipped');
        continue;
      }
      const entry = await this.runStep(stage, job, step, base, lookup, { ...jobVariables, ...plainVariables }, workspace, checkedOut);
      for (const [name, value] of Object.entries(entry.outputs)) {
        if (step.name) stepOutputs[`${step.name}.${name}`] = value;
        if (step.name) state.outputs[job.kind === 'deployment' ? `${job.name}.${step.name}.${name}` : `${step.name}.${name}`] = value;
      }
      if (entry.run) {
        for (const command of entry.run.commands) {
          if (command.command === 'task.setvariable' && command.properties.isOutput !== 'true') plainVariables[command.properties.variable] = command.message;
        }
      }
      if (entry.result === 'Failed' && step.continueOnError) stepResults.push('SucceededWithIssues');
      else stepResults.push(entry.result);
    }
    state.result = stepResults.includes('Failed') ? 'Failed' : stepResults.includes('SucceededWithIssues') ? 'SucceededWithIssues' : 'Succeeded';
    if (state.result === 'Failed' && job.continueOnError) state.result = 'SucceededWithIssues';
    return state;
  }

  private record(entry: TimelineEntry): TimelineEntry {
    this.timeline.push(entry);
    this.options.events?.step?.(entry);
    return entry;
  }

  private async runStep(
    stage: PipelineStage,
    job: PipelineJob,
    step: PipelineStep,
    base: Pick<TimelineEntry, 'stage' | 'stageDisplayName' | 'job' | 'step' | 'at'>,
    lookup: (name: string) => string | undefined,
    variables: Record<string, string>,
    workspace: string,
    checkedOut: boolean,
  ): Promise<TimelineEntry> {
    const started = Date.now();
    const inputs = Object.fromEntries(Object.entries(step.inputs).map(([key, value]) => [key, expandMacros(value, lookup)]));
    const finish = (fields: Partial<TimelineEntry> & Pick<TimelineEntry, 'what' | 'result' | 'did'>): TimelineEntry =>
      this.record({ ...base, durationMs: Date.now() - started, outputs: {}, errors: [], warnings: [], summaries: [], ...fields });

    if (step.kind === 'publish' || (step.kind === 'task' && step.task?.toLowerCase() === 'publishpipelineartifact')) {
      const target = step.kind === 'publish' ? expandMacros(toText(step.raw.publish), lookup) : inputs.targetPath ?? inputs.path ?? lookup('Pipeline.Workspace')!;
      const name = step.kind === 'publish' ? expandMacros(toText(step.raw.artifact), lookup) : inputs.artifact ?? inputs.artifactName ?? `${stage.name}.${job.name}`;
      const source = path.resolve(checkedOut ? path.join(workspace, 's') : workspace, target);
      if (!fs.existsSync(source)) return finish({ what: 'PublishPipelineArtifact', result: 'Failed', did: `nothing to publish at ${source}`, errors: [`Path does not exist: ${target}`] });
      const destination = path.join(this.artifactsDirectory, name);
      if (fs.existsSync(destination)) return finish({ what: 'PublishPipelineArtifact', result: 'Failed', did: `artifact '${name}' already exists in this run`, errors: [`Artifact ${name} already exists`] });
      if (fs.statSync(source).isDirectory()) copyDirectory(source, destination);
      else {
        fs.mkdirSync(destination, { recursive: true });
        fs.copyFileSync(source, path.join(destination, path.basename(source)));
      }
      return finish({ what: 'PublishPipelineArtifact', result: 'Succeeded', did: `published artifact '${name}' (noted; kept in ${path.relative(repoRoot, destination)})` });
    }
    if (step.kind === 'download' || (step.kind === 'task' && step.task?.toLowerCase() === 'downloadpipelineartifact')) {
      const which = step.kind === 'download' ? toText(step.raw.artifact ?? '') || '*' : inputs.artifact ?? inputs.artifactName ?? '*';
      if (step.kind === 'download' && toText(step.raw.download) === 'none') return finish({ what: 'download', result: 'Succeeded', did: 'no artifacts downloaded' });
      const into = step.kind === 'task' && (inputs.targetPath ?? inputs.path) ? path.resolve(workspace, inputs.targetPath ?? inputs.path) : workspace;
      const names = this.downloadArtifacts(into, which, step.kind === 'task' && (inputs.targetPath ?? inputs.path) !== undefined && which !== '*');
      return finish({ what: 'DownloadPipelineArtifact', result: 'Succeeded', did: `downloaded ${names.length} artifact(s): ${names.join(', ') || 'none'}` });
    }
    if (step.kind === 'script' || step.kind === 'other') {
      return finish({ what: step.kind, result: 'Succeeded', did: 'script step: printed, not run by the rehearsal' });
    }
    const reference = `${step.task}@${step.taskVersion}`;
    const lower = step.task!.toLowerCase();
    if (BUILT_IN_TASKS.has(lower)) {
      if (lower === 'manualvalidation') {
        this.clock.advance((this.options.approvalMinutes ?? 2) * 60_000);
        const instructions = (inputs.instructions ?? '').replace(/\s+/g, ' ').trim();
        return finish({ what: reference, result: 'Succeeded', did: `manual validation approved (rehearsal)${instructions ? `: "${instructions.slice(0, 160)}${instructions.length > 160 ? '…' : ''}"` : ''}` });
      }
      if (lower === 'delay') {
        const minutes = Number(inputs.delayForMinutes ?? 0);
        this.clock.advance(minutes * 60_000);
        return finish({ what: reference, result: 'Succeeded', did: `waited ${minutes} min (simulated)` });
      }
    }
    const definition = this.catalog.get(reference.toLowerCase());
    if (!definition) throw new Error(`step ${stage.name}.${job.name}.${step.displayName}: task ${reference} is neither one of ours (tasks/*/task.json) nor a built-in the rehearsal knows`);
    if (job.server) throw new Error(`step ${stage.name}.${job.name}.${step.displayName}: ${reference} needs an agent, but the job is agentless (pool: server)`);
    const run = await this.runTask(definition, inputs, step, variables, workspace, checkedOut, lookup);
    const injected = matchesFailure(this.options.failSteps ?? [], stage.name, job.name, step);
    let result: Result = run.result === 'Failed' || run.exitCode !== 0 ? 'Failed' : run.result === 'SucceededWithIssues' ? 'SucceededWithIssues' : 'Succeeded';
    let did = describeRun(run);
    const errors = [...run.errors];
    if (injected) {
      result = 'Failed';
      did = `INJECTED FAILURE after the step ran (${did})`;
      errors.push(`Failure injected by the rehearsal into ${step.displayName}`);
    }
    const openedAt = run.outputs.openedAt ? new Date(run.outputs.openedAt) : undefined;
    if (openedAt && !Number.isNaN(openedAt.getTime())) this.clock.advanceTo(openedAt);
    return finish({ what: reference, result, did, outputs: run.outputs, inputs, errors, warnings: run.warnings, summaries: run.summaries, injected, run });
  }

  /** Copies published artifacts into a workspace (each into a folder of its name, as the agent does). */
  private downloadArtifacts(into: string, which: string, flat = false): string[] {
    const names = fs.existsSync(this.artifactsDirectory) ? fs.readdirSync(this.artifactsDirectory).sort() : [];
    const pattern = new RegExp(`^${which.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    const chosen = names.filter((name) => pattern.test(name));
    for (const name of chosen) copyDirectory(path.join(this.artifactsDirectory, name), flat ? into : path.join(into, name));
    return chosen;
  }

  private endpointFor(definition: TaskDefinition, inputName: string, type: string, connectionName: string): EndpointSpec {
    const endpointType = type.slice('connectedService:'.length);
    const endpoint = this.options.connections[connectionName] ?? this.options.connections[endpointType];
    if (!endpoint) {
      throw new Error(`${definition.reference} input ${inputName}: no emulator stands in for service connection '${connectionName}' (type ${endpointType})`);
    }
    return endpoint;
  }

  private async runTask(
    definition: TaskDefinition,
    given: Record<string, string>,
    step: PipelineStep,
    variables: Record<string, string>,
    workspace: string,
    checkedOut: boolean,
    lookup: (name: string) => string | undefined,
  ): Promise<TaskRun> {
    const inputs: Record<string, string> = {};
    const endpoints: Record<string, EndpointSpec> = { ...this.options.systemEndpoints };
    const givenLower = new Map(Object.entries(given).map(([key, value]) => [key.toLowerCase(), value]));
    const known = new Set<string>();
    for (const input of definition.inputs) {
      const names = [input.name, ...input.aliases].map((name) => name.toLowerCase());
      names.forEach((name) => known.add(name));
      // The agent expands macros in default values too (`$(System.TeamProject)`).
      const value = names.map((name) => givenLower.get(name)).find((candidate) => candidate !== undefined) ?? (input.defaultValue === undefined ? undefined : expandMacros(input.defaultValue, lookup));
      if (value === undefined || value === '') continue;
      inputs[input.name] = value;
      if (input.type.startsWith('connectedService:')) endpoints[value] = this.endpointFor(definition, input.name, input.type, value);
    }
    const unknown = [...givenLower.keys()].filter((name) => !known.has(name));
    if (unknown.length) throw new Error(`${definition.reference} (${step.displayName}): input(s) ${unknown.join(', ')} are not in its task.json`);
    const script = bundlePath(definition.folder);
    const cwd = checkedOut ? path.join(workspace, 's') : workspace;
    if (checkedOut && !fs.existsSync(cwd)) fs.symlinkSync(repoRoot, cwd, 'dir');
    const allVariables: Record<string, string> = { ...variables, 'MaintenanceWindow.Now': this.clock.now().toISOString() };
    // Like the agent, the job token is there as System.AccessToken only when the pipeline maps it: it goes in as the endpoint.
    const env = await taskEnvironment({ inputs, endpoints, variables: allVariables, env: step.env }, path.join(workspace, '_temp'));
    // The agent has no such variable; records go to $(Pipeline.Workspace)/maintenance-window as in production.
    delete env.MAINTENANCEWINDOW_DIRECTORY;
    if (!variables['MaintenanceWindow.Directory']) delete env[variableEnvName('MaintenanceWindow.Directory')];
    fs.mkdirSync(path.join(workspace, '_temp'), { recursive: true });
    // Where others build in the same tree, a bundle can be missing for a moment while it is rewritten: a run
    // that could not even load its bundle did nothing, so it is started again.
    for (let attempt = 1; ; attempt++) {
      const deadline = Date.now() + 30_000;
      while (!fs.existsSync(script) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const run = await this.spawnTask(definition, script, env, cwd, workspace);
      const notLoaded = !run.killed && run.lines.length === 0 && /Cannot find module|SyntaxError/.test(run.stderr);
      if (!notLoaded || attempt >= 3) return run;
    }
  }

  private async spawnTask(definition: TaskDefinition, script: string, env: NodeJS.ProcessEnv, cwd: string, workspace: string): Promise<TaskRun> {
    const started = Date.now();
    const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (!line.startsWith('##vso[task.setsecret]')) this.options.events?.line?.(line);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const timeoutMs = this.options.stepTimeoutMs ?? 60_000;
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      stderr += `\n[rehearsal] ${definition.reference} timed out after ${timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
    clearTimeout(timer);
    return parseRun(definition.reference, stdout, stderr, exitCode, signal, killed, Date.now() - started, workspace);
  }
}

export async function rehearse(options: RehearsalOptions): Promise<RehearsalResult> {
  return new Rehearsal(options).run();
}

