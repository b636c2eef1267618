import { createHash } from 'node:crypto';
import type { PingdomCheck } from './pingdom-client';

/** The Pingdom undo record, and the marks (a tag, a description) that find what this window silenced. */

export const PINGDOM_RECORD_KIND = 'pingdom';
/** A running window cannot be deleted: resume moves its end this close to now instead. */
export const END_RUNNING_WINDOW_AFTER_SECONDS = 60;

export type PingdomMode = 'maintenanceWindow' | 'pauseChecks';

// The undo record

export interface PingdomUndoData {
  mode: PingdomMode;
  /** Every selected check, with its name for people. */
  checks: Array<{ id: number; name: string }>;
  /** Text in the window's description that finds it again when its id was never recorded (a crash). */
  marker: string;
  /** Maintenance windows this step created or adopted. */
  windowIds: number[];
  /** `pauseChecks`: checks this step paused (resume unpauses only these). */
  pausedByUs: number[];
  /** `pauseChecks`: checks that were paused before and stay paused. */
  alreadyPaused: number[];
  /** ISO time the silence ends by itself (maintenance window) or should end (paused checks). */
  endsAt: string;
}

export function validatePingdomUndoData(data: unknown): PingdomUndoData {
  const value = data as Partial<PingdomUndoData> | undefined;
  const isIds = (ids: unknown) => Array.isArray(ids) && ids.every((id) => Number.isInteger(id));
  if (!value || (value.mode !== 'maintenanceWindow' && value.mode !== 'pauseChecks')) throw new Error("'mode' is missing or unknown.");
  if (!Array.isArray(value.checks) || !value.checks.every((check) => Number.isInteger(check?.id)))
    throw new Error("'checks' must list check ids.");
  if (typeof value.marker !== 'string' || value.marker.length < 8) throw new Error("'marker' is missing.");
  if (!isIds(value.windowIds) || !isIds(value.pausedByUs) || !isIds(value.alreadyPaused)) {
    throw new Error("'windowIds', 'pausedByUs' and 'alreadyPaused' must be lists of ids.");
  }
  if (typeof value.endsAt !== 'string' || Number.isNaN(Date.parse(value.endsAt))) throw new Error("'endsAt' is not a time.");
  return value as PingdomUndoData;
}

/** The same window and the same checks give the same marker, so a second run finds the first run's window. */
export function windowMarker(windowId: string, checkIds: number[]): string {
  const digest = createHash('sha256').update(checkIds.join(',')).digest('hex').slice(0, 10);
  return `[maintenance-window ${windowId} checks ${digest}]`;
}

// ---------------------------------------------------------------------------------------------------------
/** The tag a paused check carries while this window has it paused (Pingdom tags: at most 64 characters). */
export function pausedTag(windowId: string): string {
  return `mw-paused-${windowId.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}
export const hasTag = (check: PingdomCheck | undefined, tag: string) => !!check?.tags.some((t) => t.toLowerCase() === tag.toLowerCase());
export const withoutTag = (check: PingdomCheck, tag: string) => check.tags.filter((t) => t.toLowerCase() !== tag.toLowerCase());

export const toUnix = (date: Date) => Math.floor(date.getTime() / 1000);

/** The text every maintenance window of this window carries in its description. */
export const windowMarkOf = (windowId: string) => `[maintenance-window ${windowId} checks `;
