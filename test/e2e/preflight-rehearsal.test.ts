import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPreflightRehearsal } from './preflight-rehearsal';

/**
 * The preflight rehearsal end to end, kept fast: the gate, the `night` job (the plan and leftovers check, the
 * forecast, the approval environments) and the go/no-go, once clean and once with three faults at a time. Every
 * run must write nothing to any emulator and post its verdict exactly once. The full pipeline and every fault
 * one by one: `npm run rehearse:preflight-faults`.
 */

describe('preflight rehearsal (pipelines/preflight.yml against the emulators)', function () {
  this.timeout(180_000);
  const lines: string[] = [];
  const outDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-preflight-rehearsal-'));
  const run = (faults: string[]) => runPreflightRehearsal({ faults, onlyJobs: ['night'], outDirectory, print: (line) => lines.push(line) });

  it('says GO for the April plan, writes preflight.json, changes nothing and posts the verdict once', async () => {
    const outcome = await run([]);
    assert.equal(outcome.line, 'Preflight: GO', lines.join('\n'));
    assert.equal(lines[lines.length - 1], 'Preflight: GO');
    assert.deepEqual(outcome.writes, []);
    assert.equal(outcome.posts, 1);
    assert.deepEqual(JSON.parse(fs.readFileSync(outcome.resultFile, 'utf8')), { verdict: 'GO', problems: [] });
  });

  it('says NO-GO naming each object and its fix for an overrun, a missing approval check and a bot not in the channel', async () => {
    lines.length = 0;
    const outcome = await run(['overrun', 'no-approval-check', 'bot-not-in-channel']);
    assert.equal(outcome.verdict, 'NO-GO', lines.join('\n'));
    assert.deepEqual(outcome.writes, []);
    const byObject = (pattern: RegExp) => outcome.problems.find((problem) => pattern.test(problem.object));
    const changes = byObject(/^changes$/);
    assert.ok(changes, JSON.stringify(outcome.problems));
    assert.match(changes.why, /after the window's end plus its 60 min grace/);
    assert.match(changes.fix, /maxParallel|later window/);
    for (const environment of ['maintenance-release-manager', 'maintenance-platform-approver']) {
      const problem = byObject(new RegExp(`environment ${environment}`));
      assert.ok(problem, `${environment}: ${JSON.stringify(outcome.problems)}`);
      assert.match(problem.why, /no approval check/);
      assert.match(problem.fix, /setup-environments/);
    }
    const channel = byObject(/#?maintenance\b/);
    assert.ok(channel && /channel/i.test(`${channel.check} ${channel.object}`), JSON.stringify(outcome.problems));
    assert.match(outcome.line, new RegExp(`^Preflight: NO-GO \\(${outcome.problems.length} problem\\(s\\)\\): `));
    assert.equal(lines[lines.length - 1], outcome.line);
    const written = JSON.parse(fs.readFileSync(outcome.resultFile, 'utf8'));
    assert.equal(written.verdict, 'NO-GO');
    assert.deepEqual(Object.keys(written.problems[0]), ['check', 'object', 'why', 'fix']);
  });
});
