import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNightReport, renderNightHtml, verdictHeadline, type NightReport, type NightStage } from '../../shared/report';
import { nightState } from '../../shared/window/night';
import type { RehearsalResult, TimelineEntry } from './rehearsal';

/**
 * The rehearsal's page of the night: the finish step's JSON (what a real run attaches), with what only the
 * rehearsal knows added (every stage and job with its simulated times, the approvals), drawn by the product's
 * renderer to out/rehearsal/report.html.
 */

function span(entries: TimelineEntry[]): { startedAt?: string; finishedAt?: string } {
  if (!entries.length) return {};
  const start = Math.min(...entries.map((entry) => entry.at.getTime()));
  const end = Math.max(...entries.map((entry) => entry.at.getTime() + entry.durationMs));
  return { startedAt: new Date(start).toISOString(), finishedAt: new Date(end).toISOString() };
}

/** Stages and jobs of the rehearsed run with their times from its timeline. */
export function rehearsedStages(result: RehearsalResult): NightStage[] {
  return result.stages.map((stage) => {
    const entries = result.timeline.filter((entry) => entry.stage === stage.name);
    return {
      name: stage.name,
      displayName: stage.displayName,
      result: stage.result,
      ...span(entries),
      jobs: stage.jobs.map((job) => ({ name: job.name, result: job.result, ...span(entries.filter((entry) => entry.job === job.name)) })),
    };
  });
}

/** The finish step's night report of this run (the last one, a recovery's if there was one), or undefined. */
export function finishReport(results: RehearsalResult[]): NightReport | undefined {
  const files = results
    .flatMap((result) => result.timeline)
    .filter((entry) => entry.what.startsWith('MaintenanceWindow@') && entry.outputs.reportFile)
    .map((entry) => entry.outputs.reportFile);
  const file = files.at(-1);
  return file && fs.existsSync(file) ? parseNightReport(fs.readFileSync(file, 'utf8')) : undefined;
}

/** The night with the rehearsal's stage times and approvals. */
export function rehearsedNight(result: RehearsalResult, recovery?: RehearsalResult): NightReport | undefined {
  const night = finishReport(recovery ? [result, recovery] : [result]);
  if (!night) return undefined;
  const stages = rehearsedStages(result);
  const approvals = result.approvals.map((approval) => ({
    stage: approval.stage,
    environment: approval.environment,
    at: approval.at.toISOString(),
    by: 'rehearsal (auto-approved)',
  }));
  const state = result.result === 'Canceled' ? 'canceled' : nightState([...stages, ...night.stages], night.verdict.left.length);
  const failed = stages.filter((stage) => stage.result === 'Failed').length;
  const verdict = { ...night.verdict, headline: verdictHeadline(state, night.verdict.left.length, failed) };
  return { ...night, stages, approvals, state, verdict };
}

/** Writes out/rehearsal/report.html; returns its path, or undefined when no finish step wrote the night. */
export function writeReportPage(outDirectory: string, result: RehearsalResult, recovery?: RehearsalResult): string | undefined {
  const night = rehearsedNight(result, recovery);
  if (!night) return undefined;
  fs.writeFileSync(path.join(outDirectory, 'night.json'), JSON.stringify(night, null, 2) + '\n');
  const file = path.join(outDirectory, 'report.html');
  fs.writeFileSync(file, renderNightHtml(night));
  return file;
}
