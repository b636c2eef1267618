import { strict as assert } from 'node:assert';
import { DateTime } from 'luxon';
import { InputError } from '../../shared/core/errors';
import { Log } from '../../shared/core/log';
import { setWriter } from '../../shared/core/commands';
import { simulatedClock, windowClock } from '../../shared/core/clock';
import { cronSlots, decideGate, gateInstant, parseNotBefore, scheduleOffset, type GateOptions } from '../../shared/window/gate';

const NY = 'America/New_York';
const SAT_1900 = parseNotBefore('notBefore', 'Sat 19:00');
// The displayNames of the pipeline's two cron entries (pipelines/monthly-maintenance.yml).
const EDT_SCHEDULE = 'Saturday 19:00 New York time while daylight saving time (EDT, UTC-4) is in force';
const EST_SCHEDULE = 'Saturday 19:00 New York time while standard time (EST, UTC-5) is in force';

/** The schedule that started a run at `now`: the 23:00 UTC entry for a run on Saturday evening UTC, else the 00:00 one. */
function firedBy(now: string): string {
  return new Date(now).getUTCDay() === 6 ? EDT_SCHEDULE : EST_SCHEDULE;
}

function gate(now: string, overrides: Partial<GateOptions> = {}) {
  return decideGate({
    notBefore: SAT_1900,
    timeZone: NY,
    now: new Date(now),
    maxWaitMinutes: 30,
    lateToleranceMinutes: 45,
    scheduled: true,
    scheduleName: firedBy(now),
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
    assert.deepEqual(parseNotBefore('notBefore', 'Saturday 19:00'), {
      kind: 'weekly',
      weekday: 6,
      hour: 19,
      minute: 0,
      text: 'Saturday 19:00',
    });
    assert.deepEqual(parseNotBefore('notBefore', 'sun 4:45'), { kind: 'weekly', weekday: 7, hour: 4, minute: 45, text: 'sun 4:45' });
    assert.equal(parseNotBefore('notBefore', '2025-04-13 04:45').kind, 'once');
    for (const bad of ['Sa 19:00', 'Funday 19:00', 'Sat 25:00', '2025-13-01 10:00', 'tonight']) {
      assert.throws(
        () => parseNotBefore('notBefore', bad),
        (error: unknown) => error instanceof InputError && error.input === 'notBefore',
        bad,
      );
    }
  });

  it('schedules both UTC slots of Sat 19:00 New York time: 23:00 UTC Saturday (EDT) and 00:00 UTC Sunday (EST)', () => {
    const slots = cronSlots(SAT_1900, NY, 2025);
    assert.deepEqual(
      slots.map((slot) => slot.cron),
      ['0 23 * * 6', '0 0 * * 0'],
    );
    assert.match(slots[1].description, /Sun 00:00 UTC = Sat 19:00 at UTC-5/);
    assert.deepEqual(
      cronSlots(parseNotBefore('x', 'Sun 04:30'), NY, 2025).map((slot) => slot.cron),
      ['30 8 * * 0', '30 9 * * 0'],
    );
    assert.deepEqual(
      cronSlots(SAT_1900, 'UTC', 2025).map((slot) => slot.cron),
      ['0 19 * * 6'],
      'one slot where there is no daylight saving',
    );
  });

  it(
    '2025-03-08/09 (DST starts Sunday 2025-03-09): the Saturday is still EST, so the 00:00 UTC run opens and the 23:00 UTC ' +
      'run is skipped',
    () => {
      const early = gate('2025-03-08T23:00:40Z');
      assert.equal(early.action, 'skip');
      assert.match(
        early.message,
        /started by the schedule '.*UTC-4.*' \(UTC-4\), the early one of the two UTC schedules.*on 2025-03-08 Sat 19:00 is at UTC-5/,
      );
      const right = gate('2025-03-09T00:00:40Z');
      assert.equal(right.action, 'open');
      assert.equal(right.opensAt.toISOString(), '2025-03-09T00:00:00.000Z');
      // The next Saturday is EDT: the other slot takes over.
      assert.equal(gate('2025-03-15T23:01:00Z').action, 'open');
      assert.equal(gate('2025-03-16T00:01:00Z').action, 'skip');
      // A gate on Sunday 2025-03-09 itself, after the change: 04:45 EDT is 08:45 UTC.
      const sunday = parseNotBefore('notBefore', 'Sun 04:45');
      assert.equal(gateInstant(sunday, NY, new Date('2025-03-09T06:00:00Z')).toISOString(), '2025-03-09T08:45:00.000Z');
    },
  );

  it(
    '2025-11-01/02 (DST ends Sunday 2025-11-02): the Saturday is still EDT, so the 23:00 UTC run opens and the 00:00 UTC run ' +
      'is skipped',
    () => {
      assert.equal(gate('2025-11-01T23:00:30Z').action, 'open');
      const late = gate('2025-11-02T00:00:30Z');
      assert.equal(late.action, 'skip');
      assert.match(late.message, /\(UTC-5\), the late one of the two UTC schedules/);
      const sunday = parseNotBefore('notBefore', 'Sun 04:45');
      assert.equal(gateInstant(sunday, NY, new Date('2025-11-02T01:00:00Z')).toISOString(), '2025-11-02T09:45:00.000Z');
      assert.equal(gate('2025-11-08T23:00:30Z').action, 'skip');
      assert.equal(gate('2025-11-09T00:00:30Z').action, 'open');
    },
  );

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
    assert.equal(gate('2025-04-12T23:30:00Z').action, 'open');
    // By hand, a run at the hour of the other slot is judged against the local time only.
    assert.equal(gate('2025-04-13T00:00:30Z', { scheduled: false, lateToleranceMinutes: 90 }).action, 'open');
    assert.equal(gate('2025-04-13T00:00:30Z', { scheduled: false }).action, 'fail');
  });

  it('names the slot from Build.CronSchedule.DisplayName, not the clock: a right run that waited long for an agent is not skipped', () => {
    // 2025-04-12 is EDT: the 23:00 UTC entry (UTC-4) is the right one. 40 minutes late is nearer the 00:00 UTC slot,
    // which a clock tie-break took for the other run; the schedule's name says it is the right one.
    const late = gate('2025-04-12T23:40:00Z');
    assert.equal(late.action, 'open', late.message);
    assert.match(late.message, /Late by 40 min/);
    assert.equal(gate('2025-04-12T23:50:00Z').action, 'fail', 'the right run, too late: fails loudly, is never skipped');
    assert.equal(gate('2025-04-12T23:50:00Z', { lateToleranceMinutes: 60 }).action, 'open');
    // The other entry, whenever it gets an agent, closes cleanly.
    for (const at of ['2025-04-13T00:00:30Z', '2025-04-13T00:40:00Z', '2025-04-13T01:30:00Z']) assert.equal(gate(at).action, 'skip', at);
    // Winter: the 00:00 UTC entry (UTC-5) is right, even 40 minutes late; the 23:00 entry closes.
    assert.equal(gate('2025-11-09T00:40:00Z').action, 'open');
    assert.equal(gate('2025-11-08T23:40:00Z').action, 'skip');
  });

  it('fails a scheduled run whose schedule displayName names no UTC offset, naming the variable; a manual run needs none', () => {
    const unnamed = gate('2025-04-12T23:01:00Z', { scheduleName: 'Saturday evening' });
    assert.equal(unnamed.action, 'fail');
    assert.match(unnamed.message, /Build.CronSchedule.DisplayName is 'Saturday evening', which names no UTC offset.*Nothing was changed/);
    assert.equal(gate('2025-04-12T23:01:00Z', { scheduleName: undefined }).action, 'fail');
    assert.equal(gate('2025-04-12T23:01:00Z', { scheduled: false, scheduleName: undefined }).action, 'open');
    assert.equal(
      gate('2025-04-12T19:01:00Z', { timeZone: 'UTC', scheduleName: undefined }).action,
      'open',
      'one slot only: nothing to tell apart',
    );
    assert.deepEqual(['(EDT, UTC-4)', 'UTC-05:00', 'utc+5:30', 'UTC+0', 'no offset'].map(scheduleOffset), [-240, -300, 330, 0, undefined]);
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
