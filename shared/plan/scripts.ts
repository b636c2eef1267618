import { spawn } from 'node:child_process';
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

function commandFor(file: string, args: string[]): [string, string[]] {
  switch (path.extname(file).toLowerCase()) {
    case '.sh':
      return ['bash', ['--noprofile', '--norc', file, ...args]];
    case '.ps1':
      return [process.platform === 'win32' ? 'powershell.exe' : 'pwsh', ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', file, ...args]];
    case '.cmd':
    case '.bat':
      return ['cmd.exe', ['/D', '/E:ON', '/V:OFF', '/S', '/C', `"${[file, ...args].join(' ')}"`]];
    default:
      return [file, args];
  }
}

export function runScript(options: ScriptOptions): Promise<ScriptRun> {
  const file = path.join(options.root, options.path);
  const [command, args] = commandFor(file, options.arguments);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.root,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout stops the script's children too.
      detached: process.platform !== 'win32',
      windowsVerbatimArguments: command === 'cmd.exe',
    });
    let timedOut = false;
    let canceled = false;
    let startError: string | undefined;
    const stop = (signal: NodeJS.Signals) => {
      try {
        if (process.platform !== 'win32' && child.pid) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    // A cancel ends the script's whole process group: SIGTERM, then SIGKILL after the grace; and whatever is
    // left when this process exits gets SIGKILL, so nothing the script started outlives the step.
    const endActivity = beginActivity({
      what: `change script ${options.path} ${options.label} (process group ${child.pid ?? '?'})`,
      onCancel: () => {
        canceled = true;
        options.log.warn(`${options.label} ${options.path}: cancelled, ending its process group ${child.pid ?? ''} (SIGTERM, then SIGKILL).`);
        stop('SIGTERM');
        if (killTimer) clearTimeout(killTimer);
        killTimer = setTimeout(() => stop('SIGKILL'), options.cancelGraceMs ?? 2000);
      },
      onExit: () => stop('SIGKILL'),
    });
    const timer = setTimeout(() => {
      timedOut = true;
      options.log.warn(`${options.label} ${options.path} ran past its ${Math.round(options.timeoutMs / 60_000) || options.timeoutMs / 60_000} minute timeout; stopping it.`);
      stop('SIGTERM');
      killTimer = setTimeout(() => stop('SIGKILL'), options.killGraceMs ?? 5000);
    }, options.timeoutMs);
    const stream = (source: NodeJS.ReadableStream) => {
      let pending = '';
      source.setEncoding('utf8');
      source.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? '';
        for (const line of lines) options.log.info(`${options.label} ${line}`);
      });
      source.on('end', () => {
        if (pending) options.log.info(`${options.label} ${pending}`);
      });
    };
    stream(child.stdout!);
    stream(child.stderr!);
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
