import { InputError } from '../core/errors';
import { formatLocal, resolveEndTime } from '../core/time';

/**
 * When a silence ends. The window ends at `until` (local time) or after `durationMinutes`; the silence runs on
 * for `graceMinutes` more, so the alerts of servers still settling after the work stay quiet, and then ends
 * by itself whatever happened to the pipeline. Every silence the tasks create carries `endsAt` and never a
 * later time.
 */
export interface SilenceEnd {
  /** The end of the maintenance window. */
  windowEnd: Date;
  graceMinutes: number;
  /** windowEnd + grace: the end time written on the silence. */
  endsAt: Date;
  timeZone: string;
}

export const MAX_GRACE_MINUTES = 240;

export function resolveSilenceEnd(options: {
  durationMinutes?: number;
  until?: string;
  timeZone: string;
  graceMinutes: number;
  /** The window clock's time now. */
  now: Date;
}): SilenceEnd {
  if (!Number.isInteger(options.graceMinutes) || options.graceMinutes < 0 || options.graceMinutes > MAX_GRACE_MINUTES) {
    throw new InputError('graceMinutes', `must be between 0 and ${MAX_GRACE_MINUTES} minutes.`);
  }
  const windowEnd = resolveEndTime(options);
  return {
    windowEnd,
    graceMinutes: options.graceMinutes,
    endsAt: new Date(windowEnd.getTime() + options.graceMinutes * 60_000),
    timeZone: options.timeZone,
  };
}

/** `2025-04-13 07:15 EDT (window end 07:00 + 15 min grace)` */
export function describeSilenceEnd(end: SilenceEnd): string {
  const grace = end.graceMinutes ? ` (window end ${formatLocal(end.windowEnd, end.timeZone)} + ${end.graceMinutes} min grace)` : '';
  return `${formatLocal(end.endsAt, end.timeZone)}${grace}`;
}
