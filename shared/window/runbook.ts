/**
 * Every line of the wiki runbook (both seed pages, 2025-04-13 and 2025-03-23) and what does it now: the
 * stage of pipelines/monthly-maintenance.yml and the task or template. The finish step prints it with each
 * stage's result, so the run's summary is the checklist the team used to tick by hand; the README's
 * "From runbook to pipeline" section is the same table.
 */

export interface RunbookLine {
  /** The runbook's words, shortened. */
  line: string;
  /** Eastern time it happens, as the runbook says. */
  when: string;
  /** The pipeline stage that does it. */
  stage: string;
  /** Task(s) and template doing it. */
  doneBy: string;
  /** Still done by a person: how the pipeline asks and records it. */
  manual?: boolean;
}

export const RUNBOOK: RunbookLine[] = [
  {
    line: 'Release Manager and Platform Approver named for the window',
    when: 'before',
    stage: 'StartingMaintenance',
    doneBy: 'Approvals on the environments maintenance-release-manager and maintenance-platform-approver (npm run setup-environments)',
  },
  {
    line: 'Run the Reschedule Jobs stage "Pre-Maintenance" of the Preparation Pipeline',
    when: 'Sat 19:00',
    stage: 'PreMaintenance',
    doneBy: 'MaintenanceWindowV1 gate (both UTC cron slots) + RescheduleJobsV1 hold (templates/hold-jobs.yml)',
  },
  {
    line: 'Pull IC-Web1..5 out of the App Gateway agw-pri-appgateway0-prd pool and kick off updates',
    when: 'Sat 18:00-19:30',
    stage: 'WebBatch1',
    doneBy: 'AppGatewayDrainV1 drain, PatchVmsV1 install, AppGatewayDrainV1 restore (templates/rolling-patch.yml)',
  },
  {
    line: 'Turn off alerting for those servers',
    when: 'Sat 18:00-19:30',
    stage: 'WebBatch1',
    doneBy: 'AlertMuteV1 mute/unmute for the batch (templates/rolling-patch.yml)',
  },
  {
    line: 'Notify platform-int when the servers are back in; ask engineering-maintenance to run tests',
    when: 'Sat 19:30',
    stage: 'WebBatch1',
    doneBy: 'NotifyV1 batchBackInService and testsRequested (templates/rolling-patch.yml)',
  },
  {
    line: 'Run the smoke tests on www.invoicecloud.com',
    when: 'Sat 22:00',
    stage: 'SaturdaySmoke',
    doneBy: 'SmokeTestV1 (templates/smoke-tests.yml)',
  },
  {
    line: 'Kick off updates on IC-Web6..10',
    when: 'Sun 04:30',
    stage: 'WebBatch2',
    doneBy: 'AppGatewayDrainV1 + PatchVmsV1 + AlertMuteV1 + NotifyV1 (templates/rolling-patch.yml)',
  },
  {
    line: 'Run the second stage "Starting Maintenance"',
    when: 'Sun 04:45',
    stage: 'StartingMaintenance',
    doneBy: 'MaintenanceWindowV1 start (gate, plan check), after the Release Manager approves',
  },
  {
    line: 'Notify the dailyops and maintenance channels that maintenance is starting',
    when: 'Sun 04:45',
    stage: 'StartingMaintenance',
    doneBy: 'MaintenanceWindowV1 start (NotifyV1 windowStart template)',
  },
  {
    line: 'Put Pingdom in maintenance mode (only with the maintenance page)',
    when: 'Sun 04:45',
    stage: 'StartingMaintenance',
    doneBy: 'PingdomPauseV1 pause, when the plan has maintenancePage: true (templates/silence.yml)',
  },
  {
    line: 'Disable other alerts; turn off other notifications',
    when: 'Sun 04:45',
    stage: 'StartingMaintenance',
    doneBy: 'AlertMuteV1 mute until the window ends plus grace (templates/silence.yml)',
  },
  {
    line: 'Enable the maintenance page on www and my (Cloudflare DNS to icmaintenance.azurewebsites.net)',
    when: 'Sun 04:45',
    stage: 'StartingMaintenance',
    doneBy: 'MaintenancePageV1 enable, when the plan has maintenancePage: true (templates/silence.yml)',
  },
  {
    line: "Changes: scripts to run, pipelines to run or re-run, in the page's order and dependencies",
    when: 'Sun',
    stage: 'Changes',
    doneBy: 'RunChangesV1 with the plan file, after the Platform Approver approves (templates/changes.yml)',
  },
  {
    line: 'ClickOps in the portal, APM agent upgrades and other hand steps of the plan',
    when: 'Sun',
    stage: 'Changes',
    doneBy: "ManualValidation@1 per manual change, with the plan's instructions (templates/changes.yml)",
    manual: true,
  },
  {
    line: 'Patch the production servers: app, proxy, MCC, gateway, SFTP, PDF extract, Skybot controllers (tracking sheet)',
    when: 'Sun',
    stage: 'ServerGroups',
    doneBy: 'PatchVmsV1 install, one job per server group, tracking sheet as CSV/XLSX artifact and table',
  },
  {
    line: 'Run the smoke tests after the web servers are patched',
    when: 'Sun 07:00-09:00',
    stage: 'Verify',
    doneBy: 'SmokeTestV1 (templates/smoke-tests.yml)',
  },
  {
    line: 'Run the full regression tests',
    when: 'Sun 10:00-11:00',
    stage: 'Regression',
    doneBy:
      'RunPipelineV1: starts the regression pipeline (parameter regressionPipeline, with its branch and parameters) and waits for ' +
      'its result',
  },
  {
    line: 'Remove the maintenance page and purge the cache on Cloudflare',
    when: 'after',
    stage: 'PostMaintenance',
    doneBy: 'MaintenancePageV1 disable + purge (templates/unsilence.yml), runs always()',
  },
  {
    line: 'Remove the maintenance mode in Pingdom',
    when: 'after',
    stage: 'PostMaintenance',
    doneBy: 'PingdomPauseV1 resume (templates/unsilence.yml); it also ends by itself at the window end plus grace',
  },
  {
    line: 'Turn on notifications',
    when: 'after',
    stage: 'PostMaintenance',
    doneBy: 'AlertMuteV1 unmute (templates/unsilence.yml); the muting rule also ends by itself',
  },
  {
    line: 'Start the jobs of Product Integrations and Product Engineering',
    when: 'after',
    stage: 'PostMaintenance',
    doneBy: 'RescheduleJobsV1 release, exactly what hold changed (templates/hold-jobs.yml)',
  },
  {
    line: 'Notify dailyops and maintenance that maintenance finished, with results',
    when: 'after',
    stage: 'PostMaintenance',
    doneBy: 'MaintenanceWindowV1 finish: checks everything is back, announces, attaches this summary',
  },
];
