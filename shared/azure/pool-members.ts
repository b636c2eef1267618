/**
 * A backend pool member as the drain step sees it: an address (`ipAddress` / `fqdn`) or a NIC IP
 * configuration (the portal's "virtual machine" targets), with the name a person knows it by.
 */

export type PoolMember =
  | { type: 'ipAddress'; ipAddress: string; label?: string }
  | { type: 'fqdn'; fqdn: string; label?: string }
  | { type: 'ipConfiguration'; id: string; privateIp?: string; label?: string };

export const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function memberKey(member: PoolMember): string {
  switch (member.type) {
    case 'ipAddress':
      return `ip:${member.ipAddress}`;
    case 'fqdn':
      return `fqdn:${member.fqdn.toLowerCase()}`;
    case 'ipConfiguration':
      return `ipconfig:${member.id.toLowerCase()}`;
  }
}

/** The address a member is reached at (what backend health shows). */
export function memberAddress(member: PoolMember): string {
  return member.type === 'ipAddress'
    ? member.ipAddress
    : member.type === 'fqdn'
      ? member.fqdn
      : (member.privateIp ?? member.id.split('/').slice(-3).join('/'));
}

/** `IC-Web1 (10.0.2.4)`, or the address alone. */
export function describeMember(member: PoolMember): string {
  const address = memberAddress(member);
  return member.label && member.label.toLowerCase() !== address.toLowerCase() ? `${member.label} (${address})` : address;
}
