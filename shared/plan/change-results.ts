import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChangeReport } from './checklist';

/**
 * The change results of a window, kept beside its undo records (and published with them) after each round of
 * RunChanges, so the finish step can put every change with its result and run link on the page of the night.
 */

/** What RunChanges leaves in its records folder after each round, for the finish step. */
export const CHANGE_RESULTS_PREFIX = 'change-results-';

export interface ChangeResultsFile {
  /** When the round ended (the window's clock). */
  at: string;
  reports: ChangeReport[];
}

/** Writes (merging with earlier rounds) the change results of this window into the records folder. */
export function writeChangeResults(directory: string, windowId: string, reports: ChangeReport[], at: Date): string {
  const file = path.join(directory, `${CHANGE_RESULTS_PREFIX}${windowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  fs.mkdirSync(directory, { recursive: true });
  const merged = new Map(readChangeResults([file]).map((report) => [report.id, report]));
  for (const report of reports) merged.set(report.id, report);
  const content: ChangeResultsFile = { at: at.toISOString(), reports: [...merged.values()] };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(content, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/** Every change result in these files or folders, the latest round's word on each change. */
export function readChangeResults(places: string[]): ChangeReport[] {
  const files = places.flatMap((place) => {
    if (!fs.existsSync(place)) return [];
    if (!fs.statSync(place).isDirectory()) return [place];
    return fs
      .readdirSync(place)
      .filter((name) => name.startsWith(CHANGE_RESULTS_PREFIX) && name.endsWith('.json'))
      .map((name) => path.join(place, name));
  });
  const rounds: ChangeResultsFile[] = [];
  for (const file of files) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as ChangeResultsFile;
      if (Array.isArray(parsed.reports)) rounds.push(parsed);
    } catch {
      // A half-written or foreign file says nothing about the changes.
    }
  }
  const latest = new Map<string, ChangeReport>();
  for (const round of rounds.sort((a, b) => String(a.at).localeCompare(String(b.at))))
    for (const report of round.reports) latest.set(report.id, report);
  return [...latest.values()];
}
