import { strict as assert } from 'node:assert';
import { setWriter } from '../../shared/core/commands';
import { Log } from '../../shared/core/log';
import { approversFromAnswer, type WireApproval } from '../../shared/devops/approvals';
import { runTimelineFromRecords, type RawTimelineRecord, type RunTimeline, type TimelineApproval } from '../../shared/devops/timeline';
import { buildNightReport } from '../../shared/window/night';
import { judgedStages, mergeStages, nightApprovals, normalizedStageName } from '../../shared/window/night-stages';
import { nameApproversQuietly, readTimelineQuietly } from '../../shared/window/night-reads';
import { cancelAll, resetCancellation } from '../../shared/core/cancel';

/** A YAML run's timeline as the service sends it: stage → phase → job → task, and a stage's approval under its checkpoint. */
function records(): RawTimelineRecord[] {
  const at = (hhmm: string) => `2025-04-13T${hhmm}:00Z`;
  return [
    // Listed out of order on purpose: `order` orders siblings.
    { id: 's2', parentId: null, type: 'Stage', identifier: 'StartingMaintenance', name: 'Starting Maintenance', order: 2 },
    { id: 's1', parentId: null, type: 'Stage', identifier: 'PreMaintenance', name: 'Pre-Maintenance', order: 1 },
    { id: 'p1', parentId: 's1', type: 'Phase', name: 'hold', order: 1 },
    { id: 'j1', parentId: 'p1', type: 'Job', name: 'Hold scheduled jobs', identifier: 'PreMaintenance.hold.__default', order: 1 },
    { id: 't2', parentId: 'j1', type: 'Task', name: 'Hold', order: 2 },
    { id: 't1', parentId: 'j1', type: 'Task', name: 'Checkout', order: 1 },
    { id: 'p2', parentId: 's2', type: 'Phase', name: 'start', order: 1 },
    { id: 'j2', parentId: 'p2', type: 'Job', name: 'start', order: 1 },
    { id: 'c2', parentId: 's2', type: 'Checkpoint', name: 'Checkpoint', order: 1 },
    { id: 'a2', parentId: 'c2', type: 'Checkpoint.Approval', name: 'Approval', order: 1 },
    { id: 's3', parentId: null, type: 'Stage', identifier: 'PostMaintenance', name: 'Post-Maintenance', order: 3 },
  ].map((record): RawTimelineRecord => {
    const times: Record<string, [string, string | undefined, number, number | undefined]> = {
      // id: [start, finish, state, result] with the library's enum numbers (completed 2, succeeded 0, failed 2).
      s1: [at('23:00'), at('23:20'), 2, 0],
      j1: [at('23:01'), at('23:19'), 2, 0],
      t1: [at('23:01'), at('23:02'), 2, 0],
      t2: [at('23:02'), at('23:19'), 2, 0],
      s2: [at('08:45'), at('09:10'), 2, 2],
      j2: [at('08:50'), at('09:10'), 2, 2],
      a2: [at('08:45'), at('08:50'), 2, 0],
      s3: [at('11:00'), undefined, 1, undefined],
    };
    const [startTime, finishTime, state, result] = times[record.id] ?? [undefined, undefined, 2, 0];
    return { ...record, startTime, finishTime, state, result };
  });
}

describe("a run's build timeline and the night's stages", () => {
  it('maps the records to stages, jobs and steps in order, whatever lies between a stage and its jobs', () => {
    const timeline = runTimelineFromRecords(records());
    assert.deepEqual(
      timeline.stages.map((stage) => [stage.name, stage.displayName, stage.result, stage.state]),
      [
        ['PreMaintenance', 'Pre-Maintenance', 'Succeeded', 'completed'],
        ['StartingMaintenance', 'Starting Maintenance', 'Failed', 'completed'],
        ['PostMaintenance', 'Post-Maintenance', 'InProgress', 'inProgress'],
      ],
    );
    const [pre] = timeline.stages;
    assert.deepEqual([pre.startedAt, pre.finishedAt], ['2025-04-13T23:00:00.000Z', '2025-04-13T23:20:00.000Z']);
    assert.deepEqual(
      pre.jobs.map((job) => [job.name, job.steps.map((step) => step.name)]),
      [['Hold scheduled jobs', ['Checkout', 'Hold']]],
    );
    assert.equal(timeline.stages[2].finishedAt, undefined, 'a stage still running has no end');
    assert.deepEqual(timeline.approvals, [{ id: 'a2', stage: 'StartingMaintenance', result: 'Succeeded', at: '2025-04-13T08:50:00.000Z' }]);
  });

  it('reads the wire names as well as the numbers, and drops times that are not times', () => {
    const timeline = runTimelineFromRecords([
      { id: 's', type: 'stage', identifier: 'Verify', name: 'Verify', order: 1, state: 'completed', result: 'succeededWithIssues' },
      { id: 'j', parentId: 's', type: 'Job', name: 'smoke', order: 1, state: 'pending', startTime: '0001-01-01T00:00:00' },
      { id: 'x', parentId: 'j', type: 'Task', name: 'broken', order: 1, state: 'completed', result: 'abandoned', startTime: 'soon' },
      { parentId: 's', type: 'Job', name: 'no id' },
    ]);
    assert.equal(timeline.stages[0].displayName, undefined, 'a display name equal to the name is not repeated');
    assert.equal(timeline.stages[0].result, 'SucceededWithIssues');
    assert.deepEqual(timeline.stages[0].jobs, [
      { name: 'smoke', result: 'Pending', state: 'pending', steps: [{ name: 'broken', result: 'Abandoned', state: 'completed' }] },
    ]);
    assert.deepEqual(runTimelineFromRecords([]), { stages: [], approvals: [] });
  });

  it("matches the pipeline's stage names to the YAML names, the pipeline's result winning, and appends the others", () => {
    assert.equal(normalizedStageName('Web batch 1'), normalizedStageName('WebBatch_1'));
    assert.equal(normalizedStageName('Pre-Maintenance'), 'premaintenance');
    const timeline = runTimelineFromRecords(records());
    const stages = mergeStages(
      [
        { stage: 'Pre-Maintenance', result: 'Succeeded' },
        { stage: 'Web batch 1', result: 'Skipped' },
        { stage: 'Starting Maintenance', result: 'SucceededWithIssues' },
      ],
      timeline,
    );
    assert.deepEqual(
      stages.map((stage) => [stage.name, stage.result, stage.startedAt ?? '-', stage.jobs?.length ?? 0]),
      [
        ['Pre-Maintenance', 'Succeeded', '2025-04-13T23:00:00.000Z', 1],
        ['Web batch 1', 'Skipped', '-', 0],
        ['Starting Maintenance', 'SucceededWithIssues', '2025-04-13T08:45:00.000Z', 1],
        ['PostMaintenance', 'InProgress', '2025-04-13T11:00:00.000Z', 0],
      ],
    );
    assert.equal(stages[0].displayName, undefined, 'the pipeline already calls it by its display name');
    assert.equal(stages[3].displayName, 'Post-Maintenance');
    assert.deepEqual(
      stages[0].jobs?.[0].steps?.map((step) => step.name),
      ['Checkout', 'Hold'],
    );
    assert.deepEqual(mergeStages([{ stage: 'Changes', result: 'Failed' }]), [{ name: 'Changes', result: 'Failed' }]);
  });

  it('keeps the order the stages ran in: a timeline-only stage between two named ones stays between them', () => {
    const stage = (name: string, displayName: string, startedAt: string) => ({
      name,
      displayName,
      result: 'Succeeded',
      state: 'completed' as const,
      startedAt,
      jobs: [],
    });
    const timeline: RunTimeline = {
      stages: [
        stage('WebBatch_1', 'Web servers batch 1', '2025-04-12T23:03:00Z'),
        stage('WaitForSmoke', 'Wait until Sat 22:00 ET', '2025-04-12T23:40:00Z'),
        stage('SaturdaySmoke', 'Saturday smoke tests', '2025-04-13T02:00:00Z'),
      ],
      approvals: [],
    };
    const names = mergeStages(
      [
        { stage: 'Pre-Maintenance', result: 'Succeeded' },
        { stage: 'Web batch 1', result: 'Succeeded' },
        { stage: 'Saturday Smoke', result: 'Succeeded' },
        { stage: 'Regression', result: 'Skipped' },
      ],
      timeline,
    ).map((merged) => merged.name);
    assert.deepEqual(names, ['Pre-Maintenance', 'Web batch 1', 'WaitForSmoke', 'Saturday Smoke', 'Regression']);
  });

  it("judges the night on the pipeline's results, else on what has ended: the finish's own stage does not make it 'running'", () => {
    const timeline = runTimelineFromRecords(records());
    const merged = mergeStages([], timeline);
    assert.deepEqual(
      judgedStages([], merged).map((stage) => stage.result),
      ['Succeeded', 'Failed'],
    );
    assert.deepEqual(judgedStages([{ stage: 'A', result: 'Succeeded' }], merged), [{ stage: 'A', result: 'Succeeded' }]);
    assert.deepEqual(nightApprovals(timeline), [{ stage: 'StartingMaintenance', at: '2025-04-13T08:50:00.000Z' }]);
    const rejected: RunTimeline = { stages: [], approvals: [{ stage: 'Changes', result: 'Failed' }] };
    assert.deepEqual(nightApprovals(rejected), [], 'only approvals given are listed as who approved what');
  });

  it('builds the night with times, jobs and approvals, and a finished state while its last stage still runs', () => {
    const succeeded: RunTimeline = runTimelineFromRecords(
      records().map((record) => (record.id === 's2' || record.id === 'j2' ? { ...record, result: 0 } : record)),
    );
    const base = {
      gathered: { records: [], receipts: [], summaries: [], folders: [] },
      assessments: [],
      now: new Date('2025-04-13T11:05:00Z'),
      timeZone: 'America/New_York',
      windowName: 'April',
      simulatedClock: false,
    };
    const fromTimeline = buildNightReport({ ...base, stageResults: [], timeline: succeeded });
    assert.equal(fromTimeline.state, 'succeeded', 'Post-Maintenance, in progress while the finish runs, is not judged');
    assert.equal(fromTimeline.stages.length, 3);
    assert.equal(fromTimeline.approvals.length, 1);
    const withResults = buildNightReport({
      ...base,
      stageResults: [
        { stage: 'Pre-Maintenance', result: 'Succeeded' },
        { stage: 'Starting Maintenance', result: 'Failed' },
      ],
      timeline: succeeded,
    });
    assert.equal(withResults.state, 'failed', "the pipeline's result wins over the timeline's");
    assert.match(withResults.verdict.headline, /1 failed stage/);
    assert.equal(withResults.stages[1].startedAt, '2025-04-13T08:45:00.000Z');
  });

  describe('who approved (Approvals - Query matched to the timeline)', () => {
    const ID = 'ee14f612-6838-43c0-b445-db238ef14153';
    const OTHER = '06239b11-a904-43a1-be6a-0d44026bd121';
    const given: TimelineApproval = { id: ID, stage: 'StartingMaintenance', result: 'Succeeded', at: '2025-04-13T08:52:00.000Z' };
    const step = (name: string, status = 'approved', at = '2025-04-13T08:51:30Z') => ({
      status,
      assignedApprover: { displayName: 'Release Managers', id: 'g1' },
      actualApprover: { displayName: name, id: `u-${name}` },
      lastModifiedOn: at,
    });
    const answer = (overrides: Partial<WireApproval> = {}): WireApproval => ({
      id: ID.toUpperCase(),
      status: 'approved',
      lastModifiedOn: '2025-04-13T08:51:40Z',
      steps: [step('Ada Lovelace')],
      pipeline: { owner: { id: 77 } },
      ...overrides,
    });

    it("names the actual approvers of an approval answered for this run's id, keeping the timeline's time", () => {
      const both = answer({ steps: [step('Ada Lovelace'), step('Grace Hopper'), step('Ada Lovelace'), step('Alan Turing', 'pending')] });
      const match = approversFromAnswer([given], [both], 77);
      assert.deepEqual(match.approvals, [{ ...given, approvedBy: ['Ada Lovelace', 'Grace Hopper'] }]);
      assert.deepEqual([match.named, match.otherRun], [1, 0]);
      const night = nightApprovals({ stages: [], approvals: match.approvals });
      assert.deepEqual(night, [{ stage: 'StartingMaintenance', at: '2025-04-13T08:52:00.000Z', by: 'Ada Lovelace, Grace Hopper' }]);
    });

    it('takes the time from the latest approved step when the timeline had none; a run id as text matches too', () => {
      const { at: _unused, ...untimed } = given;
      const steps = [step('Ada Lovelace', 'approved', '2025-04-13T08:50:00Z'), step('Grace Hopper', 'approved', '2025-04-13T08:55:00Z')];
      const match = approversFromAnswer([untimed], [answer({ steps, pipeline: { owner: { id: '77' } } })], 77);
      assert.equal(match.approvals[0].at, '2025-04-13T08:55:00.000Z');
    });

    it("names nobody when the answer is another run's, says nothing of its run, or is for another id", () => {
      for (const pipeline of [{ owner: { id: 78 } }, { owner: null }, undefined, { owner: { id: '' } }]) {
        const match = approversFromAnswer([given], [answer({ pipeline })], 77);
        assert.deepEqual(match.approvals, [given], JSON.stringify(pipeline));
        assert.deepEqual([match.named, match.otherRun], [0, 1]);
      }
      const elsewhere = approversFromAnswer([given], [answer({ id: OTHER })], 77);
      assert.deepEqual([elsewhere.approvals, elsewhere.named, elsewhere.otherRun], [[given], 0, 0]);
      const noId = approversFromAnswer([{ ...given, id: undefined }], [answer()], 77);
      assert.deepEqual(noId.approvals[0].approvedBy, undefined);
    });

    it('names nobody for an approval not approved, nor for steps without an actual approver; a rejection stays unlisted', () => {
      for (const overrides of [
        { status: 'rejected', steps: [step('Ada Lovelace', 'rejected')] },
        { status: 'pending', steps: [step('Ada Lovelace', 'pending')] },
        {
          steps: [
            { status: 'approved', actualApprover: null },
            { status: 'approved', actualApprover: { displayName: '  ' } },
          ],
        },
        { steps: 'not a list' as unknown },
      ])
        assert.deepEqual(approversFromAnswer([given], [answer(overrides)], 77).approvals, [given], JSON.stringify(overrides));
      const rejected: TimelineApproval = { ...given, result: 'Failed' };
      const match = approversFromAnswer([rejected], [answer()], 77);
      assert.deepEqual(nightApprovals({ stages: [], approvals: match.approvals }), [], 'only approvals given are listed');
    });
  });

  it('stops reading the timeline when the run is cancelled, and the finish goes on without it', async () => {
    const lines: string[] = [];
    const previous = setWriter((line) => lines.push(line));
    try {
      const started = Date.now();
      const reading = readTimelineQuietly({ log: new Log(), readTimeline: () => new Promise<never>(() => {}), timelineTimeoutMs: 60_000 });
      setTimeout(() => cancelAll('SIGINT'), 20);
      assert.equal(await reading, undefined);
      assert.ok(Date.now() - started < 2_000, 'not the 60 s limit');
      assert.match(
        lines.filter((line) => line.includes('task.logissue')).join('\n'),
        /Could not read this run's timeline \(the run was cancelled/,
      );
    } finally {
      setWriter(previous);
      resetCancellation();
    }
  });

  it('never waits long for who approved: no answer leaves the approvals as they were, with one warning', async () => {
    const lines: string[] = [];
    const previous = setWriter((line) => lines.push(line));
    try {
      const timeline: RunTimeline = {
        stages: [],
        approvals: [{ id: 'x', stage: 'Changes', result: 'Succeeded', at: '2025-04-13T09:30:00.000Z' }],
      };
      const started = Date.now();
      const options = { log: new Log(), readApprovers: () => new Promise<never>(() => {}), timelineTimeoutMs: 50 };
      assert.equal(await nameApproversQuietly(options, timeline), timeline);
      assert.ok(Date.now() - started < 2_000);
      const warnings = lines.filter((line) => line.includes('task.logissue'));
      assert.equal(warnings.length, 1, lines.join('\n'));
      assert.match(warnings[0], /Could not read who gave this run's approvals \(no answer within/);
      const rejectedOnly: RunTimeline = { stages: [], approvals: [{ stage: 'Changes', result: 'Failed' }] };
      const asked: unknown[] = [];
      const none = await nameApproversQuietly(
        { ...options, readApprovers: async (approvals) => (asked.push(approvals), { approvals, named: 0, otherRun: 0 }) },
        rejectedOnly,
      );
      assert.deepEqual([none, asked], [rejectedOnly, []], 'no approval given: nothing to ask');
    } finally {
      setWriter(previous);
    }
  });
});
