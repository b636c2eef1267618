import type { ApplicationGateway, ApplicationGatewayBackendAddressPool } from '@azure/arm-network';
import { InputError, ServiceError } from '../../core/errors';
import type { AddressMember } from '../drain-tags';
import { describeMember, memberKey, type PoolMember } from '../pool-members';
import type { PoolTarget, PoolUndoData } from './types';

/** Pure reading of the gateway's shape: pools, members, ids. */

/** The pool's addresses in its list order. */
export function addressMembersOf(pool: ApplicationGatewayBackendAddressPool): AddressMember[] {
  return (pool.backendAddresses ?? []).flatMap((address): AddressMember[] =>
    address.ipAddress ? [{ type: 'ipAddress', ipAddress: address.ipAddress }] : address.fqdn ? [{ type: 'fqdn', fqdn: address.fqdn }] : [],
  );
}

export function isAddress(member: PoolMember): member is AddressMember {
  return member.type !== 'ipConfiguration';
}

export function sameName(a: string | undefined, b: string): boolean {
  return (a ?? '').toLowerCase() === b.toLowerCase();
}

export function lastSegment(id: string | undefined): string | undefined {
  return id?.split('/').filter(Boolean).pop();
}

const NIC_IP_CONFIGURATION_ID = new RegExp(
  '^(/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\\.Network/networkInterfaces/([^/]+))/ipConfigurations/[^/]+$',
  'i',
);

/** `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic/ipConfigurations/c` → rg, nic. */
export function nicOf(ipConfigurationId: string): { resourceGroup: string; nic: string; nicId: string } {
  const match = NIC_IP_CONFIGURATION_ID.exec(ipConfigurationId);
  if (!match) throw new ServiceError('Azure', `'${ipConfigurationId}' is not a network interface IP configuration id.`);
  return { nicId: match[1], resourceGroup: match[2], nic: match[3] };
}

/** `pool 'web' of application gateway 'agw'`, for messages. */
export function describePool(target: PoolTarget): string {
  return `pool '${target.backendPoolName}' of application gateway '${target.applicationGatewayName}'`;
}

/** The target's pool in `gateway`, or an input error listing the pools there are. */
export function findPool(gateway: ApplicationGateway, target: PoolTarget): ApplicationGatewayBackendAddressPool {
  const pools = gateway.backendAddressPools ?? [];
  const pool = pools.find((candidate) => sameName(candidate.name, target.backendPoolName));
  if (!pool) {
    throw new InputError(
      'backendPoolName',
      `application gateway '${target.applicationGatewayName}' has no backend pool '${target.backendPoolName}'; its pools: ` +
        `${pools.map((p) => p.name).join(', ') || 'none'}.`,
    );
  }
  return pool;
}

/** The pool's address list as written back to the gateway. */
export function backendAddressesOf(members: AddressMember[]): ApplicationGatewayBackendAddressPool['backendAddresses'] {
  return members.map((member) => (member.type === 'ipAddress' ? { ipAddress: member.ipAddress } : { fqdn: member.fqdn }));
}

/** Checks an undo record's data (for `parseUndoRecord`). */
export function validatePoolUndoData(data: unknown): PoolUndoData {
  const value = data as Partial<PoolUndoData> | undefined;
  if (!value || typeof value !== 'object') throw new Error('data is missing.');
  for (const field of ['subscriptionId', 'resourceGroupName', 'applicationGatewayName', 'backendPoolName'] as const) {
    if (typeof value[field] !== 'string' || !value[field]) throw new Error(`data.${field} is missing.`);
  }
  for (const field of ['membersBefore', 'removed'] as const) {
    if (!Array.isArray(value[field])) throw new Error(`data.${field} is not a list.`);
    for (const member of value[field]) {
      const ok =
        member &&
        ((member.type === 'ipAddress' && typeof member.ipAddress === 'string') ||
          (member.type === 'fqdn' && typeof member.fqdn === 'string') ||
          (member.type === 'ipConfiguration' && typeof member.id === 'string'));
      if (!ok) throw new Error(`data.${field} holds an entry that is not a pool member: ${JSON.stringify(member)}.`);
    }
  }
  const before = new Set(value.membersBefore!.map(memberKey));
  const stray = value.removed!.filter((member) => !before.has(memberKey(member)));
  if (stray.length) throw new Error(`data.removed lists ${stray.map(describeMember).join(', ')}, which were not in the pool before.`);
  return value as PoolUndoData;
}
