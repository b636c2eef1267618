import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { PreflightFinding } from '../core/preflight';
import type { DevOpsConnection } from './client';
import { APPROVAL_CHECK_TYPE, EnvironmentSetup, EXCLUSIVE_LOCK_CHECK_TYPE, type CheckConfiguration } from './environments';

/**
 * The preflight's look at the two approval environments: each exists, with an Approval check that has at least
 * one approver and an Exclusive Lock check. Read only (Get Environments, List Check Configurations); a missing
 * environment is NO-GO, since Azure DevOps would create it on the fly, without any check, when the night
 * deploys to it.
 */

const FIX = 'npm run setup-environments (puts back the environment and its approval and lock checks)';

const isType = (check: CheckConfiguration, type: { id: string; name: string }) =>
  check.type?.id?.toLowerCase() === type.id || check.type?.name === type.name;

export async function checkApprovalEnvironments(options: {
  connection: DevOpsConnection;
  log: Log;
  clock: WindowClock;
  names: string[];
}): Promise<PreflightFinding[]> {
  const setup = new EnvironmentSetup({ connection: options.connection, log: options.log, clock: options.clock });
  const findings: PreflightFinding[] = [];
  for (const name of options.names) {
    const object = `environment ${name}`;
    const found = await setup.inspect(name);
    if (found.id === undefined) {
      findings.push({
        check: 'approval-environment',
        object,
        verdict: 'NO-GO',
        why:
          `there is no environment '${name}' in project ${options.connection.project}: ` +
          "the night's approval would be created on the fly, without any check",
        fix: FIX,
      });
      continue;
    }
    const approvals = found.checks.filter((check) => isType(check, APPROVAL_CHECK_TYPE));
    const approvers = approvals.flatMap((check) => check.settings?.approvers ?? []);
    findings.push(
      approvals.length && approvers.length
        ? {
            check: 'approval-check',
            object,
            verdict: 'GO',
            why: `approval by ${approvers.map((approver) => approver.displayName ?? approver.id).join(', ')}`,
            fix: '',
          }
        : {
            check: 'approval-check',
            object,
            verdict: 'NO-GO',
            why: approvals.length
              ? 'its approval check names no approver'
              : 'it has no approval check: the stage would run without anyone approving it',
            fix: FIX,
          },
    );
    findings.push(
      found.checks.some((check) => isType(check, EXCLUSIVE_LOCK_CHECK_TYPE))
        ? { check: 'exclusive-lock', object, verdict: 'GO', why: 'Exclusive Lock check in place', fix: '' }
        : {
            check: 'exclusive-lock',
            object,
            verdict: 'NO-GO',
            why: 'it has no Exclusive Lock check: two runs could hold its stage at once',
            fix: FIX,
          },
    );
  }
  return findings;
}
