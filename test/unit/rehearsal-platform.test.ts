import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateText, truthy, type EvaluationContext } from '../e2e/expressions';
import { expandPipeline } from '../e2e/pipeline-expander';
import { refusals } from '../e2e/platform-rules';
import { Rehearsal, type RehearsalOptions } from '../e2e/rehearsal';
import { repoRoot } from '../helpers/task-runner';

/**
 * The platform's rules the rehearsal plays, checked without emulators: expression casting as the expressions
 * documentation's table says, status functions over direct and indirect dependencies, what Azure DevOps
 * refuses before a run, and cancels, timeouts and approvals on agentless jobs (no task process needed).
 */

function pipelineFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-platform-'));
  const file = path.join(dir, 'pipeline.yml');
  fs.writeFileSync(file, text);
  return file;
}

function rehearsal(text: string, options: Partial<RehearsalOptions> = {}): Rehearsal {
  return new Rehearsal({
    pipeline: expandPipeline(pipelineFile(text)),
    clockStart: new Date('2025-04-12T23:01:00Z'),
    connections: {},
    variables: {},
    runDirectory: fs.mkdtempSync(path.join(os.tmpdir(), 'mw-platform-run-')),
    ...options,
  });
}

describe('rehearsal platform rules', () => {
  describe("expression casting (the expressions documentation's type-casting table)", () => {
    const check = (source: string, status?: EvaluationContext['status']) =>
      evaluateText(source, { names: { variables: { empty: '', word: 'false', ten: '10' } }, status });

    it('to boolean: a non-empty string is true (even "false"), an empty one and 0 are false', () => {
      assert.equal(truthy('false'), true);
      assert.equal(truthy('0'), true);
      assert.equal(truthy(''), false);
      assert.equal(truthy(0), false);
      assert.equal(truthy(null), false);
      assert.equal(check("and(variables.word, 'x')"), true);
      assert.equal(check('not(variables.empty)'), true);
      assert.equal(check("eq(true, 'yes')"), true, "the right side is cast to the left side's type: a non-empty string is true");
      assert.equal(check("eq(false, '')"), true);
    });

    it("to number: '' is 0, a number-like string is its number, anything else is no number (every comparison false)", () => {
      assert.equal(check("eq(0, '')"), true);
      assert.equal(check('eq(10, variables.ten)'), true);
      assert.equal(check("lt(2, '10')"), true, 'numbers compare as numbers');
      assert.equal(check("lt('2', '10')"), false, 'strings compare as strings');
      assert.equal(check("lt('B', 'a')"), false, 'ordinal, ignoring case');
      assert.equal(check("gt('_', 'a')"), true, "ordinal on upper case (OrdinalIgnoreCase): '_' (0x5F) is after 'A' (0x41)");
      assert.equal(check("eq(5, 'abc')"), false);
      assert.equal(check("ne(5, 'abc')"), true);
      assert.equal(check("gt(5, 'abc')"), false);
      assert.equal(check("le(5, 'abc')"), false);
      assert.equal(check('eq(1, true)'), true);
    });

    it('versions compare part by part, and a string on the right is read as a version', () => {
      assert.equal(check('gt(1.10.0, 1.9.0)'), true);
      assert.equal(check("gt(1.10.0, '1.9.0')"), true);
      assert.equal(check("eq(1.2.3, '1.2.3')"), true);
      assert.equal(check('lt(1.2.3, 1.2.10)'), true);
      assert.equal(check("eq(1.2.3, 'not a version')"), false);
      assert.equal(check("format('{0}', 1.2.3)"), '1.2.3');
    });

    it('succeeded()/failed() look at every direct and indirect dependency; with names, at the named ones only', () => {
      const status = { results: ['Succeeded', 'Failed'], byName: { B: 'Succeeded' } };
      assert.equal(check('succeeded()', status), false, 'an indirect dependency failed');
      assert.equal(check('failed()', status), true);
      assert.equal(check("succeeded('B')", status), true);
      assert.equal(check("failed('b')", status), false, 'dependency names are case-insensitive');
      assert.throws(() => check("succeeded('Z')", status), /'Z' is not a dependency here/);
      assert.equal(check('succeeded()', { ...status, results: ['Succeeded'], canceled: true }), false, 'a cancelled run fails succeeded()');
      assert.equal(check('canceled()', { results: [], canceled: true }), true);
      assert.equal(check('succeededOrFailed()', { results: ['Failed'], canceled: true }), false);
    });
  });

  describe('what Azure DevOps refuses before a run, refused with file and place', () => {
    const refused = (text: string) => refusals(expandPipeline(pipelineFile(text)));

    it('the window pipeline itself is runnable', () => {
      assert.deepEqual(refusals(expandPipeline(path.join(repoRoot, 'pipelines', 'monthly-maintenance.yml'))), []);
    });

    it('a server-only task in an agent job, and an agent task in a server job', () => {
      const found = refused(`
stages:
  - stage: A
    jobs:
      - job: agent
        steps:
          - task: Delay@1
            inputs: { delayForMinutes: '1' }
      - job: agentless
        pool: server
        steps:
          - task: AppGatewayDrain@1
            inputs: { action: drain }
          - script: echo hi
`);
      assert.equal(found.length, 3, found.join('\n'));
      assert.match(
        found[0],
        /pipeline\.yml:5: stage A › job agent › step Delay@1 \(Delay@1\): Delay@1 can only be used in an agentless job \(pool: server\)/,
      );
      assert.match(
        found[1],
        /pipeline\.yml:9: stage A › job agentless › step AppGatewayDrain@1 \(AppGatewayDrain@1\): needs an agent, but the job is agentless/,
      );
      assert.match(found[2], /script: echo hi: needs an agent/);
    });

    it('stage, job and step names that are not letters, digits and underscores, or start with a digit', () => {
      const found = refused(`
stages:
  - stage: 1st
    jobs:
      - job: my-job
        steps:
          - task: Notify@1
            name: say-hello
  - stage: Web_Batch2
    jobs:
      - job: _ok
        steps:
          - task: Notify@1
            name: fine_1
`);
      assert.equal(found.length, 3, found.join('\n'));
      assert.match(found[0], /pipeline\.yml:3: stage name '1st' is invalid/);
      assert.match(found[1], /pipeline\.yml:5: stage 1st › job my-job: job name 'my-job' is invalid/);
      assert.match(
        found[2],
        /pipeline\.yml:8: .*step name 'say-hello' is invalid: valid names contain only letters, digits and '_' and do not start with a digit/,
      );
    });

    it('two artifacts of the same name in one run (macros of the stage and job resolved)', () => {
      const found = refused(`
stages:
  - stage: A
    jobs:
      - job: one
        steps:
          - publish: out
            artifact: window-$(System.StageName)-$(System.JobName)
          - publish: logs
            artifact: logs
      - job: two
        steps:
          - publish: out
            artifact: window-$(System.StageName)-$(System.JobName)
          - task: PublishPipelineArtifact@1
            inputs: { targetPath: logs, artifact: LOGS }
`);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(
        found[0],
        /stage A › job two › step PublishPipelineArtifact@1 .*artifact 'LOGS' is also published by stage A › job one › step publish: logs: artifact names must be unique in a run/,
      );
    });

    it('the rehearsal refuses such a pipeline before running anything', async () => {
      const run = rehearsal(`
stages:
  - stage: A
    jobs:
      - job: agent
        steps:
          - task: ManualValidation@1
`);
      await assert.rejects(
        run.run(),
        /Azure DevOps would refuse .*pipeline\.yml:\n {2}.*ManualValidation@1 can only be used in an agentless job/,
      );
    });
  });

  describe('cancels, timeouts and approvals on agentless jobs', () => {
    const WAITS = `
stages:
  - stage: A
    jobs:
      - job: wait
        pool: server
        timeoutInMinutes: 10
        steps:
          - task: Delay@1
            inputs: { delayForMinutes: '30' }
  - stage: B
    condition: always()
    jobs:
      - job: wait
        pool: server
        steps:
          - task: Delay@1
            inputs: { delayForMinutes: '1' }
  - stage: C
    jobs:
      - job: wait
        pool: server
        steps:
          - task: Delay@1
            inputs: { delayForMinutes: '1' }
`;

    it("a job's timeout cancels it; a stage with default condition after an indirectly cancelled one is skipped", async () => {
      const result = await rehearsal(WAITS).run();
      const stages = Object.fromEntries(result.stages.map((stage) => [stage.name, stage.result]));
      assert.deepEqual(stages, { A: 'Canceled', B: 'Succeeded', C: 'Skipped' }, 'C depends on B only, but on A through B');
      const timedOut = result.timeline.find((entry) => entry.stage === 'A' && entry.what === 'job')!;
      assert.match(timedOut.did, /timed out: The job ran longer than the maximum time of 10 minutes/);
      assert.equal(result.result, 'Canceled');
      assert.equal(
        Math.round((result.clockEnd.getTime() - Date.parse('2025-04-12T23:01:00Z')) / 60_000),
        11,
        'A stops at its 10 minutes, B waits 1',
      );
    });

    it('--cancel-at a stage: succeeded() stages and jobs are skipped, a job runs only if it says always() too', async () => {
      const text = `${WAITS.replace('timeoutInMinutes: 10', 'timeoutInMinutes: 60')}
  - stage: D
    condition: always()
    jobs:
      - job: wait
        pool: server
        condition: always()
        steps:
          - task: Delay@1
            inputs: { delayForMinutes: '1' }
`;
      const result = await rehearsal(text, { cancelAt: 'A' }).run();
      // B says always() at stage level only: its job's default succeeded() is false in a cancelled run.
      assert.deepEqual(
        result.stages.map((stage) => `${stage.name}: ${stage.result}`),
        ['A: Skipped', 'B: Skipped', 'C: Skipped', 'D: Succeeded'],
      );
      assert.match(
        result.timeline.find((entry) => entry.stage === 'B')!.did,
        /skipped: condition succeeded\(\) is false \(the run is cancelled\)/,
      );
      assert.equal(result.result, 'Canceled');
      assert.equal(result.canceledAt, 'stage A');
    });

    it("ManualValidation no one answers: its own timeout wins when shorter (onTimeout applies), else the job's", async () => {
      const validation = (own: number, onTimeout: string) => `
stages:
  - stage: Confirm
    jobs:
      - job: confirm
        pool: server
        timeoutInMinutes: 60
        steps:
          - task: ManualValidation@1
            name: confirmStep
            timeoutInMinutes: ${own}
            inputs: { onTimeout: ${onTimeout}, instructions: Do it }
`;
      const resumed = await rehearsal(validation(30, 'resume'), { approvalTimeouts: ['ManualValidation'] }).run();
      assert.equal(resumed.stages[0].result, 'Succeeded');
      assert.match(resumed.timeline[0].did, /no one answered within its 30 min .*onTimeout 'resume' applies/);
      const rejected = await rehearsal(validation(30, 'reject'), { approvalTimeouts: ['Confirm.confirm.confirmStep'] }).run();
      assert.equal(rejected.stages[0].result, 'Failed');
      const jobFirst = await rehearsal(validation(90, 'resume'), { approvalTimeouts: ['ManualValidation'] }).run();
      assert.equal(jobFirst.stages[0].result, 'Canceled');
      assert.match(jobFirst.timeline[0].did, /the job's timeout \(60 min\) came before the task's own \(90\): onTimeout never applied/);
    });

    it('a rejected or timed-out approval fails the stage before its jobs; always() dependants see it Failed', async () => {
      const deploy = `
stages:
  - stage: Deploy
    jobs:
      - deployment: change
        pool: server
        environment: maintenance-platform-approver
        strategy:
          runOnce:
            deploy:
              steps:
                - task: Delay@1
                  inputs: { delayForMinutes: '1' }
  - stage: After
    condition: and(always(), eq(dependencies.Deploy.result, 'Failed'))
    jobs:
      - job: wait
        pool: server
        steps:
          - task: Delay@1
            inputs: { delayForMinutes: '1' }
`;
      const rejected = await rehearsal(deploy, { rejectApprovals: ['maintenance-platform-approver'] }).run();
      assert.deepEqual(
        rejected.stages.map((stage) => `${stage.name}: ${stage.result}`),
        ['Deploy: Failed', 'After: Succeeded'],
      );
      assert.match(rejected.timeline[0].did, /REJECTED by an approver of 'maintenance-platform-approver'/);
      assert.equal(rejected.result, 'Failed');
      const timedOut = await rehearsal(deploy, { approvalTimeouts: ['maintenance-platform-approver'], approvalTimeoutMinutes: 45 }).run();
      assert.equal(timedOut.stages[0].result, 'Failed');
      assert.match(timedOut.timeline[0].did, /TIMED OUT: no approver of 'maintenance-platform-approver' answered within 45 min/);
      assert.equal(
        Math.round((timedOut.clockEnd.getTime() - Date.parse('2025-04-12T23:01:00Z')) / 60_000),
        46,
        'the 45 minutes of the check, and the 1 of After',
      );
    });
  });
});
