import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import type { RestoreReceipt, UndoRecord } from '../../shared/core/records';
import type { ChangeReport } from '../../shared/plan/checklist';
import { loadPlan } from '../../shared/plan/plan';
import type { NightReport, NightStage } from '../../shared/report';
import { assessRecords, type GatheredRun } from '../../shared/window/finish';
import { writeChangeResults } from '../../shared/plan/change-results';
import { buildNightReport } from '../../shared/window/night';
import { repoRoot } from '../helpers/task-runner';

/**
 * Three nights of the 2025-04-13 plan, made through the product's own model builder (the one the finish step
 * calls): undo records and receipts as the steps write them, change results as RunChanges leaves them, stage
 * results as the pipeline passes them; stage times added as the rehearsal adds them.
 */

const ZONE = 'America/New_York';
const at = (local: string) => DateTime.fromISO(local, { zone: ZONE }).toUTC().toISO()!;

const STAGES: Array<[name: string, display: string, from: string, to: string]> = [
  ['PreMaintenance', 'Pre-Maintenance', '2025-04-12T19:01', '2025-04-12T19:03'],
  ['WebBatch_1', 'Web servers batch 1', '2025-04-12T19:03', '2025-04-12T19:40'],
  ['SaturdaySmoke', 'Saturday smoke tests', '2025-04-12T22:00', '2025-04-12T22:05'],
  ['WebBatch_2', 'Web servers batch 2', '2025-04-13T04:30', '2025-04-13T04:44'],
  ['StartingMaintenance', 'Starting Maintenance', '2025-04-13T04:45', '2025-04-13T04:50'],
  ['Changes', 'Changes (the plan)', '2025-04-13T04:50', '2025-04-13T07:10'],
  ['Verify', 'Verify (smoke tests)', '2025-04-13T07:10', '2025-04-13T07:20'],
  ['Regression', 'Full regression', '2025-04-13T10:00', '2025-04-13T10:50'],
  ['PostMaintenance', 'Post-Maintenance (always)', '2025-04-13T10:50', '2025-04-13T10:58'],
];

function record(kind: string, description: string, created: string, expires?: string): UndoRecord {
  return {
    kind,
    version: 1,
    id: `${kind}-fixture-${created.replace(/\D/g, '')}`,
    windowId: '2025-04-13',
    createdAt: at(created),
    ...(expires ? { expiresAt: at(expires) } : {}),
    description,
    data: {},
  };
}

const RECORDS = [
  record('newrelic-muting-rule', "New Relic muting rule 'web-batch-1'", '2025-04-12T19:04', '2025-04-12T22:04'),
  record('appgateway-pool', "IC-Web1..5 out of pool 'web' of agw-pri-appgateway0-prd", '2025-04-12T19:05'),
  record('pingdom', 'Pingdom maintenance window for www and my', '2025-04-13T04:46', '2025-04-13T13:00'),
  record('cloudflare-dns', 'Maintenance page: www and my point at icmaintenance', '2025-04-13T04:47'),
  record('devops-queue-status', 'Queue status of 4 pipeline(s) set to paused', '2025-04-12T19:02'),
];

const receipt = (item: UndoRecord, local: string): RestoreReceipt => ({
  recordId: item.id,
  kind: item.kind,
  restoredAt: at(local),
  description: `put back: ${item.description}`,
});

export type NightName = 'succeeded' | 'failed' | 'canceled';

interface Scenario {
  results: Record<string, string>;
  restoredAt: Record<string, string | undefined>;
  changes: ChangeReport[];
  now: string;
}

const ALL_BACK = {
  'newrelic-muting-rule': '2025-04-12T19:39',
  'appgateway-pool': '2025-04-12T19:38',
  pingdom: '2025-04-13T10:52',
  'cloudflare-dns': '2025-04-13T10:51',
  'devops-queue-status': '2025-04-13T10:55',
};
const minutes = (n: number) => n * 60_000;

const SCENARIOS: Record<NightName, Scenario> = {
  succeeded: {
    results: {},
    restoredAt: ALL_BACK,
    now: '2025-04-13T10:58',
    changes: [
      { id: 'kong-infra-script', outcome: 'succeeded', durationMs: minutes(12) },
      {
        id: 'kong-infra-pipeline',
        outcome: 'succeeded',
        durationMs: minutes(48),
        runUrl: 'https://dev.azure.com/contoso/Platform/_build/results?buildId=901',
        runName: '20250413.1',
      },
      { id: 'biller-infra-script', outcome: 'succeeded', durationMs: minutes(5) },
      {
        id: 'biller-infra-pipeline',
        outcome: 'succeeded',
        durationMs: minutes(20),
        runUrl: 'https://dev.azure.com/contoso/Platform/_build/results?buildId=902',
        runName: '20250413.2',
      },
    ],
  },
  failed: {
    results: { Changes: 'Failed', Verify: 'Skipped', Regression: 'Skipped' },
    restoredAt: { ...ALL_BACK, 'appgateway-pool': undefined },
    now: '2025-04-13T07:30',
    changes: [
      { id: 'kong-infra-script', outcome: 'failed', durationMs: minutes(3), reason: 'exit code 2' },
      { id: 'kong-infra-pipeline', outcome: 'blocked', reason: 'kong-infra-script failed' },
      { id: 'biller-infra-script', outcome: 'succeeded', durationMs: minutes(5) },
      { id: 'biller-infra-pipeline', outcome: 'succeeded', durationMs: minutes(20) },
    ],
  },
  canceled: {
    results: { Changes: 'Canceled', Verify: 'Skipped', Regression: 'Skipped' },
    restoredAt: ALL_BACK,
    now: '2025-04-13T10:58',
    changes: [
      { id: 'kong-infra-script', outcome: 'succeeded', durationMs: minutes(12) },
      { id: 'kong-infra-pipeline', outcome: 'canceled', durationMs: minutes(30), reason: 'the run was cancelled' },
    ],
  },
};

/** The night `name` as the finish step builds it, with the rehearsal's stage times. */
export function night(name: NightName): NightReport {
  const scenario = SCENARIOS[name];
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `night-${name}-`));
  const records = path.join(folder, 'records');
  try {
    writeChangeResults(records, '2025-04-13', scenario.changes, new Date(at(scenario.now)));
    const receipts = RECORDS.flatMap((item) => (scenario.restoredAt[item.kind] ? [receipt(item, scenario.restoredAt[item.kind]!)] : []));
    const gathered: GatheredRun = {
      records: RECORDS.map((item) => ({ record: item, folder: records })),
      receipts,
      summaries: [],
      folders: [records],
    };
    const now = new Date(at(scenario.now));
    // As the pipeline passes them to the finish step: `Display name: Result`.
    const stageResults = STAGES.map(([stageName, display]) => ({ stage: display, result: scenario.results[stageName] ?? 'Succeeded' }));
    const base = buildNightReport({
      gathered,
      assessments: assessRecords(gathered, now, ZONE),
      stageResults,
      now,
      timeZone: ZONE,
      windowName: '2025-04-13 Monthly',
      windowId: '2025-04-13',
      planFile: 'plans/2025-04-13.yml',
      plan: loadPlan(path.join(repoRoot, 'plans', '2025-04-13.yml')),
      link: 'https://dev.azure.com/contoso/Platform/_build/results?buildId=900',
      buildId: '900',
      simulatedClock: false,
    });
    const stages: NightStage[] = STAGES.map(([stageName, display, from, to]) => {
      const result = scenario.results[stageName] ?? 'Succeeded';
      return {
        name: stageName,
        displayName: display,
        result,
        ...(result === 'Skipped' ? {} : { startedAt: at(from), finishedAt: at(to) }),
      };
    });
    return {
      ...base,
      stages,
      approvals: [
        { stage: 'StartingMaintenance', environment: 'maintenance-release-manager', at: at('2025-04-13T04:45'), by: 'Release Manager' },
      ],
    };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

export { ZONE, RECORDS };
