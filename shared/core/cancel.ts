/**
 * A Cancel (a person's, or the job's timeout) reaches a running task as signals: the agent sends SIGINT, then
 * SIGTERM 7.5 s later, then kills the process 2.5 s after that. A task has those 10 seconds to stop every wait,
 * end what it started (a change script's whole process group), leave its records consistent and say what it
 * interrupted; putting things back is the job of the always() steps that run next.
 *
 * The cancellation is process-wide, as the signal is: every wait (`sleep` in ./retry) honours it, so the window
 * clock's wait, retry back-offs and pollers stop at once without each caller threading a signal through. Work
 * that must be stopped or named registers itself as an activity for as long as it runs.
 */

export class CanceledError extends Error {
  override name = 'CanceledError';
  /** What was running when the cancel came. */
  constructor(
    readonly signal: string,
    readonly interrupted: string[] = [],
  ) {
    super(interrupted.length ? `interrupted ${interrupted.join('; ')}` : 'interrupted');
  }
}

export interface Activity {
  /** What is going on, as the log names it when a cancel interrupts it: "the wait for the gate to open at …". */
  what: string;
  /** Called once when a cancel arrives: stop what this activity started (a script's process group, say). */
  onCancel?: () => void;
  /** Called synchronously if the process exits while the activity still runs: the last chance to kill. */
  onExit?: () => void;
}

let controller = new AbortController();
const activities = new Set<Activity>();
let exitHookInstalled = false;

/** The signal every wait honours; aborted with a CanceledError when a cancel arrives. */
export function cancellationSignal(): AbortSignal {
  return controller.signal;
}

export function isCanceled(): boolean {
  return controller.signal.aborted;
}

export function throwIfCanceled(): void {
  if (controller.signal.aborted) throw controller.signal.reason;
}

/** Registers work in progress; returns the function that ends it. After a cancel, a new activity is cancelled at once. */
export function beginActivity(activity: Activity): () => void {
  activities.add(activity);
  installExitHook();
  if (controller.signal.aborted) activity.onCancel?.();
  return () => {
    activities.delete(activity);
  };
}

/** What is running now, for the log. */
export function runningActivities(): string[] {
  return [...activities].map((activity) => activity.what);
}

/** Cancels everything: aborts the shared signal and calls each activity's onCancel. Returns what was running. */
export function cancelAll(signal: string): string[] {
  const interrupted = runningActivities();
  if (controller.signal.aborted) return interrupted;
  controller.abort(new CanceledError(signal, interrupted));
  for (const activity of [...activities]) {
    try {
      activity.onCancel?.();
    } catch {
      // One activity failing to stop must not keep the others running.
    }
  }
  return interrupted;
}

/** Tests only: a fresh, uncancelled state (the real process is cancelled once and exits). */
export function resetCancellation(): void {
  controller = new AbortController();
  activities.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const activity of [...activities]) {
      try {
        activity.onExit?.();
      } catch {
        // Exiting anyway.
      }
    }
  });
}
