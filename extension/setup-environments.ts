import { realClock } from '../shared/core/clock';
import { parseCommand, setWriter } from '../shared/core/commands';
import { messageOf } from '../shared/core/errors';
import { Log } from '../shared/core/log';
import { resolveConnection } from '../shared/devops/client';
import { EnvironmentSetup, windowEnvironments } from '../shared/devops/environments';

/**
 * npm run setup-environments -- --org https://dev.azure.com/<org> --project <project>
 *   --release-manager <user or group> --platform-approver <user or group>
 *   [--min-approvers 1] [--timeout-minutes 720]
 *
 * Creates the two environments the window pipeline deploys to (maintenance-release-manager for Starting
 * Maintenance, maintenance-platform-approver for Changes), their Approval checks (approvers, minimum
 * approvers, instructions, the requester cannot approve their own run, a timeout) and an Exclusive Lock check on
 * each, so two runs never overlap in those stages. Run it again at any time: it changes only
 * what differs. The personal access token comes from AZURE_DEVOPS_PAT (or AZURE_DEVOPS_EXT_PAT, as the az CLI
 * uses); it needs Environment (Read & manage) and Identity (Read). Several approvers: repeat the option.
 */

export const PAT_VARIABLES = ['AZURE_DEVOPS_PAT', 'AZURE_DEVOPS_EXT_PAT'];

interface Arguments {
  org: string;
  project: string;
  releaseManager: string[];
  platformApprover: string[];
  minApprovers: number;
  timeoutMinutes: number;
}

const USAGE =
  'usage: npm run setup-environments -- --org https://dev.azure.com/<org> --project <project> --release-manager <user or group> ' +
  '--platform-approver <user or group> [--min-approvers N] [--timeout-minutes N]\n' +
  `The personal access token is read from ${PAT_VARIABLES.join(' or ')}.`;

export function parseArguments(argv: string[]): Arguments {
  const values: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected '${arg}'\n${USAGE}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${arg} needs a value\n${USAGE}`);
    (values[arg.slice(2)] ??= []).push(value);
    i++;
  }
  const known = ['org', 'project', 'release-manager', 'platform-approver', 'min-approvers', 'timeout-minutes'];
  const unknown = Object.keys(values).filter((key) => !known.includes(key));
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.map((key) => `--${key}`).join(', ')}\n${USAGE}`);
  const one = (key: string) => {
    const given = values[key];
    if (!given?.length) throw new Error(`--${key} is required\n${USAGE}`);
    return given[given.length - 1];
  };
  const number = (key: string, fallback: number, min: number, max: number) => {
    if (!values[key]) return fallback;
    const parsed = Number(one(key));
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`--${key} must be a whole number from ${min} to ${max}`);
    return parsed;
  };
  const org = one('org');
  if (!/^https?:\/\/\S+$/i.test(org))
    throw new Error(`--org must be the organization URL, e.g. https://dev.azure.com/contoso (got '${org}')`);
  return {
    org,
    project: one('project'),
    releaseManager: values['release-manager'] ?? [one('release-manager')],
    platformApprover: values['platform-approver'] ?? [one('platform-approver')],
    minApprovers: number('min-approvers', 1, 1, 10),
    timeoutMinutes: number('timeout-minutes', 720, 1, 43200),
  };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, log = new Log()): Promise<number> {
  let args: Arguments;
  try {
    args = parseArguments(argv);
  } catch (error) {
    console.error(messageOf(error));
    return 2;
  }
  const token = PAT_VARIABLES.map((name) => env[name]).find((value) => value && value.trim());
  if (!token) {
    console.error(`Set ${PAT_VARIABLES[0]} to a personal access token with Environment (Read & manage) and Identity (Read).\n${USAGE}`);
    return 2;
  }
  log.addSecret(token);
  try {
    const connection = resolveConnection({
      inputName: 'org',
      endpoint: { id: 'command line', url: args.org, scheme: 'Token', parameters: { apitoken: token }, data: () => undefined },
      project: args.project,
    });
    const setup = new EnvironmentSetup({ connection, log, clock: realClock() });
    const environments = windowEnvironments({
      releaseManager: args.releaseManager,
      platformApprover: args.platformApprover,
      minRequiredApprovers: args.minApprovers,
      timeoutMinutes: args.timeoutMinutes,
    });
    const outcomes = await setup.apply(environments);
    const changed = outcomes.filter(
      (outcome) => outcome.environmentAction === 'created' || outcome.checkAction !== 'unchanged' || outcome.lockAction !== 'unchanged',
    );
    for (const outcome of outcomes) {
      log.info(
        `${outcome.environment}: environment ${outcome.environmentAction} (id ${outcome.environmentId}); approval check ` +
          `${outcome.checkAction} (id ${outcome.checkId}); exclusive lock check ${outcome.lockAction} (id ${outcome.lockCheckId}); ` +
          `approvers ${outcome.approvers.map((approver) => approver.displayName).join(', ')}`,
      );
    }
    log.info(
      changed.length ? `Done: ${changed.length} environment(s) changed.` : 'Done: everything was already as wanted; nothing changed.',
    );
    return 0;
  } catch (error) {
    console.error(log.mask(`setup-environments failed: ${messageOf(error)}`));
    return 1;
  }
}

/** On a terminal, the agent's logging commands read as plain lines (and the secret registration not at all). */
function plainConsole(): void {
  setWriter((line) => {
    if (line.startsWith('##vso[task.setsecret]')) return;
    const command = parseCommand(line);
    if (command?.command === 'task.logissue') console.log(`${command.properties.type}: ${command.message}`);
    else if (command) return;
    else console.log(line.replace(/^##\[(section|group|endgroup)\]/, ''));
  });
}

if (require.main === module) {
  plainConsole();
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
