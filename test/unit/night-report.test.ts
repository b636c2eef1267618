import { strict as assert } from 'node:assert';
import { criticalPath, NightReportError, parseNightReport, renderNightHtml, type NightReport } from '../../shared/report';
import { howToRestore, nightState, scheduleMarks } from '../../shared/window/night';
import { chromiumPath } from '../browser/browser';
import { night } from '../browser/nights';

describe('the night report (model, builder, renderer)', () => {
  it('marks the longest chain of changes by duration as the critical path', () => {
    const minutes = (n: number) => n * 60_000;
    assert.deepEqual(
      criticalPath([
        { id: 'a', dependsOn: [], durationMs: minutes(10) },
        { id: 'b', dependsOn: ['a'], durationMs: minutes(5) },
        { id: 'c', dependsOn: [], durationMs: minutes(30) },
      ]),
      ['c'],
    );
    assert.deepEqual(
      criticalPath([
        { id: 'a', dependsOn: [], durationMs: minutes(10) },
        { id: 'b', dependsOn: ['a'], durationMs: minutes(25) },
        { id: 'c', dependsOn: [], durationMs: minutes(30) },
      ]),
      ['a', 'b'],
    );
    assert.deepEqual(criticalPath([]), []);
  });

  it("puts the schedule marks on the plan's weekend in Eastern time, summer and winter", () => {
    assert.deepEqual(
      scheduleMarks('2025-04-13', 'America/New_York').map((mark) => mark.at),
      [
        '2025-04-12T23:00:00.000Z',
        '2025-04-13T02:00:00.000Z',
        '2025-04-13T08:30:00.000Z',
        '2025-04-13T08:45:00.000Z',
        '2025-04-13T14:00:00.000Z',
        '2025-04-13T16:00:00.000Z',
      ],
    );
    const winter = scheduleMarks('2025-01-12', 'America/New_York', 'Sun 14:00');
    assert.equal(winter[0].at, '2025-01-12T00:00:00.000Z', 'Sat 19:00 EST');
    assert.deepEqual(winter.at(-1), { label: 'window end', at: '2025-01-12T19:00:00.000Z' });
  });

  it('judges the night: a cancel is a cancel, anything left or failed is a failure', () => {
    assert.equal(nightState([{ result: 'Succeeded' }, { result: 'Canceled' }, { result: 'Failed' }], 0), 'canceled');
    assert.equal(nightState([{ result: 'Succeeded' }], 1), 'failed');
    assert.equal(nightState([{ result: 'Succeeded' }, { result: 'Skipped' }], 0), 'succeeded');
    assert.match(howToRestore('pingdom'), /^Run PingdomPause@1 with action resume.*pipelines\/recover\.yml/);
    assert.match(howToRestore('something-new'), /restore action of the step that made it/);
  });

  it('refuses a document it cannot draw, saying why', () => {
    assert.throws(
      () => parseNightReport('{'),
      (error: Error) => error instanceof NightReportError && /not JSON/.test(error.message),
    );
    assert.throws(() => parseNightReport({ schemaVersion: 2 }), /schemaVersion 2; this page draws version 1/);
    const { changes: _changes, ...withoutChanges } = night('succeeded');
    assert.throws(() => parseNightReport(withoutChanges), /no 'changes' list/);
    assert.equal(parseNightReport(JSON.stringify(night('failed'))).state, 'failed');
  });

  it('draws a self-contained page: what it is given is escaped, nothing is fetched', () => {
    const report: NightReport = night('failed');
    report.silences[0] = { ...report.silences[0], description: '<script>alert(1)</script> & "quotes"' };
    const html = renderNightHtml(report);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quotes&quot;/);
    assert.doesNotMatch(html, /\bsrc=|@import|url\(|<link/i);
    assert.match(html, /default-src 'none'/);
    assert.match(html, /prefers-color-scheme:dark/);
    assert.match(html, /@media print/);
  });

  it('the browser tests say how to install chromium when it is missing', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.throws(() => chromiumPath(), /Chromium is not installed.*apt-get install chromium/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
