import * as fs from 'node:fs';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import { InputError, messageOf } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { overallVerdict, readPreflightFiles, type PreflightFinding } from '../core/preflight';
import { MarkdownSummary } from '../core/summary';
import { formatLocal } from '../core/time';
import type { DevOpsClient, DevOpsConnection } from '../devops/client';
import { checkApprovalEnvironments } from '../devops/environment-check';
import { recentSuccessfulRuns } from '../devops/run-history';
import {
  FORECAST_DEFAULTS,
  forecastNight,
  pipelineKey,
  successfulRunMinutes,
  type NightForecast,
  type SilenceInput,
} from '../plan/forecast';
import { loadPlan, type Plan } from '../plan/plan';
import type { Notice } from '../services/messages';
import { sendNotice, type Destination } from '../services/notify';
import { parseNotBefore } from './gate';
import { checkPlan, resolvePlanFile, windowSunday } from './window';

/**
 * The Friday preflight's own steps in MaintenanceWindowV1: `forecast` (will the night fit?) and
 * `preflight-report` (the one go/no-go of the run: every finding file of every check step, one table, the
 * verdict, GO or NO-GO posted to the maintenance channel). Both write nothing outside the run's own files.
 */

export interface ForecastOptions {
  log: Log;
  now: Date;
  timeZone: string;
  planFile: string;
  startingMaintenanceAt: string;
  regressionAt: string;
  windowEnd: string;
  graceMinutes: number;
  maxParallel: number;
  regressionPipeline: string;
  serverGroups: Array<{ name: string; vms: string[] }>;
  patchMaxParallel: number;
  /** Minutes each silence lasts from Starting Maintenance; undefined: until the window's end plus the grace, as the night sets them. */
  silenceMinutes: { pingdom?: number; mute?: number; page?: number };
  client: DevOpsClient;
  attachSummary(title: string, summary: MarkdownSummary | string): string;
}

/** A weekday and time (`Sun 10:00`) on the weekend of `sunday`, or a local date-time, as an instant. */
export function onWeekend(inputName: string, text: string, sunday: string, zone: string): Date {
  const when = parseNotBefore(inputName, text);
  const day =
    when.kind === 'weekly' ? DateTime.fromISO(sunday, { zone }).plus({ days: when.weekday - 7 }) : DateTime.fromISO(when.date, { zone });
  return day.set({ hour: when.hour, minute: when.minute }).toJSDate();
}

/** `forecast`: reads the plan and the pipelines' history, forecasts the night, returns its findings. */
export async function forecastAction(
  options: ForecastOptions,
): Promise<{ plan: Plan; forecast: NightForecast; findings: PreflightFinding[] }> {
  const { log, timeZone } = options;
  const sunday = windowSunday(options.now, timeZone);
  const resolved = resolvePlanFile(options.planFile, sunday);
  if (!resolved.file) throw new Error(resolved.reason);
  const plan = checkPlan('planFile', resolved.file, undefined);
  const weekend = plan.window.date;
  log.section(`Forecast of ${plan.window.name} (${resolved.file})`);
  const pipelines = plan.changes.flatMap((change) =>
    change.action.kind === 'pipeline' ? [{ name: change.action.name, folder: change.action.folder }] : [],
  );
  const histories = await recentSuccessfulRuns(
    options.client,
    [...pipelines, { name: options.regressionPipeline }],
    FORECAST_DEFAULTS.historyRuns,
  );
  const history = new Map(histories.map((entry) => [pipelineKey(entry.name, entry.folder), successfulRunMinutes(entry.runs)]));
  const at = (input: string, text: string) => onWeekend(input, text, weekend, timeZone);
  const startsAt = at('startingMaintenanceAt', options.startingMaintenanceAt);
  const windowEnd = at('windowEnd', options.windowEnd);
  const untilEnd = Math.ceil((windowEnd.getTime() + options.graceMinutes * 60_000 - startsAt.getTime()) / 60_000);
  const silences: SilenceInput[] = [
    { name: 'New Relic muting rule', object: 'alerts (New Relic muting rule)', startsAt, minutes: options.silenceMinutes.mute ?? untilEnd },
  ];
  if (plan.window.maintenancePage) {
    silences.push({
      name: 'Pingdom maintenance window',
      object: 'Pingdom checks (maintenance window)',
      startsAt,
      minutes: options.silenceMinutes.pingdom ?? untilEnd,
    });
    silences.push({
      name: 'maintenance page',
      object: 'maintenance page (Cloudflare DNS)',
      startsAt,
      minutes: options.silenceMinutes.page ?? untilEnd,
    });
  }
  const forecast = forecastNight({
    plan,
    maxParallel: options.maxParallel,
    history,
    changesStartAt: startsAt,
    regressionPipeline: pipelineKey(options.regressionPipeline),
    regressionAt: at('regressionAt', options.regressionAt),
    windowEnd,
    graceMinutes: options.graceMinutes,
    serverGroups: options.serverGroups.map((group) => ({ name: group.name, servers: group.vms.length })),
    patchMaxParallel: options.patchMaxParallel,
    recentPatchMinutes: [],
    silences,
    timeZone,
  });
  for (const change of forecast.changes) {
    log.info(
      change.skipped
        ? `${change.id}: not run (${change.skipped})`
        : `${change.id}: ${formatLocal(change.startsAt!, timeZone)} to ${formatLocal(change.endsAt!, timeZone)} ` +
            `(${Math.round(change.duration!.minutes)} min, ${change.duration!.basis})`,
    );
  }
  options.attachSummary('Forecast', forecastSummary(plan, forecast, timeZone));
  return { plan, forecast, findings: forecast.findings };
}

function forecastSummary(plan: Plan, forecast: NightForecast, zone: string): MarkdownSummary {
  const local = (date: Date) => formatLocal(date, zone);
  return new MarkdownSummary()
    .heading(`Forecast of ${plan.window.name}`)
    .table(
      ['Change', 'Starts', 'Ends', 'Minutes', 'Basis'],
      forecast.changes.map((change) =>
        change.skipped
          ? [change.id, '', '', '', `not run: ${change.skipped}`]
          : [change.id, local(change.startsAt!), local(change.endsAt!), Math.round(change.duration!.minutes), change.duration!.basis],
      ),
    )
    .table(
      ['Milestone', 'Forecast'],
      [
        ['Changes end', local(forecast.changesEnd)],
        [`Server groups patched (${forecast.patchBatch.basis})`, local(forecast.patchingEnd)],
        ['Verify smoke tests end', local(forecast.verifyEnd)],
        [`Regression (${forecast.regression.basis})`, `${local(forecast.regressionStart)} to ${local(forecast.regressionEnd)}`],
      ],
    );
}

export interface PreflightProblem {
  check: string;
  object: string;
  why: string;
  fix: string;
}

export interface PreflightReport {
  verdict: 'GO' | 'NO-GO';
  problems: PreflightProblem[];
  /** Every finding of every step, with the step it came from. */
  rows: Array<PreflightFinding & { step: string }>;
}

/** Every finding file under the folders (downloaded artifacts), in one report. */
export function gatherPreflight(folders: string[]): PreflightReport {
  const files = folders.flatMap((folder) => preflightFolders(folder)).flatMap((folder) => readPreflightFiles(folder));
  const rows = files.flatMap((file) => file.findings.map((finding) => ({ ...finding, step: file.step })));
  const problems = rows.filter((row) => row.verdict === 'NO-GO').map(({ check, object, why, fix }) => ({ check, object, why, fix }));
  return { verdict: overallVerdict(rows), problems, rows };
}

/** Every `preflight` folder under `root` (one per downloaded job artifact): records and summaries are not findings. */
function preflightFolders(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  if (path.basename(root) === 'preflight') return [root];
  const found: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory()) found.push(...preflightFolders(path.join(root, entry.name)));
  }
  return found;
}

/** `Preflight: GO` or `Preflight: NO-GO (<n> problem(s)): <object>: <why>; ...` */
export function verdictLine(report: Pick<PreflightReport, 'verdict' | 'problems'>): string {
  if (report.verdict === 'GO') return 'Preflight: GO';
  const named = report.problems.map((problem) => `${problem.object}: ${problem.why}`).join('; ');
  return `Preflight: NO-GO (${report.problems.length} problem(s)): ${named}`;
}

export interface ReportOptions {
  log: Log;
  clock: WindowClock;
  folders: string[];
  windowName?: string;
  /** The plan, for the window's name when `windowName` is not given. */
  planFile?: string;
  destination?: Destination;
  link?: string;
  setOutput(name: string, value: string): void;
  attachSummary(title: string, summary: MarkdownSummary | string): string;
  outputDirectory(): string;
}

/** `preflight-report`: the table, the verdict (output `preflightVerdict`), `preflight.json`, the post. */
export async function preflightReportAction(options: ReportOptions): Promise<PreflightReport> {
  const { log } = options;
  log.section(`Go/no-go from the finding files under ${options.folders.join(', ')}`);
  const report = gatherPreflight(options.folders);
  options = { ...options, windowName: options.windowName ?? planName(options.planFile) };
  if (report.rows.length === 0) {
    // No finding at all means the checks did not run (or their artifacts were not downloaded): never GO on nothing.
    report.verdict = 'NO-GO';
    report.problems.push({
      check: 'preflight',
      object: 'finding files',
      why: `no finding file under ${options.folders.join(', ')}`,
      fix: 'check that every check job publishes its window files and this job downloads them',
    });
  }
  const summary = new MarkdownSummary()
    .heading(`Preflight${options.windowName ? ` of ${options.windowName}` : ''}: ${report.verdict}`)
    .table(
      ['Check', 'Object', 'Verdict', 'Fix', 'Why', 'Step'],
      [...report.rows]
        .sort((a, b) => rank(a.verdict) - rank(b.verdict))
        .map((row) => [row.check, row.object, row.verdict, row.fix, row.why, row.step]),
    );
  options.attachSummary('Preflight go-no-go', summary);
  const file = path.join(options.outputDirectory(), 'preflight.json');
  fs.writeFileSync(file, JSON.stringify({ verdict: report.verdict, problems: report.problems }, null, 2) + '\n');
  options.setOutput('preflightVerdict', report.verdict);
  options.setOutput('problems', String(report.problems.length));
  log.info(verdictLine(report));
  if (options.destination) await post(report, options);
  return report;
}

/** The plan's window name, when the plan can be read (the checks report a plan that cannot). */
function planName(planFile: string | undefined): string | undefined {
  if (!planFile || !fs.existsSync(planFile)) return undefined;
  try {
    return loadPlan(planFile).window.name;
  } catch {
    return undefined;
  }
}

const rank = (verdict: string) => ({ 'NO-GO': 0, WARN: 1, GO: 2 })[verdict] ?? 3;

async function post(report: PreflightReport, options: ReportOptions): Promise<void> {
  const go = report.verdict === 'GO';
  const warnings = report.rows.filter((row) => row.verdict === 'WARN');
  const lines = [
    ...report.problems.map((problem) => ({ ok: false, text: `${problem.object}: ${problem.why}. Fix: ${problem.fix}` })),
    ...warnings.map((row) => ({ text: `${row.object}: ${row.why}` })),
  ];
  const notice: Notice = {
    template: 'text',
    title: `Preflight: ${go ? 'GO' : 'NO-GO'}${options.windowName ? ` for ${options.windowName}` : ''}`,
    tone: go ? 'good' : 'bad',
    paragraphs: [
      go
        ? `Every check of the night passed (${report.rows.length} finding(s), ${warnings.length} warning(s)).`
        : `${report.problems.length} problem(s) to fix before the window.`,
    ],
    facts: [],
    results: lines.length
      ? {
          summary: `${report.problems.length} NO-GO, ${warnings.length} WARN`,
          lines: lines.slice(0, 30),
          hidden: Math.max(0, lines.length - 30),
        }
      : undefined,
    link: options.link,
  };
  try {
    await sendNotice(notice, options.destination!, { log: options.log, clock: options.clock });
  } catch (error) {
    // The verdict stands without the post; the step says it could not tell the channel.
    options.log.warn(`Could not post the verdict: ${messageOf(error)}`);
  }
}

type Report = (findings: PreflightFinding[]) => 'Succeeded' | 'SucceededWithIssues';

/** The task's `forecast`: the server groups from their JSON input, the forecast, its findings reported. */
export async function forecastTaskAction(
  options: Omit<ForecastOptions, 'serverGroups'> & { serverGroupsJson: string; report: Report },
): Promise<'Succeeded' | 'SucceededWithIssues'> {
  const { findings } = await forecastAction({ ...options, serverGroups: parseServerGroups(options.serverGroupsJson) });
  return options.report(findings);
}

/** `[{name, vms: [...]}]`, as the night's `serverGroups` parameter (`${{ convertToJson(parameters.serverGroups) }}`). */
export function parseServerGroups(json: string): Array<{ name: string; vms: string[] }> {
  let value: unknown;
  try {
    value = JSON.parse(json || '[]');
  } catch (error) {
    throw new InputError('serverGroups', `is not JSON: ${messageOf(error)}`);
  }
  if (!Array.isArray(value) || !value.every(isServerGroup)) {
    throw new InputError('serverGroups', 'must be a JSON list of {"name": "...", "vms": ["..."]}.');
  }
  return value;
}

function isServerGroup(group: unknown): group is { name: string; vms: string[] } {
  if (typeof group !== 'object' || group === null) return false;
  if (!('name' in group) || typeof group.name !== 'string' || !('vms' in group) || !Array.isArray(group.vms)) return false;
  return group.vms.every((vm: unknown) => typeof vm === 'string');
}

/** The task's `environments`: both approval environments with their checks. */
export async function environmentsAction(options: {
  connection: DevOpsConnection;
  log: Log;
  clock: WindowClock;
  names: string[];
  report: Report;
}): Promise<'Succeeded' | 'SucceededWithIssues'> {
  if (options.names.length === 0) throw new InputError('environments', 'name at least one environment.');
  options.log.section(`Approval environments: ${options.names.join(', ')}`);
  return options.report(await checkApprovalEnvironments(options));
}
