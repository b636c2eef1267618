import * as fs from 'node:fs';
import { ArmEmulator, type ArmEmulatorOptions } from '../emulators/arm';
import { EntraEmulator } from '../emulators/entra';
import { bundlePath, runBundledTask, type EndpointSpec, type RunTaskOptions, type TaskRun } from './task-runner';

/**
 * Entra and ARM emulators with one service principal, the AzureRM service connection a task gets for it,
 * and the web farm of the runbook (IC-Web1..10 behind `agw-pri-appgateway0-prd`). Shared by the Azure task
 * tests and the rolling-patch benchmark.
 */

export const TENANT_ID = '72f988bf-0000-4000-8000-0000000000aa';
export const CLIENT_ID = 'b1d0e2f3-0000-4000-8000-0000000000bb';
export const CLIENT_SECRET = 'Xy7~Q8~maintenance-window-client-secret-0042';
export const CONNECTION_ID = 'e6c1f2a3-0000-4000-8000-0000000000cc';
export const RESOURCE_GROUP = 'rg-web-prd';
export const GATEWAY = 'agw-pri-appgateway0-prd';

export interface WebFarm {
  gateway: string;
  pool: string;
  servers: Array<{ name: string; ip: string }>;
}

export class AzureFixture {
  readonly entra = new EntraEmulator();
  readonly arm: ArmEmulator;

  constructor(options: ArmEmulatorOptions = {}) {
    this.arm = new ArmEmulator(this.entra, options);
  }

  async start(): Promise<void> {
    await Promise.all([this.entra.start(), this.arm.start()]);
    this.entra.addClientSecret(TENANT_ID, CLIENT_ID, CLIENT_SECRET);
  }

  async stop(): Promise<void> {
    await Promise.all([this.entra.stop(), this.arm.stop()]);
  }

  reset(): void {
    this.entra.reset();
    this.arm.reset();
  }

  /** The AzureRM service connection as the agent hands it to a task (service principal with a secret). */
  endpoint(): EndpointSpec {
    return {
      url: `${this.arm.url}/`,
      scheme: 'ServicePrincipal',
      parameters: { tenantid: TENANT_ID, serviceprincipalid: CLIENT_ID, serviceprincipalkey: CLIENT_SECRET, authenticationType: 'spnKey' },
      data: {
        subscriptionId: this.arm.subscriptionId,
        subscriptionName: 'Production',
        environment: 'AzureCloud',
        scopeLevel: 'Subscription',
        environmentAuthorityUrl: `${this.entra.url}/`,
        activeDirectoryServiceEndpointResourceId: this.arm.audience,
      },
    };
  }

  endpoints(): Record<string, EndpointSpec> {
    return { [CONNECTION_ID]: this.endpoint() };
  }

  /**
   * Seeds a gateway with `count` web servers (VMs IC-Web1.. with their NICs). `kind: 'addresses'` puts their
   * IPs in the pool; `kind: 'nics'` makes their NIC IP configurations the pool's members.
   */
  seedWebFarm(
    options: {
      gateway?: string;
      pool?: string;
      count?: number;
      kind?: 'addresses' | 'nics';
      drainTimeoutInSec?: number;
      production?: boolean;
      prefix?: string;
      subnet?: number;
    } = {},
  ): WebFarm {
    const gateway = options.gateway ?? GATEWAY;
    const pool = options.pool ?? 'web';
    const count = options.count ?? 10;
    const prefix = options.prefix ?? 'IC-Web';
    const subnet = options.subnet ?? 2;
    const servers = Array.from({ length: count }, (_, index) => ({ name: `${prefix}${index + 1}`, ip: `10.0.${subnet}.${index + 4}` }));
    const kind = options.kind ?? 'addresses';
    this.arm.addGateway({
      resourceGroup: RESOURCE_GROUP,
      name: gateway,
      pools: [
        { name: pool, addresses: kind === 'addresses' ? servers.map((server) => server.ip) : [] },
        { name: 'api', addresses: ['10.0.3.4', '10.0.3.5'] },
      ],
      drainTimeoutInSec: options.drainTimeoutInSec ?? 0,
      production: options.production,
    });
    for (const server of servers) {
      this.arm.addVm({
        resourceGroup: RESOURCE_GROUP,
        name: server.name,
        privateIp: server.ip,
        memberOf: kind === 'nics' ? { gateway, pool } : undefined,
      });
    }
    return { gateway, pool, servers };
  }

  /**
   * Runs a bundled Azure task with this connection, the resource group and a fast poll interval (each
   * overridable), and checks that no secret reached its output.
   */
  async run(task: string, inputs: RunTaskOptions['inputs'], options: Omit<RunTaskOptions, 'inputs' | 'endpoints'> = {}): Promise<TaskRun> {
    const result = await runTaskWhenBuilt(task, {
      ...options,
      endpoints: this.endpoints(),
      inputs: { azureSubscription: CONNECTION_ID, resourceGroupName: RESOURCE_GROUP, pollIntervalSeconds: '0.02', ...inputs },
    });
    this.assertNoSecrets(result);
    return result;
  }

  /** Every secret a task could leak: the client secret and every token handed out. */
  secrets(): string[] {
    return [CLIENT_SECRET, ...this.entra.issuedTokens()];
  }

  /** Fails if any secret reached what a person would see in the log. */
  assertNoSecrets(run: TaskRun): void {
    for (const secret of this.secrets()) {
      if (run.visibleOutput.includes(secret)) throw new Error(`a secret reached the output of ${run.task}: ${secret.slice(0, 10)}...`);
    }
  }
}

/**
 * Runs a bundled task, tolerating a rebuild of it meanwhile: the build removes a task's folder before writing
 * it again, and in a working tree where others build, a run can start in that gap. A run whose bundle could
 * not even be loaded did nothing, so it is simply started again.
 */
export async function runTaskWhenBuilt(task: string, options: RunTaskOptions): Promise<TaskRun> {
  for (let attempt = 1; ; attempt++) {
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(bundlePath(task)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    const run = await runBundledTask(task, options);
    const notLoaded = !run.killed && run.lines.length === 0 && /Cannot find module .*dist[\\/]tasks|SyntaxError/.test(run.stderr);
    if (!notLoaded || attempt >= 5) return run;
  }
}
