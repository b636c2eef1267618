import { messageOf } from '../core/errors';
import { compactNames } from '../core/text';
import type { PreflightFinding } from '../core/preflight';
import { armFailure } from './arm-errors';
import { computeClients } from './compute';
import type { AzureConnection } from './credentials';
import { checkPermissions, checkSignIn, PATCHING_ROLE_ACTIONS } from './permissions-check';

/**
 * PatchVms' `check` action: signs in, compares the identity's permissions on the resource group with the
 * role's Compute actions, and reads every virtual machine of the group (exists, running, OS). It neither
 * assesses nor installs anything.
 */

export interface PatchCheckOptions {
  connection: AzureConnection;
  resourceGroupName: string;
  virtualMachines: string[];
  serverGroup: string;
  action: 'assess' | 'install';
  classifications: string[];
  maxParallel: number;
}

export async function checkPatching(options: PatchCheckOptions): Promise<PreflightFinding[]> {
  const signIn = await checkSignIn(options.connection);
  if (signIn.verdict === 'NO-GO') return [signIn];
  const clients = computeClients(options.connection);
  const findings = [
    signIn,
    await checkPermissions({
      sender: clients.compute,
      connection: options.connection,
      resourceGroupName: options.resourceGroupName,
      needed: PATCHING_ROLE_ACTIONS,
      purpose: 'patching',
    }),
  ];
  const found: string[] = [];
  for (const name of options.virtualMachines) {
    const object = `virtual machine ${name} (resource group ${options.resourceGroupName})`;
    try {
      const vm = await clients.compute.virtualMachines.get(options.resourceGroupName, name, { expand: 'instanceView' });
      const power = vm.instanceView?.statuses?.find((status) => status.code?.startsWith('PowerState/'))?.code?.split('/')[1];
      if (power && power !== 'running') {
        findings.push({
          check: 'vm',
          object,
          verdict: 'NO-GO',
          why: `is ${power}: patches install only on a running VM.`,
          fix: 'Start the VM before the night, or take it out of the server group.',
        });
      } else found.push(name);
    } catch (error) {
      const notFound = armFailure(error).status === 404;
      findings.push({
        check: 'vm',
        object,
        verdict: 'NO-GO',
        why: notFound ? 'does not exist in the resource group (renamed, moved or deleted?).' : messageOf(error),
        fix: notFound
          ? `Correct the server group '${options.serverGroup}' in the pipeline's parameters.`
          : 'See why; run the check again once Azure answers.',
      });
    }
  }
  const verb = options.action === 'install' ? `install ${options.classifications.join(', ')} patches on` : 'assess patches of';
  if (found.length) {
    findings.push({
      check: 'vm',
      object: `server group ${options.serverGroup}`,
      verdict: 'GO',
      why: `${found.length} of ${options.virtualMachines.length} VM(s) found and running.`,
      fix: '',
      wouldDo: `would ${verb} ${compactNames(found)}, ${options.maxParallel} at a time`,
    });
  }
  return findings;
}
