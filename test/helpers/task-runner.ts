import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCommand, type ParsedCommand } from '../../shared/core/commands';
import { emulatorCertificate } from '../emulators/kit';

/**
 * Runs a bundled task (dist/tasks/<Name>/index.js) in a child process the way the agent does: inputs,
 * service connections and pipeline variables go in as INPUT_* / ENDPOINT_* / SYSTEM_* variables, and what
 * the task did comes back as `##vso[...]` commands on stdout.
 */

export const repoRoot = path.resolve(__dirname, '..', '..');

export interface EndpointSpec {
  url: string;
  scheme: string;
  parameters: Record<string, string>;
  data?: Record<string, string>;
}

export interface RunTaskOptions {
  inputs?: Record<string, string | number | boolean | undefined>;
  endpoints?: Record<string, EndpointSpec>;
  /** Pipeline variables by their dotted names (`System.TeamProject`). */
  variables?: Record<string, string | undefined>;
  /** Raw extra environment. */
  env?: Record<string, string>;
  /** Folder for records, summaries and files (shared between partner steps of one scenario). */
  workDirectory?: string;
  /** The step's working directory (the agent's is the checked-out repository); the work directory when absent. */
  cwd?: string;
  timeoutMs?: number;
  /** SIGKILLs the task this many ms after start (crash tests). */
  killAfterMs?: number;
  /** SIGKILLs the task as soon as a line of its output matches. */
  killOnLine?: (line: string) => boolean;
  /** Sees every line of the task's output as it comes (a test acts on the emulator at a point of the run). */
  onLine?: (line: string) => void;
  /** Cancels the task as the agent does, SIGINT (once), as soon as a line of its output matches. */
  interruptOnLine?: (line: string) => boolean;
}

export interface TaskRun {
  task: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  stdout: string;
  stderr: string;
  lines: string[];
  commands: ParsedCommand[];
  outputs: Record<string, string>;
  /** `Succeeded`, `SucceededWithIssues`, `Failed`, or undefined when the task never reported. */
  result?: string;
  errors: string[];
  warnings: string[];
  /** Contents of every summary the task attached. */
  summaries: string[];
  /** Text of the secrets the task registered with the agent. */
  secrets: string[];
  /** Variables the task tried to set outside its task.json's restrictions.settableVariables (the agent refuses them). */
  refusedVariables: string[];
  /** All output except `##vso[task.setsecret]` lines, which the agent swallows. */
  visibleOutput: string;
  durationMs: number;
  workDirectory: string;
  /** When the SIGINT of interruptOnLine was sent, in ms after the start. */
  interruptedAtMs?: number;
}

export function newWorkDirectory(prefix = 'mw-task-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function variableKey(name: string): string {
  return name.replace(/[.\s]/g, '_').toUpperCase();
}

export async function taskEnvironment(options: RunTaskOptions, workDirectory: string): Promise<NodeJS.ProcessEnv> {
  const { file: caFile } = await emulatorCertificate();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_EXTRA_CA_CERTS: caFile,
    AGENT_TEMPDIRECTORY: workDirectory,
    AGENT_VERSION: '4.260.0',
    SYSTEM_DEBUG: 'true',
    MAINTENANCEWINDOW_DIRECTORY: workDirectory,
    TZ: 'UTC',
  };
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    if (value !== undefined) env[`INPUT_${variableKey(name)}`] = String(value);
  }
  for (const [id, endpoint] of Object.entries(options.endpoints ?? {})) {
    env[`ENDPOINT_URL_${id}`] = endpoint.url;
    env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ scheme: endpoint.scheme, parameters: endpoint.parameters });
    env[`ENDPOINT_AUTH_SCHEME_${id}`] = endpoint.scheme;
    for (const [key, value] of Object.entries(endpoint.parameters)) env[`ENDPOINT_AUTH_PARAMETER_${id}_${key.toUpperCase()}`] = value;
    for (const [key, value] of Object.entries(endpoint.data ?? {})) env[`ENDPOINT_DATA_${id}_${key.toUpperCase()}`] = value;
  }
  for (const [name, value] of Object.entries(options.variables ?? {})) {
    if (value !== undefined) env[variableKey(name)] = value;
  }
  return { ...env, ...options.env };
}

export function bundlePath(task: string): string {
  return path.join(repoRoot, 'dist', 'tasks', task, 'index.js');
}

export async function runBundledTask(task: string, options: RunTaskOptions = {}): Promise<TaskRun> {
  const script = bundlePath(task);
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run 'npm run build' first`);
  const workDirectory = options.workDirectory ?? newWorkDirectory();
  const env = await taskEnvironment(options, workDirectory);
  const started = Date.now();
  const child = spawn(process.execPath, [script], { env, cwd: options.cwd ?? workDirectory, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killed = false;
  let pending = '';
  const kill = () => {
    if (!killed) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  child.stdout.setEncoding('utf8');
  let interruptedAtMs: number | undefined;
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    if (options.killOnLine || options.interruptOnLine || options.onLine) {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      if (options.onLine) parts.forEach(options.onLine);
      if (options.killOnLine && parts.some(options.killOnLine)) kill();
      if (options.interruptOnLine && interruptedAtMs === undefined && parts.some(options.interruptOnLine)) {
        interruptedAtMs = Date.now() - started;
        child.kill('SIGINT');
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const killTimer = options.killAfterMs !== undefined ? setTimeout(kill, options.killAfterMs) : undefined;
  const timeout = setTimeout(() => {
    stderr += `\n[test] task ${task} timed out after ${options.timeoutMs ?? 60_000} ms\n`;
    kill();
  }, options.timeoutMs ?? 60_000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  clearTimeout(timeout);
  if (killTimer) clearTimeout(killTimer);
  return { ...parseRun(task, stdout, stderr, exitCode, signal, killed, Date.now() - started, workDirectory), interruptedAtMs };
}

/** The variables task.json lets the task set, or undefined when it declares no restriction. */
function settableVariables(task: string): string[] | undefined {
  const file = path.join(repoRoot, 'tasks', task, 'task.json');
  if (!fs.existsSync(file)) return undefined;
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { restrictions?: { settableVariables?: { allowed?: string[] } } }).restrictions
    ?.settableVariables?.allowed;
}

export function parseRun(
  task: string,
  stdout: string,
  stderr: string,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  killed: boolean,
  durationMs: number,
  workDirectory: string,
): TaskRun {
  const lines = stdout.split(/\r?\n/).filter((line) => line !== '');
  const commands = lines.map(parseCommand).filter((c): c is ParsedCommand => !!c);
  const outputs: Record<string, string> = {};
  const errors: string[] = [];
  const warnings: string[] = [];
  const summaries: string[] = [];
  const secrets: string[] = [];
  const refusedVariables: string[] = [];
  const allowed = settableVariables(task);
  let result: string | undefined;
  for (const command of commands) {
    switch (command.command) {
      case 'task.setvariable':
        // As the agent does: a variable outside the task's restrictions is not set.
        if (allowed && !allowed.includes(command.properties.variable)) refusedVariables.push(command.properties.variable);
        else outputs[command.properties.variable] = command.message;
        break;
      case 'task.complete':
        result = command.properties.result;
        break;
      case 'task.logissue':
      case 'task.issue':
        (command.properties.type === 'error' ? errors : warnings).push(command.message);
        break;
      case 'task.uploadsummary':
        if (fs.existsSync(command.message)) summaries.push(fs.readFileSync(command.message, 'utf8'));
        break;
      case 'task.setsecret':
        secrets.push(command.message);
        break;
    }
  }
  const visibleOutput = [...lines.filter((line) => !line.startsWith('##vso[task.setsecret]')), stderr].join('\n');
  return {
    task,
    exitCode,
    signal,
    killed,
    stdout,
    stderr,
    lines,
    commands,
    outputs,
    result,
    errors,
    warnings,
    summaries,
    secrets,
    refusedVariables,
    visibleOutput,
    durationMs,
    workDirectory,
  };
}
