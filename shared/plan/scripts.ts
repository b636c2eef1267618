import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { beginActivity } from '../core/cancel';
import type { Log } from '../core/log';

/**
 * A change's script, run the way the agent's own script steps run: a file of the repository started from the
 * repository root by its shell (bash for .sh, PowerShell for .ps1, cmd for .cmd/.bat, else as an executable),
 * its output streamed to the log line by line (masked), stopped at its timeout.
 */

export interface ScriptRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Stopped because the step was cancelled (its whole process group ended). */
  canceled: boolean;
  durationMs: number;
  /** Why it could not start (shell missing, not executable). */
  startError?: string;
}

export interface ScriptOptions {
  /** Relative to `root`. */
  path: string;
  arguments: string[];
  root: string;
  timeoutMs: number;
  log: Log;
  /** Prefix of each output line, e.g. `[k8s-upgrades]`. */
  label: string;
  env: NodeJS.ProcessEnv;
  /** Grace between the polite stop and the kill at timeout. */
  killGraceMs?: number;
  /** Grace between the SIGTERM and the SIGKILL of the script's group when the step is cancelled (the agent allows 10 s in all). */
  cancelGraceMs?: number;
}

/**
 * cmd.exe reads its command line itself: `&|<>^` chain and redirect, `%` expands variables even inside quotes,
 * `!` too with delayed expansion, `"` and `()` change the quoting and grouping, and a line break ends the command.
 * No quoting makes all of them literal, so an argument of a `.cmd`/`.bat` change that has one is refused.
 */
export const CMD_METACHARACTERS = /[&|<>^%!"()\r\n\0]/;

/** Why an argument cannot be given to this script safely, or undefined when it can. */
export function argumentProblem(scriptPath: string, argument: string): string | undefined {
  if (argument.includes('\0')) return 'contains a NUL byte, which no process can receive';
  if (isCmdScript(scriptPath) && CMD_METACHARACTERS.test(argument)) {
    const found = [...new Set(argument.match(new RegExp(CMD_METACHARACTERS.source, 'g')) ?? [])].map((c) => JSON.stringify(c)).join(' ');
    return (
      `contains ${found}, which cmd.exe would interpret (a .cmd/.bat script's arguments may not have any of & | < > ^ % ! " ( ) ` +
      `or a line break)`
    );
  }
  return undefined;
}

function isCmdScript(file: string): boolean {
  return ['.cmd', '.bat'].includes(path.extname(file).toLowerCase());
}

/** An argument for cmd.exe: quoted when it has a space or a separator (it has no metacharacter, see above). */
function cmdQuote(argument: string): string {
  return argument === '' || /[\s,;=]/.test(argument) ? `"${argument}"` : argument;
}

export function commandFor(file: string, args: string[], platform: NodeJS.Platform = process.platform): [string, string[]] {
  switch (path.extname(file).toLowerCase()) {
    case '.sh':
      return ['bash', ['--noprofile', '--norc', file, ...args]];
    case '.ps1':
      return [
        platform === 'win32' ? 'powershell.exe' : 'pwsh',
        ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', file, ...args],
      ];
    case '.cmd':
    case '.bat':
      // `/S /C "<line>"`: cmd drops the outer quotes and runs the line; each part is quoted by cmd's rules.
      return ['cmd.exe', ['/D', '/E:ON', '/V:OFF', '/S', '/C', `"${[`"${file}"`, ...args.map(cmdQuote)].join(' ')}"`]];
    default:
      return [file, args];
  }
}

/** Longest piece of script output shown as one line. */
const MAX_LINE = 16_384;

export function runScript(options: ScriptOptions): Promise<ScriptRun> {
  const file = path.join(options.root, options.path);
  // A real process's real duration, like its timeout timer: not the window clock, whose waits may jump meanwhile.
  const started = Date.now();
  const refused = options.arguments
    .map((argument, index) => [index, argumentProblem(file, argument)] as const)
    .find(([, problem]) => problem);
  if (refused) {
    return Promise.resolve({
      exitCode: null,
      signal: null,
      timedOut: false,
      canceled: false,
      durationMs: 0,
      startError: `${options.label} ${options.path}: argument ${refused[0] + 1} ${refused[1]}; it was not run.`,
    });
  }
  const [command, args] = commandFor(file, options.arguments);
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, {
        cwd: options.root,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a timeout stops the script's children too.
        detached: process.platform !== 'win32',
        windowsVerbatimArguments: command === 'cmd.exe',
      });
    } catch (error) {
      // spawn throws at once on bad arguments (a NUL byte); a rejected promise here would leave the change
      // "running" until the step's timeout, since task-lib swallows unhandled rejections.
      resolve({
        exitCode: null,
        signal: null,
        timedOut: false,
        canceled: false,
        durationMs: Date.now() - started,
        startError: `${command} could not be started: ${(error as Error).message}`,
      });
      return;
    }
    let timedOut = false;
    let canceled = false;
    let startError: string | undefined;
    const stop = (signal: NodeJS.Signals) => signalGroup(child, signal);
    let killTimer: NodeJS.Timeout | undefined;
    // A cancel ends the script's whole process group: SIGTERM, then SIGKILL after the grace; and whatever is
    // left when this process exits gets SIGKILL, so nothing the script started outlives the step.
    const endActivity = beginActivity({
      what: `change script ${options.path} ${options.label} (process group ${child.pid ?? '?'})`,
      onCancel: () => {
        canceled = true;
        options.log.warn(
          `${options.label} ${options.path}: cancelled, ending its process group ${child.pid ?? ''} (SIGTERM, then SIGKILL).`,
        );
        stop('SIGTERM');
        if (killTimer) clearTimeout(killTimer);
        killTimer = setTimeout(() => stop('SIGKILL'), options.cancelGraceMs ?? 2000);
      },
      onExit: () => stop('SIGKILL'),
    });
    const timer = setTimeout(() => {
      timedOut = true;
      options.log.warn(
        `${options.label} ${options.path} ran past its ${Math.round(options.timeoutMs / 60_000) || options.timeoutMs / 60_000} ` +
          `minute timeout; stopping it.`,
      );
      stop('SIGTERM');
      killTimer = setTimeout(() => stop('SIGKILL'), options.killGraceMs ?? 5000);
    }, options.timeoutMs);
    streamLines(child.stdout!, options);
    streamLines(child.stderr!, options);
    child.on('error', (error) => {
      startError = `${command} could not be started: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      // The shell may be gone while a child it started (in the same group) still runs: end the group.
      if (canceled || timedOut) stop('SIGKILL');
      endActivity();
      resolve({ exitCode, signal, timedOut, canceled, durationMs: Date.now() - started, startError });
    });
  });
}

/** Sends `signal` to the script's whole process group (its children too), or to the script alone on Windows. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (process.platform !== 'win32' && child.pid) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** Logs a script's output line by line behind its label (masked by the log); an endless line in pieces. */
function streamLines(source: NodeJS.ReadableStream, options: Pick<ScriptOptions, 'log' | 'label'>): void {
  let pending = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? '';
    // A line that never ends is shown in pieces rather than held in memory.
    while (pending.length > MAX_LINE) {
      lines.push(pending.slice(0, MAX_LINE));
      pending = pending.slice(MAX_LINE);
    }
    for (const line of lines) options.log.info(`${options.label} ${line}`);
  });
  source.on('end', () => {
    if (pending) options.log.info(`${options.label} ${pending}`);
  });
}
