import type {
  VirtualMachineAssessPatchesResult,
  VirtualMachineInstallPatchesParameters,
  VirtualMachineInstallPatchesResult,
} from '@azure/arm-compute';
import type { WindowClock } from '../core/clock';
import { InputError, messageOf } from '../core/errors';
import type { Log } from '../core/log';
import { armFailure, describeArmError } from './arm-errors';
import type { ComputeClients } from './compute';

/**
 * Azure VM guest patching through the compute API (`installPatches` / `assessPatches`; the `begin…` forms are
 * deprecated in @azure/arm-compute 24), several servers at a time, with one result row per server: what the
 * team writes in its tracking sheet by hand today.
 */

export type PatchAction = 'assess' | 'install';
export const PATCH_ACTIONS = ['assess', 'install'] as const;
export const REBOOT_SETTINGS = ['IfRequired', 'Never', 'Always'] as const;
export type RebootSetting = (typeof REBOOT_SETTINGS)[number];
export const WINDOWS_CLASSIFICATIONS = [
  'Critical',
  'Security',
  'UpdateRollUp',
  'FeaturePack',
  'ServicePack',
  'Definition',
  'Tools',
  'Updates',
];
export const LINUX_CLASSIFICATIONS = ['Critical', 'Security', 'Other'];

/** How a server's patching went, for people: ok, needs a look (warning), or failed. */
export type Outcome = 'ok' | 'warning' | 'failed';

export interface ServerPatchResult {
  serverGroup: string;
  server: string;
  osType: string;
  action: PatchAction;
  /** The service's status (Succeeded, CompletedWithWarnings, Failed...), or `Error` when the call itself failed. */
  status: string;
  installed?: number;
  failed?: number;
  pending?: number;
  excluded?: number;
  notSelected?: number;
  /** assess: patches available, and how many of them are critical or security. */
  available?: number;
  criticalAndSecurity?: number;
  rebootStatus?: string;
  rebootPending?: boolean;
  maintenanceWindowExceeded?: boolean;
  startedAt: string;
  endedAt: string;
  outcome: Outcome;
  notes: string[];
}

export interface PatchOptions {
  clients: ComputeClients;
  resourceGroupName: string;
  virtualMachines: string[];
  serverGroup: string;
  action: PatchAction;
  /** Classification names for either OS; each VM gets those that apply to its OS. */
  classifications: string[];
  rebootSetting: RebootSetting;
  maximumDuration: string;
  maxParallel: number;
  kbNumbersToExclude: string[];
  pollIntervalMs: number;
  log: Log;
  /** The window clock: each server's start and end times. */
  clock: WindowClock;
}

/** An ISO 8601 duration the patch API accepts (up to four hours), e.g. `PT2H` or `PT90M`. */
export function checkMaximumDuration(inputName: string, text: string): string {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?$/i.exec(text.trim());
  const minutes = match && (match[1] || match[2]) ? Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0) : NaN;
  if (!match || !(minutes > 0) || minutes > 240) {
    throw new InputError(inputName, `'${text}' is not an ISO 8601 duration of up to four hours, such as PT2H or PT90M.`);
  }
  return text.trim().toUpperCase();
}

/** Checks every classification name against both OS lists; returns them in the API's spelling. */
export function checkClassifications(inputName: string, names: string[]): string[] {
  const known = new Map([...WINDOWS_CLASSIFICATIONS, ...LINUX_CLASSIFICATIONS].map((name) => [name.toLowerCase(), name]));
  return names.map((name) => {
    const found = known.get(name.toLowerCase());
    if (!found)
      throw new InputError(
        inputName,
        `'${name}' is not a patch classification; use ${WINDOWS_CLASSIFICATIONS.join(', ')} (Windows) or ` +
          `${LINUX_CLASSIFICATIONS.join(', ')} (Linux).`,
      );
    return found;
  });
}

/** KB numbers as the API takes them (digits, no `KB`). */
export function checkKbNumbers(inputName: string, values: string[]): string[] {
  return values.map((value) => {
    const digits = value.replace(/^KB/i, '');
    if (!/^\d{4,8}$/.test(digits)) throw new InputError(inputName, `'${value}' is not a KB number such as KB5055526.`);
    return digits;
  });
}

function outcomeOfInstall(result: VirtualMachineInstallPatchesResult, rebootSetting: RebootSetting, notes: string[]): Outcome {
  if (result.error?.message) notes.push(result.error.message);
  if (result.status === 'Failed' || result.rebootStatus === 'Failed') {
    if (result.rebootStatus === 'Failed') notes.push('the reboot failed');
    return 'failed';
  }
  let outcome: Outcome = 'ok';
  if (result.status !== 'Succeeded') {
    notes.push(`status ${result.status}`);
    outcome = 'warning';
  }
  if ((result.failedPatchCount ?? 0) > 0) {
    notes.push(
      `${result.failedPatchCount} patch(es) failed: ${(result.patches ?? [])
        .filter((p) => p.installationState === 'Failed')
        .map((p) => (p.kbId ? `KB${p.kbId}` : p.name))
        .join(', ')}`,
    );
    outcome = 'warning';
  }
  if (result.maintenanceWindowExceeded) {
    notes.push(`the maximum duration ran out with ${result.pendingPatchCount ?? 0} patch(es) pending`);
    outcome = 'warning';
  }
  if (result.rebootStatus === 'Required') {
    notes.push(rebootSetting === 'Never' ? 'a reboot is required (rebootSetting is Never)' : 'a reboot is still required');
    outcome = 'warning';
  }
  return outcome;
}

/** Runs `work` over `items`, at most `limit` at a time, in order of the list. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]);
      }
    }),
  );
  return results;
}

interface VmInfo {
  name: string;
  osType: string;
}

/** Reads every VM first: an unknown name or a classification list that fits no OS is refused before any patching. */
async function readVms(options: PatchOptions): Promise<VmInfo[]> {
  const vms = await inParallel(options.virtualMachines, 8, async (name): Promise<VmInfo> => {
    try {
      const vm = await options.clients.compute.virtualMachines.get(options.resourceGroupName, name);
      return { name: vm.name ?? name, osType: vm.storageProfile?.osDisk?.osType ?? 'Windows' };
    } catch (error) {
      if (armFailure(error).status === 404)
        throw new InputError('virtualMachines', `'${name}' is not a virtual machine in resource group '${options.resourceGroupName}'.`);
      throw describeArmError(error, `reading virtual machine '${name}'`);
    }
  });
  for (const vm of vms) {
    const allowed = vm.osType === 'Linux' ? LINUX_CLASSIFICATIONS : WINDOWS_CLASSIFICATIONS;
    if (options.action === 'install' && !options.classifications.some((name) => allowed.includes(name))) {
      throw new InputError(
        'classifications',
        `none of ${options.classifications.join(', ')} applies to ${vm.osType} virtual machine '${vm.name}'; add one of ` +
          `${allowed.join(', ')}.`,
      );
    }
  }
  return vms;
}

function installParameters(vm: VmInfo, options: PatchOptions): VirtualMachineInstallPatchesParameters {
  const parameters: VirtualMachineInstallPatchesParameters = {
    maximumDuration: options.maximumDuration,
    rebootSetting: options.rebootSetting,
  };
  if (vm.osType === 'Linux') {
    parameters.linuxParameters = {
      classificationsToInclude: options.classifications.filter((name) => LINUX_CLASSIFICATIONS.includes(name)),
    };
  } else {
    parameters.windowsParameters = {
      classificationsToInclude: options.classifications.filter((name) => WINDOWS_CLASSIFICATIONS.includes(name)),
      kbNumbersToExclude: options.kbNumbersToExclude.length ? options.kbNumbersToExclude : undefined,
    };
  }
  return parameters;
}

/** Assesses or installs patches on every listed VM, `maxParallel` at a time; one result per VM, in list order. */
export async function patchServers(options: PatchOptions): Promise<ServerPatchResult[]> {
  const { log, clients, resourceGroupName } = options;
  const vms = await readVms(options);
  let done = 0;
  log.progress(0, `${options.action === 'install' ? 'Patching' : 'Assessing'} ${vms.length} server(s)`);
  return inParallel(vms, options.maxParallel, async (vm): Promise<ServerPatchResult> => {
    const started = options.clock.now();
    const base = {
      serverGroup: options.serverGroup,
      server: vm.name,
      osType: vm.osType,
      action: options.action,
      startedAt: started.toISOString(),
    };
    const notes: string[] = [];
    const installing =
      `installing ${options.classifications.join(', ')} patches ` + `(reboot ${options.rebootSetting}, at most ${options.maximumDuration})`;
    log.info(`${vm.name}: ${options.action === 'install' ? installing : 'assessing available patches'}.`);
    let row: ServerPatchResult;
    try {
      const settle = { updateIntervalInMs: options.pollIntervalMs };
      if (options.action === 'install') {
        const poller = clients.compute.virtualMachines.installPatches(resourceGroupName, vm.name, installParameters(vm, options), settle);
        poller.onProgress((state) => log.debug(`${vm.name}: patch installation ${state.status}.`));
        const result = await poller;
        const outcome = outcomeOfInstall(result, options.rebootSetting, notes);
        row = {
          ...base,
          status: result.status ?? 'Unknown',
          installed: result.installedPatchCount,
          failed: result.failedPatchCount,
          pending: result.pendingPatchCount,
          excluded: result.excludedPatchCount,
          notSelected: result.notSelectedPatchCount,
          rebootStatus: result.rebootStatus,
          maintenanceWindowExceeded: result.maintenanceWindowExceeded,
          endedAt: options.clock.now().toISOString(),
          outcome,
          notes,
        };
      } else {
        const poller = clients.compute.virtualMachines.assessPatches(resourceGroupName, vm.name, settle);
        poller.onProgress((state) => log.debug(`${vm.name}: patch assessment ${state.status}.`));
        const result: VirtualMachineAssessPatchesResult = await poller;
        if (result.error?.message) notes.push(result.error.message);
        if (result.rebootPending) notes.push('a reboot is pending');
        row = {
          ...base,
          status: result.status ?? 'Unknown',
          available: result.availablePatches?.length ?? (result.criticalAndSecurityPatchCount ?? 0) + (result.otherPatchCount ?? 0),
          criticalAndSecurity: result.criticalAndSecurityPatchCount,
          rebootPending: result.rebootPending,
          endedAt: options.clock.now().toISOString(),
          outcome: result.status === 'Failed' ? 'failed' : result.status === 'Succeeded' ? 'ok' : 'warning',
          notes,
        };
      }
    } catch (error) {
      notes.push(
        messageOf(describeArmError(error, `${options.action === 'install' ? 'installing patches on' : 'assessing'} '${vm.name}'`)),
      );
      row = { ...base, status: 'Error', endedAt: options.clock.now().toISOString(), outcome: 'failed', notes };
    }
    done++;
    const counts =
      options.action === 'install'
        ? `${row.installed ?? 0} installed, ${row.failed ?? 0} failed, ${row.pending ?? 0} pending, reboot ${row.rebootStatus ?? '-'}`
        : `${row.available ?? 0} available (${row.criticalAndSecurity ?? 0} critical or security)`;
    const line = `${vm.name}: ${row.status}; ${counts}${notes.length ? `; ${notes.join('; ')}` : ''}.`;
    if (row.outcome === 'failed') log.error(line);
    else if (row.outcome === 'warning') log.warn(line);
    else log.info(line);
    log.progress((100 * done) / vms.length, `${done} of ${vms.length} server(s) done`);
    return row;
  });
}
