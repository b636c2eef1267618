import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandPipeline } from '../e2e/pipeline-expander';
import { cancelSafetyProblems, environmentsFromParameters, isRestoringStep, pipelineFiles, queueValues } from '../helpers/cancel-safety';
import { repoRoot } from '../helpers/task-runner';

/**
 * Every pipeline in pipelines/ (templates expanded) against what a Cancel, a job timeout or a queue-time
 * parameter can do (test/helpers/cancel-safety.ts says each rule and where Microsoft documents it), and
 * fixtures proving each rule fires.
 */

const folder = path.join(repoRoot, 'pipelines');

function fixture(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-cancel-')), 'pipeline.yml');
  fs.writeFileSync(file, text);
  return file;
}

/** A pipeline with one stage and one job around the given steps and job keys. */
function oneJob(options: { stage?: string; job?: string; steps: string }): string {
  return fixture(
    [
      'parameters:',
      '  - name: agentJobTimeoutMinutes',
      '    type: number',
      '    default: 360',
      'stages:',
      '  - stage: Post',
      ...(options.stage ?? '    condition: always()').split('\n'),
      '    jobs:',
      '      - job: post',
      '        pool: { vmImage: ubuntu-latest }',
      ...(options.job ?? '        condition: always()\n        cancelTimeoutInMinutes: 60').split('\n'),
      '        steps:',
      ...options.steps.split('\n'),
    ].join('\n'),
  );
}

const UNMUTE_FROM_EARLIER_STAGE = [
  '          - task: AlertMute@1',
  '            name: unmute',
  "            condition: and(always(), ne(variables['muteUndo'], ''))",
  '            inputs: { provider: newRelic, action: unmute, undoRecord: $(muteUndo) }',
].join('\n');

function problemsOf(file: string): string[] {
  return cancelSafetyProblems(expandPipeline(file, queueValues(file)));
}

describe('pipelines survive a Cancel, a job timeout and a queue-time parameter', function () {
  this.timeout(60_000);
  const files = pipelineFiles(folder);

  it('finds the pipelines in pipelines/ (not the templates)', () => {
    assert.ok(
      files.some((file) => file.endsWith('monthly-maintenance.yml')),
      files.join(', '),
    );
    assert.ok(!files.some((file) => file.includes(`${path.sep}templates${path.sep}`)));
  });

  for (const file of files) {
    const name = path.relative(repoRoot, file);
    it(
      `${name}: every job that restores runs after a Cancel with time enough, timeouts fit the agent, ManualValidation times ` +
        `out first`,
      () => {
        const pipeline = expandPipeline(file, queueValues(file));
        assert.deepEqual(cancelSafetyProblems(pipeline), []);
      },
    );

    it(`${name}: no approval environment comes from a queue-time parameter`, () => {
      assert.deepEqual(environmentsFromParameters(file, queueValues(file)), []);
    });
  }

  it('monthly-maintenance.yml: the restoring jobs are found by task and action, and the free hosted grant (60 min) fits too', () => {
    const file = path.join(folder, 'monthly-maintenance.yml');
    const pipeline = expandPipeline(file);
    const restoring = pipeline.stages.flatMap((stage) =>
      stage.jobs.filter((job) => job.steps.some(isRestoringStep)).map((job) => `${stage.name}.${job.name}`),
    );
    assert.deepEqual(restoring, ['WebBatch_1.batch', 'WebBatch_2.batch', 'PostMaintenance.post']);
    const environments = pipeline.stages.flatMap((stage) =>
      stage.jobs.filter((job) => job.environment).map((job) => `${stage.name}:${job.environment}:${stage.lockBehavior}`),
    );
    assert.deepEqual(environments, [
      'StartingMaintenance:maintenance-release-manager:sequential',
      'Changes:maintenance-platform-approver:sequential',
    ]);
    const free = expandPipeline(file, { agentJobTimeoutMinutes: 60, changesTimeoutMinutes: 45, regressionTimeoutMinutes: 50 });
    assert.deepEqual(cancelSafetyProblems(free), []);
    assert.ok(free.stages.flatMap((stage) => stage.jobs).every((job) => job.server || (job.timeoutInMinutes ?? 60) <= 60));
  });

  describe('each rule fires', () => {
    it('a job whose record comes from an earlier stage, with no job condition: a Cancel skips it', () => {
      const problems = problemsOf(oneJob({ job: '        cancelTimeoutInMinutes: 60', steps: UNMUTE_FROM_EARLIER_STAGE }));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(
        problems[0],
        /Post\.post\.unmute \(AlertMute unmute\): job Post\.post has condition 'succeeded\(\)', so a Cancel skips it/,
      );
    });

    it('the same job under a stage without always()', () => {
      const problems = problemsOf(oneJob({ stage: '    condition: succeeded()', steps: UNMUTE_FROM_EARLIER_STAGE }));
      assert.match(problems.join('\n'), /stage Post has condition 'succeeded\(\)', so a Cancel skips it/);
    });

    it('a restoring step without always(), even with its record in the same job', () => {
      const steps = [
        '          - task: AppGatewayDrain@1',
        '            name: drain',
        '            inputs: { azureSubscription: a, resourceGroupName: r, backendPoolName: p, action: drain, servers: s }',
        '          - task: AppGatewayDrain@1',
        '            name: restore',
        '            inputs: { azureSubscription: a, resourceGroupName: r, backendPoolName: p, action: restore, undoRecord: ' +
          '$(drain.undoRecord) }',
      ].join('\n');
      const problems = problemsOf(oneJob({ job: '        cancelTimeoutInMinutes: 60', steps }));
      assert.deepEqual(
        problems.map((p) => p.replace(/:.*/, '')),
        ['Post.post.restore (AppGatewayDrain restore)'],
        problems.join('\n'),
      );
      assert.match(problems[0], /the step's condition 'succeeded\(\)' is false after a Cancel/);
    });

    it('a download of the records without always() in a job that restores', () => {
      const steps = [
        '          - download: current',
        '            displayName: The records',
        '          - task: AlertMute@1',
        '            condition: always()',
        '            inputs: { azureSubscription: a, action: unmute, undoRecord: $(mute.undoRecord) }',
      ].join('\n');
      const problems = problemsOf(oneJob({ steps }));
      assert.match(
        problems.join('\n'),
        /Post\.post\.The records \(download\): the step's condition 'succeeded\(\)' is false after a Cancel/,
      );
    });

    it('a cancel timeout shorter than the restore: the default 5, and 30 against a drain with a 15 minute health wait', () => {
      const steps = [
        '          - task: AppGatewayDrain@1',
        '            name: restore',
        '            condition: always()',
        '            inputs: { azureSubscription: a, resourceGroupName: r, backendPoolName: p, action: restore, undoRecord: ' +
          '$(drainUndo), healthTimeoutSeconds: 900 }',
        UNMUTE_FROM_EARLIER_STAGE,
      ].join('\n');
      const unset = problemsOf(oneJob({ job: '        condition: always()', steps }));
      assert.match(
        unset.join('\n'),
        /job Post\.post: cancelTimeoutInMinutes unset \(5\) is shorter than its restores after a Cancel: .* = 55 min/,
      );
      const short = problemsOf(oneJob({ job: '        condition: always()\n        cancelTimeoutInMinutes: 30', steps }));
      assert.equal(short.length, 1, short.join('\n'));
      assert.match(
        short[0],
        /cancelTimeoutInMinutes 30 is shorter than its restores after a Cancel: restore 50 \(gateway busy wait 30 \+ write 5 \+ healthTimeoutSeconds\) \+ unmute 5 .* = 55 min/,
      );
      assert.deepEqual(problemsOf(oneJob({ job: '        condition: always()\n        cancelTimeoutInMinutes: 55', steps })), []);
    });

    it('an agent job above the cap, timeoutInMinutes 0, and RunChanges not below its job', () => {
      const run = '          - task: RunChanges@1\n            inputs: { planFile: plans/x.yml, timeoutMinutes: 360 }';
      const above = problemsOf(oneJob({ job: '        timeoutInMinutes: 400', steps: run }));
      assert.match(above.join('\n'), /job Post\.post: timeoutInMinutes 400 is above the agent's cap of 360 minutes/);
      const zero = problemsOf(oneJob({ job: '        timeoutInMinutes: 0', steps: run }));
      assert.match(zero.join('\n'), /timeoutInMinutes 0 asks for the agent's maximum/);
      const equal = problemsOf(oneJob({ job: '        timeoutInMinutes: 360', steps: run }));
      assert.deepEqual(equal, ["Post.post.RunChanges: the RunChanges timeoutMinutes 360 is not below its job's timeout 360"]);
    });

    it('ManualValidation without its own timeout, or with one not below its job', () => {
      const server = (job: string, step: string) =>
        fixture(
          [
            'stages:',
            '  - stage: Changes',
            '    jobs:',
            '      - job: confirm',
            '        pool: server',
            job,
            '        steps:',
            '          - task: ManualValidation@1',
            step,
            '            inputs: { notifyUsers: "", onTimeout: reject }',
          ].join('\n'),
        );
      assert.match(
        problemsOf(server('        timeoutInMinutes: 720', '            displayName: Confirm')).join('\n'),
        /ManualValidation has no timeoutInMinutes of its own/,
      );
      assert.match(
        problemsOf(server('        timeoutInMinutes: 720', '            timeoutInMinutes: 720')).join('\n'),
        /ManualValidation timeoutInMinutes 720 is not below its job's 720/,
      );
      assert.deepEqual(problemsOf(server('        timeoutInMinutes: 1440', '            timeoutInMinutes: 720')), []);
    });

    it('a job or stage condition without a status function', () => {
      const file = oneJob({
        stage: "    condition: eq(variables['x'], 'y')",
        job: "        condition: eq(dependencies.a.result, 'Succeeded')",
        steps: '          - script: echo',
      });
      const problems = problemsOf(file);
      assert.match(problems.join('\n'), /stage Post: condition 'eq\(variables\['x'\], 'y'\)' has no status function/);
      assert.match(problems.join('\n'), /job Post\.post: condition 'eq\(dependencies\.a\.result, 'Succeeded'\)' has no status function/);
    });

    it('an approval environment from a queue-time parameter', () => {
      const file = fixture(
        [
          'parameters:',
          '  - name: approvalEnvironment',
          '    type: string',
          '    default: maintenance-release-manager',
          'stages:',
          '  - stage: Start',
          '    jobs:',
          '      - deployment: start',
          '        environment: ${{ parameters.approvalEnvironment }}',
          '        strategy: { runOnce: { deploy: { steps: [ { script: echo } ] } } }',
        ].join('\n'),
      );
      assert.deepEqual(environmentsFromParameters(file), [
        "job Start.start: environment 'maintenance-release-manager' comes from queue-time parameter 'approvalEnvironment' (queued " +
          "as 'queued-approvalEnvironment' it deploys to 'queued-approvalEnvironment')",
      ]);
    });
  });
});
