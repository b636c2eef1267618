import { messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import { mutingCondition, type NewRelicClient, type NewRelicSelection } from './newrelic';

/**
 * AlertMute's `check` action for New Relic: lists the account's muting rules (a read query, which proves the
 * key and that the account is visible), checks the selection builds a condition, and flags an enabled rule an
 * earlier window left behind. It creates no rule.
 */

export interface NewRelicCheckOptions {
  client: NewRelicClient;
  accountId: number;
  ruleName: string;
  selection: NewRelicSelection;
  windowId: string;
  endsAtText: string;
}

const EARLIER_MARK = /\[maintenance window ([^\]]+)\]/;

export async function checkNewRelic(options: NewRelicCheckOptions): Promise<PreflightFinding[]> {
  const object = `New Relic account ${options.accountId}`;
  const condition = mutingCondition(options.selection);
  let rules;
  try {
    rules = await options.client.listRules();
  } catch (error) {
    return [
      {
        check: 'newrelic-key',
        object,
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: 'Put a User key (NRAK-…) of a user who may manage muting rules on this account in the service connection.',
      },
    ];
  }
  const findings: PreflightFinding[] = [
    {
      check: 'newrelic-account',
      object,
      verdict: 'GO',
      why: `readable; ${rules.length} muting rule(s) there.`,
      fix: '',
      wouldDo: `would create muting rule '${options.ruleName}' (${condition.conditions.length} condition(s)) until ${options.endsAtText}`,
    },
  ];
  for (const rule of rules) {
    const mark = EARLIER_MARK.exec(rule.description)?.[1];
    if (!mark || mark === options.windowId || !rule.enabled || rule.status === 'ENDED' || rule.status === 'INACTIVE') continue;
    findings.push({
      check: 'newrelic-leftover',
      object: `New Relic muting rule ${rule.id} '${rule.name}'`,
      verdict: 'WARN',
      why: `an enabled muting rule of window ${mark} is still there.`,
      fix: `Run AlertMute with action unmute for window ${mark}, or delete the rule in New Relic.`,
    });
  }
  return findings;
}
