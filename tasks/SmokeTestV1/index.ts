import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../../shared/core/errors';
import { MarkdownSummary } from '../../shared/core/summary';
import { runTask } from '../../shared/core/task';
import { publishTestResults } from '../../shared/core/test-results';
import { parseChecks, runChecks, type CheckDefaults } from '../../shared/smoke/checks';
import { junitXml } from '../../shared/smoke/junit';

void runTask('SmokeTest', async ({ input, log, setOutput, attachSummary, outputDirectory, windowId }) => {
  const inline = input.text('checks');
  const checksFile = input.string('checksFile');
  const defaults: CheckDefaults = {
    baseUrl: input.string('baseUrl'),
    expectStatus: (input.string('expectedStatus', { default: '200' }) ?? '200').split(/[\s,]+/).map(Number),
    bodyContains: input.string('bodyContains'),
    maxLatencyMs: input.int('maxLatencyMs', { min: 1 }),
    retries: input.int('retries', { default: 2, min: 0, max: 20 }),
    retryDelaySeconds: input.int('retryDelaySeconds', { default: 10, min: 0, max: 600 }),
  };
  const timeoutSeconds = input.int('timeoutSeconds', { default: 30, min: 1, max: 600 });
  if (defaults.expectStatus.some((status) => !Number.isInteger(status) || status < 100 || status > 599)) {
    throw new InputError('expectedStatus', 'must be HTTP statuses such as 200 or 200,301.');
  }
  if (checksFile && !fs.existsSync(checksFile)) throw new InputError('checksFile', `'${checksFile}' does not exist.`);

  const checks = [
    ...parseChecks('checks', inline ?? '', defaults),
    ...(checksFile ? parseChecks('checksFile', fs.readFileSync(checksFile, 'utf8'), defaults) : []),
  ];
  if (checks.length === 0) throw new InputError('checks', 'no checks given: list URLs inline or point checksFile at a file.');

  log.section(`Running ${checks.length} smoke check(s)`);
  const startedAt = new Date();
  const results = await runChecks(checks, { log, timeoutSeconds });
  const failed = results.filter((result) => !result.passed);
  // The Tests tab: one case per check, the same identity every window, so each check has a history.
  const junitFile = path.join(outputDirectory(), `smoke-tests-${windowId}-${startedAt.getTime()}.xml`);
  fs.writeFileSync(
    junitFile,
    junitXml(results, { suite: 'SmokeTest', startedAt, durationMs: Date.now() - startedAt.getTime(), hostname: os.hostname() }),
  );
  publishTestResults({ type: 'JUnit', files: [junitFile], runTitle: `Smoke tests (${windowId})` });

  setOutput('passed', String(results.length - failed.length));
  setOutput('failed', String(failed.length));
  setOutput('results', JSON.stringify(results));
  attachSummary(
    'Smoke tests',
    new MarkdownSummary().heading(`Smoke tests: ${results.length - failed.length} of ${results.length} passed`).table(
      ['Check', 'Result', 'Status', 'Latency', 'Attempts', 'Why it failed'],
      results.map((r) => [
        r.name,
        r.passed ? 'passed' : 'FAILED',
        r.status ?? '-',
        r.latencyMs !== undefined ? `${r.latencyMs} ms` : '-',
        r.attempts,
        r.reasons.join('; '),
      ]),
    ),
  );
  if (failed.length) {
    throw new Error(
      `${failed.length} of ${results.length} smoke check(s) failed: ${failed.map((r) => `${r.name} (${r.reasons.join('; ')})`).join('; ')}`,
    );
  }
});
