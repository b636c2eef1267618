import { InputError, messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { PreflightFinding } from '../core/preflight';
import type { DevOpsClient } from './client';
import { selectDefinitions, type PipelineSelection } from './definitions';

/**
 * RescheduleJobs' `check` action: finds every pipeline the hold selects (names that match nothing are NO-GO,
 * as the hold refuses them) and says how many it would hold; a pipeline already paused or disabled is one the
 * hold leaves alone, worth a look in case an earlier window left it held. Nothing is changed. For the HTTP
 * scheduler no call is made (any call could act); its URLs were already checked when the inputs were read.
 */
export async function checkReschedule(options: {
  client: DevOpsClient;
  selections: PipelineSelection[];
  selectionInput: string;
  log: Log;
}): Promise<PreflightFinding[]> {
  const object = `scheduled pipelines of project ${options.client.project}`;
  if (!options.selections.length) {
    return [
      {
        check: 'scheduled-pipelines',
        object,
        verdict: 'NO-GO',
        why: 'the step selects no pipeline to hold.',
        fix: 'Give a plan file with jobs, or list pipelines, folders or patterns.',
      },
    ];
  }
  try {
    const selected = await selectDefinitions(options.client, options.selections, options.log, options.selectionInput);
    const toHold = selected.filter((definition) => definition.queueStatus === 'enabled');
    const already = selected.filter((definition) => definition.queueStatus !== 'enabled');
    const findings: PreflightFinding[] = [
      {
        check: 'scheduled-pipelines',
        object,
        verdict: 'GO',
        why: `${selected.length} pipeline(s) found.`,
        fix: '',
        wouldDo: `would hold ${toHold.length} scheduled pipeline(s)`,
      },
    ];
    if (already.length) {
      const statuses = [...new Set(already.map((definition) => definition.queueStatus))].join('/');
      findings.push({
        check: 'scheduled-pipelines',
        object: `pipelines ${already.map((definition) => definition.name).join(', ')}`,
        verdict: 'WARN',
        why: `already ${statuses}: the hold leaves them alone and the release will not resume them.`,
        fix: 'If an earlier window left them held, run RescheduleJobs with action release for that window.',
      });
    }
    return findings;
  } catch (error) {
    const input = error instanceof InputError;
    return [
      {
        check: 'scheduled-pipelines',
        object,
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: input
          ? "Correct the pipeline names in the plan's jobs or the step (renamed or deleted?)."
          : 'Check the Azure DevOps connection and project.',
      },
    ];
  }
}
