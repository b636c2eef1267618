import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentLines, neutralise } from '../core/commands';
import { renderChecklist } from './checklist';
import { formatProblem, parsePlan, PlanError } from './plan';
import { boundMessage, MAX_LISTED_PROBLEMS, readPlanText } from './plan-input';

/**
 * `npm run validate-plan -- <file> [more files] [--root <repo>] [--checklist]`
 * Exit 0 when every plan is valid (warnings are printed but allowed), 1 when any is not, 2 on bad usage.
 * Each problem is one line `file:line:column field: message`, the form editors and CI annotate.
 */

const USAGE = 'usage: npm run validate-plan -- <plan.yml> [more plans] [--root <repository root>] [--checklist]';

export function main(
  argv: string[],
  write: (line: string) => void = console.log,
  writeError: (line: string) => void = console.error,
): number {
  // CI runs this in a pipeline step, where the agent would act on a `##vso[` that plan text brought in.
  const out = inert(write);
  const err = inert(writeError);
  const files: string[] = [];
  let root: string | undefined;
  let checklist = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--root') root = argv[++index];
    else if (arg === '--checklist') checklist = true;
    else if (arg === '--help' || arg === '-h') {
      out(USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      err(`unknown option ${arg}\n${USAGE}`);
      return 2;
    } else files.push(arg);
  }
  if (files.length === 0) {
    err(USAGE);
    return 2;
  }
  let failed = false;
  for (const file of files) {
    const scriptRoot = path.resolve(root ?? repositoryRootOf(file));
    try {
      const read = readPlanText(file);
      if ('problem' in read) {
        failed = true;
        err(`${boundMessage(file, 200)}: ${read.problem}`);
        continue;
      }
      const { plan, problems } = parsePlan(read.text, file, { scriptRoot });
      for (const problem of problems.slice(0, MAX_LISTED_PROBLEMS))
        (problem.severity === 'error' ? err : out)(`${formatProblem(problem)}${problem.severity === 'warning' ? ' (warning)' : ''}`);
      if (problems.length > MAX_LISTED_PROBLEMS) err(`… and ${problems.length - MAX_LISTED_PROBLEMS} more problem(s).`);
      if (!plan) {
        failed = true;
        err(`${file}: invalid, ${problems.filter((p) => p.severity === 'error').length} problem(s).`);
        continue;
      }
      out(`${file}: valid, ${plan.changes.length} change(s), ${plan.jobs.length} job selection(s).`);
      if (checklist) out(renderChecklist({ plan }).toString());
    } catch (error) {
      failed = true;
      err(error instanceof PlanError ? error.message : boundMessage(`${file}: ${(error as Error).message}`));
    }
  }
  return failed ? 1 : 0;
}

/** Prints each line the agent will see with any logging command in it made inert. */
function inert(print: (line: string) => void): (text: string) => void {
  return (text) => {
    for (const line of agentLines(text)) print(neutralise(line));
  };
}

/** Scripts are relative to the repository root: the nearest folder above the plan that has `.git`, else the cwd. */
function repositoryRootOf(file: string): string {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
