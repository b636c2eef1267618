import { strict as assert } from 'node:assert';
import { Log } from '../../shared/core/log';
import { DevOpsClient } from '../../shared/devops/client';
import { recentSuccessfulRuns } from '../../shared/devops/run-history';
import { successfulRunMinutes } from '../../shared/plan/forecast';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';

/**
 * The forecast's history through the real client against the emulated Azure DevOps: the newest successful runs
 * of a pipeline (resultFilter), read only; and a run timed on a simulated clock that a waiting poll moves to the
 * run's end (what the rehearsal does so that a rehearsed run lasts its forecast duration).
 */
describe('pipeline run history (the forecast) and simulated run durations', function () {
  this.timeout(20_000);
  const ado = new AzureDevOpsEmulator();
  before(() => ado.start());
  after(() => ado.stop());
  beforeEach(() => ado.reset());
  const client = () =>
    new DevOpsClient({
      connection: { collectionUrl: ado.collectionUrl, project: ado.project, token: ado.token, kind: 'pat', source: 'test' },
      log: new Log(),
      maxRetries: 0,
    });

  it('reads only the successful runs, newest first, and writes nothing; a missing pipeline is named', async () => {
    ado.addRunHistory(
      'Kong_Infrastructure',
      [10, 30, 20].map((minutes) => minutes * 60_000),
      { folder: '\\Infra' },
    );
    ado.addRunHistory('Kong_Infrastructure', [99 * 60_000], { folder: '\\Infra', result: 'failed' });
    const [kong, missing] = await recentSuccessfulRuns(client(), [{ name: 'Kong_Infrastructure', folder: '\\Infra' }, { name: 'Gone' }]);
    assert.deepEqual(successfulRunMinutes(kong.runs), [20, 30, 10]);
    assert.match(missing.problem!, /no pipeline 'Gone'/);
    assert.deepEqual(ado.writes(), []);
  });

  it('a poll of runs still going moves the simulated clock to the first one to end, which it then answers completed', async () => {
    let now = Date.parse('2025-04-13T08:45:00Z');
    ado.now = () => now;
    ado.onWaitForRuns = (finishesAt) => (now = Math.max(now, finishesAt));
    ado.addPipeline({ name: 'Slow', durationMs: 20 * 60_000 });
    const run = ado.queueRun('Slow');
    const build = await (
      await client().build()
    ).getBuilds(
      ado.project,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      [run.id],
    );
    // The poll found it going, moved the clock to its end, and so answers it completed: 20 simulated minutes.
    assert.equal(build[0].status, 2);
    assert.equal(new Date(now).toISOString(), '2025-04-13T09:05:00.000Z');
    assert.equal(new Date(build[0].finishTime!).toISOString(), '2025-04-13T09:05:00.000Z');
  });
});
