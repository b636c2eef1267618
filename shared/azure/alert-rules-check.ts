import { messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import { actionRulePlan, AlertProcessingRules, type AzureMonitorSelection } from './alert-processing-rules';
import type { AzureConnection } from './credentials';
import { checkSignIn } from './permissions-check';

/**
 * AlertMute's `check` action for Azure Monitor: signs in, builds the rule from the inputs and reads it (the
 * read proves the identity may see alert processing rules in the group). An existing rule of that name from
 * another window is flagged; nothing is created.
 */
export async function checkAzureMonitor(options: {
  connection: AzureConnection;
  selection: AzureMonitorSelection;
  windowId: string;
  endsAtText: string;
}): Promise<PreflightFinding[]> {
  const signIn = await checkSignIn(options.connection);
  if (signIn.verdict === 'NO-GO') return [signIn];
  const plan = actionRulePlan(options.connection.subscriptionId, options.selection);
  const object = `alert processing rule ${options.selection.ruleName} (resource group ${options.selection.resourceGroup})`;
  try {
    const existing = await new AlertProcessingRules(options.connection).get(plan.ruleId);
    const other =
      existing && !String((existing.properties as { description?: string } | undefined)?.description ?? '').includes(options.windowId);
    return [
      signIn,
      {
        check: 'azure-monitor',
        object,
        verdict: other ? 'WARN' : 'GO',
        why: other ? "a rule of this name exists and is not this window's." : 'readable.',
        fix: other ? 'Check whose rule it is; unmute the earlier window, or give this window another rule name.' : '',
        wouldDo: `would suppress notifications on ${plan.scopes.length} scope(s) until ${options.endsAtText}`,
      },
    ];
  } catch (error) {
    return [
      signIn,
      {
        check: 'azure-monitor',
        object,
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: 'Give the identity Monitoring Contributor (or the alert processing rule actions) on the resource group.',
      },
    ];
  }
}
