import { spawn } from 'node:child_process';

/**
 * One task step as the agent runs it: a child process of its bundle, in a process group of its own. On a
 * cancel (the run's, or the job's timeout) the agent's process invoker sends SIGINT, SIGTERM 7.5 s later, and
 * kills the whole process tree 2.5 s after that: real seconds, as on an agent. When the job's cancel timeout
 * runs out, or the agent dies, the tree is killed at once.
 */

/** Real time between the agent's SIGINT and its SIGTERM, and between the SIGTERM and the kill. */
export const SIGINT_TO_SIGTERM_MS = 7_500;
export const SIGTERM_TO_KILL_MS = 2_500;

export interface ProcessControl {
  /** SIGINT now, SIGTERM and the kill later unless the process ends first. */
  cancel(): void;
  /** SIGKILL to the whole process group now. */
  kill(): void;
  /** Freezes the process (SIGSTOP) while the simulated clock jumps; `resume` lets it go on. */
  pause(): void;
  resume(): void;
  readonly exited: boolean;
}

export interface AgentProcessOptions {
  script: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A runaway step is killed after this much real time, whatever the pipeline says. */
  stepTimeoutMs: number;
  onLine?(line: string): void;
  /** Called every 25 ms while the process runs: what the agent does to it now. */
  poll?(control: ProcessControl): void;
  /**
   * Called once while the process still runs: when it prints the first line `atLine` accepts (the step is at
   * work), or `ms` real milliseconds after the start, whichever comes first.
   */
  after?: { ms: number; atLine?(line: string): boolean; action(control: ProcessControl): void };
  signalDelaysMs?: { sigterm: number; kill: number };
}

export interface AgentProcessResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the rehearsal's own safety timeout. */
  timedOut: boolean;
  /** What the agent sent, in order (`SIGINT`, `SIGTERM`, `SIGKILL`). */
  signalsSent: string[];
  durationMs: number;
}

export async function runAgentProcess(options: AgentProcessOptions): Promise<AgentProcessResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [options.script], {
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let exited = false;
  let timedOut = false;
  const signalsSent: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  const send = (signal: NodeJS.Signals, group: boolean) => {
    if (exited || child.pid === undefined) return;
    signalsSent.push(signal);
    try {
      if (group) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  let cancelling = false;
  const delays = options.signalDelaysMs ?? { sigterm: SIGINT_TO_SIGTERM_MS, kill: SIGTERM_TO_KILL_MS };
  const control: ProcessControl = {
    cancel() {
      if (cancelling) return;
      cancelling = true;
      send('SIGINT', false);
      timers.push(setTimeout(() => send('SIGTERM', false), delays.sigterm));
      timers.push(setTimeout(() => send('SIGKILL', true), delays.sigterm + delays.kill));
    },
    kill: () => send('SIGKILL', true),
    pause: () => {
      if (!exited) child.kill('SIGSTOP');
    },
    resume: () => {
      if (!exited) child.kill('SIGCONT');
    },
    get exited() {
      return exited;
    },
  };
  let afterDone = false;
  const runAfter = () => {
    if (afterDone || exited) return;
    afterDone = true;
    options.after!.action(control);
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('##vso[task.setsecret]')) options.onLine?.(line);
      if (options.after?.atLine?.(line)) runAfter();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  timers.push(
    setTimeout(() => {
      timedOut = true;
      stderr += `\n[rehearsal] step timed out after ${options.stepTimeoutMs} ms of real time\n`;
      send('SIGKILL', true);
    }, options.stepTimeoutMs),
  );
  if (options.after) timers.push(setTimeout(runAfter, options.after.ms));
  const poller = options.poll ? setInterval(() => !exited && options.poll!(control), 25) : undefined;
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => {
      exited = true;
      resolve([code, sig]);
    }),
  );
  timers.forEach(clearTimeout);
  if (poller) clearInterval(poller);
  return { stdout, stderr, exitCode, signal, timedOut, signalsSent, durationMs: Date.now() - started };
}
