import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  overallVerdict,
  PreflightFileError,
  preflightDirectory,
  preflightSummary,
  readPreflightFiles,
  writePreflightFile,
  type PreflightFile,
  type PreflightFinding,
} from '../../shared/core/preflight';
import { compactNames } from '../../shared/core/text';
import { GATEWAY_ACTIONS, MAINTENANCE_ROLE_ACTIONS, missingActions, PATCHING_ROLE_ACTIONS } from '../../shared/azure/permissions-check';
import { newWorkDirectory } from '../helpers/task-runner';

/** The preflight file: written one per step without overwriting, read back validated, summarized as a table. */
describe('preflight file', () => {
  const go: PreflightFinding = {
    check: 'azure-permissions',
    object: 'gateway agw',
    verdict: 'GO',
    why: 'all 4 actions allowed',
    fix: '',
    wouldDo: 'would drain IC-Web1',
  };
  const noGo: PreflightFinding = {
    check: 'slack-channel',
    object: '#maint',
    verdict: 'NO-GO',
    why: 'bot not in channel',
    fix: 'invite the bot | now',
  };

  it('is NO-GO when one finding is, and a WARN alone is GO', () => {
    assert.equal(overallVerdict([go, noGo]), 'NO-GO');
    assert.equal(overallVerdict([go, { ...go, verdict: 'WARN' }]), 'GO');
    assert.equal(overallVerdict([]), 'GO');
  });

  it('writes <Task>-<n>.json without overwriting and reads every file back, nested folders included', () => {
    const dir = preflightDirectory(newWorkDirectory());
    const file: PreflightFile = { schemaVersion: 1, task: 'Notify', step: 'Notify check', findings: [noGo] };
    const first = writePreflightFile(dir, file);
    const second = writePreflightFile(dir, { ...file, task: 'Notify', findings: [go] });
    assert.equal(path.basename(first), 'Notify-1.json');
    assert.equal(path.basename(second), 'Notify-2.json');
    fs.mkdirSync(path.join(dir, 'job2'));
    writePreflightFile(path.join(dir, 'job2'), { ...file, task: 'AppGatewayDrain' });
    const read = readPreflightFiles(dir);
    assert.deepEqual(
      read.map((entry) => [entry.task, entry.findings[0].verdict]),
      [
        ['AppGatewayDrain', 'NO-GO'],
        ['Notify', 'NO-GO'],
        ['Notify', 'GO'],
      ],
    );
    assert.deepEqual(readPreflightFiles(path.join(dir, 'absent')), []);
  });

  it('refuses a file it cannot trust instead of skipping it', () => {
    const dir = preflightDirectory(newWorkDirectory());
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'Bad-1.json'),
      JSON.stringify({ schemaVersion: 1, task: 'Bad', step: 's', findings: [{ ...go, verdict: 'MAYBE' }] }),
    );
    assert.throws(
      () => readPreflightFiles(dir),
      (error: unknown) => error instanceof PreflightFileError && /verdict 'MAYBE'/.test(error.message),
    );
  });

  it('summarizes as one escaped table', () => {
    const text = preflightSummary({ schemaVersion: 1, task: 'Notify', step: 'Notify check', findings: [go, noGo] }).toString();
    assert.match(text, /## Preflight Notify check: NO-GO/);
    assert.match(text, /\| slack-channel \| #maint \| NO-GO \| bot not in channel \| invite the bot \\\| now \|/);
  });
});

describe('Azure permissions against the shipped role', () => {
  it('copies the Actions of extension/azure-role-maintenance-window.json exactly', () => {
    const role = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'extension', 'azure-role-maintenance-window.json'), 'utf8'));
    assert.deepEqual([...MAINTENANCE_ROLE_ACTIONS], role.Actions);
    assert.ok(GATEWAY_ACTIONS.includes('Microsoft.Network/applicationGateways/write'));
    assert.deepEqual(
      PATCHING_ROLE_ACTIONS.filter((action) => !action.startsWith('Microsoft.Compute/')),
      [],
    );
  });

  it('honours wildcards and notActions, case-insensitively, across role assignments', () => {
    const needed = [
      'Microsoft.Network/applicationGateways/read',
      'Microsoft.Network/applicationGateways/write',
      'Microsoft.Compute/virtualMachines/read',
    ];
    assert.deepEqual(missingActions([{ actions: ['*'] }], needed), []);
    assert.deepEqual(missingActions([{ actions: ['*'], notActions: ['Microsoft.Network/*/write'] }], needed), [
      'Microsoft.Network/applicationGateways/write',
    ]);
    assert.deepEqual(
      missingActions([{ actions: ['microsoft.network/applicationgateways/*'] }, { actions: ['Microsoft.Compute/*/read'] }], needed),
      [],
    );
    assert.deepEqual(missingActions([], needed), needed);
  });

  it('names a run of servers compactly', () => {
    assert.equal(compactNames(['IC-Web1', 'IC-Web2', 'IC-Web3', 'IC-Web4', 'IC-Web5']), 'IC-Web1..5');
    assert.equal(compactNames(['IC-App1', 'IC-App2']), 'IC-App1, IC-App2');
    assert.equal(compactNames(['IC-Web1', 'IC-Web3', 'IC-Web4']), 'IC-Web1, IC-Web3, IC-Web4');
  });
});
