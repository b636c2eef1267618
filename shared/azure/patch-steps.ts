import { ServiceError } from '../core/errors';
import type { TaskOutcome } from '../core/task';
import type { MarkdownSummary } from '../core/summary';
import { computeClients } from './compute';
import type { AzureConnection } from './credentials';
import { patchSummary, writeTrackingSheet } from './patch-sheet';
import { patchServers, type PatchOptions, type ServerPatchResult } from './patching';

/**
 * The PatchVms step's work: patch (or assess) the servers, write the tracking sheet, and say how it went.
 * The step fails if any server's patching or reboot failed, after the sheet and summary are written.
 */

export interface PatchStepOptions extends Omit<PatchOptions, 'clients'> {
  connection: AzureConnection;
  /** Folder for the sheet (the step's output folder, published as an artifact). */
  outputDirectory: string;
}

export interface PatchStepResult {
  rows: ServerPatchResult[];
  title: string;
  summary: MarkdownSummary;
  outputs: Record<string, string>;
  outcome: TaskOutcome;
  /** Set when the step must fail (after publishing what it has). */
  failure?: ServiceError;
}

export async function runPatchStep(options: PatchStepOptions): Promise<PatchStepResult> {
  const { log } = options;
  const verb = options.action === 'install' ? 'Patching' : 'Assessing';
  log.section(
    `${verb} ${options.virtualMachines.length} ${options.serverGroup} server(s) in '${options.resourceGroupName}' ` +
      `(${options.maxParallel} at a time)`,
  );
  const rows = await patchServers({ ...options, clients: computeClients(options.connection) });
  const now = options.clock.now();
  const sheet = await writeTrackingSheet(options.outputDirectory, rows, {
    title: `Server patching, ${now.toISOString().slice(0, 10)}`,
    created: now,
  });
  log.info(`Tracking sheet (${sheet.rows.length} row(s) so far in this run): ${sheet.csv} and ${sheet.xlsx}.`);

  const failed = rows.filter((row) => row.outcome === 'failed');
  const warnings = rows.filter((row) => row.outcome === 'warning');
  const title = `${verb === 'Patching' ? 'Patching' : 'Patch assessment'}: ${options.serverGroup}`;
  return {
    rows,
    title,
    summary: patchSummary(rows, `${title} (${rows.length} server(s))`).paragraph(`Tracking sheet: \`${sheet.csv}\`, \`${sheet.xlsx}\`.`),
    outputs: {
      results: JSON.stringify(rows),
      trackingSheetCsv: sheet.csv,
      trackingSheetXlsx: sheet.xlsx,
      failedServers: failed.map((row) => row.server).join(','),
    },
    outcome: warnings.length ? 'SucceededWithIssues' : 'Succeeded',
    failure: failed.length
      ? new ServiceError(
          'Azure',
          `${options.action === 'install' ? 'patching' : 'assessment'} failed on ${failed.length} of ${rows.length} ` +
            `${options.serverGroup} server(s): ` +
            `${failed.map((row) => `${row.server} (${row.notes.join('; ') || row.status})`).join('; ')}.`,
          {
            advice:
              'They are still out of the pool if a drain step ran before; the restore step puts them back. Check them before the ' +
              'next batch.',
          },
        )
      : undefined,
  };
}
