import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPreflightFiles, type PreflightFile } from '../../shared/core/preflight';
import type { JournalEntry } from '../emulators/kit';
import type { ExpandedPipeline } from '../e2e/pipeline-expander';
import { startWorld, type World } from '../e2e/world';
import { newWorkDirectory, runBundledTask, type TaskRun } from './task-runner';

/**
 * The emulated world of the night, seeded as the monthly pipeline's defaults describe it, and every mutating
 * task's `check` action with the inputs the night gives the real action. For the preflight tests: each check
 * runs through its bundle and its findings file is read back.
 */

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const PLAN_FILE = path.join(REPO_ROOT, 'plans', '2025-04-13.yml');
/** Friday before the plan's Sunday, 12:00 Eastern: when the preflight runs. */
export const FRIDAY = '2025-04-11T16:00:00Z';

const WEB = ['IC-Web1', 'IC-Web2', 'IC-Web3', 'IC-Web4', 'IC-Web5', 'IC-Web6', 'IC-Web7', 'IC-Web8', 'IC-Web9', 'IC-Web10'];

export async function startPreflightWorld(): Promise<World> {
  const world = await startWorld({ planFile: PLAN_FILE });
  await seedPreflightWorld(world);
  return world;
}

/** Seeds the gateway, servers and regression pipeline as the night's parameters name them. */
export async function seedPreflightWorld(world: World): Promise<void> {
  const parameters = {
    resourceGroupName: 'rg-web-prd',
    applicationGatewayName: 'agw-pri-appgateway0-prd',
    backendPoolName: 'web',
    webBatch1: WEB.slice(0, 5),
    webBatch2: WEB.slice(5),
    serverGroups: [{ name: 'app', vms: ['IC-App1', 'IC-App2'] }],
    regressionPipeline: 'Full Regression',
    regressionParameters: {},
  };
  await world.seed?.({ parameters } as unknown as ExpandedPipeline);
}

export interface CheckStep {
  task: string;
  inputs: Record<string, string>;
}

/** Each mutating task's check, with the inputs of the night's real step. */
export function nightChecks(recordsFolder: string): CheckStep[] {
  const slack = { provider: 'slack', slackConnection: 'maintenance-slack' };
  return [
    {
      task: 'MaintenanceWindowV1',
      inputs: {
        action: 'check',
        planFile: PLAN_FILE,
        windowEnd: 'Sun 12:00',
        graceMinutes: '60',
        ...slack,
        channels: 'dailyops\nmaintenance',
        recordsFolders: recordsFolder,
      },
    },
    { task: 'NotifyV1', inputs: { action: 'check', ...slack, channels: 'maintenance', template: 'text', message: 'Preflight' } },
    {
      task: 'AppGatewayDrainV1',
      inputs: {
        action: 'check',
        azureSubscription: 'AzureRM',
        resourceGroupName: 'rg-web-prd',
        applicationGatewayName: 'agw-pri-appgateway0-prd',
        backendPoolName: 'web',
        servers: WEB.slice(0, 5).join('\n'),
        minHealthyServers: '4',
        pollIntervalSeconds: '0.05',
      },
    },
    {
      task: 'PatchVmsV1',
      inputs: {
        action: 'check',
        azureSubscription: 'AzureRM',
        resourceGroupName: 'rg-web-prd',
        virtualMachines: 'IC-App1\nIC-App2',
        serverGroup: 'app',
      },
    },
    {
      task: 'PingdomPauseV1',
      inputs: {
        action: 'check',
        pingdomConnection: 'maintenance-pingdom',
        checkNames: 'www.invoicecloud.com\nmy.invoicecloud.com',
        durationMinutes: '600',
      },
    },
    {
      task: 'AlertMuteV1',
      inputs: {
        action: 'check',
        provider: 'newRelic',
        newRelicConnection: 'maintenance-newrelic',
        policyNames: 'Production',
        durationMinutes: '600',
      },
    },
    {
      task: 'MaintenancePageV1',
      inputs: {
        action: 'check',
        cloudflareConnection: 'maintenance-cloudflare',
        zoneName: 'invoicecloud.com',
        records: 'www\nmy',
        maintenanceTarget: 'icmaintenance.azurewebsites.net',
      },
    },
    { task: 'RescheduleJobsV1', inputs: { action: 'check', planFile: PLAN_FILE } },
    { task: 'RunChangesV1', inputs: { action: 'check', planFile: PLAN_FILE, scriptRoot: REPO_ROOT } },
    { task: 'RunPipelineV1', inputs: { action: 'check', pipeline: 'Full Regression' } },
  ];
}

export async function runCheck(
  world: World,
  step: CheckStep,
  workDirectory = newWorkDirectory(),
): Promise<{ run: TaskRun; file: PreflightFile }> {
  const run = await runBundledTask(step.task, {
    inputs: step.inputs,
    endpoints: { ...world.connections, ...world.systemEndpoints },
    variables: {
      ...world.variables,
      'MaintenanceWindow.Now': FRIDAY,
      'MaintenanceWindow.Id': '2025-04-13',
      'MaintenanceWindow.Directory': workDirectory,
    },
    workDirectory,
    cwd: REPO_ROOT,
  });
  const files = readPreflightFiles(path.join(workDirectory, 'preflight'));
  if (files.length !== 1) throw new Error(`${step.task} check wrote ${files.length} preflight file(s):\n${run.stdout}\n${run.stderr}`);
  return { run, file: files[0] };
}

/** Calls that change something, by each emulator's own rules (read-only POSTs of reading APIs excluded). */
export function writesIn(world: World): string[] {
  const reading: Array<[string, (entry: JournalEntry) => boolean]> = [
    ['Entra', (entry) => /\/oauth2\/v2\.0\/token$|oidctoken$/.test(entry.path)],
    ['ARM', (entry) => entry.method === 'POST' && /\/backendhealth$/i.test(entry.path)],
    ['Slack', (entry) => /\/api\/(auth\.test|conversations\.(list|info))$/.test(entry.path)],
    ['New Relic', (entry) => entry.method === 'POST' && !/^\s*mutation\b/.test(String(entry.body?.query ?? ''))],
  ];
  const out: string[] = [];
  for (const emulator of world.emulators) {
    const allowed = reading.find(([name]) => emulator.name === name)?.[1] ?? (() => false);
    for (const entry of emulator.writes()) if (!allowed(entry)) out.push(`${emulator.name}: ${entry.method} ${entry.path}`);
  }
  return out;
}

export function emptyRecordsFolder(): string {
  const folder = path.join(newWorkDirectory('mw-records-'), 'records');
  fs.mkdirSync(folder, { recursive: true });
  return folder;
}
