import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import ExcelJS from 'exceljs';
import { AzureFixture, RESOURCE_GROUP } from '../helpers/azure-fixture';
import { newWorkDirectory, type RunTaskOptions, type TaskRun } from '../helpers/task-runner';

const TASK = 'PatchVmsV1';

describe('PatchVmsV1 (bundled, against the ARM and Entra emulators)', function () {
  const azure = new AzureFixture({ patchMs: 120, rebootMs: 80, assessMs: 30, retryAfterSeconds: 0 });
  before(() => azure.start());
  after(() => azure.stop());
  beforeEach(() => azure.reset());

  const run = (inputs: RunTaskOptions['inputs'], options: Omit<RunTaskOptions, 'inputs' | 'endpoints'> = {}): Promise<TaskRun> =>
    azure.run(TASK, inputs, options);

  async function readXlsx(file: string): Promise<string[][]> {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const rows: string[][] = [];
    workbook.getWorksheet('Patching')!.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((value) => String(value ?? ''))));
    return rows;
  }

  it('installs patches a few servers at a time, with per-server results, the sheet and a summary', async () => {
    const farm = azure.seedWebFarm({ count: 5 });
    const dir = newWorkDirectory();
    const result = await run(
      {
        virtualMachines: farm.servers.map((server) => server.name).join('\n'),
        serverGroup: 'web',
        action: 'install',
        classifications: 'Critical, Security',
        rebootSetting: 'IfRequired',
        maximumDuration: 'PT2H',
        maxParallel: 2,
      },
      { workDirectory: dir },
    );
    assert.equal(result.result, 'Succeeded', result.stdout);
    assert.equal(azure.arm.maxPatchingAtOnce, 2, 'at most maxParallel servers patching at once');
    assert.equal(azure.arm.calls('POST', /installPatches$/).length, 5);
    const rows = JSON.parse(result.outputs.results);
    assert.equal(rows.length, 5);
    for (const row of rows) {
      assert.equal(row.status, 'Succeeded');
      assert.equal(row.installed, 2, 'the Critical and Security patches');
      assert.equal(row.failed, 0);
      assert.equal(row.rebootStatus, 'Completed');
      assert.ok(Date.parse(row.endedAt) >= Date.parse(row.startedAt));
    }
    const body = azure.arm.calls('POST', /installPatches$/)[0].body;
    assert.deepEqual(body.windowsParameters.classificationsToInclude, ['Critical', 'Security']);
    assert.equal(body.maximumDuration, 'PT2H');
    assert.equal(result.outputs.failedServers, '');

    const csv = fs.readFileSync(result.outputs.trackingSheetCsv, 'utf8').split('\r\n');
    assert.match(csv[0], /^Server group,Server,OS,Action,Result,Status,Installed,Failed,Pending,/);
    assert.match(csv[1], /^web,IC-Web1,Windows,install,OK,Succeeded,2,0,0,/);
    const sheet = await readXlsx(result.outputs.trackingSheetXlsx);
    assert.match(sheet[0][0], /^Server patching/);
    assert.equal(sheet[1][1], 'Server');
    assert.equal(sheet[2][0], 'web', 'a group header row');
    assert.deepEqual(
      sheet.slice(3).map((row) => row[1]),
      farm.servers.map((server) => server.name),
    );
    assert.match(result.summaries[0], /Patching: web \(5 server\(s\)\): 5 OK, 0 to check, 0 failed/);
    assert.deepEqual(
      azure.arm.pendingPatches(RESOURCE_GROUP, 'IC-Web1').length,
      2,
      'the Definition and UpdateRollUp patches were not selected',
    );
  });

  it('fails naming a server whose reboot failed, warns on CompletedWithWarnings, and still writes the sheet', async () => {
    const farm = azure.seedWebFarm({ count: 3 });
    azure.arm.breakPatching(RESOURCE_GROUP, 'IC-Web2', { rebootFails: true });
    azure.arm.breakPatching(RESOURCE_GROUP, 'IC-Web3', { failingPatches: [azure.arm.pendingPatches(RESOURCE_GROUP, 'IC-Web3')[1]] });
    const result = await run({
      virtualMachines: farm.servers.map((server) => server.name).join(','),
      serverGroup: 'web',
      action: 'install',
    });
    assert.equal(result.result, 'Failed');
    assert.equal(result.outputs.failedServers, 'IC-Web2');
    assert.match(result.errors.join('\n'), /patching failed on 1 of 3 web server\(s\): IC-Web2 \(.*the reboot failed/);
    assert.match(result.warnings.join('\n'), /IC-Web3: CompletedWithWarnings; 1 installed, 1 failed/);
    const rows = JSON.parse(result.outputs.results);
    assert.deepEqual(
      rows.map((row: any) => row.outcome),
      ['ok', 'failed', 'warning'],
    );
    const csv = fs.readFileSync(result.outputs.trackingSheetCsv, 'utf8');
    assert.match(csv, /IC-Web2,Windows,install,FAILED,Failed/);
    assert.match(csv, /IC-Web3,Windows,install,CHECK,CompletedWithWarnings/);
  });

  it('warns (SucceededWithIssues) when a server completes with warnings', async () => {
    const farm = azure.seedWebFarm({ count: 2 });
    azure.arm.breakPatching(RESOURCE_GROUP, 'IC-Web1', { failingPatches: [azure.arm.pendingPatches(RESOURCE_GROUP, 'IC-Web1')[0]] });
    const result = await run({ virtualMachines: farm.servers.map((server) => server.name).join(','), serverGroup: 'web' });
    assert.equal(result.result, 'SucceededWithIssues', result.stdout);
    assert.equal(result.exitCode, 0);
  });

  it('assesses without installing, and keeps one sheet per run across server groups', async () => {
    const farm = azure.seedWebFarm({ count: 2 });
    azure.arm.addVm({ resourceGroup: RESOURCE_GROUP, name: 'IC-App1', privateIp: '10.0.4.4', osType: 'Linux' });
    const dir = newWorkDirectory();
    const web = await run(
      { virtualMachines: farm.servers.map((server) => server.name).join(','), serverGroup: 'web', action: 'assess' },
      { workDirectory: dir },
    );
    assert.equal(web.result, 'Succeeded', web.stdout);
    assert.equal(azure.arm.calls('POST', /installPatches$/).length, 0);
    const rows = JSON.parse(web.outputs.results);
    assert.deepEqual(
      rows.map((row: any) => [row.server, row.available, row.criticalAndSecurity]),
      [
        ['IC-Web1', 4, 2],
        ['IC-Web2', 4, 2],
      ],
    );

    const app = await run(
      {
        virtualMachines: 'IC-App1',
        serverGroup: 'app',
        action: 'install',
        classifications: 'Critical, Security, Definition',
        kbNumbersToExclude: 'KB5055526',
      },
      { workDirectory: dir },
    );
    assert.equal(app.result, 'Succeeded', app.stdout);
    const body = azure.arm.calls('POST', /installPatches$/)[0].body;
    assert.deepEqual(
      body.linuxParameters.classificationsToInclude,
      ['Critical', 'Security'],
      'a Linux server gets the classifications that apply to Linux',
    );
    assert.equal(body.windowsParameters, undefined);
    assert.equal(app.outputs.trackingSheetCsv, web.outputs.trackingSheetCsv, 'one sheet for the run');
    const csv = fs.readFileSync(app.outputs.trackingSheetCsv, 'utf8').trim().split('\r\n');
    assert.deepEqual(
      csv.slice(1).map((line) => line.split(',').slice(0, 4).join(',')),
      ['web,IC-Web1,Windows,assess', 'web,IC-Web2,Windows,assess', 'app,IC-App1,Linux,install'],
    );
    const sheet = await readXlsx(app.outputs.trackingSheetXlsx);
    assert.deepEqual(
      sheet.slice(2).map((row) => (row[0] === 'web' || row[0] === 'app' ? `[${row[0]}]${row[1] ? ` ${row[1]}` : ''}` : row[1])),
      ['[web]', '[web] IC-Web1', '[web] IC-Web2', '[app]', '[app] IC-App1'],
    );
  });

  it('excludes the KBs it is told to on Windows servers', async () => {
    azure.seedWebFarm({ count: 1 });
    const result = await run({ virtualMachines: 'IC-Web1', serverGroup: 'web', kbNumbersToExclude: 'KB5055526' });
    assert.equal(result.result, 'Succeeded', result.stdout);
    assert.deepEqual(azure.arm.calls('POST', /installPatches$/)[0].body.windowsParameters.kbNumbersToExclude, ['5055526']);
    const [row] = JSON.parse(result.outputs.results);
    assert.equal(row.installed, 1);
    assert.equal(row.excluded, 1);
  });

  it('refuses bad input before patching anything, naming the input', async () => {
    azure.seedWebFarm({ count: 2 });
    azure.arm.addVm({ resourceGroup: RESOURCE_GROUP, name: 'IC-Sftp1', privateIp: '10.0.5.4', osType: 'Linux' });
    const cases: Array<[RunTaskOptions['inputs'], RegExp]> = [
      [
        { virtualMachines: 'IC-Web1, IC-Web42' },
        /Input 'virtualMachines': 'IC-Web42' is not a virtual machine in resource group 'rg-web-prd'/,
      ],
      [{ virtualMachines: '' }, /Input 'virtualMachines': is required/],
      [
        { virtualMachines: 'IC-Web1', classifications: 'Critical, Bogus' },
        /Input 'classifications': 'Bogus' is not a patch classification/,
      ],
      [
        { virtualMachines: 'IC-Sftp1', classifications: 'Definition' },
        /Input 'classifications': none of Definition applies to Linux virtual machine 'IC-Sftp1'/,
      ],
      [
        { virtualMachines: 'IC-Web1', maximumDuration: 'PT5H' },
        /Input 'maximumDuration': 'PT5H' is not an ISO 8601 duration of up to four hours/,
      ],
      [{ virtualMachines: 'IC-Web1', maximumDuration: '2 hours' }, /Input 'maximumDuration'/],
      [{ virtualMachines: 'IC-Web1', kbNumbersToExclude: 'KB12, lots' }, /Input 'kbNumbersToExclude': 'KB12' is not a KB number/],
      [{ virtualMachines: 'IC-Web1', maxParallel: 0 }, /Input 'maxParallel': 0 is below the minimum of 1/],
      [{ virtualMachines: 'IC-Web1', rebootSetting: 'Sometimes' }, /Input 'rebootSetting': 'Sometimes' is not allowed/],
      [{ virtualMachines: 'IC-Web1', pollIntervalSeconds: '-1' }, /Input 'pollIntervalSeconds'/],
    ];
    for (const [inputs, message] of cases) {
      const failed = await run({ serverGroup: 'web', ...inputs });
      assert.equal(failed.result, 'Failed', JSON.stringify(inputs));
      assert.match(failed.errors.join('\n'), message, JSON.stringify(inputs));
    }
    assert.equal(azure.arm.changes().length, 0, 'nothing was patched');
  });
});
