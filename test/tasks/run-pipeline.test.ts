import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AzureDevOpsEmulator, type EmulatedRun } from '../emulators/azure-devops';
import { newWorkDirectory, runBundledTask, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

/** RunPipelineV1 as the agent runs it, against the Azure DevOps emulator (real azure-devops-node-api client). */
describe('RunPipelineV1 (bundled, against the Azure DevOps emulator)', function () {
  this.timeout(60_000);
  const ado = new AzureDevOpsEmulator();
  const REGRESSION = 'Full Regression';

  before(() => ado.start());
  after(() => ado.stop());
  beforeEach(() => {
    ado.reset();
    ado.addPipeline({ name: REGRESSION, folder: '\\Tests', durationMs: 300, parameters: ['environment', 'suite', 'browsers'] });
    ado.addPipeline({ name: 'Deploy', folder: '\\Payer\\A' });
    ado.addPipeline({ name: 'Deploy', folder: '\\Payer\\B' });
  });

  interface RunOptions extends Partial<RunTaskOptions> {
    buildId?: string;
    stageAttempt?: string;
  }

  const run = (inputs: Record<string, string>, options: RunOptions = {}): Promise<TaskRun> =>
    runBundledTask('RunPipelineV1', {
      endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
      variables: {
        'System.CollectionUri': ado.collectionUrl,
        'System.TeamProject': ado.project,
        'Build.BuildId': options.buildId ?? '900',
        'System.BuildId': options.buildId ?? '900',
        'System.StageAttempt': options.stageAttempt ?? '1',
      },
      timeoutMs: 60_000,
      ...options,
      inputs: { pollIntervalSeconds: '0.04', ...inputs },
    });

  const runsOfRegression = (): EmulatedRun[] => ado.runsOf(REGRESSION, '\\Tests');
  const noToken = (taskRun: TaskRun) => assert.ok(!taskRun.visibleOutput.includes(ado.token), 'the token never reaches the log');

  it('starts the pipeline with its branch and template parameters, waits for it, and reports the run', async () => {
    const taskRun = await run({
      pipeline: REGRESSION,
      branch: 'release/2025-04',
      parameters: 'environment: production\nsuite: full\nbrowsers: [chrome, edge]',
    });
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    const [started] = runsOfRegression();
    assert.equal(runsOfRegression().length, 1);
    assert.equal(started.branch, 'refs/heads/release/2025-04');
    assert.deepEqual(started.templateParameters, { environment: 'production', suite: 'full', browsers: '["chrome","edge"]' });
    const definition = ado.pipeline(REGRESSION)!;
    assert.deepEqual([...started.tags].sort(), ['attempt:900.1', 'maintenance-window', `run:pipeline-${definition.id}`, 'window:900']);
    assert.equal(taskRun.outputs.runId, String(started.id));
    assert.equal(taskRun.outputs.runUrl, `${ado.collectionUrl}${ado.project}/_build/results?buildId=${started.id}`);
    assert.equal(taskRun.outputs.result, 'succeeded');
    assert.ok(
      taskRun.lines.some((line) => /^Started Full Regression: run \d{8}\.\d+ \(id \d+\) http/.test(line)),
      taskRun.stdout,
    );
    assert.ok(
      taskRun.commands.some((command) => command.command === 'task.setprogress'),
      'progress is reported while waiting',
    );
    assert.match(taskRun.summaries[0], /## Full Regression: ✅ succeeded/);
    assert.match(
      taskRun.summaries[0],
      /\\\\Tests\\\\Full Regression \(id \d+\).*\[\d{8}\.\d+\]\(http:\/\/127\.0\.0\.1:\d+\/contoso\/Platform\/_build\/results\?buildId=\d+\).*release\/2025-04.*started by this step/,
    );
    assert.match(taskRun.summaries[0], /`environment` = `production`/);
    noToken(taskRun);
  });

  it(
    'takes a pipeline by id, or by folder when two share a name, and refuses an ambiguous or unknown one before ' + 'starting anything',
    async () => {
      const byId = await run({ pipeline: String(ado.pipeline(REGRESSION)!.id), parameters: '{"suite": "smoke"}' });
      assert.equal(byId.result, 'Succeeded', byId.stdout);
      assert.equal(runsOfRegression()[0].templateParameters.suite, 'smoke');
      assert.equal(runsOfRegression()[0].branch, 'refs/heads/main', 'empty branch: the default branch');

      const byFolder = await run({ pipeline: 'Payer/B/Deploy' });
      assert.equal(byFolder.result, 'Succeeded', byFolder.stdout);
      assert.equal(ado.runsOf('Deploy', '\\Payer\\B').length, 1);
      assert.equal(ado.runsOf('Deploy', '\\Payer\\A').length, 0);

      ado.reset();
      ado.addPipeline({ name: 'Deploy', folder: '\\Payer\\A' });
      ado.addPipeline({ name: 'Deploy', folder: '\\Payer\\B' });
      const ambiguous = await run({ pipeline: 'Deploy' });
      assert.equal(ambiguous.result, 'Failed');
      assert.match(
        ambiguous.errors.join('\n'),
        /Input 'pipeline': 2 pipelines are named 'Deploy' \(in \\Payer\\A, \\Payer\\B\); give its folder; nothing was started/,
      );
      const unknown = await run({ pipeline: 'Nightly Regression' });
      assert.match(
        unknown.errors.join('\n'),
        /Input 'pipeline': no pipeline 'Nightly Regression' in project Platform; nothing was started/,
      );
      const unknownId = await run({ pipeline: '999' });
      assert.match(unknownId.errors.join('\n'), /Input 'pipeline': no pipeline with id 999 in project Platform; nothing was started/);
      assert.equal(ado.writes().length, 0, 'nothing was started or tagged');
      noToken(unknownId);
    },
  );

  it('fails when the run fails, naming the run and its link', async () => {
    ado.failNextRuns(REGRESSION, 1, 'failed', '\\Tests');
    const taskRun = await run({ pipeline: '\\Tests\\Full Regression' });
    assert.equal(taskRun.result, 'Failed');
    const [failed] = runsOfRegression();
    assert.equal(taskRun.errors.length, 1, taskRun.errors.join('\n'));
    assert.equal(
      taskRun.errors[0],
      `Full Regression run ${failed.buildNumber} (id ${failed.id}) failed: ` +
        `${ado.collectionUrl}${ado.project}/_build/results?buildId=${failed.id}`,
    );
    assert.equal(taskRun.outputs.result, 'failed');
    assert.equal(taskRun.outputs.runId, String(failed.id));
    assert.match(taskRun.summaries[0], /## Full Regression: ❌ failed/);

    ado.failNextRuns(REGRESSION, 1, 'canceled', '\\Tests');
    const canceled = await run({ pipeline: REGRESSION }, { buildId: '901' });
    assert.equal(canceled.result, 'Failed');
    assert.match(canceled.errors[0], /^Full Regression run \S+ \(id \d+\) canceled: http/);
    assert.equal(canceled.outputs.result, 'canceled');
    noToken(canceled);
  });

  it(
    'fails at its timeout naming the run still going, leaves it running, and a re-run of the stage waits for that run instead of ' +
      'starting another',
    async () => {
      ado.pipeline(REGRESSION)!.durationMs = 4000;
      const first = await run({ pipeline: REGRESSION, timeoutMinutes: '0.01' });
      assert.equal(first.result, 'Failed');
      const [going] = runsOfRegression();
      assert.equal(
        first.errors[0],
        `Full Regression run ${going.buildNumber} (id ${going.id}) is still running after the step's 0.6 s timeout; it was left ` +
          `running: ${ado.collectionUrl}${ado.project}/_build/results?buildId=${going.id}. Running this step again in the same window ` +
          `waits for it instead of starting another.`,
      );
      assert.equal(first.outputs.result, 'timed-out');
      assert.equal(first.outputs.runId, String(going.id));
      assert.ok(!going.canceled && going.startedAt! + going.durationMs > Date.now(), 'the run is left running');
      assert.match(first.summaries[0], /still running at the timeout/);

      const again = await run({ pipeline: REGRESSION }, { stageAttempt: '2' });
      assert.equal(again.result, 'Succeeded', again.stdout);
      assert.equal(runsOfRegression().length, 1, 'no second run');
      assert.equal(again.outputs.runId, String(going.id));
      assert.ok(
        again.lines.some((line) =>
          /started earlier in this window is still running; waiting for it instead of starting another/.test(line),
        ),
      );
      assert.match(again.summaries[0], /started earlier in this window, awaited by this step/);
    },
  );

  it('resumes after a crash without a second run, and never repeats a success', async () => {
    ado.pipeline(REGRESSION)!.durationMs = 1500;
    const dir = newWorkDirectory();
    const crashed = await run(
      { pipeline: REGRESSION },
      { workDirectory: dir, killOnLine: (line) => /^Started Full Regression/.test(line) },
    );
    assert.ok(crashed.killed);
    assert.equal(runsOfRegression().length, 1);
    const resumed = await run({ pipeline: REGRESSION }, { workDirectory: dir });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.equal(runsOfRegression().length, 1, 'the run the crashed step started is awaited, not started again');
    assert.equal(resumed.outputs.runId, String(runsOfRegression()[0].id));

    const afterSuccess = await run({ pipeline: REGRESSION }, { stageAttempt: '2' });
    assert.equal(afterSuccess.result, 'Succeeded', afterSuccess.stdout);
    assert.equal(runsOfRegression().length, 1, 'a success is not repeated in the same window');
    assert.ok(afterSuccess.lines.some((line) => /already succeeded in this window; not starting it again/.test(line)));

    // Another window (another pipeline run) runs it again; so does another key in the same window.
    assert.equal((await run({ pipeline: REGRESSION }, { buildId: '950' })).result, 'Succeeded');
    assert.equal((await run({ pipeline: REGRESSION, runKey: 'sunday-regression' })).result, 'Succeeded');
    assert.equal(runsOfRegression().length, 3);
    noToken(afterSuccess);
  });

  it('resumes after a crash between queueing the run and tagging it: the untagged run is taken over, not started again', async () => {
    const dir = newWorkDirectory();
    ado.holdTags();
    const crashed = await run(
      { pipeline: REGRESSION },
      { workDirectory: dir, killOnLine: (line) => /^Queued Full Regression run \d+; tagging it\.$/.test(line) },
    );
    assert.ok(crashed.killed, crashed.stdout);
    ado.releaseTags({ apply: false });
    const [untagged] = runsOfRegression();
    assert.equal(runsOfRegression().length, 1);
    assert.equal(untagged.tags.size, 0, 'the crash left the run untagged');

    const resumed = await run({ pipeline: REGRESSION }, { workDirectory: dir });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.equal(runsOfRegression().length, 1, 'the run the crashed step queued is taken over, not started again');
    assert.equal(resumed.outputs.runId, String(untagged.id));
    const definition = ado.pipeline(REGRESSION)!;
    assert.deepEqual([...untagged.tags].sort(), ['attempt:900.1', 'maintenance-window', `run:pipeline-${definition.id}`, 'window:900']);
    assert.ok(
      resumed.lines.some((line) =>
        new RegExp(
          '^An earlier run of this step was starting Full Regression .* stopped before tagging the run; ' +
            `run \\S+ \\(id ${untagged.id}\\), queued since and untagged, is that run: tagged it and took it over`,
        ).test(line),
      ),
      resumed.stdout,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'records', `run-starting-900-pipeline-${definition.id}.json`)), 'the intent is closed');

    // A start interrupted before anything was queued: nothing to take over, so it starts (once).
    const intent = path.join(dir, 'records', `run-starting-900-sunday.json`);
    fs.writeFileSync(intent, JSON.stringify({ pipelineId: definition.id, attemptId: '900.1', at: new Date().toISOString() }));
    const neverQueued = await run({ pipeline: REGRESSION, runKey: 'sunday' }, { workDirectory: dir });
    assert.equal(neverQueued.result, 'Succeeded', neverQueued.stdout);
    assert.equal(runsOfRegression().length, 2);
    assert.ok(neverQueued.lines.some((line) => /no untagged run of it was queued since, so it never started/.test(line)));
    assert.ok(!fs.existsSync(intent));
  });

  it('after a crash, takes over its own untagged run, not a newer one queued by hand with other parameters', async () => {
    const dir = newWorkDirectory();
    ado.holdTags();
    const inputs = { pipeline: REGRESSION, parameters: 'suite: full\nenvironment: production' };
    const crashed = await run(inputs, {
      workDirectory: dir,
      killOnLine: (line) => /^Queued Full Regression run \d+; tagging it\.$/.test(line),
    });
    assert.ok(crashed.killed, crashed.stdout);
    ado.releaseTags({ apply: false });
    const [ours] = runsOfRegression();
    // Someone queues the same pipeline by hand in the minutes before the step runs again: newer, untagged.
    const theirs = ado.queueRun(REGRESSION, { parameters: { suite: 'smoke', environment: 'production' } });

    const resumed = await run(inputs, { workDirectory: dir });
    assert.equal(resumed.result, 'Succeeded', resumed.stdout);
    assert.equal(resumed.outputs.runId, String(ours.id), 'the run the crashed step queued is the one followed');
    assert.equal(runsOfRegression().length, 2, 'nothing started a third run');
    assert.equal(theirs.tags.size, 0, 'the hand-queued run is left untagged');
    assert.ok(ours.tags.has('window:900'));
    assert.ok(
      resumed.warnings.some((line) =>
        new RegExp(
          `^run \\S+ \\(id ${theirs.id}\\) of Full Regression, queued since and untagged, is not this step's: ` +
            `its parameter 'suite' has another value than this step sends\\. Left alone`,
        ).test(line),
      ),
      resumed.stdout,
    );
    assert.ok(!resumed.warnings.some((line) => line.includes('smoke')), "the other run's parameter value is not logged");
  });

  it('keeps a failure of this attempt, and starts the run again in a re-run of the stage', async () => {
    ado.failNextRuns(REGRESSION, 1, 'failed', '\\Tests');
    assert.equal((await run({ pipeline: REGRESSION })).result, 'Failed');
    const sameAttempt = await run({ pipeline: REGRESSION });
    assert.equal(sameAttempt.result, 'Failed');
    assert.equal(runsOfRegression().length, 1, 'the same attempt does not start it again');
    assert.match(sameAttempt.errors[0], /failed earlier in this attempt: http/);
    const rerun = await run({ pipeline: REGRESSION }, { stageAttempt: '2' });
    assert.equal(rerun.result, 'Succeeded', rerun.stdout);
    assert.equal(runsOfRegression().length, 2);
    assert.ok(rerun.lines.some((line) => /of an earlier attempt ended failed; started it again/.test(line)));
  });

  it('honours Retry-After and the rate-limit headers while waiting', async () => {
    ado.pipeline(REGRESSION)!.durationMs = 1500;
    ado.rateLimit = { limit: 200, remaining: 150, resetInSeconds: 60, delaySeconds: 0.3 };
    ado.throttle({ times: 1, retryAfterSeconds: 1, path: /\/_apis\/build\/Builds$/ });
    const taskRun = await run({ pipeline: REGRESSION });
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    assert.ok(
      taskRun.lines.some((line) => /answered 429 to .* it asked to wait 1\.0 s/.test(line)),
      taskRun.stdout,
    );
    const throttled = ado.journal.findIndex((entry) => entry.status === 429);
    assert.ok(
      throttled >= 0 && ado.journal[throttled + 1].at - ado.journal[throttled].at >= 950,
      'the retry came after the second Retry-After asked for',
    );
    // X-RateLimit-Delay of 0.3 s stretches the 40 ms poll interval: polls are at least ~300 ms apart.
    const polls = ado
      .calls('GET', '/_apis/build/Builds')
      .filter((call) => call.query.buildIds)
      .map((call) => call.at);
    assert.ok(polls.length >= 2, `${polls.length} polls`);
    for (let i = 1; i < polls.length; i++) assert.ok(polls[i] - polls[i - 1] >= 250, `poll gap ${polls[i] - polls[i - 1]} ms`);
    noToken(taskRun);
  });

  it('uses a service connection with a PAT when given one, and never prints it', async () => {
    const taskRun = await run(
      { pipeline: REGRESSION, azureDevOpsConnection: 'ado-pat' },
      { endpoints: { 'ado-pat': { url: ado.collectionUrl.replace(/\/$/, ''), scheme: 'Token', parameters: { apitoken: ado.token } } } },
    );
    assert.equal(taskRun.result, 'Succeeded', taskRun.stdout);
    assert.ok(
      ado.journal.every((entry) => /^Basic /.test(String(entry.headers.authorization))),
      'the PAT goes as Basic auth',
    );
    assert.ok(taskRun.secrets.includes(ado.token), 'the PAT is registered as a secret');
    noToken(taskRun);
  });

  it('refuses a run whose parameters the pipeline does not declare, saying what to check', async () => {
    const taskRun = await run({ pipeline: REGRESSION, parameters: 'enviroment: production' });
    assert.equal(taskRun.result, 'Failed');
    assert.match(
      taskRun.errors[0],
      /could not start pipeline Full Regression .*400 Unexpected parameter\(s\) enviroment\..* Check the inputs 'parameters' and 'branch' against what Full Regression declares; nothing was started/,
    );
    assert.equal(runsOfRegression().length, 0);
    noToken(taskRun);
  });

  describe('refuses bad inputs before any call, naming the input', () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['no pipeline', { pipeline: '' }, /^Input 'pipeline': is required but empty\./],
      ['a folder with no name', { pipeline: '\\Tests\\' }, /^Input 'pipeline': '\\Tests\\' names no pipeline/],
      [
        'a branch with a space',
        { pipeline: REGRESSION, branch: 'release 2025' },
        /^Input 'branch': 'release 2025' is not a git branch name/,
      ],
      [
        'a branch with ..',
        { pipeline: REGRESSION, branch: 'release/../main' },
        /^Input 'branch': 'release\/\.\.\/main' is not a git branch name/,
      ],
      [
        'parameters as a list',
        { pipeline: REGRESSION, parameters: '- environment\n- production' },
        /^Input 'parameters': must be a map of parameter names to values/,
      ],
      [
        'parameters that are not YAML',
        { pipeline: REGRESSION, parameters: 'environment: [production' },
        /^Input 'parameters': is not valid YAML or JSON/,
      ],
      [
        'a parameter with no value',
        { pipeline: REGRESSION, parameters: 'environment:' },
        /^Input 'parameters': parameter 'environment' has no value/,
      ],
      [
        'a bad parameter name',
        { pipeline: REGRESSION, parameters: '"my env": x' },
        /^Input 'parameters': 'my env' is not a parameter name/,
      ],
      [
        'a timeout that is not a number',
        { pipeline: REGRESSION, timeoutMinutes: 'two hours' },
        /^Input 'timeoutMinutes': 'two hours' is not a number of minutes between 0\.01 and 4320\./,
      ],
      ['a zero timeout', { pipeline: REGRESSION, timeoutMinutes: '0' }, /^Input 'timeoutMinutes': '0' is not a number of minutes/],
      [
        'a negative poll interval',
        { pipeline: REGRESSION, pollIntervalSeconds: '-5' },
        /^Input 'pollIntervalSeconds': '-5' is not a number of seconds between 0\.01 and 600\./,
      ],
      [
        'a run key with a space',
        { pipeline: REGRESSION, runKey: 'sunday regression' },
        /^Input 'runKey': 'sunday regression' is not a key/,
      ],
      [
        'a missing connection',
        { pipeline: REGRESSION, azureDevOpsConnection: 'nowhere' },
        /^Input 'azureDevOpsConnection': service connection 'nowhere' was not found/,
      ],
    ];
    for (const [what, inputs, message] of cases) {
      it(what, async () => {
        const taskRun = await run(inputs);
        assert.equal(taskRun.result, 'Failed', taskRun.stdout);
        assert.match(taskRun.errors[0] ?? '', message);
        assert.equal(ado.journal.length, 0, 'no call was made');
        noToken(taskRun);
      });
    }

    it('no job token and no connection', async () => {
      const taskRun = await run({ pipeline: REGRESSION }, { endpoints: {} });
      assert.equal(taskRun.result, 'Failed');
      assert.match(taskRun.errors[0], /^Input 'azureDevOpsConnection': is empty and the job's access token is not available/);
      assert.equal(ado.journal.length, 0);
    });
  });
});
