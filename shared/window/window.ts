import * as fs from 'node:fs';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import { beginActivity } from '../core/cancel';
import { InputError } from '../core/errors';
import type { Log } from '../core/log';
import { formatLocal } from '../core/time';
import { loadPlan, PlanError, type Plan } from '../plan/plan';
import type { WindowClock } from '../core/clock';
import { decideGate, formatMinutes, parseNotBefore, type GateDecision } from './gate';

/**
 * The window's opening: the time gate (wait, skip or fail), finding and checking the month's plan, and the
 * times every later step uses (the window's end, and how long a silence must last to cover it).
 */

export interface GateSettings {
  /** `Sat 19:00`, `2025-04-12 19:00`, or undefined for no gate. */
  notBefore?: string;
  timeZone: string;
  maxWaitMinutes: number;
  lateToleranceMinutes: number;
  /** This gate is the pipeline's scheduled start and the run was started by its schedule. */
  scheduled: boolean;
  /** `Build.CronSchedule.DisplayName`: which cron entry started a scheduled run. */
  scheduleName?: string;
  /** Wait in this step (true), or hand the wait on as `waitMinutes` to an agentless Delay job (false). */
  waitInStep?: boolean;
  clock: WindowClock;
  log: Log;
}

export type GateOutcome =
  { open: true; openedAt: Date; opensAt: Date; message: string; waitMinutes: number } | { open: false; opensAt: Date; message: string };

/** Runs the gate: waits (with progress) when a little early, returns closed for the other cron slot, throws when too early or too late. */
export async function passGate(settings: GateSettings): Promise<GateOutcome> {
  const { log, clock } = settings;
  if (!settings.notBefore) {
    const now = clock.now();
    return { open: true, openedAt: now, opensAt: now, message: 'No time gate (notBefore is empty): going ahead now.', waitMinutes: 0 };
  }
  const notBefore = parseNotBefore('notBefore', settings.notBefore);
  let decision: GateDecision = decideGate({ ...settings, notBefore, now: clock.now() });
  log.info(`Now ${formatLocal(clock.now(), settings.timeZone)}; the gate is ${notBefore.text} ${settings.timeZone}.`);
  if (decision.action === 'wait' && settings.waitInStep === false) {
    const waitMinutes = Math.ceil(decision.waitMinutes);
    log.info(
      `${decision.message} The wait (${waitMinutes} min) is handed on as output waitMinutes, for an agentless Delay job that holds ` +
        `no agent.`,
    );
    return { open: true, openedAt: decision.opensAt, opensAt: decision.opensAt, message: decision.message, waitMinutes };
  }
  if (decision.action === 'wait') {
    log.section(decision.message);
    const total = decision.waitMinutes * 60_000;
    // A cancel stops the wait at once (the clock's sleep honours it) and the log names what was interrupted.
    const endActivity = beginActivity({
      what: `the wait for the gate to open at ${formatLocal(decision.opensAt, settings.timeZone)} (nothing changed yet)`,
    });
    try {
      await clock.wait(
        total,
        (remaining) =>
          log.progress(
            ((total - remaining) / total) * 100,
            `Opens at ${formatLocal(decision.opensAt, settings.timeZone)}: ${formatMinutes(remaining / 60_000)} to go`,
          ),
        60_000,
      );
    } finally {
      endActivity();
    }
    decision = {
      action: 'open',
      opensAt: decision.opensAt,
      lateByMinutes: 0,
      message: `Waited ${formatMinutes(decision.waitMinutes)}; open at ${formatLocal(decision.opensAt, settings.timeZone)}.`,
    };
  }
  switch (decision.action) {
    case 'open':
      log.progress(100, 'Gate open');
      return { open: true, openedAt: clock.now(), opensAt: decision.opensAt, message: decision.message, waitMinutes: 0 };
    case 'skip':
      return { open: false, opensAt: decision.opensAt, message: decision.message };
    default:
      throw new Error(decision.message);
  }
}

/** The Sunday (local date) of the weekend a gate instant belongs to: that day if Sunday, else the next Sunday. */
export function windowSunday(instant: Date, zone: string): string {
  const local = DateTime.fromJSDate(instant, { zone });
  return local.plus({ days: (7 - local.weekday) % 7 }).toISODate()!;
}

export const AUTO_PLAN = 'auto';

/**
 * The plan file for this run: as given, or with `auto` the weekend's own `plans/<Sunday>.yml` (so a weekly
 * schedule runs a window only on the weekends that have a plan). Undefined with a reason when `auto` finds none.
 */
export function resolvePlanFile(
  planFile: string,
  sunday: string,
  exists: (file: string) => boolean = fs.existsSync,
): { file?: string; reason?: string } {
  if (planFile.trim().toLowerCase() !== AUTO_PLAN) return { file: planFile };
  const file = path.posix.join('plans', `${sunday}.yml`);
  if (exists(file)) return { file };
  return { reason: `There is no plan for the weekend of ${sunday} (${file}), so this is not a window weekend. Nothing was changed.` };
}

/** Loads and checks the plan, naming the input; the plan must be for this weekend. */
export function checkPlan(inputName: string, file: string, sunday: string | undefined): Plan {
  if (!fs.existsSync(file))
    throw new InputError(
      inputName,
      `'${file}' does not exist${path.isAbsolute(file) ? '' : ` (relative to ${process.cwd()}; does the job check the repository out?)`}.`,
    );
  let plan: Plan;
  try {
    plan = loadPlan(file, { scriptRoot: process.cwd() });
  } catch (error) {
    if (error instanceof PlanError) throw new InputError(inputName, error.message);
    throw error;
  }
  if (sunday && plan.window.date !== sunday) {
    throw new InputError(
      inputName,
      `is the plan of ${plan.window.date} (${plan.window.name}), but this run's window is the weekend of ${sunday}. Use that ` +
        `weekend's plan, or run the pipeline on the plan's weekend.`,
    );
  }
  return plan;
}

export interface WindowTimes {
  windowEnd: Date;
  /** The end of the window plus the grace period: when every silence must have ended by itself. */
  silenceEnd: Date;
  /** Whole minutes from now to `silenceEnd`, rounded up: what silence steps take as `durationMinutes`. */
  silenceMinutes: number;
}

/**
 * The window's end: a weekday and time on the plan's weekend (`Sun 12:00`) or a local date-time. It must lie
 * ahead, and every silence lasts until it plus `graceMinutes`. A duration rather than an instant is handed on
 * so that a silence measures its end from its own clock.
 */
export function windowTimes(options: {
  windowEnd: string;
  sunday: string;
  timeZone: string;
  graceMinutes: number;
  now: Date;
}): WindowTimes {
  const end = parseNotBefore('windowEnd', options.windowEnd);
  const sunday = DateTime.fromISO(options.sunday, { zone: options.timeZone });
  const local =
    end.kind === 'weekly'
      ? sunday.plus({ days: end.weekday - 7 }).set({ hour: end.hour, minute: end.minute })
      : DateTime.fromISO(end.date, { zone: options.timeZone }).set({ hour: end.hour, minute: end.minute });
  const windowEnd = local.toJSDate();
  if (windowEnd.getTime() <= options.now.getTime()) {
    throw new InputError(
      'windowEnd',
      `${formatLocal(windowEnd, options.timeZone)} is already past (now ${formatLocal(options.now, options.timeZone)}).`,
    );
  }
  const silenceEnd = new Date(windowEnd.getTime() + options.graceMinutes * 60_000);
  return { windowEnd, silenceEnd, silenceMinutes: Math.ceil((silenceEnd.getTime() - options.now.getTime()) / 60_000) };
}
