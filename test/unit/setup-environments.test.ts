import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { repoRoot } from '../helpers/task-runner';

/** `npm run setup-environments` as a person runs it: a child process, the PAT in the environment. */
function setupEnvironments(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const tsx = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const child = spawn(process.execPath, [tsx, path.join(repoRoot, 'extension', 'setup-environments.ts'), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('npm run setup-environments (against the Azure DevOps emulator)', function () {
  this.timeout(60_000);
  const ado = new AzureDevOpsEmulator();
  before(() => ado.start());
  after(() => ado.stop());
  beforeEach(() => {
    ado.reset();
    ado.addIdentity('Release Managers');
    ado.addIdentity('Platform Approvers');
    ado.addIdentity('Platform Approvers (old)');
  });

  const args = () => [
    '--org',
    ado.collectionUrl,
    '--project',
    ado.project,
    '--release-manager',
    'Release Managers',
    '--platform-approver',
    'Platform Approvers',
  ];

  it(
    'creates both environments, their approval checks (the requester cannot approve) and exclusive lock checks, then changes nothing ' +
      'on a second run',
    async () => {
      const first = await setupEnvironments(args(), { AZURE_DEVOPS_PAT: ado.token });
      assert.equal(first.code, 0, first.output);
      assert.ok(!first.output.includes(ado.token), 'the PAT is never printed');
      assert.deepEqual([...ado.environments.values()].map((environment) => environment.name).sort(), [
        'maintenance-platform-approver',
        'maintenance-release-manager',
      ]);
      assert.equal(ado.checks.size, 4);
      const releaseManager = [...ado.environments.values()].find((environment) => environment.name === 'maintenance-release-manager')!;
      const check = [...ado.checks.values()].find(
        (candidate) => candidate.resource.id === String(releaseManager.id) && candidate.type.name === 'Approval',
      )!;
      for (const environment of ado.environments.values()) {
        const locks = [...ado.checks.values()].filter(
          (candidate) => candidate.resource.id === String(environment.id) && candidate.type.name === 'ExclusiveLock',
        );
        assert.equal(locks.length, 1, `${environment.name} has one exclusive lock check`);
        assert.equal(locks[0].type.id, '2ef31ad6-baa0-403a-8b45-2cbc9b4e5563');
        assert.equal(locks[0].timeout, 720);
      }
      assert.equal(check.type.name, 'Approval');
      assert.equal(check.timeout, 720);
      const settings = check.settings as {
        approvers: Array<{ displayName: string }>;
        minRequiredApprovers: number;
        requesterCannotBeApprover: boolean;
        instructions: string;
      };
      assert.deepEqual(
        settings.approvers.map((approver) => approver.displayName),
        ['Release Managers'],
      );
      assert.equal(settings.minRequiredApprovers, 1);
      assert.equal(settings.requesterCannotBeApprover, true);
      assert.match(settings.instructions, /Release Manager: approving starts the maintenance window/);
      assert.match(
        first.output,
        /maintenance-release-manager: environment created .* approval check created .* exclusive lock check created/,
      );

      const writesBefore = ado.writes().length;
      const second = await setupEnvironments(args(), { AZURE_DEVOPS_PAT: ado.token });
      assert.equal(second.code, 0, second.output);
      assert.equal(ado.writes().length, writesBefore, 'a second run writes nothing');
      assert.match(second.output, /nothing changed/);
      assert.equal(
        [...ado.checks.values()].every((candidate) => candidate.version === 1),
        true,
      );
    },
  );

  it('puts a check that was changed by hand back in line, and only that one', async () => {
    assert.equal((await setupEnvironments(args(), { AZURE_DEVOPS_PAT: ado.token })).code, 0);
    const check = [...ado.checks.values()][0];
    (check.settings as { minRequiredApprovers: number }).minRequiredApprovers = 3;
    const run = await setupEnvironments(args(), { AZURE_DEVOPS_EXT_PAT: ado.token });
    assert.equal(run.code, 0, run.output);
    assert.equal((check.settings as { minRequiredApprovers: number }).minRequiredApprovers, 1);
    assert.equal(check.version, 2);
    assert.equal([...ado.checks.values()].filter((candidate) => candidate.version === 1).length, 3, 'the other checks were left alone');
    assert.match(run.output, /Done: 1 environment\(s\) changed/);
  });

  it('adds an exclusive lock check someone deleted, and leaves the rest alone', async () => {
    assert.equal((await setupEnvironments(args(), { AZURE_DEVOPS_PAT: ado.token })).code, 0);
    const lock = [...ado.checks.values()].find((candidate) => candidate.type.name === 'ExclusiveLock')!;
    ado.checks.delete(lock.id);
    const writesBefore = ado.writes().length;
    const run = await setupEnvironments(args(), { AZURE_DEVOPS_PAT: ado.token });
    assert.equal(run.code, 0, run.output);
    assert.equal(ado.writes().length, writesBefore + 1, 'one write: the lock');
    const again = [...ado.checks.values()].filter(
      (candidate) => candidate.resource.id === lock.resource.id && candidate.type.name === 'ExclusiveLock',
    );
    assert.equal(again.length, 1);
    assert.match(run.output, /exclusive lock check created/);
  });

  it('refuses an unknown or ambiguous approver, a missing PAT or option, before changing anything', async () => {
    const unknown = await setupEnvironments(
      ['--org', ado.collectionUrl, '--project', ado.project, '--release-manager', 'Nobody', '--platform-approver', 'Platform Approvers'],
      { AZURE_DEVOPS_PAT: ado.token },
    );
    assert.equal(unknown.code, 1);
    assert.match(unknown.output, /no user or group named 'Nobody' \(approver of maintenance-release-manager\)/);
    const ambiguous = await setupEnvironments(
      ['--org', ado.collectionUrl, '--project', ado.project, '--release-manager', 'Release Managers', '--platform-approver', 'Platform'],
      { AZURE_DEVOPS_PAT: ado.token },
    );
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.output, /'Platform' \(approver of maintenance-platform-approver\) matches 2 identities/);
    const noToken = await setupEnvironments(args(), {});
    assert.equal(noToken.code, 2);
    assert.match(noToken.output, /Set AZURE_DEVOPS_PAT/);
    const noOption = await setupEnvironments(['--org', ado.collectionUrl, '--project', ado.project], { AZURE_DEVOPS_PAT: ado.token });
    assert.equal(noOption.code, 2);
    assert.match(noOption.output, /--release-manager is required/);
    assert.equal(ado.writes().length, 0);
    const wrongToken = await setupEnvironments(args(), { AZURE_DEVOPS_PAT: 'not-the-token-1234' });
    assert.equal(wrongToken.code, 1);
    assert.doesNotMatch(wrongToken.output, /not-the-token-1234/);
  });
});
