import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WebsiteEmulator } from '../emulators/website';
import { newWorkDirectory, runBundledTask } from '../helpers/task-runner';

describe('SmokeTestV1 (bundled, against the website emulator)', function () {
  const site = new WebsiteEmulator();
  before(() => site.start());
  after(() => site.stop());
  beforeEach(() => site.reset());

  it('passes when every check meets its expectations and reports a summary table', async () => {
    const run = await runBundledTask('SmokeTestV1', {
      inputs: { checks: `${site.url}/\n${site.url}/health\nHEAD ${site.url}/login 200`, bodyContains: '', retries: 0 },
    });
    assert.equal(run.result, 'Succeeded', run.stdout);
    assert.equal(run.outputs.passed, '3');
    assert.equal(run.outputs.failed, '0');
    assert.match(run.summaries[0], /3 of 3 passed/);
    assert.match(run.summaries[0], /\| Check \| Result \|/);
    assert.ok(
      run.commands.some((c) => c.command === 'task.setprogress'),
      'reports progress',
    );
  });

  it('fails listing each failing check and why, after retrying', async () => {
    site.brokenPaths.set('/login', 500);
    site.slowPaths.set('/health', 300);
    const checks = [
      { name: 'home', url: '/', bodyContains: 'Pay your bills' },
      { name: 'login', url: '/login' },
      { name: 'health', url: '/health', maxLatencyMs: 100 },
      { name: 'status api', url: '/api/status', bodyMatches: '"status":\\s*"ok"' },
    ];
    const dir = newWorkDirectory();
    const file = path.join(dir, 'checks.yml');
    fs.writeFileSync(file, JSON.stringify(checks));
    const run = await runBundledTask('SmokeTestV1', {
      inputs: { checksFile: file, baseUrl: site.url, retries: 1, retryDelaySeconds: 0 },
      workDirectory: dir,
    });
    assert.equal(run.result, 'Failed');
    assert.equal(run.exitCode, 1);
    assert.equal(run.outputs.failed, '2');
    const failure = run.errors.join('\n');
    assert.match(failure, /login \(status 500, expected 200\)/);
    assert.match(failure, /health \(took \d+ ms, more than 100 ms\)/);
    assert.equal(site.calls('GET', '/login').length, 2, 'a failing check is tried once more (retries: 1)');
    const results = JSON.parse(run.outputs.results) as Array<{ name: string; attempts: number }>;
    assert.equal(results.find((r) => r.name === 'home')!.attempts, 1);
  });

  it('waits out a maintenance page that lifts during its retries', async () => {
    site.maintenanceFor(2);
    const run = await runBundledTask('SmokeTestV1', { inputs: { checks: `${site.url}/`, retries: 5, retryDelaySeconds: 1 } });
    assert.equal(run.result, 'Succeeded', run.stdout);
    assert.equal(site.calls('GET', '/').length, 3, 'two answers of the maintenance page, then the page itself');
  });

  it('refuses bad input before making any call, naming the input', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /Input 'checks': no checks given/],
      [{ checks: 'not a url' }, /Input 'checks': 'not' is not an http\(s\) URL|Input 'checks': 'url' is not/],
      [{ checks: `${site.url}/`, retries: '-1' }, /Input 'retries': -1 is below the minimum of 0/],
      [{ checks: `${site.url}/`, expectedStatus: 'ok' }, /Input 'expectedStatus'/],
      [{ checks: `- url: /\n  colour: red`, baseUrl: site.url }, /unknown field\(s\) colour/],
    ];
    for (const [inputs, message] of cases) {
      const run = await runBundledTask('SmokeTestV1', { inputs });
      assert.equal(run.result, 'Failed', JSON.stringify(inputs));
      assert.match(run.errors.join('\n'), message);
    }
    assert.equal(site.journal.length, 0, 'no call was made');
  });
});
