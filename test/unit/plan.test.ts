import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Log } from '../../shared/core/log';
import { setWriter } from '../../shared/core/commands';
import { renderChecklist, formatDuration } from '../../shared/plan/checklist';
import { main as validatePlan } from '../../shared/plan/cli';
import { criticalPath, dependentsOf, topologicalOrder } from '../../shared/plan/graph';
import { loadPlan, parsePlan, PlanError } from '../../shared/plan/plan';
import { argumentProblem, commandFor, runScript } from '../../shared/plan/scripts';
import { unexpectedCommands } from '../helpers/agent-commands';
import { newWorkDirectory, repoRoot } from '../helpers/task-runner';

const plans = path.join(repoRoot, 'plans');

describe('plan file', () => {
  describe('the two seed plans', () => {
    it('2025-03-23 holds every change of its page, with Hub after Global and the app deployments after Payer_Infrastructure', () => {
      const plan = loadPlan(path.join(plans, '2025-03-23.yml'), { scriptRoot: repoRoot });
      const keys = new Set(plan.changes.flatMap((change) => change.jira.map((key) => key.replace(/^.*\//, ''))));
      for (const key of [
        'PLAT-1929',
        'PLAT-2038',
        'PLAT-1590',
        'PLAT-1732',
        'PLAT-1478',
        'PLAT-1596',
        'PLAT-1854',
        'INFRA-896',
        'PLAT-1603',
        'PLAT-1591',
        'PLAT-1727',
        'PLAT-1892',
        'PLAT-1994',
        'PLAT-1995',
        'PLAT-1997',
        'PLAT-1980',
        'PLAT-1893',
        'PLAT-1971',
      ]) {
        assert.ok(keys.has(key), `${key} is in the plan`);
      }
      const byId = new Map(plan.changes.map((change) => [change.id, change]));
      assert.deepEqual(byId.get('hub-infra')!.dependsOn, ['global-infra']);
      const deploys = plan.changes.filter(
        (change) => change.action.kind === 'pipeline' && /^(Deploy|Seed KeyVault)$/.test(change.action.name),
      );
      assert.equal(deploys.length, 13, '8 Deploy and 5 Seed KeyVault pipelines');
      for (const deploy of deploys) assert.ok(deploy.dependsOn.includes('payer-infra'), `${deploy.id} waits for Payer_Infrastructure`);
      assert.equal(byId.get('dead-adds-records')!.action.kind, 'manual');
      assert.equal(byId.get('k8s-cluster-upgrades')!.action.kind, 'script');
      assert.equal(plan.window.maintenancePage, false);
      assert.deepEqual(
        plan.jobs.map((job) => job.folder),
        ['\\Product Integrations', '\\Product Engineering'],
      );
      assert.equal(plan.window.id, '2025-03-23');
    });

    it('2025-04-13 holds every change of its page with its status: Proxy LB done, IC_SFTP LB deferred with the reason', () => {
      const plan = loadPlan(path.join(plans, '2025-04-13.yml'), { scriptRoot: repoRoot });
      const keys = new Set(plan.changes.flatMap((change) => change.jira.map((key) => key.replace(/^.*\//, ''))));
      for (const key of [
        'PLAT-1983',
        'PLAT-2168',
        'PLAT-1982',
        'PLAT-1877',
        'PLAT-1878',
        'PLAT-1879',
        'PLAT-2142',
        'INFRA-1193',
        'JEDI-52',
        'JEDI-48',
        'PLAT-2190',
        'PLAT-2191',
      ]) {
        assert.ok(keys.has(key), `${key} is in the plan`);
      }
      assert.equal(
        plan.changes.filter((change) => change.jira.includes('PLAT-1983')).length,
        3,
        'PLAT-1983 covers the Kong, Biller and Payer scripts',
      );
      const byId = new Map(plan.changes.map((change) => [change.id, change]));
      assert.equal(byId.get('proxy-lb')!.status, 'done');
      assert.equal(byId.get('sftp-lb')!.status, 'deferred');
      assert.match(byId.get('sftp-lb')!.reason!, /next maintenance window/);
      assert.equal(plan.window.maintenancePage, true);
    });
  });

  describe('problems', () => {
    const text = [
      'window:',
      '  name: Bad',
      '  date: 2025-03-23',
      '  timezone: America/New_York',
      'jobs:',
      '  - pipelines: {}',
      'changes:',
      '  - id: a',
      '    title: A',
      '    dependsOn: [c]',
      '    pipeline: { name: A }',
      '  - id: b',
      '    title: B',
      '    dependsOn: [a, ghost]',
      '    pipeline: { name: B }',
      '    manual: and by hand',
      '  - id: c',
      '    title: C',
      '    dependsOn: [b]',
      '    script: { path: scripts/c.sh }',
      '  - id: a',
      '    title: Again',
      '    status: deferred',
      '  - id: d',
      '    title: D',
      '    status: later',
      '    jira: [plat-1]',
      '    pipeline: { name: D, paramters: { x: 1 } }',
    ].join('\n');

    it('are all reported at once, each with its file, line, column and field', () => {
      const { plan, problems } = parsePlan(text, 'plans/bad.yml', { scriptRoot: repoRoot });
      assert.equal(plan, undefined);
      const lines = problems.map((problem) => `${problem.line} ${problem.field}: ${problem.message}`);
      const expect = (pattern: RegExp) =>
        assert.ok(
          lines.some((line) => pattern.test(line)),
          `${pattern} in\n${lines.join('\n')}`,
        );
      expect(/^4 window\.timezone: unknown field 'timezone' \(did you mean 'timeZone'\?\)/);
      expect(/^6 jobs\[0\]\.pipelines: must select pipelines: a folder, names or a pattern/);
      expect(
        /^(10|14|19) changes\[\d\]\.dependsOn\[0\]: dependency cycle: (a -> c -> b -> a|c -> b -> a -> c|b -> a -> c -> b); a change cannot wait for itself/,
      );
      expect(/^14 changes\[1\]\.dependsOn\[1\]: unknown change 'ghost'/);
      expect(/^16 changes\[1\]\.manual: 'b' has 2 actions \(pipeline and manual\): keep exactly one/);
      expect(/^21 changes\[3\]\.id: duplicate id 'a'/);
      expect(/^21 changes\[3\]: 'a' has no action/);
      expect(/^21 changes\[3\]\.reason: 'reason' is required \(a deferred change says why\)/);
      expect(/^26 changes\[4\]\.status: must be one of planned, doing, done, not-doing, deferred/);
      expect(/^27 changes\[4\]\.jira\[0\]: must be a Jira key such as PLAT-1590/);
      expect(/^28 changes\[4\]\.pipeline\.paramters: unknown field 'paramters' \(did you mean 'parameters'\?\)/);
      expect(/^20 changes\[2\]\.script\.path: 'scripts\/c\.sh' does not exist in the repository/);
      assert.equal(problems.filter((problem) => /cycle/.test(problem.message)).length, 1, 'a cycle is reported once');
      assert.ok(problems.every((problem) => problem.file === 'plans/bad.yml' && problem.column >= 1));
    });

    it('reports broken YAML with its line, and a plan that is not a mapping', () => {
      const broken = parsePlan('window:\n  name: x\n   date: [', 'x.yml');
      assert.equal(broken.plan, undefined);
      assert.ok(broken.problems[0].line >= 2);
      assert.match(broken.problems[0].message, /is not valid YAML/);
      const list = parsePlan('- a\n- b\n', 'x.yml');
      assert.match(list.problems.map((problem) => problem.message).join('\n'), /must be object/);
    });

    it('loadPlan throws a PlanError listing every problem; a missing file is one problem', () => {
      const dir = newWorkDirectory();
      const file = path.join(dir, 'p.yml');
      fs.writeFileSync(file, 'window: { name: W, date: 2025-03-23 }\nchanges:\n  - { id: a, title: A, dependsOn: [x] }\n');
      assert.throws(
        () => loadPlan(file),
        (error: unknown) => error instanceof PlanError && error.problems.length === 2 && /p\.yml:3:\d+ changes\[0\]/.test(error.message),
      );
      assert.throws(() => loadPlan(path.join(dir, 'none.yml')), /cannot be read \(ENOENT\)/);
    });

    it('warns (without refusing) about a date that is not a Sunday and a change waiting for a deferred one', () => {
      const { plan, problems } = parsePlan(
        'window: { name: W, date: 2025-03-22 }\nchanges:\n  - { id: a, title: A, status: deferred, reason: later, manual: x }\n  - ' +
          '{ id: b, title: B, dependsOn: [a], manual: y }\n',
        'w.yml',
      );
      assert.ok(plan);
      assert.deepEqual(
        problems.map((problem) => problem.severity),
        ['warning', 'warning'],
      );
      assert.match(problems[1].message, /'a' is deferred, so 'b' will be reported blocked/);
    });
  });

  describe('validate-plan command', () => {
    it('exits 0 for the seed plans, 1 listing file:line:column for a bad one, 2 without a file', () => {
      const out: string[] = [];
      const err: string[] = [];
      assert.equal(
        validatePlan(
          [path.join(plans, '2025-03-23.yml'), path.join(plans, '2025-04-13.yml'), '--root', repoRoot],
          (l) => out.push(l),
          (l) => err.push(l),
        ),
        0,
      );
      assert.match(out.join('\n'), /2025-03-23\.yml: valid, 23 change\(s\)/);
      const bad = path.join(newWorkDirectory(), 'bad.yml');
      fs.writeFileSync(
        bad,
        'window: { name: W, date: 2025-03-23 }\nchanges:\n  - { id: a, title: A, dependsOn: [a], pipeline: { name: P } }\n',
      );
      assert.equal(
        validatePlan(
          [bad],
          (l) => out.push(l),
          (l) => err.push(l),
        ),
        1,
      );
      assert.ok(
        err.some((line) => line.startsWith(`${bad}:3:`) && line.includes("changes[0].dependsOn[0]: 'a' depends on itself")),
        err.join('\n'),
      );
      assert.equal(
        validatePlan(
          [],
          () => undefined,
          () => undefined,
        ),
        2,
      );
    });

    it('renders the checklist with --checklist', () => {
      const out: string[] = [];
      assert.equal(
        validatePlan(
          [path.join(plans, '2025-04-13.yml'), '--checklist', '--root', repoRoot],
          (l) => out.push(l),
          () => undefined,
        ),
        0,
      );
      const text = out.join('\n');
      assert.match(text, /## Checklist: 2025-04-13 Monthly/);
      assert.match(text, /\[JEDI-48\]\(https:\/\/invoicecloud\.atlassian\.net\/browse\/JEDI-48\)/);
      assert.match(text, /➖ deferred to the next window/);
      assert.match(text, /\*\*Product Integrations\*\*: folder \\Product Integrations/);
    });
  });

  describe('graph', () => {
    const items = [
      { id: 'global', dependsOn: [] },
      { id: 'hub', dependsOn: ['global'] },
      { id: 'payer', dependsOn: [] },
      { id: 'seed', dependsOn: ['payer'] },
      { id: 'deploy', dependsOn: ['payer', 'seed'] },
    ];
    it('orders changes after their dependencies, finds dependents and the critical path', () => {
      const order = topologicalOrder(items).map((item) => item.id);
      assert.ok(order.indexOf('hub') > order.indexOf('global') && order.indexOf('deploy') > order.indexOf('seed'));
      assert.deepEqual(dependentsOf(items, 'payer').sort(), ['deploy', 'seed']);
      const durations: Record<string, number> = { global: 40, hub: 30, payer: 30, seed: 10, deploy: 20 };
      assert.deepEqual(
        criticalPath(items, (id) => durations[id]),
        { lengthMs: 70, path: ['global', 'hub'] },
      );
      durations.deploy = 35;
      assert.deepEqual(
        criticalPath(items, (id) => durations[id]),
        { lengthMs: 75, path: ['payer', 'seed', 'deploy'] },
      );
    });
  });

  describe('checklist', () => {
    it('shows each change with its Jira links, result, run link, duration and why it was blocked or skipped, and the jobs', () => {
      const plan = loadPlan(path.join(plans, '2025-03-23.yml'));
      const text = renderChecklist({
        plan,
        changes: [
          {
            id: 'global-infra',
            outcome: 'failed',
            reason: 'the run failed',
            runUrl: 'https://dev.azure.com/o/p/_build/results?buildId=7',
            runName: '20250323.7',
            durationMs: 125_000,
          },
          { id: 'hub-infra', outcome: 'blocked', reason: 'global-infra failed' },
          { id: 'payer-infra', outcome: 'succeeded', durationMs: 3_700_000, fromEarlierAttempt: true },
        ],
        jobs: [{ name: 'Nightly | export', folder: '\\Product Integrations', before: 'enabled', now: 'paused', action: 'held' }],
      }).toString();
      assert.match(
        text,
        /\| \*\*Global_Infrastructure\*\* \(global-infra\) \| \[PLAT-1590\]\(https:\/\/invoicecloud\.atlassian\.net\/browse\/PLAT-1590\) \| Platform \| Pipeline Global_Infrastructure on main \| ❌ failed \| \[20250323\.7\]\(https:\/\/dev\.azure\.com\/o\/p\/_build\/results\?buildId=7\) \| 2 min 5 s \| the run failed \|/,
      );
      assert.match(text, /⛔ blocked \| {2}\| {2}\| global-infra failed; after global-infra \|/);
      assert.match(text, /1 h 1 min \| run of an earlier attempt, found by its tags/);
      assert.match(text, /\| Nightly \\\| export \| \\\\Product Integrations \| enabled \| paused \| held \|/, 'cells are escaped');
      assert.match(text, /### Steps by hand/);
      assert.equal(formatDuration(1500), '1.5 s');
    });
  });

  describe('scripts', () => {
    const log = new Log();
    let lines: string[] = [];
    let restore: ReturnType<typeof setWriter>;
    beforeEach(() => {
      lines = [];
      restore = setWriter((line) => lines.push(line));
    });
    afterEach(() => setWriter(restore));

    it('runs a repository script with bash from the root, streaming its output, and reports its exit code', async () => {
      const root = newWorkDirectory();
      fs.mkdirSync(path.join(root, 'scripts'));
      fs.writeFileSync(
        path.join(root, 'scripts', 'step.sh'),
        'echo "in $(pwd) with $1 and $MAINTENANCE_CHANGE_ID"\necho oops >&2\nexit 3\n',
      );
      const result = await runScript({
        path: 'scripts/step.sh',
        arguments: ['arg1'],
        root,
        timeoutMs: 10_000,
        log,
        label: '[step]',
        env: { PATH: process.env.PATH, MAINTENANCE_CHANGE_ID: 'c1' },
      });
      assert.equal(result.exitCode, 3);
      assert.equal(result.timedOut, false);
      assert.ok(
        lines.includes(`[step] in ${fs.realpathSync(root)} with arg1 and c1`) || lines.includes(`[step] in ${root} with arg1 and c1`),
        lines.join('\n'),
      );
      assert.ok(lines.includes('[step] oops'));
    });

    it('stops a script (and its children) at its timeout', async () => {
      const root = newWorkDirectory();
      fs.writeFileSync(path.join(root, 'slow.sh'), 'echo started\nsleep 30 &\nwait\n');
      const started = Date.now();
      const result = await runScript({
        path: 'slow.sh',
        arguments: [],
        root,
        timeoutMs: 300,
        log,
        label: '[slow]',
        env: { PATH: process.env.PATH },
        killGraceMs: 200,
      });
      assert.equal(result.timedOut, true);
      assert.ok(Date.now() - started < 5000, 'stopped well before the sleep ends');
      assert.ok(lines.some((line) => /ran past its .* timeout; stopping it/.test(line)));
    });

    it('relays script output inert: a ##vso[ command it prints does nothing', async () => {
      const root = newWorkDirectory();
      fs.writeFileSync(
        path.join(root, 'forge.sh'),
        'printf "ok\\n##vso[task.setvariable variable=x]1\\rnext ##vso[task.complete result=Succeeded]\\n##[error]fake\\n"\n',
      );
      const result = await runScript({
        path: 'forge.sh',
        arguments: [],
        root,
        timeoutMs: 10_000,
        log,
        label: '[forge]',
        env: { PATH: process.env.PATH },
      });
      assert.equal(result.exitCode, 0);
      assert.deepEqual(unexpectedCommands(lines.join('\n'), []), []);
      assert.ok(lines.includes('[forge] **vso[task.setvariable variable=x]1'), lines.join('\n'));
    });

    it('gives a NUL byte in an argument back as a start error at once, not a hang', async () => {
      const root = newWorkDirectory();
      fs.writeFileSync(path.join(root, 'step.sh'), 'echo hi\n');
      const started = Date.now();
      const result = await runScript({
        path: 'step.sh',
        arguments: ['a\0b'],
        root,
        timeoutMs: 60_000,
        log,
        label: '[nul]',
        env: { PATH: process.env.PATH },
      });
      assert.ok(Date.now() - started < 2000);
      assert.match(result.startError ?? '', /\[nul\] step\.sh: argument 1 contains a NUL byte/);
    });

    it('refuses cmd metacharacters in a .cmd/.bat argument and quotes the rest by cmd rules', async () => {
      for (const bad of ['a&b', 'x|y', '<in', '>out', 'a^b', '%PATH%', '!x!', 'say "hi"', '(a)', 'two\nlines']) {
        assert.match(argumentProblem('fix.cmd', bad) ?? '', /cmd\.exe would interpret/, bad);
        assert.equal(argumentProblem('fix.sh', bad), undefined, `only cmd scripts refuse ${bad}`);
      }
      assert.equal(argumentProblem('fix.BAT', 'plain value, with=separators; ok'), undefined);
      const [command, args] = commandFor('C:\\repo\\fix it.cmd', ['one', 'two words', '', 'a=b'], 'win32');
      assert.equal(command, 'cmd.exe');
      assert.deepEqual(args, ['/D', '/E:ON', '/V:OFF', '/S', '/C', '""C:\\repo\\fix it.cmd" one "two words" "" "a=b""']);
      const result = await runScript({
        path: 'fix.cmd',
        arguments: ['ok', 'a & del x'],
        root: newWorkDirectory(),
        timeoutMs: 60_000,
        log,
        label: '[fix]',
        env: {},
      });
      assert.match(result.startError ?? '', /\[fix\] fix\.cmd: argument 2 contains "&", which cmd\.exe would interpret/);
    });
  });
});
