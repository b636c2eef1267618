import * as fs from 'node:fs';
import * as path from 'node:path';
import { MarkdownSummary } from './summary';

/**
 * The Friday preflight: every mutating task has a read-only `check` action that proves its connection,
 * permissions and resources and says what the real action would do. Each check reports findings; the step
 * writes them to `<work base>/preflight/<Task>-<n>.json` (the folder beside `records/`), attaches them as a
 * table to the run summary and sets `preflightVerdict`. A NO-GO step still ends SucceededWithIssues, so every
 * check of the night runs and the aggregation step, which reads all the files, decides GO or NO-GO.
 */

export type PreflightVerdict = 'GO' | 'NO-GO' | 'WARN';

export interface PreflightFinding {
  /** What was checked, e.g. `azure-permissions`, `slack-channel`, `pipeline-exists`. */
  check: string;
  /** The thing checked, named so a person can find it: a connection, a gateway, a channel, a pipeline. */
  object: string;
  verdict: 'GO' | 'NO-GO' | 'WARN';
  /** Why this verdict, in plain words. */
  why: string;
  /** What to do about it ('' when nothing is to be done). */
  fix: string;
  /** What the real action would do, e.g. "would drain IC-Web1..5 from pool web; 5 would stay healthy". */
  wouldDo?: string;
}

export const PREFLIGHT_SCHEMA_VERSION = 1;

export interface PreflightFile {
  schemaVersion: 1;
  /** The task's name, e.g. `AppGatewayDrain`. */
  task: string;
  /** The step's display name (or the task's name when the agent gives none). */
  step: string;
  findings: PreflightFinding[];
}

/** The step's verdict: NO-GO when any finding is NO-GO, else GO (a WARN does not stop the night). */
export function overallVerdict(findings: readonly PreflightFinding[]): 'GO' | 'NO-GO' {
  return findings.some((finding) => finding.verdict === 'NO-GO') ? 'NO-GO' : 'GO';
}

/** The preflight folder under a work base (the folder whose `records/` holds the undo records). */
export function preflightDirectory(workBase: string): string {
  return path.join(workBase, 'preflight');
}

/** Writes one step's findings as `<Task>-<n>.json`, n the first free number from 1. Returns the path. */
export function writePreflightFile(directory: string, file: PreflightFile): string {
  fs.mkdirSync(directory, { recursive: true });
  const stem = file.task.replace(/[^A-Za-z0-9._-]+/g, '_') || 'Task';
  for (let n = 1; ; n++) {
    const target = path.join(directory, `${stem}-${n}.json`);
    try {
      // 'wx' fails when the file exists, so two steps sharing a folder never overwrite each other.
      fs.writeFileSync(target, JSON.stringify(file, null, 2) + '\n', { flag: 'wx' });
      return target;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export class PreflightFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`Preflight file ${file} ${reason}`);
    this.name = 'PreflightFileError';
  }
}

const VERDICTS = new Set(['GO', 'NO-GO', 'WARN']);

function validateFinding(file: string, value: unknown, index: number): PreflightFinding {
  const finding = value as Record<string, unknown>;
  if (!finding || typeof finding !== 'object') throw new PreflightFileError(file, `has finding ${index} that is not an object.`);
  for (const key of ['check', 'object', 'why', 'fix'] as const) {
    if (typeof finding[key] !== 'string') throw new PreflightFileError(file, `has finding ${index} without a text '${key}'.`);
  }
  if (!VERDICTS.has(finding.verdict as string)) {
    throw new PreflightFileError(file, `has finding ${index} with verdict '${String(finding.verdict)}' (expected GO, NO-GO or WARN).`);
  }
  if (finding.wouldDo !== undefined && typeof finding.wouldDo !== 'string') {
    throw new PreflightFileError(file, `has finding ${index} whose 'wouldDo' is not text.`);
  }
  return finding as unknown as PreflightFinding;
}

/** Reads and validates one preflight file. */
export function readPreflightFile(file: string): PreflightFile {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new PreflightFileError(file, `is not readable JSON: ${(error as Error).message}`);
  }
  if (parsed?.schemaVersion !== PREFLIGHT_SCHEMA_VERSION) {
    throw new PreflightFileError(
      file,
      `has schemaVersion ${String(parsed?.schemaVersion)} (this version reads ${PREFLIGHT_SCHEMA_VERSION}).`,
    );
  }
  if (typeof parsed.task !== 'string' || typeof parsed.step !== 'string' || !Array.isArray(parsed.findings)) {
    throw new PreflightFileError(file, "lacks 'task', 'step' or 'findings'.");
  }
  return {
    schemaVersion: 1,
    task: parsed.task,
    step: parsed.step,
    findings: parsed.findings.map((finding, index) => validateFinding(file, finding, index)),
  };
}

/**
 * Every preflight file under `directory` (searched recursively, since downloaded artifacts land one folder per
 * job), in name order. A missing folder gives none; an unreadable file throws, so a broken check cannot pass
 * as GO by going unread.
 */
export function readPreflightFiles(directory: string): Array<PreflightFile & { path: string }> {
  if (!fs.existsSync(directory)) return [];
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.json')) files.push(full);
    }
  };
  walk(directory);
  return files.map((file) => ({ ...readPreflightFile(file), path: file }));
}

/** The findings as a markdown table for the run summary. */
export function preflightSummary(file: PreflightFile): MarkdownSummary {
  const verdict = overallVerdict(file.findings);
  return new MarkdownSummary().heading(`Preflight ${file.step}: ${verdict}`).table(
    ['Check', 'Object', 'Verdict', 'Why', 'Fix', 'Would do'],
    file.findings.map((finding) => [finding.check, finding.object, finding.verdict, finding.why, finding.fix, finding.wouldDo ?? '']),
  );
}
