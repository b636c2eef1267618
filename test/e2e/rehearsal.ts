import * as fs from 'node:fs';
import * as path from 'node:path';
import { simulatedClock, type SimulatedClock } from '../../shared/core/clock';
import { topologicalOrder } from '../../shared/plan/graph';
import { bundlePath, parseRun, repoRoot, taskEnvironment, type EndpointSpec, type TaskRun } from '../helpers/task-runner';
import { evaluateText, toText, truthy, type EvaluationContext, type Value } from './expressions';
import type { ExpandedPipeline, PipelineJob, PipelineStage, PipelineStep } from './pipeline-expander';
import { BUILT_IN_TASKS, loadTaskCatalog, type TaskDefinition } from './task-catalog';
import { runAgentProcess, type ProcessControl } from './agent-process';
import { assertRunnable } from './platform-rules';

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
  /** Simulated time it ended: a Delay or an approval moves the clock by hours while taking no real time. */
  endedAt?: Date;
  /** Real time the rehearsal spent on it. */
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
  /** What the platform did to the step: cancelled it, timed its job out, killed it past the cancel timeout, lost the agent. */
  interrupted?: 'cancel' | 'timeout' | 'cancel-timeout' | 'agent-lost';
  /** Signals the agent sent the step's process, in order. */
  signals?: string[];
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
  /** Where the run is cancelled: a stage, `stage.job`, or a step (as `failSteps` names it; a running step gets SIGINT). */
  cancelAt?: string;
  /** Where the agent dies (SIGKILL to the running step; nothing after it runs): same names as `cancelAt`. */
  killAt?: string;
  /** Real milliseconds a step named by `cancelAt`/`killAt` (or a slow step) runs before it is interrupted. */
  interruptAfterMs?: number;
  /** Environments whose approval is rejected. */
  rejectApprovals?: string[];
  /** Environments whose approval times out, and ManualValidation steps (`failSteps` names) no one answers. */
  approvalTimeouts?: string[];
  /** Timeout of an environment's approval check (setup-environments' default: 720 minutes). */
  approvalTimeoutMinutes?: number;
  /** Microsoft-hosted agents: every agent job's timeout is at most this (360 paid, 60 free private). */
  hostedCapMinutes?: number;
  /** Steps that take this many simulated minutes (`failSteps` names): to meet a job's timeout. */
  slowSteps?: Array<{ step: string; minutes: number }>;
  /** Artifacts of earlier runs by build id, for `DownloadPipelineArtifact` with `source: specific`. */
  earlierRuns?: Record<string, string>;
  /** Real delays of the agent's SIGTERM after SIGINT and kill after SIGTERM (7.5 s and 2.5 s on an agent). */
  signalDelaysMs?: { sigterm: number; kill: number };
}

export interface StageRun {
  name: string;
  displayName: string;
  result: Result;
  jobs: Array<{ name: string; result: Result }>;
}

/**
 * The run so far, as Azure DevOps' timeline of it shows while a step runs (what the finish step reads through
 * the emulated Timeline - Get): every stage of the pipeline with its state, the steps that have ended, the approvals.
 */
export interface RunProgress {
  stages: Array<{
    name: string;
    displayName: string;
    state: 'pending' | 'inProgress' | 'completed';
    result?: Result;
    jobs: Array<{ name: string; displayName: string; state: 'pending' | 'inProgress' | 'completed'; result?: Result }>;
  }>;
  timeline: readonly TimelineEntry[];
  approvals: RehearsalResult['approvals'];
}

export interface RehearsalResult {
  result: Result;
  stages: StageRun[];
  timeline: TimelineEntry[];
  /** Each approval asked: when (`at`), and when it was decided (`decidedAt`: granted, rejected or timed out). */
  approvals: Array<{ stage: string; environment: string; at: Date; decidedAt?: Date; result?: Result }>;
  /** Unused connections or other notes worth printing. */
  notes: string[];
  clockEnd: Date;
  /** Where the run was cancelled, if it was. */
  canceledAt?: string;
  /** Where the agent died, if it did: nothing after it ran. */
  killedAt?: string;
  /** This run's published artifacts (one folder each). */
  artifactsDirectory: string;
}

interface JobState {
  result: Result;
  outputs: Record<string, string>;
  kind: PipelineJob['kind'];
}

type Interruption = NonNullable<TimelineEntry['interrupted']>;

const INTERRUPTIONS: Record<Interruption, string> = {
  cancel: 'CANCELLED while running (--cancel-at): SIGINT, SIGTERM 7.5 s later, a kill 2.5 s after that unless it ends; sent',
  timeout: "TIMED OUT: the job's timeout passed while it ran; cancelled like a cancel; sent",
  'cancel-timeout': "KILLED: it ran past the job's cancel timeout (cancelTimeoutInMinutes)",
  'agent-lost': 'AGENT LOST (--kill-at): the step was killed with the agent',
};

/** A line a task prints about its work (not the task library's debug lines, not the simulated-clock warning). */
function isWorkLine(line: string): boolean {
  return line.trim() !== '' && !line.startsWith('##vso[task.debug]') && !/SIMULATED CLOCK/.test(line);
}

interface StepHooks {
  after: (process: ProcessControl) => void;
  poll: (process: ProcessControl) => void;
  ended: () => void;
  interrupted: () => Interruption | undefined;
}

/** What the platform holds a running job to: its timeout, and once cancelled or timed out, its cancel timeout. */
interface JobControl {
  /** Simulated time (ms) the job times out. */
  deadline: number;
  timeoutMinutes: number;
  cancelTimeoutMinutes: number;
  timedOut: boolean;
  /** Simulated time (ms) by which steps that run after a cancel or the timeout must end; they are killed past it. */
  cancelDeadline?: number;
  stepResults?: Result[];
}

interface StageState {
  result: Result;
  jobs: Map<string, JobState>;
}

function variableEnvName(name: string): string {
  return name.replace(/[.\s]/g, '_').toUpperCase();
}

/** Replaces `$(name)` macros with known variables; unknown ones stay as written, as on the agent. */
export function expandMacros(text: string, lookup: (name: string) => string | undefined, depth = 0): string {
  return text.replace(/\$\(([A-Za-z0-9_.-]+)\)/g, (whole, name: string) => {
    const value = lookup(name);
    if (value === undefined) return whole;
    return depth < 5 ? expandMacros(value, lookup, depth + 1) : value;
  });
}

export function matchesFailure(patterns: string[], stage: string, job: string, step: PipelineStep): boolean {
  const names = [step.name && `${stage}.${job}.${step.name}`, step.name && `${job}.${step.name}`, step.name, step.displayName]
    .filter((name): name is string => !!name)
    .map((name) => name.toLowerCase());
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

/** The stage's jobs, each after the jobs it depends on (the product's sort: ties keep the YAML's order). */
function topologicalJobs(stage: PipelineStage): PipelineJob[] {
  try {
    return topologicalOrder(stage.jobs.map((job) => ({ id: job.name, dependsOn: job.dependsOn, job }))).map((item) => item.job);
  } catch (error) {
    throw new Error(`stage ${stage.name}: jobs depend on each other: ${(error as Error).message}`, { cause: error });
  }
}

/** A `Contents` pattern of CopyFiles@2 as a regular expression over `/`-separated relative paths. */
function globPattern(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      out += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') out += '[^/]*';
    else if (char === '?') out += '[^/]';
    else out += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function filesUnder(folder: string, prefix = ''): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? filesUnder(path.join(folder, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
    );
}

/**
 * CopyFiles@2 acted out: the files of `SourceFolder` matching `Contents` (one pattern a line, `!` excludes)
 * copied to `TargetFolder`, flattened when asked. No match is a success with nothing copied, as on the agent.
 */
function copyFiles(inputs: Record<string, string>, defaultRoot: string, reference: string): Pick<TimelineEntry, 'what' | 'result' | 'did'> {
  const source = path.resolve(defaultRoot, inputs.SourceFolder ?? inputs.sourceFolder ?? '.');
  const target = inputs.TargetFolder ?? inputs.targetFolder;
  if (!target) return { what: reference, result: 'Failed', did: 'Input required: TargetFolder' };
  const patterns = (inputs.Contents ?? inputs.contents ?? '**')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  const include = patterns.filter((p) => !p.startsWith('!')).map(globPattern);
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => globPattern(p.slice(1)));
  const flatten = /^true$/i.test(inputs.flattenFolders ?? '');
  const files = filesUnder(source).filter((file) => include.some((re) => re.test(file)) && !exclude.some((re) => re.test(file)));
  for (const file of files) {
    const destination = path.resolve(defaultRoot, target, flatten ? path.basename(file) : file);
    fs.mkdirSync(path.dirname(destination), { recursive: true });
    fs.copyFileSync(path.join(source, file), destination);
  }
  return { what: reference, result: 'Succeeded', did: `copied ${files.length} file(s) from ${path.relative(repoRoot, source)}` };
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
    this.clock = simulatedClock(options.clockStart);
    this.artifactsDirectory = path.join(options.runDirectory, 'artifacts');
    fs.mkdirSync(this.artifactsDirectory, { recursive: true });
  }

  /** The simulated time now: what every step is given as `MaintenanceWindow.Now`, and what the emulators follow. */
  now(): Date {
    return this.clock.now();
  }

  /** Moves the simulated clock forward to `at`, never back: an emulated pipeline run ending while a step waits for it. */
  advanceTo(at: Date): void {
    if (at.getTime() > this.clock.now().getTime()) this.clock.advanceTo(at);
  }

  async run(): Promise<RehearsalResult> {
    // What the service refuses to start, the rehearsal refuses before running anything.
    assertRunnable(this.options.pipeline);
    const stageRuns: StageRun[] = [];
    for (const stage of this.options.pipeline.stages) {
      if (this.killedAt) break;
      this.stageProgress.set(stage.name, 'inProgress');
      stageRuns.push(await this.runStage(stage));
      this.stageProgress.set(stage.name, 'completed');
    }
    const results = stageRuns.map((stage) => stage.result);
    const result: Result = this.killedAt
      ? 'Failed'
      : this.canceledAt
        ? 'Canceled'
        : results.includes('Failed')
          ? 'Failed'
          : results.includes('Canceled')
            ? 'Canceled'
            : results.includes('SucceededWithIssues')
              ? 'SucceededWithIssues'
              : 'Succeeded';
    return {
      result,
      stages: stageRuns,
      timeline: this.timeline,
      approvals: this.approvals,
      notes: this.notes,
      clockEnd: this.clock.now(),
      canceledAt: this.canceledAt,
      killedAt: this.killedAt,
      artifactsDirectory: this.artifactsDirectory,
    };
  }

  private canceledAt?: string;
  private killedAt?: string;
  private readonly stageProgress = new Map<string, 'inProgress' | 'completed'>();

  /** The run so far (see RunProgress): what the emulated Azure DevOps answers for this run's timeline. */
  progress(): RunProgress {
    return {
      stages: this.options.pipeline.stages.map((stage) => {
        const state = this.stageProgress.get(stage.name) ?? 'pending';
        const jobs = this.stages.get(stage.name)?.jobs;
        return {
          name: stage.name,
          displayName: stage.displayName,
          state,
          ...(state === 'completed' ? { result: this.stages.get(stage.name)?.result } : {}),
          jobs: stage.jobs.map((job) => {
            const ended = jobs?.get(job.name);
            const started = this.timeline.some((entry) => entry.stage === stage.name && entry.job === job.name);
            return {
              name: job.name,
              displayName: job.displayName,
              state: ended ? 'completed' : started && state === 'inProgress' ? 'inProgress' : 'pending',
              ...(ended ? { result: ended.result } : {}),
            };
          }),
        };
      }),
      timeline: this.timeline,
      approvals: this.approvals,
    };
  }

  /** The run is cancelled (someone pressed Cancel): from now on conditions see canceled(). */
  private cancel(where: string): void {
    if (this.canceledAt) return;
    this.canceledAt = where;
    this.options.events?.line?.(`[rehearsal] the run is cancelled at ${where}`);
  }

  /** The agent dies: nothing after this point runs or publishes. */
  private kill(where: string): void {
    this.killedAt ??= where;
  }

  /** Whether `pattern` names this stage, `stage.job`, or (with a step) the step, as `failSteps` does. */
  private static names(pattern: string | undefined, stage: string, job?: string, step?: PipelineStep): boolean {
    if (!pattern) return false;
    const lower = pattern.toLowerCase();
    if (!job) return lower === stage.toLowerCase();
    if (!step) return lower === `${stage}.${job}`.toLowerCase();
    return matchesFailure([pattern], stage, job, step);
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
      throw new Error(`${where}: condition '${source}': ${(error as Error).message}`, { cause: error });
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
        throw new Error(`${where}: variable ${name}: ${(error as Error).message}`, { cause: error });
      }
    }
    return out;
  }

  /** Every stage this one depends on, directly or through others: the status functions look at all of them. */
  private allStageDependencies(stage: PipelineStage): string[] {
    const found = new Set<string>();
    const visit = (names: string[]) => {
      for (const name of names) {
        if (found.has(name)) continue;
        found.add(name);
        visit(this.options.pipeline.stages.find((candidate) => candidate.name === name)?.dependsOn ?? []);
      }
    };
    visit(stage.dependsOn);
    return [...found];
  }

  private skipStage(stage: PipelineStage, state: StageState, runs: StageRun, result: Result, why: string): StageRun {
    for (const job of stage.jobs) {
      state.jobs.set(job.name, { result: 'Skipped', outputs: {}, kind: job.kind });
      runs.jobs.push({ name: job.name, result: 'Skipped' });
    }
    state.result = result;
    runs.result = result;
    this.options.events?.stageEnd?.(stage, result, why);
    return runs;
  }

  private async runStage(stage: PipelineStage): Promise<StageRun> {
    if (Rehearsal.names(this.options.cancelAt, stage.name)) this.cancel(`stage ${stage.name}`);
    const baseVariables = this.pipelineVariables();
    const byName = Object.fromEntries(stage.dependsOn.map((name) => [name, this.stages.get(name)?.result ?? 'Skipped']));
    const context: EvaluationContext = {
      names: {
        dependencies: this.dependencyView(stage.dependsOn),
        stageDependencies: this.stageDependenciesView(stage.dependsOn),
        variables: baseVariables,
      },
      status: {
        results: this.allStageDependencies(stage).map((name) => this.stages.get(name)?.result ?? 'Skipped'),
        byName,
        canceled: !!this.canceledAt,
      },
    };
    const state: StageState = { result: 'Skipped', jobs: new Map() };
    this.stages.set(stage.name, state);
    const runs: StageRun = { name: stage.name, displayName: stage.displayName, result: 'Skipped', jobs: [] };
    if (!this.evaluateCondition(stage.condition, context, `stage ${stage.name}`)) {
      return this.skipStage(
        stage,
        state,
        runs,
        'Skipped',
        `condition ${stage.condition?.trim() || 'succeeded()'} is false${this.canceledAt ? ' (the run is cancelled)' : ''}`,
      );
    }
    if (Rehearsal.names(this.options.killAt, stage.name)) {
      this.kill(`stage ${stage.name}`);
      return this.skipStage(stage, state, runs, 'Failed', 'the agent died as the stage started (--kill-at)');
    }
    this.options.events?.stageStart?.(stage, this.clock.now());
    const stageVariables = { ...baseVariables, ...this.resolveVariables(stage.variables, context, `stage ${stage.name}`) };

    // Checks on every environment the stage deploys to are evaluated before the stage starts.
    const environments = [...new Set(stage.jobs.map((job) => job.environment).filter((name): name is string => !!name))];
    for (const environment of environments) {
      const refused = this.approve(stage, environment);
      if (refused) return this.skipStage(stage, state, runs, 'Failed', refused);
    }

    for (const job of topologicalJobs(stage)) {
      if (this.killedAt) break;
      const jobState = await this.runJob(stage, job, stageVariables);
      state.jobs.set(job.name, jobState);
      runs.jobs.push({ name: job.name, result: jobState.result });
    }
    const results = [...state.jobs.values()].map((job) => job.result);
    state.result =
      this.killedAt || results.includes('Failed')
        ? 'Failed'
        : results.includes('Canceled')
          ? 'Canceled'
          : results.every((result) => result === 'Skipped')
            ? 'Skipped'
            : results.includes('SucceededWithIssues')
              ? 'SucceededWithIssues'
              : 'Succeeded';
    runs.result = state.result;
    this.options.events?.stageEnd?.(
      stage,
      state.result,
      state.result === 'Skipped' ? `every job was skipped${this.canceledAt ? ' (the run is cancelled)' : ''}` : undefined,
    );
    return runs;
  }

  /**
   * The approval check of an environment: granted after `approvalMinutes`, or (as asked) rejected, or timed out
   * after the check's timeout. A rejected or timed-out check fails the stage before any of its jobs runs, and
   * its dependants see it Failed. Returns why the stage did not run, or nothing when it was approved.
   */
  private approve(stage: PipelineStage, environment: string): string | undefined {
    const started = Date.now();
    const at = this.clock.now();
    const matches = (list?: string[]) => (list ?? []).some((name) => name.toLowerCase() === environment.toLowerCase());
    const rejected = matches(this.options.rejectApprovals);
    const timedOut = !rejected && matches(this.options.approvalTimeouts);
    const timeout = this.options.approvalTimeoutMinutes ?? 720;
    this.clock.advance((timedOut ? timeout : (this.options.approvalMinutes ?? 2)) * 60_000);
    this.approvals.push({
      stage: stage.name,
      environment,
      at,
      decidedAt: this.clock.now(),
      result: rejected || timedOut ? 'Failed' : 'Succeeded',
    });
    const did = rejected
      ? `REJECTED by an approver of '${environment}' (--reject-approval): the stage fails, none of its jobs runs`
      : timedOut
        ? `TIMED OUT: no approver of '${environment}' answered within ${timeout} min (--approval-timeout): ` +
          'the stage fails, none of its jobs runs'
        : `approved (rehearsal: granted automatically; in Azure DevOps an approver of '${environment}' clicks Approve)`;
    this.record({
      stage: stage.name,
      stageDisplayName: stage.displayName,
      job: '-',
      step: `Approval on environment ${environment}`,
      what: 'approval',
      at,
      endedAt: this.clock.now(),
      durationMs: Date.now() - started,
      result: rejected || timedOut ? 'Failed' : 'Succeeded',
      did,
      injected: rejected || timedOut || undefined,
      outputs: {},
      errors: rejected || timedOut ? [did] : [],
      warnings: [],
      summaries: [],
    });
    return rejected || timedOut ? did : undefined;
  }

  /** Every job of the stage this one depends on, directly or through others. */
  private static allJobDependencies(stage: PipelineStage, job: PipelineJob): string[] {
    const found = new Set<string>();
    const visit = (names: string[]) => {
      for (const name of names) {
        if (found.has(name)) continue;
        found.add(name);
        visit(stage.jobs.find((candidate) => candidate.name === name)?.dependsOn ?? []);
      }
    };
    visit(job.dependsOn);
    return [...found];
  }

  /** A job's timeout: 60 minutes unless set, 0 = the maximum; on Microsoft-hosted agents at most the cap. */
  jobTimeoutMinutes(job: PipelineJob): number {
    const declared = job.timeoutInMinutes ?? 60;
    if (job.server) return declared === 0 ? Infinity : declared;
    const cap = this.options.hostedCapMinutes;
    if (declared === 0) return cap ?? Infinity;
    return cap === undefined ? declared : Math.min(declared, cap);
  }

  private jobEntry(stage: PipelineStage, job: PipelineJob, result: Result, did: string, errors: string[] = []): void {
    this.record({
      stage: stage.name,
      stageDisplayName: stage.displayName,
      job: job.name,
      step: job.displayName,
      what: 'job',
      at: this.clock.now(),
      durationMs: 0,
      result,
      did,
      outputs: {},
      errors,
      warnings: [],
      summaries: [],
    });
  }

  private async runJob(stage: PipelineStage, job: PipelineJob, stageVariables: Record<string, string>): Promise<JobState> {
    const stageState = this.stages.get(stage.name)!;
    if (Rehearsal.names(this.options.cancelAt, stage.name, job.name)) this.cancel(`job ${stage.name}.${job.name}`);
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
      status: {
        results: Rehearsal.allJobDependencies(stage, job).map((name) => stageState.jobs.get(name)?.result ?? 'Skipped'),
        byName: Object.fromEntries(job.dependsOn.map((name) => [name, stageState.jobs.get(name)!.result])),
        canceled: !!this.canceledAt,
      },
    };
    const state: JobState = { result: 'Skipped', outputs: {}, kind: job.kind };
    if (!this.evaluateCondition(job.condition, context, `job ${stage.name}.${job.name}`)) {
      this.jobEntry(
        stage,
        job,
        'Skipped',
        `skipped: condition ${job.condition?.trim() || 'succeeded()'} is false${this.canceledAt ? ' (the run is cancelled)' : ''}`,
      );
      return state;
    }
    if (Rehearsal.names(this.options.killAt, stage.name, job.name)) {
      this.kill(`job ${stage.name}.${job.name}`);
      this.jobEntry(stage, job, 'Failed', 'the agent died as the job started (--kill-at): we stopped hearing from the agent', [
        'We stopped hearing from the agent (--kill-at)',
      ]);
      state.result = 'Failed';
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
    const checkedOut = !job.server && (checkoutStep ? toText(checkoutStep.raw.checkout) !== 'none' : job.kind === 'job');
    // A deployment job downloads the run's artifacts first, unless it has its own download steps.
    if (job.kind === 'deployment' && !job.steps.some((step) => step.kind === 'download')) this.downloadArtifacts(workspace, '*');

    const control: JobControl = {
      deadline: this.clock.now().getTime() + this.jobTimeoutMinutes(job) * 60_000,
      timeoutMinutes: this.jobTimeoutMinutes(job),
      cancelTimeoutMinutes: job.cancelTimeoutInMinutes ?? 5,
      timedOut: false,
    };
    const canceledBefore = !!this.canceledAt;
    await this.runSteps(stage, job, { state, control, jobVariables, workspace, checkedOut });
    state.result = this.jobResult(stage, job, control, canceledBefore);
    return state;
  }

  /** Starts the cancel timeout once the run is cancelled or the job timed out: the steps that still run must end by then. */
  private startCancelTimeout(control: JobControl): void {
    if ((this.canceledAt || control.timedOut) && control.cancelDeadline === undefined) {
      control.cancelDeadline = this.clock.now().getTime() + control.cancelTimeoutMinutes * 60_000;
    }
  }

  private jobResult(stage: PipelineStage, job: PipelineJob, control: JobControl, canceledBefore: boolean): Result {
    const results = control.stepResults ?? [];
    if (this.killedAt) {
      this.jobEntry(
        stage,
        job,
        'Failed',
        `the agent died (--kill-at ${this.killedAt}): we stopped hearing from the agent; no later step ran, nothing more was published`,
        ['We stopped hearing from the agent'],
      );
      return 'Failed';
    }
    if (control.timedOut) {
      const cap = this.options.hostedCapMinutes;
      const atCap = cap !== undefined && control.timeoutMinutes === cap ? ` (Microsoft-hosted cap, --hosted-cap ${cap})` : '';
      const message = `The job ran longer than the maximum time of ${control.timeoutMinutes} minutes${atCap}`;
      this.jobEntry(
        stage,
        job,
        'Canceled',
        `timed out: ${message}; steps that run anyway had ${control.cancelTimeoutMinutes} min (cancelTimeoutInMinutes)`,
        [message],
      );
      return 'Canceled';
    }
    if (!canceledBefore && this.canceledAt) return 'Canceled';
    if (results.includes('Canceled')) return 'Canceled';
    const result: Result = results.includes('Failed')
      ? 'Failed'
      : results.includes('SucceededWithIssues')
        ? 'SucceededWithIssues'
        : 'Succeeded';
    return result === 'Failed' && job.continueOnError ? 'SucceededWithIssues' : result;
  }

  private async runSteps(
    stage: PipelineStage,
    job: PipelineJob,
    run: { state: JobState; control: JobControl; jobVariables: Record<string, string>; workspace: string; checkedOut: boolean },
  ): Promise<void> {
    const { state, control, jobVariables, workspace } = run;
    let checkedOut = run.checkedOut;
    const stepOutputs: Record<string, string> = {};
    const stepResults: Result[] = [];
    control.stepResults = stepResults;
    const plainVariables: Record<string, string> = {};
    for (const step of job.steps) {
      if (this.killedAt) break;
      if (!control.timedOut && this.clock.now().getTime() >= control.deadline) control.timedOut = true;
      this.startCancelTimeout(control);
      const lookup = (name: string) => {
        const key = Object.keys(stepOutputs).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
        if (key) return stepOutputs[key];
        const all = { ...jobVariables, ...plainVariables };
        const variable = Object.keys(all).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
        return variable === undefined ? undefined : all[variable];
      };
      const stepContext: EvaluationContext = {
        names: { variables: { ...jobVariables, ...plainVariables, ...stepOutputs } },
        status: { results: stepResults.filter((result) => result !== 'Skipped'), canceled: !!this.canceledAt || control.timedOut },
      };
      const at = this.clock.now();
      const base = { stage: stage.name, stageDisplayName: stage.displayName, job: job.name, step: step.displayName, at };
      if (!this.evaluateCondition(step.condition, stepContext, `step ${stage.name}.${job.name}.${step.displayName}`)) {
        const why = this.canceledAt ? ' (the run is cancelled)' : control.timedOut ? ' (the job timed out)' : '';
        this.record({
          ...base,
          what: step.task ? `${step.task}@${step.taskVersion}` : step.kind,
          durationMs: 0,
          result: 'Skipped',
          did: `skipped: condition ${step.condition?.trim() || 'succeeded()'} is false${why}`,
          outputs: {},
          errors: [],
          warnings: [],
          summaries: [],
        });
        continue;
      }
      if (step.kind === 'checkout') {
        checkedOut = toText(step.raw.checkout) !== 'none';
        continue;
      }
      if (control.cancelDeadline !== undefined && this.clock.now().getTime() >= control.cancelDeadline) {
        // The agent force-stops the job when its cancel timeout runs out: nothing after that starts.
        this.record({
          ...base,
          what: step.task ? `${step.task}@${step.taskVersion}` : step.kind,
          durationMs: 0,
          result: 'Canceled',
          did: `not run: the job was stopped when its cancel timeout (${control.cancelTimeoutMinutes} min) ran out`,
          outputs: {},
          errors: [],
          warnings: [],
          summaries: [],
        });
        stepResults.push('Canceled');
        continue;
      }
      if (matchesFailure(this.options.skipSteps ?? [], stage.name, job.name, step)) {
        this.record({
          ...base,
          what: step.task ? `${step.task}@${step.taskVersion}` : step.kind,
          durationMs: 0,
          result: 'Skipped',
          did: 'LEFT OUT by the rehearsal (--skip-step)',
          injected: true,
          outputs: {},
          errors: [],
          warnings: [],
          summaries: [],
        });
        stepResults.push('Skipped');
        continue;
      }
      const entry = await this.runStep(
        stage,
        job,
        step,
        base,
        lookup,
        { ...jobVariables, ...plainVariables },
        workspace,
        checkedOut,
        control,
      );
      if (entry.interrupted === 'timeout') control.timedOut = true;
      for (const [name, value] of Object.entries(entry.outputs)) {
        if (step.name) stepOutputs[`${step.name}.${name}`] = value;
        if (step.name) state.outputs[job.kind === 'deployment' ? `${job.name}.${step.name}.${name}` : `${step.name}.${name}`] = value;
      }
      if (entry.run) {
        for (const command of entry.run.commands) {
          if (command.command === 'task.setvariable' && command.properties.isOutput !== 'true')
            plainVariables[command.properties.variable] = command.message;
        }
      }
      if (entry.result === 'Failed' && step.continueOnError) stepResults.push('SucceededWithIssues');
      else stepResults.push(entry.result);
    }
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
    control: JobControl,
  ): Promise<TimelineEntry> {
    const started = Date.now();
    const inputs = Object.fromEntries(Object.entries(step.inputs).map(([key, value]) => [key, expandMacros(value, lookup)]));
    const finish = (fields: Partial<TimelineEntry> & Pick<TimelineEntry, 'what' | 'result' | 'did'>): TimelineEntry =>
      this.record({
        ...base,
        endedAt: this.clock.now(),
        durationMs: Date.now() - started,
        outputs: {},
        errors: [],
        warnings: [],
        summaries: [],
        ...fields,
      });

    if (step.kind === 'publish' || (step.kind === 'task' && step.task?.toLowerCase() === 'publishpipelineartifact')) {
      const target =
        step.kind === 'publish'
          ? expandMacros(toText(step.raw.publish), lookup)
          : (inputs.targetPath ?? inputs.path ?? lookup('Pipeline.Workspace')!);
      const name =
        step.kind === 'publish'
          ? expandMacros(toText(step.raw.artifact), lookup)
          : (inputs.artifact ?? inputs.artifactName ?? `${stage.name}.${job.name}`);
      const source = path.resolve(checkedOut ? path.join(workspace, 's') : workspace, target);
      if (!fs.existsSync(source))
        return finish({
          what: 'PublishPipelineArtifact',
          result: 'Failed',
          did: `nothing to publish at ${source}`,
          errors: [`Path does not exist: ${target}`],
        });
      const destination = path.join(this.artifactsDirectory, name);
      if (fs.existsSync(destination))
        return finish({
          what: 'PublishPipelineArtifact',
          result: 'Failed',
          did: `artifact '${name}' already exists in this run`,
          errors: [`Artifact ${name} already exists`],
        });
      if (fs.statSync(source).isDirectory()) copyDirectory(source, destination);
      else {
        fs.mkdirSync(destination, { recursive: true });
        fs.copyFileSync(source, path.join(destination, path.basename(source)));
      }
      return finish({
        what: 'PublishPipelineArtifact',
        result: 'Succeeded',
        did: `published artifact '${name}' (noted; kept in ${path.relative(repoRoot, destination)})`,
      });
    }
    if (step.kind === 'download' || (step.kind === 'task' && step.task?.toLowerCase() === 'downloadpipelineartifact')) {
      const which = step.kind === 'download' ? toText(step.raw.artifact ?? '') || '*' : (inputs.artifact ?? inputs.artifactName ?? '*');
      if (step.kind === 'download' && toText(step.raw.download) === 'none')
        return finish({ what: 'download', result: 'Succeeded', did: 'no artifacts downloaded' });
      const into =
        step.kind === 'task' && (inputs.targetPath ?? inputs.path) ? path.resolve(workspace, inputs.targetPath ?? inputs.path) : workspace;
      // `source: specific` with a run id downloads another run's artifacts (what that run published before it ended).
      const specific = step.kind === 'task' && (inputs.source ?? inputs.buildType ?? '').toLowerCase() === 'specific';
      const runId = specific ? (inputs.runId ?? inputs.pipelineId ?? inputs.buildId ?? '').trim() : undefined;
      const from = runId === undefined ? this.artifactsDirectory : this.options.earlierRuns?.[runId];
      if (!from)
        return finish({
          what: 'DownloadPipelineArtifact',
          result: 'Failed',
          did: `no run with id '${runId}' in this project`,
          errors: [`Run ${runId} was not found`],
        });
      const names = this.downloadArtifacts(
        into,
        which,
        step.kind === 'task' && (inputs.targetPath ?? inputs.path) !== undefined && which !== '*',
        from,
      );
      return finish({
        what: 'DownloadPipelineArtifact',
        result: 'Succeeded',
        did: `downloaded ${names.length} artifact(s)${runId ? ` of run ${runId}` : ''}: ${names.join(', ') || 'none'}`,
      });
    }
    if (step.kind === 'script' || step.kind === 'other') {
      return finish({ what: step.kind, result: 'Succeeded', did: 'script step: printed, not run by the rehearsal' });
    }
    const reference = `${step.task}@${step.taskVersion}`;
    const lower = step.task!.toLowerCase();
    if (BUILT_IN_TASKS.has(lower)) {
      if (lower === 'manualvalidation') return finish(this.manualValidation(stage, job, step, inputs, reference, control));
      if (lower === 'copyfiles') return finish(copyFiles(inputs, checkedOut ? path.join(workspace, 's') : workspace, reference));
      if (lower === 'delay') {
        const minutes = Number(inputs.delayForMinutes ?? 0);
        const remaining = control.deadline - this.clock.now().getTime();
        if (minutes * 60_000 >= remaining) {
          this.clock.advance(remaining);
          return finish({
            what: reference,
            result: 'Canceled',
            interrupted: 'timeout',
            did: `the job's timeout (${control.timeoutMinutes} min) came before the ${minutes} min wait ended`,
            errors: [`The job ran longer than the maximum time of ${control.timeoutMinutes} minutes`],
          });
        }
        this.clock.advance(minutes * 60_000);
        return finish({ what: reference, result: 'Succeeded', did: `waited ${minutes} min (simulated)` });
      }
    }
    const definition = this.catalog.get(reference.toLowerCase());
    if (!definition)
      throw new Error(
        `step ${stage.name}.${job.name}.${step.displayName}: task ${reference} is neither one of ours (tasks/*/task.json) ` +
          'nor a built-in the rehearsal knows',
      );
    const { run, interrupted, signals } = await this.runTask(
      definition,
      inputs,
      step,
      variables,
      workspace,
      checkedOut,
      lookup,
      this.stepHooks(stage, job, step, control),
    );
    const injected = matchesFailure(this.options.failSteps ?? [], stage.name, job.name, step);
    let result: Result =
      run.result === 'Failed' || run.exitCode !== 0 ? 'Failed' : run.result === 'SucceededWithIssues' ? 'SucceededWithIssues' : 'Succeeded';
    let did = describeRun(run);
    const errors = [...run.errors];
    if (injected && !interrupted) {
      result = 'Failed';
      did = `INJECTED FAILURE after the step ran (${did})`;
      errors.push(`Failure injected by the rehearsal into ${step.displayName}`);
    }
    if (interrupted && (signals.length || interrupted === 'timeout' || interrupted === 'cancel-timeout')) {
      result = interrupted === 'agent-lost' ? 'Failed' : 'Canceled';
      did = `${INTERRUPTIONS[interrupted]}${signals.length ? ` ${signals.join(', ')}` : ' nothing'}: ${did}`;
    } else if (interrupted) {
      // It ended before the interruption came: the cancel or the agent's death follows it at once.
      did = `${interrupted === 'agent-lost' ? 'the agent died' : 'the run was cancelled'} right after this step ended: ${did}`;
    }
    const openedAt = run.outputs.openedAt ? new Date(run.outputs.openedAt) : undefined;
    if (openedAt && !Number.isNaN(openedAt.getTime())) this.clock.advanceTo(openedAt);
    return finish({
      what: reference,
      result,
      did,
      outputs: run.outputs,
      inputs,
      errors,
      warnings: run.warnings,
      summaries: run.summaries,
      injected,
      run,
      interrupted,
      signals,
    });
  }

  /** Copies published artifacts into a workspace (each into a folder of its name, as the agent does). */
  private downloadArtifacts(into: string, which: string, flat = false, from = this.artifactsDirectory): string[] {
    const names = fs.existsSync(from) ? fs.readdirSync(from).sort() : [];
    const pattern = new RegExp(
      `^${which
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      'i',
    );
    const chosen = names.filter((name) => pattern.test(name));
    for (const name of chosen) copyDirectory(path.join(from, name), flat ? into : path.join(into, name));
    return chosen;
  }

  private endpointFor(definition: TaskDefinition, inputName: string, type: string, connectionName: string): EndpointSpec {
    const endpointType = type.slice('connectedService:'.length);
    const endpoint = this.options.connections[connectionName] ?? this.options.connections[endpointType];
    if (!endpoint) {
      throw new Error(
        `${definition.reference} input ${inputName}: ` +
          `no emulator stands in for service connection '${connectionName}' (type ${endpointType})`,
      );
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
    hooks: StepHooks,
  ): Promise<{ run: TaskRun; interrupted?: Interruption; signals: string[] }> {
    const inputs: Record<string, string> = {};
    const endpoints: Record<string, EndpointSpec> = { ...this.options.systemEndpoints };
    const givenLower = new Map(Object.entries(given).map(([key, value]) => [key.toLowerCase(), value]));
    const known = new Set<string>();
    for (const input of definition.inputs) {
      const names = [input.name, ...input.aliases].map((name) => name.toLowerCase());
      names.forEach((name) => known.add(name));
      // The agent expands macros in default values too (`$(System.TeamProject)`).
      const value =
        names.map((name) => givenLower.get(name)).find((candidate) => candidate !== undefined) ??
        (input.defaultValue === undefined ? undefined : expandMacros(input.defaultValue, lookup));
      if (value === undefined || value === '') continue;
      inputs[input.name] = value;
      if (input.type.startsWith('connectedService:')) endpoints[value] = this.endpointFor(definition, input.name, input.type, value);
    }
    const unknown = [...givenLower.keys()].filter((name) => !known.has(name));
    if (unknown.length)
      throw new Error(`${definition.reference} (${step.displayName}): input(s) ${unknown.join(', ')} are not in its task.json`);
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
      const child = await runAgentProcess({
        script,
        env,
        cwd,
        stepTimeoutMs: this.options.stepTimeoutMs ?? 60_000,
        onLine: (line) => this.options.events?.line?.(line),
        poll: hooks.poll,
        // Unless told how long to wait, the interruption comes as the step starts its work: its first line of its own.
        after: {
          ms: this.options.interruptAfterMs ?? 5_000,
          atLine: this.options.interruptAfterMs === undefined ? isWorkLine : undefined,
          action: hooks.after,
        },
        signalDelaysMs: this.options.signalDelaysMs,
      });
      const run = parseRun(
        definition.reference,
        child.stdout,
        child.stderr,
        child.exitCode,
        child.signal,
        child.timedOut,
        child.durationMs,
        workspace,
      );
      hooks.ended();
      const notLoaded = !run.killed && !hooks.interrupted() && run.lines.length === 0 && /Cannot find module|SyntaxError/.test(run.stderr);
      if (!notLoaded || attempt >= 3) return { run, interrupted: hooks.interrupted(), signals: child.signalsSent };
    }
  }

  /**
   * What the platform does to a running task step: cancels it where `cancelAt` names it, kills it where `killAt`
   * does, makes a slow step take its simulated minutes (freezing the process meanwhile), cancels it when the
   * job's timeout passes, and kills it when the cancel timeout runs out.
   */
  private stepHooks(stage: PipelineStage, job: PipelineJob, step: PipelineStep, control: JobControl): StepHooks {
    const where = `step ${stage.name}.${job.name}.${step.name ?? step.displayName}`;
    const point = Rehearsal.names(this.options.killAt, stage.name, job.name, step)
      ? 'kill'
      : Rehearsal.names(this.options.cancelAt, stage.name, job.name, step)
        ? 'cancel'
        : undefined;
    const slow = (this.options.slowSteps ?? []).find((candidate) => matchesFailure([candidate.step], stage.name, job.name, step))?.minutes;
    let interrupted: Interruption | undefined;
    let fired = false;
    // The slow step's simulated minutes pass; if they reach the job's timeout the clock stops there and the step is timed out.
    // After a cancel or the timeout the step answers to the cancel timeout instead: past it, it is killed.
    const passSlowMinutes = (): Interruption | undefined => {
      const target = this.clock.now().getTime() + slow! * 60_000;
      const limit = control.cancelDeadline ?? (control.timedOut ? Infinity : control.deadline);
      if (target < limit) {
        this.clock.advance(slow! * 60_000);
        return undefined;
      }
      this.clock.advance(limit - this.clock.now().getTime());
      interrupted = control.cancelDeadline !== undefined ? 'cancel-timeout' : 'timeout';
      if (interrupted === 'timeout') control.timedOut = true;
      return interrupted;
    };
    const fire = (process?: ProcessControl) => {
      if (fired) return;
      fired = true;
      if (point === 'kill') {
        this.kill(where);
        interrupted = 'agent-lost';
        process?.kill();
      } else if (point === 'cancel') {
        this.cancel(where);
        interrupted = 'cancel';
        process?.cancel();
      } else if (slow !== undefined) {
        process?.pause();
        const hit = passSlowMinutes();
        if (hit === 'timeout') process?.cancel();
        if (hit === 'cancel-timeout') process?.kill();
        process?.resume();
      }
    };
    return {
      after: (process) => fire(process),
      poll: (process) => {
        const now = this.clock.now().getTime();
        // A step that runs after the job timed out (always()) answers to the cancel timeout only.
        if (!interrupted && !control.timedOut && now >= control.deadline) {
          interrupted = 'timeout';
          control.timedOut = true;
          process.cancel();
        }
        if (control.cancelDeadline !== undefined && now >= control.cancelDeadline && interrupted !== 'cancel-timeout') {
          interrupted = 'cancel-timeout';
          process.kill();
        }
      },
      // A step that ended before the interruption came: the cancel or the death comes right after it.
      ended: () => fire(),
      interrupted: () => interrupted,
    };
  }

  /**
   * ManualValidation: approved after `approvalMinutes`, unless no one answers (`approvalTimeouts` names the step
   * or says `ManualValidation`): then its own `timeoutInMinutes` and the job's timeout race, the shorter wins.
   * The task's wins: its `onTimeout` applies (reject fails the step, resume lets the job go on). The job's wins:
   * the job times out and `onTimeout` never applies.
   */
  private manualValidation(
    stage: PipelineStage,
    job: PipelineJob,
    step: PipelineStep,
    inputs: Record<string, string>,
    reference: string,
    control: JobControl,
  ): Partial<TimelineEntry> & Pick<TimelineEntry, 'what' | 'result' | 'did'> {
    const instructions = (inputs.instructions ?? '').replace(/\s+/g, ' ').trim();
    const unanswered = (this.options.approvalTimeouts ?? []).some(
      (name) => name.toLowerCase() === 'manualvalidation' || matchesFailure([name], stage.name, job.name, step),
    );
    if (!unanswered) {
      this.clock.advance((this.options.approvalMinutes ?? 2) * 60_000);
      return {
        what: reference,
        result: 'Succeeded',
        did: `manual validation approved (rehearsal)${instructions ? `: "${shortened(instructions, 160)}"` : ''}`,
      };
    }
    const own = step.timeoutInMinutes && step.timeoutInMinutes > 0 ? step.timeoutInMinutes * 60_000 : Infinity;
    const remaining = control.deadline - this.clock.now().getTime();
    if (own < remaining) {
      this.clock.advance(own);
      const onTimeout = (inputs.onTimeout ?? 'reject').toLowerCase();
      const did = `no one answered within its ${step.timeoutInMinutes} min (--approval-timeout): onTimeout '${onTimeout}' applies`;
      return onTimeout === 'resume'
        ? { what: reference, result: 'Succeeded', did, injected: true }
        : {
            what: reference,
            result: 'Failed',
            did,
            injected: true,
            errors: [`The manual validation timed out and was rejected (onTimeout: ${onTimeout})`],
          };
    }
    this.clock.advance(Number.isFinite(remaining) ? remaining : 0);
    const message = `The job ran longer than the maximum time of ${control.timeoutMinutes} minutes`;
    return {
      what: reference,
      result: 'Canceled',
      interrupted: 'timeout',
      injected: true,
      did:
        `no one answered; the job's timeout (${control.timeoutMinutes} min) came before the task's own ` +
        `(${step.timeoutInMinutes ?? 'none'}): onTimeout never applied`,
      errors: [message],
    };
  }
}

export async function rehearse(options: RehearsalOptions): Promise<RehearsalResult> {
  return new Rehearsal(options).run();
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
function shortened(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
