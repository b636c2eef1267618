import type { RunTimeline, TimelinePart } from '../devops/timeline';
import type { NightApproval, NightStage, TimedPart } from '../report/model';

/**
 * The night's stages from the two things the finish step knows about them: the results the pipeline passes
 * (`stageResults`, "Pre-Maintenance: Succeeded", what the run decided) and the run's build timeline (times,
 * jobs and steps, display names). The pipeline's result wins; the timeline adds the rest.
 */

/** "Pre-Maintenance" and `PreMaintenance`, "Web batch 1" and `WebBatch_1`: the same stage. */
export function normalizedStageName(name: string): string {
  return name.replace(/[^a-z0-9]/gi, '').toLowerCase();
}

function timed(part: TimelinePart): TimedPart {
  return {
    name: part.name,
    ...(part.displayName ? { displayName: part.displayName } : {}),
    result: part.result,
    ...(part.startedAt ? { startedAt: part.startedAt } : {}),
    ...(part.finishedAt ? { finishedAt: part.finishedAt } : {}),
  };
}

function nightStageOf(stage: RunTimeline['stages'][number]): NightStage {
  return {
    ...timed(stage),
    ...(stage.jobs.length ? { jobs: stage.jobs.map((job) => ({ ...timed(job), steps: job.steps.map(timed) })) } : {}),
  };
}

/**
 * Every stage of the night, in the order it ran: the timeline's order when there is one (the `Wait...` stages
 * between the pipeline's own fall where they ran, so the chart reads top to bottom), each stage the pipeline
 * names with its result, matched by normalized name and given the timeline's times, jobs and display name. A
 * stage the timeline does not have stays right after the one the pipeline named before it.
 */
export function mergeStages(stageResults: Array<{ stage: string; result: string }>, timeline?: RunTimeline): NightStage[] {
  const order = new Map((timeline?.stages ?? []).map((stage, index) => [stage.name, index]));
  const placed: Array<{ at: number; stage: NightStage }> = [];
  const used = new Set<string>();
  let lastAt = -1;
  for (const item of stageResults) {
    const key = normalizedStageName(item.stage);
    const found = timeline?.stages.find(
      (stage) => normalizedStageName(stage.name) === key || normalizedStageName(stage.displayName ?? '') === key,
    );
    if (!found) {
      lastAt += 1e-3;
      placed.push({ at: lastAt, stage: { name: item.stage, result: item.result } });
      continue;
    }
    used.add(found.name);
    lastAt = order.get(found.name)!;
    // The pipeline's name and result; the timeline's display name (or YAML name) when it says something else.
    const { displayName: _unused, ...merged } = nightStageOf(found);
    const displayName = found.displayName ?? found.name;
    placed.push({
      at: lastAt,
      stage: { ...merged, name: item.stage, ...(displayName !== item.stage ? { displayName } : {}), result: item.result },
    });
  }
  for (const stage of timeline?.stages ?? [])
    if (!used.has(stage.name)) placed.push({ at: order.get(stage.name)!, stage: nightStageOf(stage) });
  return placed.sort((a, b) => a.at - b.at).map((entry) => entry.stage);
}

/**
 * The stages the night's state is judged on: the pipeline's results when given, else what has ended (the
 * finish's own stage is still running while it reads the timeline).
 */
export function judgedStages(stageResults: Array<{ stage: string; result: string }>, stages: NightStage[]): Array<{ result: string }> {
  if (stageResults.length) return stageResults;
  return stages.filter((stage) => !/^(inprogress|pending)$/i.test(stage.result));
}

/** The approvals the timeline shows as given, with their stage and time, and who gave them when the service said so. */
export function nightApprovals(timeline?: RunTimeline): NightApproval[] {
  return (timeline?.approvals ?? [])
    .filter((approval) => approval.result === 'Succeeded')
    .map((approval) => ({
      stage: approval.stage,
      ...(approval.at ? { at: approval.at } : {}),
      ...(approval.approvedBy?.length ? { by: approval.approvedBy.join(', ') } : {}),
    }));
}
