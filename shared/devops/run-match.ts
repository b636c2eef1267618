import type { Build } from 'azure-devops-node-api/interfaces/BuildInterfaces';

/**
 * Recognising the run a crashed step queued among the untagged runs of its pipeline: a run queued in the same
 * minutes by hand, by a schedule or by another tool with other template parameters or on another branch is not
 * ours, and taking it over would follow (and report) someone else's run while ours goes unwatched.
 *
 * The service echoes the queued template parameters on the build (`templateParameters`), but it may spell a
 * value differently from how it was sent (a list as JSON with other spacing), and a run queued from the web page
 * carries every parameter, defaults included. So the test is lenient where the service may differ and strict
 * only where a difference is certain: a parameter this step sent whose value the run holds and that differs
 * once both are normalised, or a branch this step named that the run was not queued on. A run that echoes no
 * parameters (an older server) is not told apart by them.
 */

/** What a step sent when it queued a run. */
export interface QueuedWith {
  parameters?: Record<string, string>;
  /** The branch the step asked for, if any (`main` or `refs/heads/main`). */
  branch?: string;
}

/** Why `run` is certainly not the run queued with `sent`, or undefined when it may be. */
export function queuedDifferently(run: Pick<Build, 'templateParameters' | 'sourceBranch'>, sent: QueuedWith): string | undefined {
  if (sent.branch && run.sourceBranch && refName(sent.branch) !== refName(run.sourceBranch)) {
    return `it was queued on ${run.sourceBranch}, not ${refName(sent.branch)}`;
  }
  const echoed = run.templateParameters ?? {};
  for (const [name, value] of Object.entries(sent.parameters ?? {})) {
    const key = Object.keys(echoed).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (key === undefined) continue;
    if (normalized(echoed[key]) !== normalized(value))
      // Names only: a parameter's value may be a secret someone passed in, and this goes to the log.
      return `its parameter '${name}' has another value than this step sends`;
  }
  return undefined;
}

/** An untagged run queued since that is certainly not the one a step queued, and why (it is left alone). */
export type PassedOver = (run: { id: number; name?: string; why: string }) => void;

/** The warning for such a run: named, with why it is not this step's, and what to check. */
export function passedOverMessage(prefix: string, pipelineName: string, run: Parameters<PassedOver>[0]): string {
  return (
    `${prefix}run ${run.name ?? run.id} (id ${run.id}) of ${pipelineName}, queued since and untagged, is not this step's: ` +
    `${run.why}. Left alone: someone else queued it; check that it is meant to run during the window.`
  );
}

function refName(branch: string): string {
  return branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
}

/** A value as the service may echo it: trimmed, and JSON (lists, objects, numbers, booleans) compared by content. */
function normalized(value: unknown): string {
  const text = (typeof value === 'string' ? value : JSON.stringify(value ?? '')).trim();
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.toLowerCase() === 'true' || text.toLowerCase() === 'false' ? text.toLowerCase() : text;
  }
}
