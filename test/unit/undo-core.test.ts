import { strict as assert } from 'node:assert';
import { Log } from '../../shared/core/log';
import { RecordStore, newUndoRecord, type UndoRecord } from '../../shared/core/records';
import {
  checkRecord,
  RecordRefusedError,
  requireBack,
  restoreRecordOrMarks,
  runUndo,
  type UndoItem,
  type UndoKind,
  type Verdict,
} from '../../shared/core/undo';
import { newWorkDirectory } from '../helpers/task-runner';

/**
 * The protocol itself (shared/core/undo.ts) on a resource kept in memory: what it refuses before any call,
 * that a distrusted record writes nothing, that a receipt needs a clean read-back and carries the window's
 * clock, and how a restore with no record walks the records folder. Every real kind is played against its
 * emulator in undo-protocol.test.ts.
 */
interface Data {
  zone: string;
  url?: string;
  items: Array<{ name: string; verdict: Verdict }>;
}

function memoryKind(options: { stuck?: string[]; marks?: Array<{ name: string; verdict: Verdict }> } = {}) {
  const writes: string[] = [];
  const kind: UndoKind<Data, string> = {
    kind: 'memory',
    validate(data) {
      const value = data as Data;
      if (!value || typeof value.zone !== 'string' || !Array.isArray(value.items)) throw new Error('zone and items are required');
      return value;
    },
    targetOf: (data) => ({ zone: data.zone }),
    urlsOf: (data) => (data.url ? [data.url] : []),
    assess: async (data) =>
      (data?.items ?? options.marks ?? []).map((item): UndoItem<string> => ({ name: item.name, verdict: item.verdict, item: item.name })),
    restore: async (items) => void writes.push(...items.map((item) => item.item)),
    readBack: async (items) => items.map((item) => item.name).filter((name) => options.stuck?.includes(name)),
  };
  return { kind, writes };
}

const record = (data: Data, windowId = 'w1'): UndoRecord<Data> =>
  newUndoRecord({ kind: 'memory', windowId, description: 'test', data, now: new Date('2025-04-13T08:00:00Z') });
/** A log that keeps the test's output clean. */
const quiet = () => Object.assign(new Log(), { info() {}, warn() {}, error() {} });

describe('the undo protocol core (shared/core/undo.ts)', () => {
  const expected = {
    windowId: 'w1',
    target: { zone: 'example.com' },
    connectionUrl: 'https://scheduler.example.com:8008/ws/',
    inputName: 'undoRecord',
  };

  it("refuses, before any call, a record of another window, another target, or with a URL off the connection's host", () => {
    const { kind } = memoryKind();
    const ok = record({ zone: 'Example.com', url: 'https://scheduler.example.com:8008/ws/jobs/release', items: [] });
    checkRecord(kind, ok, expected);
    checkRecord(kind, record({ zone: 'example.com', url: 'jobs/release', items: [] }), expected);
    const cases: Array<[UndoRecord<Data>, RegExp]> = [
      [record({ zone: 'example.com', items: [] }, 'w2'), /record of window 'w2', but this step restores window 'w1'/],
      [{ ...record({ zone: 'example.com', items: [] }), windowId: undefined }, /record of window '\(none\)'/],
      [record({ zone: 'example.org', items: [] }), /is for zone 'example.org', but this step names zone 'example.com'/],
      [
        record({ zone: 'example.com', url: 'https://evil.example.net/ws/jobs/release', items: [] }),
        /URL host 'evil.example.net', which is not the connection's host 'scheduler.example.com:8008'/,
      ],
      [record({ zone: 'example.com', url: 'https://scheduler.example.com:9999/ws', items: [] }), /URL host 'scheduler.example.com:9999'/],
      [record({ zone: 'example.com', url: '//evil.example.net/x', items: [] }), /URL host 'evil.example.net'/],
      [{ ...record({ zone: 'example.com', items: [] }), kind: 'pingdom' }, /is a 'pingdom' record, but this step restores 'memory'/],
    ];
    for (const [hostile, message] of cases) {
      assert.throws(
        () => checkRecord(kind, hostile, expected),
        (error: unknown) =>
          error instanceof RecordRefusedError &&
          message.test((error as Error).message) &&
          /Nothing was changed/.test((error as Error).message),
      );
    }
  });

  it('writes nothing of a record that asks for anything the marks do not confirm, and no receipt', async () => {
    const { kind, writes } = memoryKind();
    const dir = newWorkDirectory();
    const store = new RecordStore(dir);
    const outcome = await runUndo({
      kind,
      record: record({
        zone: 'example.com',
        items: [
          { name: 'a', verdict: 'restore' },
          { name: 'b', verdict: 'refuse' },
        ],
      }),
      windowId: 'w1',
      target: {},
      log: quiet(),
      now: () => new Date(),
      receipts: store,
    });
    assert.deepEqual(writes, [], 'distrusted: not even the confirmed item is written');
    assert.deepEqual(outcome.refused, ['b']);
    assert.equal(outcome.receipt, undefined);
    assert.deepEqual(store.receipts(), []);
    assert.throws(() => requireBack(outcome, 'Not back'), /refused .*: b.*No receipt was written.*run the restore without a record/);
  });

  it('writes the receipt, with the window clock, only when everything reads back', async () => {
    const dir = newWorkDirectory();
    const store = new RecordStore(dir);
    const items = [
      { name: 'a', verdict: 'restore' as const },
      { name: 'b', verdict: 'back' as const },
      { name: 'c', verdict: 'left' as const },
    ];
    const stuck = memoryKind({ stuck: ['a'] });
    const notBack = await runUndo({
      kind: stuck.kind,
      record: record({ zone: 'z', items }),
      windowId: 'w1',
      target: {},
      log: quiet(),
      now: () => new Date(),
      receipts: store,
    });
    assert.deepEqual(stuck.writes, ['a']);
    assert.deepEqual(notBack.notBack, ['a']);
    assert.equal(notBack.receipt, undefined, 'no receipt while something is not back');
    assert.throws(() => requireBack(notBack, 'Not back'), /not back after the restore: a/);

    const clean = memoryKind();
    const windowNow = new Date('2025-04-13T14:05:00Z');
    const back = await runUndo({
      kind: clean.kind,
      record: record({ zone: 'z', items }),
      windowId: 'w1',
      target: {},
      log: quiet(),
      now: () => windowNow,
      receipts: store,
    });
    assert.ok(back.receipt);
    assert.deepEqual(back.left, ['c'], 'changed by someone since: left, warned, and no obstacle to the receipt');
    assert.equal(store.receipts()[0].restoredAt, windowNow.toISOString(), 'the receipt carries the window clock');
  });

  it(
    'with no record: restores every unrestored record of the window in the folder (skipping other targets, refusing malformed ones), ' +
      'then the marks',
    async () => {
      const dir = newWorkDirectory();
      const store = new RecordStore(dir);
      const ours = record({ zone: 'example.com', items: [{ name: 'from-record', verdict: 'restore' }] });
      const done = record({ zone: 'example.com', items: [{ name: 'already-receipted', verdict: 'restore' }] });
      store.write(ours);
      store.write(done);
      store.writeReceipt(done, 'back', new Date('2025-04-13T09:00:00Z'));
      store.write(record({ zone: 'example.org', items: [{ name: 'other-zone', verdict: 'restore' }] }));
      store.write(record({ zone: 'example.com', items: [{ name: 'other-window', verdict: 'restore' }] }, 'w9'));
      store.write({ ...record({ zone: 'example.com', items: [] }), data: { zone: 'example.com' } });
      const { kind, writes } = memoryKind({ marks: [{ name: 'from-marks', verdict: 'restore' }] });
      const outcomes = await restoreRecordOrMarks({
        kind,
        store,
        windowId: 'w1',
        target: { zone: 'example.com' },
        log: quiet(),
        now: () => new Date(),
      });
      assert.deepEqual(writes, ['from-record', 'from-marks']);
      assert.equal(outcomes.filter((o) => o.refused.length).length, 1, 'the malformed record is refused, named');
      assert.ok(store.list().find((entry) => entry.record.id === ours.id)!.receipt, 'the folder record got its receipt');
    },
  );
});
