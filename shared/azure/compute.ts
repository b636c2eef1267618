import type { ComputeManagementClient } from '@azure/arm-compute';
import { armClientOptions, type AzureConnection } from './credentials';
import { loadArmCompute } from '../core/lazy';

/**
 * The compute client alone, for steps that only patch VMs: `armClients` (arm.ts) also makes the network
 * client, and importing it would bundle the whole network SDK into a step that never calls it.
 */
export interface ComputeClients {
  compute: ComputeManagementClient;
}

export function computeClients(connection: AzureConnection): ComputeClients {
  // Loaded here, on first use: a step that stops at its inputs starts without the SDK.
  const { ComputeManagementClient } = loadArmCompute();
  return { compute: new ComputeManagementClient(connection.credential, connection.subscriptionId, armClientOptions(connection)) };
}
