import type { ApplicationGateway, ApplicationGatewayBackendAddressPool, NetworkInterface } from '@azure/arm-network';
import { InputError, ServiceError } from '../../core/errors';
import { poll } from '../../core/retry';
import { armFailure, describeArmError } from '../arm';
import type { PoolMember } from '../pool-members';
import type { PoolSession } from './session';
import { findPool, lastSegment, nicOf, sameName } from './shape';

/** Reading the gateway, its NICs and VMs, each read waiting out an update in progress where it matters. */

/** The gateway, once no update is running on it (ours from a step that died, or someone else's). */
export async function readGateway(session: PoolSession): Promise<ApplicationGateway> {
  const { resourceGroupName, applicationGatewayName } = session.target;
  const read = async () => {
    try {
      return await session.clients.network.applicationGateways.get(resourceGroupName, applicationGatewayName);
    } catch (error) {
      const { status, code } = armFailure(error);
      if (status === 404 && code === 'ResourceGroupNotFound')
        throw new InputError(
          'resourceGroupName',
          `resource group '${resourceGroupName}' was not found in subscription ${session.clients.connection.subscriptionId}.`,
        );
      if (status === 404)
        throw new InputError(
          'applicationGatewayName',
          `no application gateway '${applicationGatewayName}' in resource group '${resourceGroupName}'.`,
        );
      throw describeArmError(error, `reading application gateway '${applicationGatewayName}'`);
    }
  };
  const result = await poll(read, (gateway) => gateway.provisioningState !== 'Updating', notBusyFor(session), {
    clock: session.clock,
    onWait: (_, round) => {
      if (round === 0)
        session.log.info(
          `Application gateway '${applicationGatewayName}' is being updated; waiting for that update to finish before reading it.`,
        );
    },
  });
  if (!result.ok)
    throw new ServiceError(
      'Azure',
      `application gateway '${applicationGatewayName}' has been updating for too long; not changing it meanwhile.`,
    );
  return result.value;
}

/** A NIC (cached); `fresh` reads it again and waits out an update in progress. */
export async function readNic(session: PoolSession, nicId: string, fresh = false): Promise<NetworkInterface> {
  const cached = session.nicCache.get(nicId.toLowerCase());
  if (cached && !fresh) return cached;
  const { resourceGroup, nic } = nicOf(`${nicId}/ipConfigurations/x`);
  const read = async () => {
    let found: NetworkInterface;
    try {
      found = await session.clients.network.networkInterfaces.get(resourceGroup, nic);
    } catch (error) {
      throw describeArmError(error, `reading network interface '${nic}'`);
    }
    session.nicCache.set(nicId.toLowerCase(), found);
    return found;
  };
  const result = await poll(read, (found) => !fresh || found.provisioningState !== 'Updating', notBusyFor(session), {
    clock: session.clock,
  });
  if (!result.ok) throw new ServiceError('Azure', `network interface '${nic}' has been updating for too long.`);
  return result.value;
}

/** How a read waits out someone else's update: at the poll interval, for at most the busy timeout. */
function notBusyFor(session: PoolSession) {
  return { intervalMs: session.options.pollIntervalMs, timeoutMs: session.busyTimeoutMs };
}

/** The pool's members: its addresses, then the NIC IP configurations that reference it. */
export async function membersOf(session: PoolSession, pool: ApplicationGatewayBackendAddressPool): Promise<PoolMember[]> {
  const members: PoolMember[] = [];
  for (const address of pool.backendAddresses ?? []) {
    if (address.ipAddress) members.push({ type: 'ipAddress', ipAddress: address.ipAddress });
    else if (address.fqdn) members.push({ type: 'fqdn', fqdn: address.fqdn });
  }
  for (const config of pool.backendIPConfigurations ?? []) {
    if (!config.id) continue;
    const { nicId, nic } = nicOf(config.id);
    const found = await readNic(session, nicId);
    const ipConfig = found.ipConfigurations?.find((candidate) => sameName(candidate.id, config.id!));
    members.push({
      type: 'ipConfiguration',
      id: config.id,
      privateIp: ipConfig?.privateIPAddress,
      label: lastSegment(found.virtualMachine?.id) ?? nic,
    });
  }
  return members;
}

/** The gateway and the pool's members, read afresh (after a write). */
export async function readPool(session: PoolSession): Promise<{ gateway: ApplicationGateway; members: PoolMember[] }> {
  const gateway = await readGateway(session);
  session.nicCache.clear();
  return { gateway, members: await membersOf(session, findPool(gateway, session.target)) };
}

/** A VM's NIC IP configurations and private IPs. */
export interface VmAddresses {
  ips: Set<string>;
  ipConfigurations: Set<string>;
  primary?: { id: string; ip?: string };
}

/** A VM's addresses; an InputError naming `inputName` when there is no such VM. */
export async function vmAddresses(session: PoolSession, inputName: string, vmName: string): Promise<VmAddresses> {
  const { resourceGroupName } = session.target;
  let vm;
  try {
    vm = await session.clients.compute.virtualMachines.get(resourceGroupName, vmName);
  } catch (error) {
    if (armFailure(error).status === 404) {
      throw new InputError(
        inputName,
        `'${vmName}' is not an IP address, an FQDN of ${session.where}, or a virtual machine in resource group '${resourceGroupName}'.`,
      );
    }
    throw describeArmError(error, `reading virtual machine '${vmName}'`);
  }
  const found: VmAddresses = { ips: new Set<string>(), ipConfigurations: new Set<string>() };
  const nics = vm.networkProfile?.networkInterfaces ?? [];
  for (const reference of nics) {
    if (!reference.id) continue;
    const nic = await readNic(session, reference.id);
    for (const config of nic.ipConfigurations ?? []) {
      if (config.privateIPAddress) found.ips.add(config.privateIPAddress);
      if (config.id) found.ipConfigurations.add(config.id.toLowerCase());
      const isPrimaryNic = reference.primary ?? nics.length === 1;
      if (config.id && isPrimaryNic && (config.primary ?? true) && !found.primary)
        found.primary = { id: config.id, ip: config.privateIPAddress };
    }
  }
  return found;
}
