import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordStore, type RestoreReceipt, type UndoRecord } from '../core/records';
import { MarkdownSummary } from '../core/summary';
import { formatLocal } from '../core/time';
import { RUNBOOK } from './runbook';

/**
 * The window's closing account: every undo record the run wrote and every receipt its partner steps wrote,
 * gathered from the records folders of all the run's jobs (downloaded as pipeline artifacts), paired up, and
 * judged: restored, ended by itself (a silence past its end time), or LEFT BEHIND. Plus every step summary
 * of the night, in one page.
 */

export interface GatheredRun {
  records: Array<{ record: UndoRecord; folder: string }>;
  receipts: RestoreReceipt[];
  summaries: Array<{ title: string; file: string }>;
  folders: string[];
}

const SKIP = new Set(['node_modules', '.git', 's']);

function findFolders(root: string, names: Set<string>, depth: number, found: string[]): void {
  if (depth < 0 || !fs.existsSync(root)) return;
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || SKIP.has(entry.name)) continue;
    const full = path.join(root, entry.name);
    if (names.has(entry.name)) found.push(full);
    else findFolders(full, names, depth - 1, found);
  }
}

/** Reads every `records/` and `summaries/` folder under the roots (the run's downloaded artifacts and this job's own). */
export function gatherRun(roots: string[]): GatheredRun {
  const folders: string[] = [];
  for (const root of roots) findFolders(root, new Set(['records', 'summaries']), 6, folders);
  const unique = [...new Set(folders.map((folder) => path.resolve(folder)))].sort();
  const records = new Map<string, { record: UndoRecord; folder: string }>();
  const receipts = new Map<string, RestoreReceipt>();
  const summaries: GatheredRun['summaries'] = [];
  const seenSummaries = new Set<string>();
  for (const folder of unique) {
    if (path.basename(folder) === 'records') {
      const store = new RecordStore(folder);
      for (const { record } of store.list()) if (!records.has(record.id)) records.set(record.id, { record, folder });
      for (const receipt of store.receipts()) if (!receipts.has(receipt.recordId)) receipts.set(receipt.recordId, receipt);
    } else {
      for (const name of fs
        .readdirSync(folder)
        .filter((file) => file.endsWith('.md'))
        .sort()) {
        const file = path.join(folder, name);
        const text = fs.readFileSync(file, 'utf8');
        // The same summary downloaded twice (an artifact and the job's own copy) is shown once.
        if (seenSummaries.has(text)) continue;
        seenSummaries.add(text);
        summaries.push({ title: name.replace(/\.md$/, ''), file });
      }
    }
  }
  return { records: [...records.values()], receipts: [...receipts.values()], summaries, folders: unique };
}

export type RecordState = 'restored' | 'expired' | 'left';

export interface RecordAssessment {
  record: UndoRecord;
  state: RecordState;
  receipt?: RestoreReceipt;
  /** Words for the summary. */
  how: string;
}

/** Pairs each record with its receipt; a silence past its own end time came back by itself. */
export function assessRecords(gathered: GatheredRun, now: Date, timeZone: string): RecordAssessment[] {
  const receipts = new Map(gathered.receipts.map((receipt) => [receipt.recordId, receipt]));
  return gathered.records
    .map(({ record }) => {
      const receipt = receipts.get(record.id);
      if (receipt)
        return {
          record,
          state: 'restored' as const,
          receipt,
          how: `restored ${formatLocal(new Date(receipt.restoredAt), timeZone)}: ${receipt.description}`,
        };
      const expires = record.expiresAt ? new Date(record.expiresAt) : undefined;
      if (expires && expires.getTime() <= now.getTime()) {
        return {
          record,
          state: 'expired' as const,
          how: `not restored by a step, but it ended by itself at ${formatLocal(expires, timeZone)}`,
        };
      }
      return {
        record,
        state: 'left' as const,
        how: expires
          ? `NOT BACK: no receipt; it ends by itself only at ${formatLocal(expires, timeZone)}`
          : 'NOT BACK: no receipt, and it does not end by itself',
      };
    })
    .sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt));
}

/** Reads `Stage: Result` or `Stage=Result` lines (the pipeline passes each stage's result). */
export function parseStageResults(text: string | undefined): Array<{ stage: string; result: string }> {
  if (!text) return [];
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const match = /^(.+?)\s*[:=]\s*(.*)$/.exec(line);
      return match ? { stage: match[1].trim(), result: match[2].trim() || 'NotRun' } : { stage: line, result: 'Unknown' };
    });
}

export interface WindowReport {
  windowName: string;
  planFile?: string;
  timeZone: string;
  now: Date;
  stageResults: Array<{ stage: string; result: string }>;
  assessments: RecordAssessment[];
  summaries: GatheredRun['summaries'];
  link?: string;
  simulatedClock: boolean;
}

const NOT_RUN = /^(|skipped|notrun|canceled|cancelled|unknown)$/i;

function resultWord(result: string | undefined): string {
  if (!result) return 'not in this pipeline';
  if (/^succeeded$/i.test(result)) return '✅ Succeeded';
  if (/^succeededwithissues$/i.test(result)) return '⚠️ Succeeded with issues';
  if (/^failed$/i.test(result)) return '❌ Failed';
  if (NOT_RUN.test(result)) return `➖ ${result || 'not run'}`;
  return result;
}

/** The whole-window page: stages, everything silenced or swapped and whether it is back, the runbook, every step's own summary. */
export function renderWindowSummary(report: WindowReport): MarkdownSummary {
  const left = report.assessments.filter((item) => item.state === 'left');
  const failedStages = report.stageResults.filter((item) => /^failed$/i.test(item.result));
  const headline = left.length
    ? `${left.length} thing(s) silenced or swapped are NOT back`
    : failedStages.length
      ? `finished with ${failedStages.length} failed stage(s); everything silenced or swapped is back`
      : 'finished; everything silenced or swapped is back';
  const summary = new MarkdownSummary().heading(`Maintenance window ${report.windowName}: ${headline}`);
  if (report.simulatedClock) summary.paragraph('**Simulated clock** (`MaintenanceWindow.Now` was set): this was a rehearsal or a dry run.');
  summary.table(
    ['Window', 'Plan', 'Finished', 'Run'],
    [[report.windowName, report.planFile ?? '-', formatLocal(report.now, report.timeZone), report.link ?? '-']],
  );
  if (report.stageResults.length) {
    summary.heading('Stages', 3).table(
      ['Stage', 'Result'],
      report.stageResults.map((item) => [item.stage, resultWord(item.result)]),
    );
  }
  summary.heading('Everything silenced or swapped, and whether it is back', 3);
  if (report.assessments.length === 0) summary.paragraph('Nothing was silenced or swapped in this run (no undo records were found).');
  else {
    summary.table(
      ['What', 'Kind', 'Changed at', 'Back?', 'How'],
      report.assessments.map((item) => [
        item.record.description,
        item.record.kind,
        formatLocal(new Date(item.record.createdAt), report.timeZone),
        item.state === 'restored' ? '✅ restored' : item.state === 'expired' ? '✅ ended by itself' : '❌ NOT BACK',
        item.how,
      ]),
    );
  }
  // `Pre-Maintenance: Succeeded` answers for the stage PreMaintenance.
  const key = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const stageResult = new Map(report.stageResults.map((item) => [key(item.stage), item.result]));
  summary.heading('The runbook, line by line', 3).table(
    ['When (ET)', 'Runbook step', 'Stage', 'Done by', 'Result'],
    RUNBOOK.map((line) => [
      line.when,
      line.line,
      line.stage,
      `${line.manual ? '👤 manual, confirmed in the pipeline: ' : ''}${line.doneBy}`,
      resultWord(stageResult.get(key(line.stage))),
    ]),
  );
  if (report.summaries.length) {
    summary.heading('Every step of the night', 3);
    for (const item of report.summaries) {
      const text = fs
        .readFileSync(item.file, 'utf8')
        .trim()
        .replace(/^(#{1,4}) /gm, (_, hashes: string) => `${'#'.repeat(Math.min(6, hashes.length + 2))} `);
      summary.paragraph(text);
    }
  }
  return summary;
}

/** The results JSON the finish announcement lists: each stage, then whether everything is back. */
export function announcementResults(report: Pick<WindowReport, 'stageResults' | 'assessments'>): string {
  const left = report.assessments.filter((item) => item.state === 'left');
  const lines: Array<{ name: string; status: string; error?: string }> = report.stageResults.map((item) => ({
    name: item.stage,
    status: item.result,
  }));
  lines.push(
    left.length
      ? { name: 'Everything restored', status: 'failed', error: left.map((item) => item.record.description).join('; ') }
      : { name: `Everything restored (${report.assessments.length} change(s) undone)`, status: 'passed' },
  );
  return JSON.stringify(lines);
}
