import { InputError, messageOf } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { PreflightFinding } from '../core/preflight';
import { formatLocal } from '../core/time';
import type { Destination } from '../services/notify';
import { checkNotify } from '../services/notify-check';
import { assessRecords, gatherRun } from './finish';
import { checkPlan, resolvePlanFile, windowSunday, windowTimes } from './window';

/**
 * MaintenanceWindow's `check` action, run on the Friday before: the plan of the coming weekend loads and is
 * that weekend's, the window's end lies ahead, no undo record of an earlier window is still open (a silence
 * that does not end by itself, a swap nobody put back), and the announcement would reach its channels.
 * Nothing is posted or written.
 */

export interface WindowCheckOptions {
  planFile: string;
  windowEnd: string;
  graceMinutes: number;
  timeZone: string;
  /** The window clock: `now` is the moment checked, and the Slack check's retries wait on it. */
  clock: WindowClock;
  windowId: string;
  recordsFolders: string[];
  destination?: Destination;
  log: Log;
}

function planFindings(options: WindowCheckOptions): PreflightFinding[] {
  const sunday = windowSunday(options.clock.now(), options.timeZone);
  const resolved = resolvePlanFile(options.planFile, sunday);
  if (!resolved.file)
    return [
      {
        check: 'plan',
        object: `plan for the weekend of ${sunday}`,
        verdict: 'WARN',
        why: resolved.reason ?? 'no plan.',
        fix: 'Commit plans/<Sunday>.yml if this is a window weekend.',
      },
    ];
  const object = `plan ${resolved.file}`;
  try {
    const plan = checkPlan('planFile', resolved.file, sunday);
    const times = windowTimes({
      windowEnd: options.windowEnd,
      sunday: plan.window.date,
      timeZone: options.timeZone,
      graceMinutes: options.graceMinutes,
      now: options.clock.now(),
    });
    return [
      {
        check: 'plan',
        object,
        verdict: 'GO',
        why: `the plan of ${plan.window.date} (${plan.window.name}): ${plan.changes.length} change(s).`,
        fix: '',
        wouldDo:
          `would open window ${plan.window.name} until ${formatLocal(times.windowEnd, options.timeZone)}; ` +
          `silences until ${formatLocal(times.silenceEnd, options.timeZone)}${plan.window.maintenancePage ? '; maintenance page up' : ''}`,
      },
    ];
  } catch (error) {
    return [
      {
        check: 'plan',
        object,
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: error instanceof InputError ? 'Correct the plan (npm run plan:check) or the window end.' : 'See why.',
      },
    ];
  }
}

/** Undo records of earlier windows with no receipt that do not end by themselves (or not yet). */
function openRecordFindings(options: WindowCheckOptions): PreflightFinding[] {
  const gathered = gatherRun(options.recordsFolders);
  const open = assessRecords(gathered, options.clock.now(), options.timeZone).filter(
    (entry) => entry.state === 'left' && entry.record.windowId !== options.windowId,
  );
  if (!open.length) {
    return [
      {
        check: 'undo-records',
        object: `records in ${options.recordsFolders.join(', ')}`,
        verdict: 'GO',
        why: `no undo record of an earlier window is still open (${gathered.records.length} record(s) read).`,
        fix: '',
      },
    ];
  }
  return open.map((entry) => ({
    check: 'undo-records',
    object: `undo record ${entry.record.id} (${entry.record.kind}, window ${entry.record.windowId ?? 'unknown'})`,
    verdict: 'NO-GO' as const,
    why: `${entry.record.description}: ${entry.how}.`,
    fix: 'Restore from it: run the partner step (restore, resume, unmute, disable, release) with this record, or put it back by hand.',
  }));
}

export async function checkWindow(options: WindowCheckOptions): Promise<PreflightFinding[]> {
  const findings = [...planFindings(options), ...openRecordFindings(options)];
  if (options.destination)
    findings.push(
      ...(await checkNotify(options.destination, { log: options.log, clock: options.clock, purpose: "the window's announcements" })),
    );
  return findings;
}
