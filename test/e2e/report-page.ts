import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  parseNightReport,
  renderNightHtml,
  verdictHeadline,
  type NightApproval,
  type NightReport,
  type NightStage,
} from '../../shared/report';
import { nightState } from '../../shared/window/night';
import { normalizedStageName } from '../../shared/window/night-stages';
import type { RehearsalResult, TimelineEntry } from './rehearsal';

/**
 * The rehearsal's page of the night: the finish step's JSON (what a real run attaches; the finish read the
 * stage, job and step times and the approvals from the run's timeline, which the rehearsal registers in the
 * emulated Azure DevOps, and who gave each approval from the emulated Approvals - Query), with what only the
 * rehearsal knows added: how the stages still running when the finish read the timeline ended (its own stage,
 * Post-Maintenance), and which environment each approval was for. Drawn by the product's renderer to
 * out/rehearsal/report.html.
 */

function span(entries: TimelineEntry[]): { startedAt?: string; finishedAt?: string } {
  if (!entries.length) return {};
  const start = Math.min(...entries.map((entry) => entry.at.getTime()));
  const end = Math.max(...entries.map((entry) => (entry.endedAt ?? new Date(entry.at.getTime() + entry.durationMs)).getTime()));
  return { startedAt: new Date(start).toISOString(), finishedAt: new Date(end).toISOString() };
}

/** Stages, jobs and steps of the rehearsed run with their times from its timeline. */
export function rehearsedStages(result: RehearsalResult): NightStage[] {
  return result.stages.map((stage) => {
    const entries = result.timeline.filter((entry) => entry.stage === stage.name);
    return {
      name: stage.name,
      displayName: stage.displayName,
      result: stage.result,
      ...span(entries),
      jobs: stage.jobs.map((job) => {
        const steps = entries.filter((entry) => entry.job === job.name);
        return {
          name: job.name,
          result: job.result,
          ...span(steps),
          steps: steps.map((step) => ({ name: step.step, result: step.result, ...span([step]) })),
        };
      }),
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

/** The night's stages, those still running when the finish read the timeline taken as the rehearsal saw them end. */
function endedStages(stages: NightStage[], result: RehearsalResult): NightStage[] {
  const rehearsed = rehearsedStages(result);
  const find = (stage: NightStage) =>
    rehearsed.find((candidate) =>
      [stage.name, stage.displayName].some(
        (name) =>
          name !== undefined &&
          [candidate.name, candidate.displayName].some((own) => normalizedStageName(own!) === normalizedStageName(name)),
      ),
    );
  return stages.map((stage) => {
    if (!/^(inprogress|pending)$/i.test(stage.result)) return stage;
    const ended = find(stage);
    return ended ? { ...ended, name: stage.name, displayName: stage.displayName ?? ended.displayName } : stage;
  });
}

/** The finish's approvals (stage, time, who gave them) with the environment only the rehearsal knows. */
function rehearsedApprovals(approvals: NightApproval[], result: RehearsalResult): NightApproval[] {
  const given = result.approvals.filter((approval) => approval.result !== 'Failed');
  return approvals.map((approval) => {
    const index = given.findIndex((own) => normalizedStageName(own.stage) === normalizedStageName(approval.stage));
    if (index < 0) return approval;
    const [own] = given.splice(index, 1);
    return { ...approval, environment: own.environment };
  });
}

/** The night with what only the rehearsal knows. */
export function rehearsedNight(result: RehearsalResult, recovery?: RehearsalResult): NightReport | undefined {
  const night = finishReport(recovery ? [result, recovery] : [result]);
  if (!night) return undefined;
  // A recovery run's timeline is the recovery's own: the night's stages are the dead run's, as the rehearsal saw
  // them, and so are its approvals (whose approvers the recovery's finish did not read: "not recorded").
  const stages = recovery ? rehearsedStages(result) : endedStages(night.stages, result);
  const approvals = recovery
    ? result.approvals
        .filter((approval) => approval.result !== 'Failed')
        .map((approval) => ({
          stage: approval.stage,
          environment: approval.environment,
          at: (approval.decidedAt ?? approval.at).toISOString(),
        }))
    : rehearsedApprovals(night.approvals, result);
  const judged = stages.filter((stage) => !/^(inprogress|pending)$/i.test(stage.result));
  const state = result.result === 'Canceled' ? 'canceled' : nightState(judged, night.verdict.left.length);
  const failed = judged.filter((stage) => stage.result === 'Failed').length;
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
