import { cancellationSignal } from '../core/cancel';
import { messageOf, ServiceError } from '../core/errors';
import type { Log } from '../core/log';
import type { ApproverMatch } from '../devops/approvals';
import type { RunTimeline, TimelineApproval } from '../devops/timeline';

/**
 * What the finish step reads from Azure DevOps for the night's page: the run's timeline, then who gave its
 * approvals. Both optional and never fatal, each bounded in real time (the finish must still announce): a
 * failed read leaves the page with less, and one warning says what and why.
 */

export interface NightReads {
  log: Log;
  /** Reads the run's build timeline (stage, job and step times, approvals). */
  readTimeline?: () => Promise<RunTimeline>;
  /** Asks who gave the timeline's approvals (Approvals - Query); answers only for this run count. */
  readApprovers?: (approvals: TimelineApproval[]) => Promise<ApproverMatch>;
  /** Real time each read may take in all (default 60 s). */
  timelineTimeoutMs?: number;
}

/**
 * `read()`, or a rejection once `limitMs` of real time have passed or a Cancel arrives: a cancelled finish
 * stops reading for the page at once and goes on to announce what is back, within the agent's 10 seconds.
 */
async function withinRealTime<T>(read: () => Promise<T>, limitMs: number): Promise<T> {
  const cancel = cancellationSignal();
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  try {
    return await Promise.race([
      read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${(limitMs / 1000).toFixed(0)} s`)), limitMs);
        onCancel = () => reject(new Error('the run was cancelled while reading'));
        if (cancel.aborted) onCancel();
        else cancel.addEventListener('abort', onCancel, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onCancel) cancel.removeEventListener('abort', onCancel);
  }
}

const refused = (error: unknown): boolean => error instanceof ServiceError && (error.status === 401 || error.status === 403);

/** The run's timeline, or undefined with a warning saying what the page will lack: a failed read never fails the finish. */
export async function readTimelineQuietly(options: NightReads): Promise<RunTimeline | undefined> {
  if (!options.readTimeline) return undefined;
  const { log } = options;
  try {
    log.info("Reading this run's timeline (stage, job and step times, approvals) for the night's page...");
    const timeline = await withinRealTime(options.readTimeline, options.timelineTimeoutMs ?? 60_000);
    const jobs = timeline.stages.reduce((count, stage) => count + stage.jobs.length, 0);
    log.info(`The run's timeline: ${timeline.stages.length} stage(s), ${jobs} job(s), ${timeline.approvals.length} approval(s).`);
    return timeline;
  } catch (error) {
    log.warn(
      `Could not read this run's timeline (${messageOf(error)}): the page will show results without times ` +
        '(no stage bars, jobs, steps or approvals). The finish goes on.' +
        (refused(error) ? ' Reading it needs "View builds" on this pipeline (the job token has it by default).' : ''),
    );
    return undefined;
  }
}

/**
 * The timeline with who gave each approval, when Azure DevOps says so for this run; otherwise the same
 * timeline (stage and time, the page says "not recorded") and, when the question failed, one warning.
 */
export async function nameApproversQuietly(options: NightReads, timeline: RunTimeline | undefined): Promise<RunTimeline | undefined> {
  const given = timeline?.approvals.filter((approval) => approval.result === 'Succeeded') ?? [];
  if (!timeline || !options.readApprovers || !given.length) return timeline;
  const { log } = options;
  try {
    const match = await withinRealTime(() => options.readApprovers!(timeline.approvals), options.timelineTimeoutMs ?? 60_000);
    const named = match.approvals.filter((approval) => approval.result === 'Succeeded' && approval.approvedBy?.length);
    log.info(
      `Who approved: ${named.map((approval) => `${approval.stage} by ${approval.approvedBy!.join(', ')}`).join('; ') || 'not recorded'}` +
        ` (${named.length} of ${given.length} approval(s) named).` +
        (match.otherRun ? ` ${match.otherRun} answer(s) were for another run or did not say which: left without a name.` : ''),
    );
    return { ...timeline, approvals: match.approvals };
  } catch (error) {
    log.warn(
      `Could not read who gave this run's approvals (${messageOf(error)}): the page shows each approval's stage and time, ` +
        'the approver "not recorded". The finish goes on.' +
        (refused(error) ? ' Reading approvals needs "View builds" on this pipeline (a PAT: scope Build, Read).' : ''),
    );
    return timeline;
  }
}
