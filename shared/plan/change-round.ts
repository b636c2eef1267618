import { isCanceled } from '../core/cancel';
import { messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { DevOpsClient } from '../devops/client';
import type { PipelineRuns } from '../devops/runs';
import { OPEN, isSuccess, type Tracked } from './change-state';
import { startChange, type StartContext } from './change-start';
import { formatDuration, type ChangeOutcome } from './checklist';
import type { Ledger } from './ledger';
import type { Change } from './plan';
import { judgeRun, nextPollDelay, readyToStart, settle } from './scheduling';

/**
 * One round of the runner: starts every change whose dependencies have succeeded (up to `maxParallel`, in
 * `priority` order), waits, polls the runs, and repeats until nothing runs or the step's time is up. The
 * decisions are the pure steps of ./scheduling; this class holds the state between them and does the I/O.
 */

export interface RoundOptions {
  client: DevOpsClient;
  runs: PipelineRuns;
  ledger: Ledger;
  log: Log;
  windowId: string;
  attemptId: string;
  maxParallel: number;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  timeoutMs: number;
  scriptRoot: string;
  scriptEnvironment: (change: Change) => NodeJS.ProcessEnv;
  /** Rank per change id: lower starts first. */
  priority: ReadonlyMap<string, number>;
  /** Clock time (ms) the step started: its timeout counts from here. */
  startedAt: number;
}

/** How many polls may fail in a row before the step gives up. */
const MAX_POLL_FAILURES = 5;

export class ChangeRound {
  private readonly all: Tracked[];
  private readonly deadline: number;
  private readonly scriptsRunning = new Set<Promise<void>>();
  private readonly startContext: StartContext;
  private pollDelay: number;
  private pollFailures = 0;
  private wakeUp: () => void = () => undefined;
  private woken: Promise<void>;

  constructor(
    private readonly tracked: ReadonlyMap<string, Tracked>,
    private readonly options: RoundOptions,
  ) {
    this.all = [...tracked.values()];
    this.deadline = options.startedAt + options.timeoutMs;
    this.pollDelay = options.pollIntervalMs;
    this.woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
    this.startContext = {
      ...options,
      now: () => options.client.now(),
      finish: (entry, outcome, reason) => this.finish(entry, outcome, reason),
      wake: () => this.wake(),
      scriptsRunning: this.scriptsRunning,
    };
  }

  /** True once the step's own timeout has run out. */
  get timedOut(): boolean {
    return this.options.client.now() >= this.deadline;
  }

  async run(): Promise<void> {
    const { client, maxParallel } = this.options;
    for (;;) {
      this.settleAll();
      const running = this.all.filter((t) => t.outcome === 'running').length;
      const ready = readyToStart(this.all, this.tracked, this.options.priority);
      if (ready.length && running < maxParallel && client.now() < this.deadline) {
        for (const entry of ready.slice(0, maxParallel - running)) await startChange(entry, this.startContext);
        this.pollDelay = this.options.pollIntervalMs;
        // A start can fail at once, which may block or free others: settle again before waiting.
        continue;
      }
      if (running === 0) return;
      if (client.now() >= this.deadline) {
        const minutes = Math.round(this.options.timeoutMs / 60_000);
        for (const entry of this.all.filter((t) => t.outcome === 'running')) {
          this.finish(entry, 'timed-out', `still running when the step's ${minutes} minute timeout ran out; the run was left running`);
        }
        return;
      }
      await this.waitForNews();
      const changed = await this.pollRuns();
      this.pollDelay = nextPollDelay(this.pollDelay, changed, this.options.pollIntervalMs, this.options.maxPollIntervalMs);
    }
  }

  /** Logs a change's end and the progress of the whole plan. */
  finish(entry: Tracked, outcome: ChangeOutcome, reason?: string): void {
    entry.outcome = outcome;
    if (reason !== undefined) entry.reason = reason;
    const took = entry.durationMs !== undefined ? ` after ${formatDuration(entry.durationMs)}` : '';
    const why = entry.reason ? ` - ${entry.reason}` : '';
    const link = entry.run?.webUrl ? ` ${entry.run.webUrl}` : '';
    const line = `${entry.change.id} (${entry.change.title}): ${outcome}${took}${why}${link}`;
    if (outcome === 'succeeded' || outcome === 'confirmed') this.options.log.info(line);
    else this.options.log.warn(line);
    const finished = this.all.filter((t) => !OPEN.has(t.outcome)).length;
    this.options.log.progress((finished / this.all.length) * 100, `${finished} of ${this.all.length} changes finished`);
  }

  /** Blocks what waits for a failure and hands ready manual changes to a person, until nothing moves. */
  private settleAll(): void {
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const entry of this.all.filter((t) => t.outcome === 'pending')) {
        const settlement = settle(entry, this.tracked);
        if (!settlement) continue;
        progressed = true;
        if (settlement.kind === 'blocked') {
          this.finish(entry, 'blocked', settlement.reason);
        } else {
          entry.outcome = 'awaiting-confirmation';
          const instructions = entry.change.action.kind === 'manual' ? entry.change.action.instructions : '';
          this.options.log.info(`${entry.change.id} (${entry.change.title}) is ready for a person: ${instructions}`);
        }
      }
    }
  }

  private wake(): void {
    this.wakeUp();
    this.woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
  }

  /** Waits for the next poll, or less when a script ends; a cancel records what it interrupted first. */
  private async waitForNews(): Promise<void> {
    const { client } = this.options;
    const wait = Math.min(Math.max(this.pollDelay, client.suggestedPauseMs()), Math.max(0, this.deadline - client.now()));
    await Promise.race([client.sleep(wait), this.woken]).catch(async (error: unknown) => {
      if (isCanceled()) await this.recordInterrupted();
      throw error;
    });
  }

  /** Reads the runs in flight and judges each; true when any change ended. Gives up after repeated failures. */
  private async pollRuns(): Promise<boolean> {
    const inFlight = this.all.filter((t) => t.outcome === 'running' && t.run);
    if (!inFlight.length) return false;
    let changed = false;
    try {
      const states = await this.options.runs.poll(inFlight.map((t) => t.run!.id));
      this.pollFailures = 0;
      for (const entry of inFlight) {
        const state = states.get(entry.run!.id);
        if (!state) continue;
        entry.run = { ...entry.run!, ...state };
        const verdict = judgeRun(entry, state, this.options.client.now());
        if (!verdict) continue;
        changed = true;
        entry.durationMs = verdict.durationMs;
        this.finish(entry, verdict.outcome, verdict.reason);
      }
    } catch (error) {
      if (isCanceled()) {
        await this.recordInterrupted();
        throw error;
      }
      this.pollFailures++;
      this.options.log.warn(`Could not read the runs (${this.pollFailures} time(s) in a row): ${messageOf(error)}`);
      if (this.pollFailures >= MAX_POLL_FAILURES) throw error;
    }
    return changed;
  }

  /** Says why each change still pending did not start: the step's timeout, or a person's confirmation. */
  explainPending(): void {
    for (const entry of this.all.filter((t) => t.outcome === 'pending')) {
      const waitingFor = entry.change.dependsOn.filter((id) => !isSuccess(this.tracked.get(id)!));
      entry.reason = this.timedOut
        ? `not started: the step's ${Math.round(this.options.timeoutMs / 60_000)} minute timeout ran out`
        : `waits for ${waitingFor.join(', ')} (a person confirms the manual step first)`;
    }
  }

  /**
   * After a cancel: the scripts' process groups are being ended (./scripts), so wait for each to close and its
   * ledger entry to be written (a later attempt then runs it again rather than trusting a half run), and say
   * what was interrupted. Pipeline runs already started are left running; their tags find them again.
   */
  private async recordInterrupted(): Promise<void> {
    await Promise.allSettled([...this.scriptsRunning]);
    const scripts = this.all
      .filter((t) => t.change.action.kind === 'script' && t.reason?.startsWith('interrupted by a cancel'))
      .map((t) => t.change.id);
    const runs = this.all.filter((t) => t.outcome === 'running' && t.run).map((t) => `${t.change.id} (run ${t.run!.name ?? t.run!.id})`);
    if (scripts.length)
      this.options.log.warn(`Cancelled: script(s) ${scripts.join(', ')} were ended and are recorded as interrupted in the change ledger.`);
    if (runs.length)
      this.options.log.warn(
        `Cancelled: pipeline run(s) ${runs.join(', ')} were left running; a later attempt finds them by their tags and waits for them.`,
      );
  }
}
