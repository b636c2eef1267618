import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runAgentProcess } from '../e2e/agent-process';

/**
 * The agent's way of stopping a step on a cancel: SIGINT, SIGTERM after a delay, then the whole process tree
 * killed (delays shortened here; 7.5 s and 2.5 s in the rehearsal, as on an agent).
 */

function script(body: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-agent-')), 'step.js');
  fs.writeFileSync(file, body);
  return file;
}

/** Whether the process runs (a zombie waiting for a parent that will not reap it does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  return !fs.existsSync(stat) || !/^\d+ \(.*\) Z/.test(fs.readFileSync(stat, 'utf8'));
}

describe('a step process as the agent runs it', () => {
  it('a step that ignores SIGINT and SIGTERM gets SIGINT, then SIGTERM, then its whole tree is killed', async () => {
    const pidFile = path.join(os.tmpdir(), `mw-agent-child-${process.pid}-${Date.now()}`);
    const file = script(`
      const { spawn } = require('node:child_process');
      process.on('SIGINT', () => console.log('got SIGINT, carrying on'));
      process.on('SIGTERM', () => console.log('got SIGTERM, carrying on'));
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
      console.log('working');
      setInterval(() => {}, 1000);
    `);
    const started = Date.now();
    const result = await runAgentProcess({
      script: file,
      env: process.env,
      cwd: os.tmpdir(),
      stepTimeoutMs: 20_000,
      after: { ms: 5_000, atLine: (line) => line === 'working', action: (control) => control.cancel() },
      signalDelaysMs: { sigterm: 300, kill: 200 },
    });
    assert.deepEqual(result.signalsSent, ['SIGINT', 'SIGTERM', 'SIGKILL']);
    assert.equal(result.signal, 'SIGKILL');
    assert.match(result.stdout, /got SIGINT, carrying on\ngot SIGTERM, carrying on/);
    assert.ok(Date.now() - started < 5_000, 'cancelled as soon as it was at work, killed 0.5 s later');
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(grandchild), false, 'the process it started in its group is gone too');
  });

  it('a step that stops on SIGINT gets nothing more', async () => {
    const file = script(
      `process.on('SIGINT', () => { console.log('stopping'); process.exit(2); }); console.log('working'); setInterval(() => {}, 1000);`,
    );
    const result = await runAgentProcess({
      script: file,
      env: process.env,
      cwd: os.tmpdir(),
      stepTimeoutMs: 20_000,
      after: { ms: 5_000, atLine: (line) => line === 'working', action: (control) => control.cancel() },
      signalDelaysMs: { sigterm: 300, kill: 200 },
    });
    assert.deepEqual(result.signalsSent, ['SIGINT']);
    assert.equal(result.exitCode, 2);
  });
});
