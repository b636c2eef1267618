import { strict as assert } from 'node:assert';
import { DateTime } from 'luxon';
import { InputError } from '../../shared/core/errors';
import { Log } from '../../shared/core/log';
import { setWriter } from '../../shared/core/commands';
import { simulatedClock, windowClock } from '../../shared/core/clock';
import { cronSlots, decideGate, gateInstant, parseNotBefore, type GateOptions } from '../../shared/window/gate';

const NY = 'America/New_York';
const SAT_1900 = parseNotBefore('notBefore', 'Sat 19:00');

function gate(now: string, overrides: Partial<GateOptions> = {}) {
  return decideGate({
    notBefore: SAT_1900,
    timeZone: NY,
    now: new Date(now),
    maxWaitMinutes: 30,
    lateToleranceMinutes: 45,
    scheduled: true,
    ...overrides,
  });
}

/** Every Saturday of `year` (local dates). */
function saturdays(year: number): DateTime[] {
  const days: DateTime[] = [];
  for (let day = DateTime.fromObject({ year, month: 1, day: 1 }, { zone: NY }); day.year === year; day = day.plus({ days: 1 })) {
    if (day.weekday === 6) days.push(day);
  }
  return days;
}

describe('shared/window gate (Eastern time over UTC cron)', () => {
  it('parses a weekday and time or a local date-time, and names the input when it cannot', () => {
    assert.deepEqual(parseNotBefore('notBefore', 'Saturday 19:00'), { kind: 'weekly', weekday: 6, hour: 19, minute: 0, text: 'Saturday 19:00' });
    assert.deepEqual(parseNotBefore('notBefore', 'sun 4:45'), { kind: 'weekly', weekday: 7, hour: 4, minute: 45, text: 'sun 4:45' });
    assert.equal(parseNotBefore('notBefore', '2025-04-13 04:45').kind, 'once');
    for (const bad of ['Sa 19:00', 'Funday 19:00', 'Sat 25:00', '2025-13-01 10:00', 'tonight']) {
      assert.throws(() => parseNotBefore('notBefore', bad), (error: unknown) => error instanceof InputError && error.input === 'notBefore', bad);
    }
  });

  it('schedules both UTC slots of Sat 19:00 New York time: 23:00 UTC Saturday (EDT) and 00:00 UTC Sunday (EST)', () => {
    const slots = cronSlots(SAT_1900, NY, 2025);
    assert.deepEqual(slots.map((slot) => slot.cron), ['0 23 * * 6', '0 0 * * 0']);
    assert.match(slots[1].description, /Sun 00:00 UTC = Sat 19:00 at UTC-5/);
    assert.deepEqual(cronSlots(parseNotBefore('x', 'Sun 04:30'), NY, 2025).map((slot) => slot.cron), ['30 8 * * 0', '30 9 * * 0']);
    assert.deepEqual(cronSlots(SAT_1900, 'UTC', 2025).map((slot) => slot.cron), ['0 19 * * 6'], 'one slot where there is no daylight saving');
  });

  it('2025-03-08/09 (DST starts Sunday 2025-03-09): the Saturday is still EST, so the 00:00 UTC run opens and the 23:00 UTC run is skipped', () => {
    const early = gate('2025-03-08T23:00:40Z');
    assert.equal(early.action, 'skip');
    assert.match(early.message, /early one of the two UTC schedules/);
    const right = gate('2025-03-09T00:00:40Z');
    assert.equal(right.action, 'open');
    assert.equal(right.opensAt.toISOString(), '2025-03-09T00:00:00.000Z');
    // The next Saturday is EDT: the other slot takes over.
    assert.equal(gate('2025-03-15T23:01:00Z').action, 'open');
    assert.equal(gate('2025-03-16T00:01:00Z').action, 'skip');
    // A gate on Sunday 2025-03-09 itself, after the change: 04:45 EDT is 08:45 UTC.
    const sunday = parseNotBefore('notBefore', 'Sun 04:45');
    assert.equal(gateInstant(sunday, NY, new Date('2025-03-09T06:00:00Z')).toISOString(), '2025-03-09T08:45:00.000Z');
  });

  it('2025-11-01/02 (DST ends Sunday 2025-11-02): the Saturday is still EDT, so the 23:00 UTC run opens and the 00:00 UTC run is skipped', () => {
    assert.equal(gate('2025-11-01T23:00:30Z').action, 'open');
    const late = gate('2025-11-02T00:00:30Z');
    assert.equal(late.action, 'skip');
    assert.match(late.message, /late one of the two UTC schedules/);
    const sunday = parseNotBefore('notBefore', 'Sun 04:45');
    assert.equal(gateInstant(sunday, NY, new Date('2025-11-02T01:00:00Z')).toISOString(), '2025-11-02T09:45:00.000Z');
    assert.equal(gate('2025-11-08T23:00:30Z').action, 'skip');
    assert.equal(gate('2025-11-09T00:00:30Z').action, 'open');
  });

  for (const year of [2025, 2026]) {
    it(`every Saturday of ${year}: 19:00 New York time is exactly one of the two cron slots, and only that run goes through`, () => {
      const days = saturdays(year);
      assert.equal(days.length, 52);
      for (const day of days) {
        const local = day.set({ hour: 19, minute: 0 });
        const summer = DateTime.fromISO(`${day.toISODate()}T23:00:00Z`);
        const winter = summer.plus({ hours: 1 });
        const matches = [summer, winter].filter((slot) => slot.toMillis() === local.toMillis());
        assert.equal(matches.length, 1, `${day.toISODate()}: 19:00 local is ${local.toUTC().toISO()}`);
        // Each scheduled run starts a few minutes after its cron time, as the agent pool picks it up.
        const decisions = [summer, winter].map((slot) => gate(slot.plus({ minutes: 3 }).toISO()!).action);
        assert.deepEqual(decisions.slice().sort(), ['open', 'skip'], `${day.toISODate()}: ${decisions.join(', ')}`);
        assert.equal(decisions[[summer, winter].indexOf(matches[0])], 'open', day.toISODate()!);
      }
    });
  }

  it('waits when a little early, fails when far too early or too late, and never skips a manual run', () => {
    const wait = gate('2025-04-12T22:50:00Z');
    assert.equal(wait.action, 'wait');
    assert.equal(wait.action === 'wait' && Math.round(wait.waitMinutes), 10);
    assert.equal(gate('2025-04-12T21:00:00Z').action, 'fail');
    const late = gate('2025-04-12T23:25:00Z', { lateToleranceMinutes: 20 });
    assert.equal(late.action, 'fail');
    assert.match(late.message, /Too late.*25 min ago.*lateToleranceMinutes \(20\)/);
    assert.equal(gate('2025-04-12T23:50:00Z', { scheduled: false }).action, 'fail', 'by hand, 50 minutes late is too late');
    // A scheduled run nearer the other slot than its own is that other slot's run.
    assert.equal(gate('2025-04-12T23:50:00Z').action, 'skip');
    assert.equal(gate('2025-04-12T23:30:00Z').action, 'open');
    // By hand, a run at the hour of the other slot is judged against the local time only.
    assert.equal(gate('2025-04-13T00:00:30Z', { scheduled: false, lateToleranceMinutes: 90 }).action, 'open');
    assert.equal(gate('2025-04-13T00:00:30Z', { scheduled: false }).action, 'fail');
  });

  it('takes a one-off local date-time in the window time zone', () => {
    const notBefore = parseNotBefore('notBefore', '2025-11-02 04:45');
    assert.equal(gate('2025-11-02T09:40:00Z', { notBefore }).action, 'wait');
    assert.equal(gate('2025-11-02T09:45:00Z', { notBefore }).opensAt.toISOString(), '2025-11-02T09:45:00.000Z');
  });

  describe('clock', () => {
    it('a simulated clock jumps over waits instead of sleeping', async () => {
      const clock = simulatedClock(new Date('2025-04-12T22:50:00Z'));
      const progress: number[] = [];
      const started = Date.now();
      await clock.wait(10 * 60_000, (remaining) => progress.push(remaining), 60_000);
      assert.ok(Date.now() - started < 500);
      assert.equal(progress.length, 10);
      assert.ok(clock.now().getTime() >= new Date('2025-04-12T23:00:00Z').getTime());
    });

    it('is real unless MaintenanceWindow.Now is set, and then says so loudly as a warning', () => {
      const lines: string[] = [];
      const previous = setWriter((line) => lines.push(line));
      try {
        const log = new Log();
        assert.equal(windowClock(() => undefined, log).simulated, false);
        const clock = windowClock((name) => (name === 'MaintenanceWindow.Now' ? '2025-04-12T23:00:00Z' : undefined), log);
        assert.equal(clock.simulated, true);
        assert.match(lines.join('\n'), /##vso\[task.logissue type=warning;\]SIMULATED CLOCK/);
        assert.throws(() => windowClock(() => '2025-04-12 19:00', log), /MaintenanceWindow.Now is '2025-04-12 19:00'/);
      } finally {
        setWriter(previous);
      }
    });
  });
});
