import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { junitXml } from '../../shared/smoke/junit';
import { WebsiteEmulator } from '../emulators/website';
import { runBundledTask } from '../helpers/task-runner';

// xml2js (already installed with the dev tools) parses the file as any XML reader would: a malformed document fails.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseStringPromise } = require('xml2js') as { parseStringPromise: (xml: string, options?: object) => Promise<any> };

/**
 * The shape Azure DevOps' JUnit reader takes (PublishTestResults, `results.publish type=JUnit`): a `testsuites`
 * root holding `testsuite` elements (name, tests, failures, errors, time, timestamp without a zone), each holding
 * `testcase` elements with `name`, `classname` and `time` in seconds; a failed case has a `failure` with a
 * `message`; `system-out` and `properties` are carried along. Returns what is wrong, or nothing.
 */
function junitProblems(document: any): string[] {
  const problems: string[] = [];
  const suites = document?.testsuites?.testsuite;
  if (!Array.isArray(suites) || suites.length === 0) return ['no <testsuites><testsuite> root'];
  for (const suite of suites) {
    const a = suite.$ ?? {};
    for (const name of ['name', 'tests', 'failures', 'errors', 'time', 'timestamp'])
      if (a[name] === undefined) problems.push(`testsuite has no ${name}`);
    if (a.timestamp && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(a.timestamp))
      problems.push(`timestamp '${a.timestamp}' is not an ISO 8601 local time`);
    const cases = suite.testcase ?? [];
    if (Number(a.tests) !== cases.length) problems.push(`tests="${a.tests}" but ${cases.length} testcase(s)`);
    if (Number(a.failures) !== cases.filter((c: any) => c.failure).length)
      problems.push(`failures="${a.failures}" does not count the failed cases`);
    for (const testcase of cases) {
      const c = testcase.$ ?? {};
      if (!c.name || !c.classname) problems.push('a testcase without name or classname');
      if (!/^\d+(\.\d+)?$/.test(c.time ?? '')) problems.push(`testcase ${c.name}: time '${c.time}' is not seconds`);
      for (const failure of testcase.failure ?? []) if (!failure.$?.message) problems.push(`testcase ${c.name}: failure without a message`);
    }
  }
  return problems;
}

const properties = (testcase: any): Record<string, string> =>
  Object.fromEntries((testcase.properties?.[0]?.property ?? []).map((p: any) => [p.$.name, p.$.value]));

describe('SmokeTestV1 publishes JUnit results for the Tests tab', function () {
  this.timeout(60_000);
  const site = new WebsiteEmulator();
  before(() => site.start());
  after(() => site.stop());
  beforeEach(() => site.reset());

  it('one case per check with attempts and latency, handed to the agent with results.publish, failures included', async () => {
    site.brokenPaths.set('/login', 500);
    const run = await runBundledTask('SmokeTestV1', {
      inputs: { checks: `${site.url}/\n${site.url}/login`, retries: 1, retryDelaySeconds: 0 },
      variables: { 'MaintenanceWindow.Id': 'mw-77' },
    });
    assert.equal(run.result, 'Failed');
    const publish = run.commands.filter((command) => command.command === 'results.publish');
    assert.equal(publish.length, 1, 'published once, also when a check failed');
    const { type, resultFiles, runTitle, mergeResults } = publish[0].properties;
    assert.equal(type, 'JUnit');
    assert.equal(mergeResults, 'false');
    assert.equal(runTitle, 'Smoke tests (mw-77)');
    const xml = fs.readFileSync(resultFiles, 'utf8');
    const document = await parseStringPromise(xml);
    assert.deepEqual(junitProblems(document), []);
    const [home, login] = document.testsuites.testsuite[0].testcase;
    assert.equal(home.$.classname, 'SmokeTest');
    assert.equal(home.failure, undefined);
    assert.equal(properties(home).attempts, '1');
    assert.equal(properties(login).attempts, '2', 'the retry counts');
    assert.equal(properties(login).status, '500');
    assert.match(properties(home).latencyMs, /^\d+$/);
    assert.equal(Number(home.$.time), Number(properties(home).latencyMs) / 1000);
    assert.match(login.failure[0].$.message, /status 500, expected 200/);
    assert.match(login['system-out'][0], /answered 500 .* after 2 attempt\(s\)/);
  });

  it('escapes what a check name or a reason carries, so the file stays well-formed', async () => {
    const xml = junitXml(
      [
        {
          name: 'a <b> & "c"\u0007',
          url: 'https://x/?a=1&b=2',
          passed: false,
          status: 503,
          latencyMs: 12,
          attempts: 3,
          reasons: ['body does not contain "<ok/>" & more'],
        },
      ],
      { suite: 'SmokeTest', startedAt: new Date('2025-04-13T09:00:00.123Z'), durationMs: 1500 },
    );
    const document = await parseStringPromise(xml);
    assert.deepEqual(junitProblems(document), []);
    const [testcase] = document.testsuites.testsuite[0].testcase;
    assert.equal(testcase.$.name, 'a <b> & "c"');
    assert.equal(testcase.failure[0].$.message, 'body does not contain "<ok/>" & more');
    assert.equal(document.testsuites.testsuite[0].$.timestamp, '2025-04-13T09:00:00');
  });
});
