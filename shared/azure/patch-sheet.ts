import * as fs from 'node:fs';
import * as path from 'node:path';
import { MarkdownSummary } from '../core/summary';
import { DEFAULT_TIME_ZONE, formatLocal } from '../core/time';
import type { ServerPatchResult } from './patching';
import { loadExcelJs } from '../core/lazy';

/**
 * The patching tracking sheet the team keeps by hand today: one row per server, grouped by server group, as
 * CSV and XLSX in the step's output folder (for the pipeline artifact). Several PatchVms steps of one run
 * (web, app, proxy...) add to the same sheet: the rows so far are kept beside it as JSON.
 */

export const SHEET_BASENAME = 'patching-tracking-sheet';
const ROWS_FILE = 'patching-results.json';

interface Column {
  header: string;
  width: number;
  value: (row: ServerPatchResult) => string | number;
}

const minutes = (row: ServerPatchResult) => Math.max(0, Math.round((Date.parse(row.endedAt) - Date.parse(row.startedAt)) / 60_000));
const count = (value: number | undefined) => (value === undefined ? '' : value);

const COLUMNS: Column[] = [
  { header: 'Server group', width: 14, value: (row) => row.serverGroup },
  { header: 'Server', width: 16, value: (row) => row.server },
  { header: 'OS', width: 9, value: (row) => row.osType },
  { header: 'Action', width: 9, value: (row) => row.action },
  { header: 'Result', width: 9, value: (row) => (row.outcome === 'ok' ? 'OK' : row.outcome === 'warning' ? 'CHECK' : 'FAILED') },
  { header: 'Status', width: 22, value: (row) => row.status },
  { header: 'Installed', width: 10, value: (row) => count(row.installed) },
  { header: 'Failed', width: 8, value: (row) => count(row.failed) },
  { header: 'Pending', width: 9, value: (row) => count(row.pending) },
  { header: 'Available', width: 10, value: (row) => count(row.available) },
  { header: 'Critical/security', width: 16, value: (row) => count(row.criticalAndSecurity) },
  { header: 'Reboot', width: 11, value: (row) => row.rebootStatus ?? (row.rebootPending ? 'Pending' : '') },
  { header: 'Started (ET)', width: 22, value: (row) => formatLocal(new Date(row.startedAt), DEFAULT_TIME_ZONE) },
  { header: 'Ended (ET)', width: 22, value: (row) => formatLocal(new Date(row.endedAt), DEFAULT_TIME_ZONE) },
  { header: 'Minutes', width: 9, value: minutes },
  { header: 'Notes', width: 60, value: (row) => row.notes.join('; ') },
];

/** A CSV field, quoted when needed, and never read by a spreadsheet as a formula. */
function csvField(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Groups in the order they first ran; servers by name within a group (IC-Web2 before IC-Web10). */
export function orderRows(rows: ServerPatchResult[]): ServerPatchResult[] {
  const groups = [...new Set(rows.map((row) => row.serverGroup))];
  const byName = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  return groups.flatMap((group) =>
    rows.filter((row) => row.serverGroup === group).sort((a, b) => byName.compare(a.server, b.server) || a.action.localeCompare(b.action)),
  );
}

/** Adds this step's rows to the run's rows (a server's row for the same action is replaced by the newer one). */
function mergeRows(directory: string, rows: ServerPatchResult[]): ServerPatchResult[] {
  const file = path.join(directory, ROWS_FILE);
  let earlier: ServerPatchResult[] = [];
  if (fs.existsSync(file)) {
    try {
      earlier = JSON.parse(fs.readFileSync(file, 'utf8')) as ServerPatchResult[];
    } catch {
      earlier = [];
    }
  }
  const key = (row: ServerPatchResult) => `${row.serverGroup}\u0000${row.server.toLowerCase()}\u0000${row.action}`;
  const fresh = new Set(rows.map(key));
  const all = [...earlier.filter((row) => !fresh.has(key(row))), ...rows];
  fs.writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
  return orderRows(all);
}

export function toCsv(rows: ServerPatchResult[]): string {
  const lines = [COLUMNS.map((column) => csvField(column.header)).join(',')];
  for (const row of rows) lines.push(COLUMNS.map((column) => csvField(column.value(row))).join(','));
  return lines.join('\r\n') + '\r\n';
}

async function writeXlsx(file: string, rows: ServerPatchResult[], sheetInfo: SheetInfo): Promise<void> {
  const { title } = sheetInfo;
  // Loaded here, on first use: only the step that writes the sheet pays for it.
  const ExcelJS = loadExcelJs();
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Maintenance Window';
  workbook.created = sheetInfo.created;
  const sheet = workbook.addWorksheet('Patching', { views: [{ state: 'frozen', ySplit: 2 }] });
  sheet.columns = COLUMNS.map((column) => ({ header: column.header, width: column.width }));
  sheet.insertRow(1, [title]);
  sheet.getRow(1).font = { bold: true, size: 13 };
  sheet.getRow(2).font = { bold: true };
  const fills: Record<string, string> = { OK: 'FFC6EFCE', CHECK: 'FFFFEB9C', FAILED: 'FFFFC7CE' };
  let group: string | undefined;
  for (const row of rows) {
    if (row.serverGroup !== group) {
      group = row.serverGroup;
      const header = sheet.addRow([group]);
      header.font = { bold: true };
      header.getCell(1).fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9E1F2' } };
    }
    const added = sheet.addRow(COLUMNS.map((column) => column.value(row)));
    const result = added.getCell(5);
    result.fill = {
      type: 'pattern',
      pattern: 'solid',
      fgColor: { argb: fills[typeof result.value === 'string' ? result.value : ''] ?? 'FFFFFFFF' },
    };
  }
  sheet.autoFilter = { from: { row: 2, column: 1 }, to: { row: 2, column: COLUMNS.length } };
  await workbook.xlsx.writeFile(file);
}

/** Writes the run's sheet (this step's rows added) as CSV and XLSX; returns their paths and all rows. */
/** The sheet's title, and when it was made (the window clock's now). */
export interface SheetInfo {
  title: string;
  created: Date;
}

export async function writeTrackingSheet(
  directory: string,
  rows: ServerPatchResult[],
  sheetInfo: SheetInfo,
): Promise<{ csv: string; xlsx: string; rows: ServerPatchResult[] }> {
  fs.mkdirSync(directory, { recursive: true });
  const all = mergeRows(directory, rows);
  const csv = path.join(directory, `${SHEET_BASENAME}.csv`);
  const xlsx = path.join(directory, `${SHEET_BASENAME}.xlsx`);
  fs.writeFileSync(csv, toCsv(all));
  await writeXlsx(xlsx, all, sheetInfo);
  return { csv, xlsx, rows: all };
}

/** The step's summary: this step's servers as a table. */
export function patchSummary(rows: ServerPatchResult[], heading: string): MarkdownSummary {
  const failed = rows.filter((row) => row.outcome === 'failed').length;
  const warnings = rows.filter((row) => row.outcome === 'warning').length;
  return new MarkdownSummary().heading(`${heading}: ${rows.length - failed - warnings} OK, ${warnings} to check, ${failed} failed`).table(
    COLUMNS.filter((column) => !['Server group', 'Started (ET)'].includes(column.header)).map((column) => column.header),
    rows.map((row) =>
      COLUMNS.filter((column) => !['Server group', 'Started (ET)'].includes(column.header)).map((column) => column.value(row)),
    ),
  );
}
