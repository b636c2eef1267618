import { messageOf } from '../core/errors';
import type { Log } from '../core/log';
import type { PreflightFinding } from '../core/preflight';
import { pausedTag, type CheckSelection, type PingdomCheck, type PingdomClient } from './pingdom';

/**
 * PingdomPause's `check` action: lists the account's checks (which proves the token) and finds each id, name
 * and tag the pause selects, without pausing anything or opening a maintenance window. A check still
 * carrying the paused tag of another window is a leftover of a night whose resume did not run.
 */

export interface PingdomCheckOptions {
  client: PingdomClient;
  selection: CheckSelection;
  windowId: string;
  log: Log;
  /** How the silence would end, e.g. `Sun 12:15 ET`. */
  endsAtText?: string;
}

function missing(object: string, why: string, fix: string): PreflightFinding {
  return { check: 'pingdom-check', object, verdict: 'NO-GO', why, fix };
}

function findSelected(all: PingdomCheck[], selection: CheckSelection): { chosen: Map<number, PingdomCheck>; findings: PreflightFinding[] } {
  const chosen = new Map<number, PingdomCheck>();
  const findings: PreflightFinding[] = [];
  for (const id of selection.checkIds) {
    const check = all.find((candidate) => String(candidate.id) === id);
    if (check) chosen.set(check.id, check);
    else
      findings.push(
        missing(
          `Pingdom check ${id}`,
          'no check with this id on the account (or the token cannot see it).',
          'Correct checkIds of the pause step (the check was deleted or recreated under a new id?).',
        ),
      );
  }
  for (const name of selection.checkNames) {
    const matches = all.filter((check) => check.name.toLowerCase() === name.toLowerCase());
    if (!matches.length)
      findings.push(
        missing(
          `Pingdom check '${name}'`,
          'no check has this name (renamed or deleted?).',
          "Correct checkNames of the pause step to the check's current name.",
        ),
      );
    for (const check of matches) chosen.set(check.id, check);
  }
  for (const tag of selection.checkTags) {
    const matches = all.filter((check) => check.tags.some((t) => t.toLowerCase() === tag.toLowerCase()));
    if (!matches.length)
      findings.push({
        check: 'pingdom-check',
        object: `Pingdom tag '${tag}'`,
        verdict: 'WARN',
        why: 'no check has this tag.',
        fix: 'Tag the checks, or drop the tag from the step.',
      });
    for (const check of matches) chosen.set(check.id, check);
  }
  return { chosen, findings };
}

export async function checkPingdom(options: PingdomCheckOptions): Promise<PreflightFinding[]> {
  let all: PingdomCheck[];
  try {
    all = await options.client.listChecks();
  } catch (error) {
    return [
      {
        check: 'pingdom-token',
        object: 'Pingdom service connection',
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: 'Put a valid Pingdom API token (read-write) in the service connection.',
      },
    ];
  }
  const { chosen, findings } = findSelected(all, options.selection);
  const own = pausedTag(options.windowId).toLowerCase();
  const leftovers = all.filter((check) =>
    check.tags.some((tag) => tag.toLowerCase().startsWith(pausedTag('').toLowerCase()) && tag.toLowerCase() !== own),
  );
  for (const check of leftovers) {
    findings.push({
      check: 'pingdom-leftover',
      object: `Pingdom check ${check.id} '${check.name}'`,
      verdict: 'NO-GO',
      why: `carries the paused tag of an earlier window (${check.tags.join(', ')}): its resume did not run.`,
      fix: 'Run PingdomPause with action resume for that window (the tag names it), or unpause the check and remove the tag by hand.',
    });
  }
  if (chosen.size === 0 && !findings.some((finding) => finding.verdict === 'NO-GO')) {
    findings.push(missing('Pingdom check selection', 'checkIds, checkNames and checkTags select no check.', 'List the checks to silence.'));
  }
  if (chosen.size) {
    const names = [...chosen.values()].map((check) => check.name);
    findings.unshift({
      check: 'pingdom-check',
      object: `Pingdom checks ${names.join(', ')}`,
      verdict: 'GO',
      why: `${chosen.size} check(s) found.`,
      fix: '',
      wouldDo: `would silence ${chosen.size} check(s)${options.endsAtText ? ` until ${options.endsAtText}` : ''}`,
    });
  }
  return findings;
}
