import { strict as assert } from 'node:assert';
import { checkEnoughHealthy } from '../../shared/azure/appgateway/drain';
import { drainTimeoutOf, healthByMember } from '../../shared/azure/appgateway/health';
import { matchByName, matchByVm } from '../../shared/azure/appgateway/matching';
import { addressesAfterRestore } from '../../shared/azure/appgateway/restore';
import { memberKey, type PoolMember } from '../../shared/azure/pool-members';
import { SafetyError } from '../../shared/core/errors';

/** The pure steps of the gateway pool client, without a gateway (the emulator tests cover the whole). */

const ip = (ipAddress: string, label?: string): PoolMember => ({ type: 'ipAddress', ipAddress, label });
const fqdn = (name: string): PoolMember => ({ type: 'fqdn', fqdn: name });
const nicId = (nic: string) =>
  `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/${nic}/ipConfigurations/ipconfig1`;
const nic = (name: string, privateIp: string): PoolMember => ({ type: 'ipConfiguration', id: nicId(name), privateIp, label: name });
const poolId = '/subscriptions/s/resourcegroups/rg/providers/microsoft.network/applicationgateways/agw/backendaddresspools/web';

describe('shared/azure/appgateway: pure steps', () => {
  it('matches a server by IP, FQDN or its first label, NIC IP or VM name', () => {
    const members = [ip('10.0.0.4'), fqdn('web2.example.com'), nic('web3', '10.0.0.6')];
    assert.deepEqual(matchByName(members, '10.0.0.4'), [members[0]]);
    assert.deepEqual(matchByName(members, 'WEB2'), [members[1]]);
    assert.deepEqual(matchByName(members, 'web2.example.com'), [members[1]]);
    assert.deepEqual(matchByName(members, '10.0.0.6'), [members[2]]);
    assert.deepEqual(matchByName(members, 'web3'), [members[2]]);
    assert.deepEqual(matchByName(members, 'web9'), []);
    const vm = { ips: new Set(['10.0.0.4']), ipConfigurations: new Set([nicId('web3').toLowerCase()]) };
    assert.deepEqual(matchByVm(members, vm), [members[0], members[2]]);
  });

  it("reads each member's worst health over the pool's HTTP settings, and Not listed when absent", () => {
    const raw = {
      backendAddressPools: [
        {
          backendAddressPool: { id: poolId.toUpperCase() },
          backendHttpSettingsCollection: [
            {
              servers: [
                { address: '10.0.0.4', health: 'Up' },
                { ipConfiguration: { id: nicId('web3') }, health: 'Up' },
              ],
            },
            { servers: [{ address: '10.0.0.4', health: 'Down', healthProbeLog: 'timed out' }] },
          ],
        },
        {
          backendAddressPool: { id: `${poolId}-other` },
          backendHttpSettingsCollection: [{ servers: [{ address: '10.0.0.5', health: 'Up' }] }],
        },
      ],
    };
    const members = [ip('10.0.0.4'), ip('10.0.0.5'), nic('web3', '10.0.0.6')];
    const byMember = healthByMember(raw, poolId, members);
    assert.deepEqual(
      members.map((member) => [byMember.get(memberKey(member))!.health, byMember.get(memberKey(member))!.detail]),
      [
        ['Down', 'timed out'],
        ['Not listed', undefined],
        ['Up', undefined],
      ],
    );
  });

  it('takes the longest draining timeout of the HTTP settings that serve the pool', () => {
    const gateway = {
      requestRoutingRules: [{ backendAddressPool: { id: poolId }, backendHttpSettings: { id: 'settings/b' } }],
      backendHttpSettingsCollection: [
        { id: 'settings/a', name: 'a', connectionDraining: { enabled: true, drainTimeoutInSec: 30 } },
        { id: 'settings/b', name: 'b', connectionDraining: { enabled: true, drainTimeoutInSec: 90 } },
        { id: 'settings/c', name: 'c', connectionDraining: { enabled: true, drainTimeoutInSec: 600 } },
      ],
    };
    const raw = {
      backendAddressPools: [
        { backendAddressPool: { id: poolId }, backendHttpSettingsCollection: [{ backendHttpSettings: { id: 'settings/a' } }] },
      ],
    };
    assert.deepEqual(drainTimeoutOf(gateway, raw, poolId), { seconds: 90, settings: ['a', 'b'] });
  });

  it('refuses a drain that leaves fewer healthy servers than asked, naming who is healthy and who is not', () => {
    const members = [ip('10.0.0.4'), ip('10.0.0.5'), ip('10.0.0.6')];
    const health = ['Up', 'Up', 'Down'];
    const byMember = new Map(members.map((member, index) => [memberKey(member), { member, health: health[index] }]));
    const check = (minHealthyServers: number) =>
      checkEnoughHealthy({
        after: members,
        batchKeys: new Set([memberKey(members[0])]),
        byMember,
        minHealthyServers,
        draining: [members[0]],
        where: "pool 'web'",
      });
    check(1);
    assert.throws(
      () => check(2),
      (error: unknown) =>
        error instanceof SafetyError &&
        /Refusing to drain 10\.0\.0\.4 .*only 1 healthy server.*Healthy: 10\.0\.0\.5; not healthy: 10\.0\.0\.6 Down\./.test(error.message),
    );
  });

  it('puts addresses back in the order before the drain, keeping what others added or removed since', () => {
    const before = [ip('10.0.0.4'), ip('10.0.0.5'), ip('10.0.0.6'), ip('10.0.0.7')];
    // Since the drain of .5 and .6, someone removed .7 and added .9.
    const present = [ip('10.0.0.4'), ip('10.0.0.9')] as Array<Extract<PoolMember, { type: 'ipAddress' }>>;
    const toAdd = [ip('10.0.0.5'), ip('10.0.0.6')] as Array<Extract<PoolMember, { type: 'ipAddress' }>>;
    const after = addressesAfterRestore(before, present, toAdd);
    assert.deepEqual(
      after.map((member) => (member.type === 'ipAddress' ? member.ipAddress : member.fqdn)),
      ['10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.9'],
    );
  });
});
