import { strict as assert } from 'node:assert';
import {
  DrainedTagError,
  formatGatewayTag,
  formatNicTag,
  fullOrder,
  gatewayTagName,
  nicTagName,
  parseGatewayTag,
  parseNicTag,
  positioned,
  tagValue,
  TAG_LIMITS,
  withTag,
  type AddressMember,
} from '../../shared/azure/drain-tags';

const ip = (ipAddress: string): AddressMember => ({ type: 'ipAddress', ipAddress });
const fqdn = (name: string): AddressMember => ({ type: 'fqdn', fqdn: name });

describe('drained tags (shared/azure/drain-tags.ts)', () => {
  it('names the gateway tag by pool and the NIC tag by gateway and pool', () => {
    assert.equal(gatewayTagName('web'), 'maintenance-window.drained.web');
    assert.equal(nicTagName('agw-pri-appgateway0-prd', 'web'), 'maintenance-window.drained.agw-pri-appgateway0-prd.web');
  });

  it("writes compact JSON by window with each address's position, and reads it back", () => {
    const entries = [
      { member: ip('10.0.2.5'), windowId: '2025-04', position: 1 },
      { member: fqdn('web3.contoso.com'), windowId: '2025-04', position: 2 },
      { member: ip('10.0.2.4'), windowId: '2025-04', position: 0 },
      { member: ip('10.0.2.9'), windowId: '118', position: 5 },
    ];
    const value = formatGatewayTag(entries)!;
    // (JSON objects list integer-like keys, such as a build id, first.)
    assert.equal(value, '{"118":{"10.0.2.9":5},"2025-04":{"10.0.2.4":0,"10.0.2.5":1,"web3.contoso.com":2}}');
    assert.deepEqual(
      parseGatewayTag(value),
      [...entries].sort((a, b) => a.position - b.position),
    );
    assert.equal(formatGatewayTag([]), undefined, 'no entries: the tag is removed');
    assert.deepEqual(parseGatewayTag(undefined), []);
  });

  it('refuses a tag it did not write (not JSON, wrong shape, no position)', () => {
    for (const value of ['drained by Bob', '[1,2]', '{"w":["10.0.2.4"]}', '{"w":{"10.0.2.4":-1}}', '{"w":{"10.0.2.4":"0"}}']) {
      assert.throws(
        () => parseGatewayTag(value, 'maintenance-window.drained.web'),
        (error: Error) => error instanceof DrainedTagError && /maintenance-window\.drained\.web/.test(error.message),
        value,
      );
    }
    assert.throws(() => parseNicTag('{"w":"ipconfig1"}'), DrainedTagError);
  });

  it('reads and writes the NIC tag: IP configuration names by window', () => {
    const value = formatNicTag([
      { name: 'ipconfig1', windowId: '2025-04' },
      { name: 'ipconfig2', windowId: '2025-04' },
    ])!;
    assert.equal(value, '{"2025-04":["ipconfig1","ipconfig2"]}');
    assert.deepEqual(parseNicTag(value), [
      { name: 'ipconfig1', windowId: '2025-04' },
      { name: 'ipconfig2', windowId: '2025-04' },
    ]);
    assert.equal(formatNicTag([]), undefined);
  });

  it('changes only its own tag, whatever the case of its name, and leaves every other tag as it was', () => {
    const tags = { environment: 'production', 'Maintenance-Window.Drained.WEB': '{"old":{"10.0.2.4":0}}', owner: 'platform' };
    assert.equal(tagValue(tags, 'maintenance-window.drained.web'), '{"old":{"10.0.2.4":0}}');
    const set = withTag(tags, 'maintenance-window.drained.web', '{"new":{"10.0.2.5":1}}');
    assert.deepEqual(set, {
      tags: { environment: 'production', owner: 'platform', 'maintenance-window.drained.web': '{"new":{"10.0.2.5":1}}' },
    });
    assert.deepEqual(withTag(tags, 'maintenance-window.drained.web', undefined), {
      tags: { environment: 'production', owner: 'platform' },
    });
    assert.deepEqual(tags.owner, 'platform', 'the input is not changed');
  });

  it('says why Azure would refuse the tag: a value over 256 characters, 50 tags already, a name over 512', () => {
    const long = withTag({}, 'maintenance-window.drained.web', 'x'.repeat(TAG_LIMITS.valueLength + 1));
    assert.ok('problem' in long && /257 characters long \(Azure allows 256/.test(long.problem));
    assert.ok('tags' in withTag({}, 'maintenance-window.drained.web', 'x'.repeat(TAG_LIMITS.valueLength)));
    const full = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`tag${index}`, 'v']));
    const crowded = withTag(full, 'maintenance-window.drained.web', '{}');
    assert.ok('problem' in crowded && /already has 50 other tags/.test(crowded.problem));
    const replacing = withTag(
      { ...Object.fromEntries(Object.entries(full).slice(1)), 'maintenance-window.drained.web': 'old' },
      'maintenance-window.drained.web',
      'new',
    );
    assert.ok('tags' in replacing, 'replacing our own tag does not add one');
    const longName = withTag({}, `maintenance-window.drained.${'p'.repeat(500)}`, '{}');
    assert.ok('problem' in longName && /Azure allows 512/.test(longName.problem));
  });

  it('puts drained addresses back at their positions, and positions them in the full order', () => {
    const all = ['10.0.2.4', '10.0.2.5', '10.0.2.6', '10.0.2.7', '10.0.2.8'].map(ip);
    // Two batches out at once: 0 and 1 by one drain, 4 by another.
    const current = [all[2], all[3]];
    const drained = [
      { member: all[4], windowId: 'b', position: 4 },
      { member: all[0], windowId: 'a', position: 0 },
      { member: all[1], windowId: 'a', position: 1 },
    ];
    assert.deepEqual(fullOrder(current, drained), all);
    assert.deepEqual(
      fullOrder([...current, ip('10.0.2.99')], drained),
      [...all, ip('10.0.2.99')],
      'an address someone else added stays after them',
    );
    assert.deepEqual(fullOrder([all[0], ...current], drained), all, 'an address already back is not inserted twice');
    assert.deepEqual(fullOrder([], [{ member: all[3], windowId: 'a', position: 7 }]), [all[3]], 'a position past the end goes last');
    assert.deepEqual(
      positioned(all, [{ member: { ...all[3], label: 'IC-Web4' }, windowId: 'c' }]),
      [{ member: all[3], windowId: 'c', position: 3 }],
      'positions are indexes in the order, and labels are not stored',
    );
    assert.throws(() => positioned(current, [{ member: all[0], windowId: 'a' }]), /not in the order/);
  });
});
