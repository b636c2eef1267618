import { DateTime } from 'luxon';
import { InputError } from '../core/errors';
import { formatLocal } from '../core/time';

/**
 * The Eastern-time gate of a maintenance window.
 *
 * Azure Pipelines cron schedules are UTC only, so a fixed local time such as Saturday 19:00 in New York is
 * 23:00 UTC in summer (EDT) and 00:00 UTC on Sunday in winter (EST). The pipeline schedules both UTC slots
 * (`cronSlots`); each run asks the gate (`decideGate`) whether it is the one that matches the local time.
 * A scheduled run knows which cron entry started it (`Build.CronSchedule.DisplayName`, whose displayName names
 * the entry's UTC offset): it is the right one when the zone has that offset at the local time, whatever the
 * hour it got an agent, so a right run that waited long for an agent is never mistaken for the other one. The
 * matching run goes through (after waiting a little if it is early), the other one is skipped cleanly, and a
 * run far too late fails rather than start the night at the wrong hour. A manual run is judged by the clock.
 */

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A local time the gate opens at: a weekday and time (`Sat 19:00`, every week) or one local date-time. */
export type NotBefore =
  | { kind: 'weekly'; weekday: number; hour: number; minute: number; text: string }
  | { kind: 'once'; date: string; hour: number; minute: number; text: string };

/** Parses `Sat 19:00`, `Saturday 19:00`, `2025-04-12 19:00` or `2025-04-12T19:00`. */
export function parseNotBefore(inputName: string, text: string): NotBefore {
  const value = text.trim();
  const weekly = /^([A-Za-z]+)\s+(\d{1,2}):(\d{2})$/.exec(value);
  if (weekly) {
    const weekday = WEEKDAYS.findIndex((day) => weekly[1].toLowerCase().startsWith(day)) + 1;
    if (weekday === 0 || weekly[1].length < 3) {
      throw new InputError(inputName, `'${weekly[1]}' is not a weekday; write it as Mon, Tue, ... Sun.`);
    }
    return { kind: 'weekly', weekday, ...clock(inputName, weekly[2], weekly[3], text), text: value };
  }
  const once = /^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})$/.exec(value);
  if (once) {
    if (!DateTime.fromISO(once[1]).isValid) throw new InputError(inputName, `'${once[1]}' is not a date.`);
    return { kind: 'once', date: once[1], ...clock(inputName, once[2], once[3], text), text: value };
  }
  throw new InputError(inputName, `'${text}' is neither a weekday and time (Sat 19:00) nor a local date-time (2025-04-12 19:00).`);
}

function clock(inputName: string, hourText: string, minuteText: string, text: string): { hour: number; minute: number } {
  const hour = Number(hourText);
  const minute = Number(minuteText);
  if (hour > 23 || minute > 59) throw new InputError(inputName, `'${text}' is not a time of day.`);
  return { hour, minute };
}

/**
 * The instant the gate opens for a run at `now`: for a weekly time, the occurrence nearest to `now` (so a run
 * a little early or late finds its own evening, not last week's or next week's); for a date-time, that one.
 * A local time that does not exist (skipped by a DST change) moves forward, as clocks do.
 */
export function gateInstant(notBefore: NotBefore, zone: string, now: Date): Date {
  if (notBefore.kind === 'once') {
    return DateTime.fromISO(notBefore.date, { zone }).set({ hour: notBefore.hour, minute: notBefore.minute }).toJSDate();
  }
  const local = DateTime.fromJSDate(now, { zone });
  let best: DateTime | undefined;
  for (const weekOffset of [-1, 0, 1]) {
    const day = local.startOf('week').plus({ weeks: weekOffset, days: notBefore.weekday - 1 });
    const candidate = day.set({ hour: notBefore.hour, minute: notBefore.minute, second: 0, millisecond: 0 });
    if (!best || Math.abs(candidate.toMillis() - now.getTime()) < Math.abs(best.toMillis() - now.getTime())) best = candidate;
  }
  return best!.toJSDate();
}

/** The UTC offsets (minutes) a zone uses in a year, e.g. -240 and -300 for America/New_York. */
export function zoneOffsets(zone: string, year: number): number[] {
  const offsets = new Set<number>();
  for (let month = 1; month <= 12; month++) {
    for (const day of [1, 15]) offsets.add(DateTime.fromObject({ year, month, day, hour: 12 }, { zone }).offset);
  }
  return [...offsets].sort((a, b) => b - a);
}

export interface CronSlot {
  /** Five-field UTC cron, as `schedules:` takes it. */
  cron: string;
  /** The zone's UTC offset in minutes during which this slot is the right one. */
  offsetMinutes: number;
  /** e.g. `Sat 23:00 UTC = Sat 19:00 at UTC-4`. */
  description: string;
}

/**
 * The UTC cron lines that fire at a weekly local time all year round: one per UTC offset the zone uses
 * (two for zones with daylight saving). Every one of them goes into the pipeline's `schedules:`.
 */
export function cronSlots(notBefore: NotBefore, zone: string, year: number): CronSlot[] {
  if (notBefore.kind !== 'weekly') throw new RangeError('cron slots exist only for a weekly time such as Sat 19:00');
  return zoneOffsets(zone, year).map((offsetMinutes) => {
    const localMinutes = (notBefore.weekday % 7) * 1440 + notBefore.hour * 60 + notBefore.minute;
    const utcMinutes = (((localMinutes - offsetMinutes) % 10080) + 10080) % 10080;
    const cronWeekday = Math.floor(utcMinutes / 1440);
    const hour = Math.floor((utcMinutes % 1440) / 60);
    const minute = utcMinutes % 60;
    const sign = offsetMinutes < 0 ? '-' : '+';
    const offset = `UTC${sign}${Math.abs(offsetMinutes) / 60}`;
    const pad = (n: number) => String(n).padStart(2, '0');
    const dayName = (index: number) => WEEKDAYS[(index + 6) % 7].replace(/^./, (c) => c.toUpperCase());
    return {
      cron: `${minute} ${hour} * * ${cronWeekday}`,
      offsetMinutes,
      description: `${dayName(cronWeekday)} ${pad(hour)}:${pad(minute)} UTC = ${notBefore.text} at ${offset}`,
    };
  });
}

export interface GateOptions {
  notBefore: NotBefore;
  timeZone: string;
  now: Date;
  /** Wait this long at most when the run is early. */
  maxWaitMinutes: number;
  /** Go ahead when the run is at most this late; fail beyond. */
  lateToleranceMinutes: number;
  /**
   * The run was started by one of the pipeline's UTC cron slots (`Build.Reason` is `Schedule`), so it may be
   * the slot meant for the other half of the year. Manual runs are never skipped.
   */
  scheduled: boolean;
  /**
   * `Build.CronSchedule.DisplayName` of a scheduled run: which cron entry fired. It must name the entry's UTC
   * offset (`UTC-4`, `UTC-05:00`) when the zone has daylight saving.
   */
  scheduleName?: string;
}

export type GateDecision =
  | { action: 'open'; opensAt: Date; lateByMinutes: number; message: string }
  | { action: 'wait'; opensAt: Date; waitMinutes: number; message: string }
  | { action: 'skip'; opensAt: Date; message: string }
  | { action: 'fail'; opensAt: Date; message: string };

function minutesBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / 60_000;
}

/** Decides what a run at `now` does at the gate. Pure: the caller waits, skips or fails. */
export function decideGate(options: GateOptions): GateDecision {
  const { notBefore, timeZone, now } = options;
  const opensAt = gateInstant(notBefore, timeZone, now);
  const at = formatLocal(opensAt, timeZone);
  const early = minutesBetween(now, opensAt);
  if (options.scheduled && notBefore.kind === 'weekly') {
    const other = otherSlot(options.scheduleName, opensAt, notBefore, timeZone);
    if (other) return { ...other, opensAt };
  }
  if (early > 0) {
    if (early <= options.maxWaitMinutes) {
      return { action: 'wait', opensAt, waitMinutes: early, message: `Early by ${formatMinutes(early)}: waiting until ${at}.` };
    }
    return {
      action: 'fail',
      opensAt,
      message:
        `Too early: the gate opens at ${at}, ${formatMinutes(early)} from now, more than maxWaitMinutes ` + `(${options.maxWaitMinutes}).`,
    };
  }
  const late = -early;
  if (late > options.lateToleranceMinutes) {
    return {
      action: 'fail',
      opensAt,
      message:
        `Too late: the gate opened at ${at}, ${formatMinutes(late)} ago, more than lateToleranceMinutes ` +
        `(${options.lateToleranceMinutes}). Nothing was changed; start the window again by hand if it should still run.`,
    };
  }
  return {
    action: 'open',
    opensAt,
    lateByMinutes: late,
    message:
      late < 1
        ? `On time for ${at}.`
        : `Late by ${formatMinutes(late)} for ${at}, within lateToleranceMinutes (${options.lateToleranceMinutes}).`,
  };
}

/** The UTC offset (minutes) a schedule's displayName names: `UTC-4`, `UTC-05:00`, `UTC+5:30`; else undefined. */
export function scheduleOffset(displayName: string | undefined): number | undefined {
  const match = /\bUTC\s*([+-−])\s*(\d{1,2})(?::?(\d{2}))?\b/i.exec(displayName ?? '');
  if (!match) return undefined;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === '+' ? minutes : -minutes;
}

/**
 * For a scheduled run in a zone with two UTC slots: skip when the cron entry that fired (its displayName's
 * offset) is not the offset the zone has at this weekend's local time; fail when the name says no offset.
 * Undefined when this run is the right one (or the zone has one slot only).
 */
function otherSlot(
  scheduleName: string | undefined,
  opensAt: Date,
  notBefore: NotBefore,
  zone: string,
): { action: 'skip' | 'fail'; message: string } | undefined {
  const local = DateTime.fromJSDate(opensAt, { zone });
  if (zoneOffsets(zone, local.year).length < 2) return undefined;
  const slotOffset = scheduleOffset(scheduleName);
  const utc = opensAt.toISOString().slice(11, 16);
  if (slotOffset === undefined) {
    return {
      action: 'fail',
      message:
        `Build.CronSchedule.DisplayName is '${scheduleName ?? ''}', which names no UTC offset, so this scheduled run cannot tell ` +
        `whether it is the right one of the two UTC schedules for ${notBefore.text} ${zone}. ` +
        `Give each cron entry a displayName with its offset (e.g. "... (EDT, UTC-4)"). Nothing was changed.`,
    };
  }
  if (slotOffset === local.offset) return undefined;
  return {
    action: 'skip',
    message:
      `This run was started by the schedule '${scheduleName}' (UTC${formatOffset(slotOffset)}), the ` +
      `${slotOffset > local.offset ? 'early' : 'late'} one of the two UTC schedules for ${notBefore.text} ${zone}: ` +
      `on ${local.toISODate()} ${notBefore.text} is at UTC${formatOffset(local.offset)}, ${utc} UTC ` +
      `(${formatLocal(opensAt, zone)}), so the other schedule runs the window. Nothing was changed.`,
  };
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const hours = Math.floor(Math.abs(minutes) / 60);
  const rest = Math.abs(minutes) % 60;
  return `${sign}${hours}${rest ? `:${String(rest).padStart(2, '0')}` : ''}`;
}

export function formatMinutes(minutes: number): string {
  const whole = Math.round(minutes);
  if (whole < 60) return `${whole} min`;
  const hours = Math.floor(whole / 60);
  const rest = whole % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}
