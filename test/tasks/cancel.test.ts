import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CanceledError, beginActivity, cancelAll, resetCancellation, runningActivities } from '../../shared/core/cancel';
import { sleep } from '../../shared/core/retry';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { AzureFixture, RESOURCE_GROUP } from '../helpers/azure-fixture';
import { newWorkDirectory, runBundledTask } from '../helpers/task-runner';

/**
 * A Cancel as the agent delivers it to a running task: SIGINT, then SIGTERM 7.5 s later, then a kill 2.5 s
 * after that. The bundled tasks run as child processes and get SIGINT; each must exit well inside the 10 s,
 * leave nothing of what it started running, and say what it interrupted.
 */

const AGENT_CANCEL_WINDOW_MS = 10_000;

/**
 * The processes of a group that still run. `process.kill(-pgid, 0)` also finds zombies (dead, waiting for
 * init to reap them), so on Linux the group's members are read from /proc and zombies left out.
 */
function liveMembers(pgid: number): string[] {
  try {
    process.kill(-pgid, 0);
  } catch {
    return [];
  }
  if (!fs.existsSync('/proc/self/stat')) return [`group ${pgid}`];
  const live: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its closing parenthesis.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X')
      live.push(`${pid} (${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}, ${state})`);
  }
  return live;
}

describe('a Cancel (SIGINT) reaching a running task', function () {
  this.timeout(90_000);

  describe('shared/core/cancel', () => {
    afterEach(() => resetCancellation());

    it('stops every sleep at once, names what was running and calls each activity to stop', async () => {
      let stopped = 0;
      const end = beginActivity({ what: 'the health wait of agw/web', onCancel: () => stopped++ });
      const waiting = sleep(60_000);
      const started = Date.now();
      assert.deepEqual(cancelAll('SIGINT'), ['the health wait of agw/web']);
      await assert.rejects(
        waiting,
        (error: unknown) =>
          error instanceof CanceledError && error.signal === 'SIGINT' && /interrupted the health wait of agw\/web/.test(error.message),
      );
      assert.ok(Date.now() - started < 1000);
      assert.equal(stopped, 1);
      await assert.rejects(sleep(10), CanceledError, 'a wait started after the cancel ends at once too');
      end();
      assert.deepEqual(runningActivities(), []);
    });
  });

  describe('bundled tasks', () => {
    const ado = new AzureDevOpsEmulator();
    before(() => ado.start());
    after(() => ado.stop());
    beforeEach(() => ado.reset());

    it('RunChanges with a long change script: exits within the cancel window and no process of the script is left', async () => {
      // A script that starts a child of its own and a grandchild that ignores SIGTERM: only ending the whole
      // group (and SIGKILL after the grace) stops them all.
      const root = newWorkDirectory('mw-cancel-root-');
      fs.mkdirSync(path.join(root, 'scripts'));
      fs.writeFileSync(
        path.join(root, 'scripts', 'long-change.sh'),
        ['#!/usr/bin/env bash', 'sleep 300 &', "( trap '' TERM; sleep 300 ) &", 'echo "script-ready pgid=$$"', 'wait'].join('\n'),
      );
      const planFile = path.join(root, 'plan.yml');
      fs.writeFileSync(
        planFile,
        [
          'window: { name: Cancel test, date: 2025-04-13, timeZone: America/New_York }',
          'changes:',
          '  - id: long-change',
          '    title: A change that takes its time',
          '    script: { path: scripts/long-change.sh, timeoutMinutes: 60 }',
        ].join('\n'),
      );
      const workDirectory = newWorkDirectory();
      const taskRun = await runBundledTask('RunChangesV1', {
        endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
        variables: {
          'System.CollectionUri': ado.collectionUrl,
          'System.TeamProject': ado.project,
          'System.BuildId': '901',
          'System.StageAttempt': '1',
        },
        inputs: { planFile, scriptRoot: root },
        workDirectory,
        timeoutMs: 60_000,
        interruptOnLine: (line) => line.includes('script-ready pgid='),
      });
      const pgid = Number(/script-ready pgid=(\d+)/.exec(taskRun.stdout)?.[1]);
      assert.ok(pgid > 0, taskRun.stdout);
      assert.ok(taskRun.interruptedAtMs !== undefined, 'SIGINT was sent');
      const stoppedInMs = taskRun.durationMs - taskRun.interruptedAtMs;
      assert.ok(stoppedInMs < AGENT_CANCEL_WINDOW_MS, `the task exited ${stoppedInMs} ms after SIGINT`);
      assert.equal(taskRun.killed, false, 'the task exited by itself');
      assert.equal(taskRun.exitCode, 1);
      assert.equal(taskRun.result, 'Failed');
      assert.deepEqual(liveMembers(pgid), [], `process group ${pgid} of the script is gone`);
      assert.match(
        taskRun.visibleOutput,
        /Cancel received \(SIGINT\): interrupting change script scripts\/long-change\.sh \[long-change\] \(process group \d+\)/,
      );
      assert.match(taskRun.visibleOutput, /Canceled \(SIGINT\): interrupted change script scripts\/long-change\.sh/);
      // The change ledger says the script was interrupted, so a later attempt runs it again.
      const ledger = fs.readdirSync(path.join(workDirectory, 'records')).find((name) => name.startsWith('changes-'));
      assert.ok(ledger, 'the change ledger was written');
      const entry = JSON.parse(fs.readFileSync(path.join(workDirectory, 'records', ledger), 'utf8')).changes['long-change'];
      assert.equal(entry.outcome, 'failed');
      assert.match(entry.reason, /interrupted by a cancel of the step: its process group was ended/);
    });

    it('MaintenanceWindow waiting at its gate: exits at once on SIGINT, saying it interrupted the wait', async () => {
      const opensAt = new Date(Date.now() + 20 * 60_000);
      const local = opensAt.toISOString().slice(0, 16).replace('T', ' ');
      const taskRun = await runBundledTask('MaintenanceWindowV1', {
        inputs: { action: 'gate', notBefore: local, timeZone: 'UTC', maxWaitMinutes: 30 },
        timeoutMs: 30_000,
        interruptOnLine: (line) => /Early by .*: waiting until/.test(line),
      });
      assert.ok(taskRun.interruptedAtMs !== undefined, taskRun.stdout);
      const stoppedInMs = taskRun.durationMs - taskRun.interruptedAtMs;
      assert.ok(stoppedInMs < 3000, `the wait ended ${stoppedInMs} ms after SIGINT`);
      assert.equal(taskRun.killed, false);
      assert.equal(taskRun.result, 'Failed');
      assert.match(
        taskRun.visibleOutput,
        /Cancel received \(SIGINT\): interrupting the wait for the gate to open at .* \(nothing changed yet\)/,
      );
      assert.match(taskRun.errors.join('\n'), /Canceled \(SIGINT\): interrupted the wait for the gate to open/);
      assert.equal(taskRun.outputs.open, undefined, 'no gate output: the window did not open');
    });
  });

  describe('AppGatewayDrain in its health wait', () => {
    const azure = new AzureFixture({ gatewayUpdateMs: [50, 200], probeDelayMs: 50, healthDelayMs: 20, retryAfterSeconds: 0 });
    before(() => azure.start());
    after(() => azure.stop());
    beforeEach(() => azure.reset());

    it('a restore waiting for a server that stays Down stops at once on SIGINT, the servers already back in the pool', async () => {
      const farm = azure.seedWebFarm();
      const servers = farm.servers
        .slice(0, 2)
        .map((server) => server.name)
        .join(',');
      const drain = await azure.run('AppGatewayDrainV1', {
        backendPoolName: 'web',
        applicationGatewayName: farm.gateway,
        action: 'drain',
        servers,
        healthTimeoutSeconds: 20,
      });
      assert.equal(drain.result, 'Succeeded', drain.stdout);
      azure.arm.setHealth(farm.servers[1].ip, 'Down');
      const restore = await azure.run(
        'AppGatewayDrainV1',
        {
          backendPoolName: 'web',
          applicationGatewayName: farm.gateway,
          action: 'restore',
          undoRecord: drain.outputs.undoRecord,
          healthTimeoutSeconds: 600,
          pollIntervalSeconds: 0.2,
        },
        { interruptOnLine: (line) => /of at most 600 s/.test(line), timeoutMs: 60_000 },
      );
      assert.ok(restore.interruptedAtMs !== undefined, restore.stdout);
      const stoppedInMs = restore.durationMs - restore.interruptedAtMs;
      assert.ok(stoppedInMs < 3000, `the health wait ended ${stoppedInMs} ms after SIGINT`);
      assert.equal(restore.result, 'Failed');
      assert.match(restore.visibleOutput, /Cancel received \(SIGINT\): interrupting the health wait of .*\(up to 600 s\)/);
      assert.match(restore.errors.join('\n'), /Canceled \(SIGINT\): interrupted the health wait/);
      const addresses = azure.arm.pool(RESOURCE_GROUP, farm.gateway, farm.pool).addresses;
      for (const server of farm.servers.slice(0, 2))
        assert.ok(addresses.includes(server.ip), `${server.name} is back in the pool: the write came before the wait`);
    });
  });
});
