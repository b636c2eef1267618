import { messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import type { DevOpsClient } from '../devops/client';
import { checkPipelineDefinition } from '../devops/pipeline-check';
import { PipelineRuns } from '../devops/runs';
import { loadPlan, NOT_RUN_STATUSES, PlanError, type Change, type Plan } from './plan';

/**
 * RunChanges' `check` action: loads the plan with its scripts (each must exist in the repository and be
 * executable, which the plan's own checks say) and checks every pipeline of the plan as RunPipeline's check
 * does (exists, enabled). It queues nothing and runs no script.
 */

/** The plan, or NO-GO findings naming each problem (a missing or non-executable script among them). */
export function checkPlanFile(planFile: string, scriptRoot: string): { plan?: Plan; findings: PreflightFinding[] } {
  try {
    const plan = loadPlan(planFile, { scriptRoot });
    return {
      plan,
      findings: [
        {
          check: 'plan',
          object: `plan ${planFile}`,
          verdict: 'GO',
          why: `valid: ${plan.changes.length} change(s), window ${plan.window.name} (${plan.window.date}).`,
          fix: '',
        },
      ],
    };
  } catch (error) {
    if (!(error instanceof PlanError))
      return {
        findings: [
          { check: 'plan', object: `plan ${planFile}`, verdict: 'NO-GO', why: messageOf(error), fix: 'Correct the plan file path.' },
        ],
      };
    return {
      findings: error.problems
        .filter((problem) => problem.severity === 'error')
        .map((problem) => ({
          check: /script\.path$/.test(problem.field) ? 'script' : 'plan',
          object: `plan ${problem.file}:${problem.line} ${problem.field}`,
          verdict: 'NO-GO' as const,
          why: problem.message,
          fix: /script\.path$/.test(problem.field)
            ? 'Commit the script at that path with its executable bit (git update-index --chmod=+x), or correct the path.'
            : 'Correct the plan (npm run plan:check shows every problem).',
        })),
    };
  }
}

export async function checkChanges(options: { planFile: string; scriptRoot: string; client: DevOpsClient }): Promise<PreflightFinding[]> {
  const { plan, findings } = checkPlanFile(options.planFile, options.scriptRoot);
  if (!plan) return findings;
  const runs = new PipelineRuns(options.client);
  const toRun = plan.changes.filter((change: Change) => !NOT_RUN_STATUSES.has(change.status));
  for (const change of toRun) {
    if (change.action.kind !== 'pipeline') continue;
    const { name, folder, branch } = change.action;
    findings.push(await checkPipelineDefinition(options.client, runs, { name, folder, branch, context: `(change ${change.id})` }));
  }
  const count = (kind: string) => toRun.filter((change) => change.action.kind === kind).length;
  const kinds = `${count('pipeline')} pipeline(s), ${count('script')} script(s), ${count('manual')} manual`;
  findings[0].wouldDo = `would run ${toRun.length} change(s): ${kinds}`;
  return findings;
}
