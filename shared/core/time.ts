import { DateTime, IANAZone } from 'luxon';
import { InputError } from './errors';

/**
 * Wall-clock times in the window's time zone (US Eastern by default). The runbook's times are local; cron and
 * APIs often are not, so every conversion goes through here.
 */

export const DEFAULT_TIME_ZONE = 'America/New_York';

export function checkTimeZone(inputName: string, zone: string): string {
  if (!IANAZone.isValidZone(zone)) {
    throw new InputError(inputName, `'${zone}' is not an IANA time zone (for example America/New_York).`);
  }
  return zone;
}

/**
 * Parses a local date-time such as `2025-04-13 12:00`, `2025-04-13T12:00` or a time of day `12:00` (the next
 * such time after `now`, the window clock's time), read in `zone`. An ISO time with an offset or `Z` is taken as given.
 */
export function parseLocalDateTime(inputName: string, text: string, zone: string, now: Date): Date {
  const value = text.trim();
  if (/[zZ]$|[+-]\d\d:?\d\d$/.test(value)) {
    const absolute = DateTime.fromISO(value, { setZone: true });
    if (absolute.isValid) return absolute.toJSDate();
  }
  const timeOnly = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (timeOnly) {
    const reference = DateTime.fromJSDate(now, { zone });
    let candidate = reference.set({ hour: Number(timeOnly[1]), minute: Number(timeOnly[2]), second: 0, millisecond: 0 });
    if (!candidate.isValid || Number(timeOnly[1]) > 23) throw new InputError(inputName, `'${text}' is not a time of day.`);
    if (candidate <= reference) candidate = candidate.plus({ days: 1 });
    return candidate.toJSDate();
  }
  const local = DateTime.fromISO(value.replace(' ', 'T'), { zone });
  if (!local.isValid) {
    throw new InputError(inputName, `'${text}' is not a local date-time; write it as YYYY-MM-DD HH:MM (in ${zone}).`);
  }
  return local.toJSDate();
}

/**
 * The end of a silence: `until` (a local time) or now plus `durationMinutes`; exactly one must be given and it
 * must lie in the future.
 */
export function resolveEndTime(options: {
  durationMinutes?: number;
  until?: string;
  timeZone: string;
  /** The window clock's time now. */
  now: Date;
  durationInput?: string;
  untilInput?: string;
}): Date {
  const now = options.now;
  const durationInput = options.durationInput ?? 'durationMinutes';
  const untilInput = options.untilInput ?? 'until';
  if (options.durationMinutes !== undefined && options.until) {
    throw new InputError(untilInput, `give either '${durationInput}' or '${untilInput}', not both.`);
  }
  if (options.until) {
    const end = parseLocalDateTime(untilInput, options.until, options.timeZone, now);
    if (end.getTime() <= now.getTime()) {
      throw new InputError(untilInput, `${formatLocal(end, options.timeZone)} is already past.`);
    }
    return end;
  }
  if (options.durationMinutes === undefined) {
    throw new InputError(durationInput, `give '${durationInput}' or '${untilInput}': every silence must end by itself.`);
  }
  if (options.durationMinutes <= 0) throw new InputError(durationInput, 'must be a positive number of minutes.');
  return new Date(now.getTime() + options.durationMinutes * 60_000);
}

/** `2025-04-13 04:45 EDT` */
export function formatLocal(date: Date, zone: string): string {
  return DateTime.fromJSDate(date, { zone }).toFormat('yyyy-LL-dd HH:mm ZZZZ');
}

/** A naive local date-time (`2025-04-13T04:45:00`) in `zone`, as New Relic and Azure Monitor schedules take it. */
export function toNaiveLocal(date: Date, zone: string): string {
  return DateTime.fromJSDate(date, { zone }).toFormat("yyyy-LL-dd'T'HH:mm:ss");
}
