import { link, MarkdownSummary } from '../core/summary';
import { jiraLabel, jiraUrl, NOT_RUN_STATUSES, type Change, type Plan } from './plan';

/**
 * The page that replaces the wiki checklist: every change of the plan with its Jira links, team, status, the
 * run's link, result and duration, and why a change was blocked or skipped; then the scheduled jobs held and
 * released. RunChangesV1 attaches it after the changes; the window's finish step renders it again for the
 * whole night with everything it knows.
 */

export type ChangeOutcome =
  /** Not reached yet (CI, or before the run). */
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'canceled'
  | 'timed-out'
  /** A change it depends on did not succeed. */
  | 'blocked'
  /** A manual change ready for a person to do and confirm. */
  | 'awaiting-confirmation'
  /** A manual change a person confirmed. */
  | 'confirmed'
  /** Not run because of its status in the plan (done, not doing, deferred). */
  | 'not-run'
  /** Outside `onlyKeys`, or left for a later round. */
  | 'skipped';

export interface ChangeReport {
  id: string;
  outcome: ChangeOutcome;
  /** Why it failed, was blocked or skipped, in words. */
  reason?: string;
  runUrl?: string;
  /** The run's name (build number) or id. */
  runName?: string;
  durationMs?: number;
  /** The run was started by an earlier attempt and found again by its tags. */
  fromEarlierAttempt?: boolean;
}

export interface JobReport {
  name: string;
  folder?: string;
  /** Queue status before the window. */
  before: string;
  /** Queue status now. */
  now: string;
  /** What the step did: `held`, `released`, `left alone`, `already released`... */
  action: string;
  note?: string;
}

export interface ChecklistInput {
  plan: Plan;
  /** Results by change id; absent for a plan that has not run. */
  changes?: ChangeReport[];
  /** Scheduled jobs held before the window and released after it. */
  jobs?: JobReport[];
  title?: string;
}

const OUTCOME_WORDS: Record<ChangeOutcome, string> = {
  pending: 'to do',
  running: '⏳ running',
  succeeded: '✅ succeeded',
  failed: '❌ failed',
  canceled: '❌ canceled',
  'timed-out': '❌ timed out',
  blocked: '⛔ blocked',
  'awaiting-confirmation': '✋ waiting for a person',
  confirmed: '✅ confirmed',
  'not-run': '➖ not run',
  skipped: '⏭ skipped',
};

export function describeAction(change: Change): string {
  const action = change.action;
  switch (action.kind) {
    case 'pipeline': {
      const where = action.folder ? `${action.folder.replace(/\\+$/, '')}\\${action.name}` : action.name;
      const parameters = Object.entries(action.parameters).map(([key, value]) => `${key}=${value}`);
      return [`Pipeline ${where}`, action.branch ? `on ${action.branch}` : '', parameters.length ? `(${parameters.join(', ')})` : '']
        .filter(Boolean)
        .join(' ');
    }
    case 'script':
      return `Script ${action.path}${action.arguments.length ? ` ${action.arguments.join(' ')}` : ''}`;
    case 'manual':
      return 'By hand (confirmed in Azure DevOps)';
  }
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function statusWords(change: Change): string {
  if (change.status === 'deferred') return '➖ deferred to the next window';
  if (change.status === 'not-doing') return '➖ not doing';
  if (change.status === 'done') return '✅ done before the window';
  return change.status === 'doing' ? 'doing' : 'to do';
}

function resultWords(change: Change, report: ChangeReport | undefined): string {
  if (!report) return statusWords(change);
  if (report.outcome === 'not-run') return statusWords(change);
  return OUTCOME_WORDS[report.outcome];
}

function reasonText(change: Change, report: ChangeReport | undefined): string {
  const parts: string[] = [];
  if (report?.reason) parts.push(report.reason);
  else if (NOT_RUN_STATUSES.has(change.status) && change.reason) parts.push(change.reason);
  if (report?.fromEarlierAttempt) parts.push('run of an earlier attempt, found by its tags');
  if (change.dependsOn.length) parts.push(`after ${change.dependsOn.join(', ')}`);
  if (change.notes) parts.push(change.notes);
  return parts.join('; ');
}

/** Renders the checklist; the result can be attached as is or appended to a larger summary. */
export function renderChecklist(input: ChecklistInput, summary = new MarkdownSummary()): MarkdownSummary {
  const { plan } = input;
  const reports = new Map((input.changes ?? []).map((report) => [report.id, report]));
  summary.heading(input.title ?? `Checklist: ${plan.window.name}`);
  const counts = new Map<string, number>();
  for (const change of plan.changes) {
    const report = reports.get(change.id);
    const key = report ? (report.outcome === 'not-run' ? change.status : report.outcome) : change.status;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  summary.paragraph(
    `${plan.changes.length} change(s) on ${plan.window.date} (${plan.window.timeZone}): ` +
      [...counts].map(([key, count]) => `${count} ${key}`).join(', ') +
      (plan.window.wiki ? `. Replaces ${link('the wiki page', plan.window.wiki)}.` : '.'),
  );
  summary.table(
    ['Change', 'Jira', 'Team', 'What', 'Result', 'Run', 'Duration', 'Why / notes'],
    plan.changes.map((change) => {
      const report = reports.get(change.id);
      return [
        `**${change.title}** (${change.id})`,
        change.jira.map((key) => link(jiraLabel(key), jiraUrl(plan, key))).join(', '),
        change.team ?? '',
        describeAction(change),
        resultWords(change, report),
        report?.runUrl || report?.runName ? link(report.runName ?? 'run', report.runUrl) : '',
        formatDuration(report?.durationMs),
        reasonText(change, report),
      ];
    }),
  );
  const manual = plan.changes.filter((change) => change.action.kind === 'manual' && !NOT_RUN_STATUSES.has(change.status));
  if (manual.length) {
    summary.heading('Steps by hand', 3);
    summary.list(
      manual.map(
        (change) =>
          `**${change.title}** (${change.id}): ${(change.action as { instructions: string }).instructions.replace(/\s*\n\s*/g, ' ')}`,
      ),
    );
  }
  if (input.jobs?.length) {
    summary.heading('Scheduled jobs', 3);
    renderJobs(input.jobs, summary);
  } else if (plan.jobs.length) {
    summary.heading('Scheduled jobs', 3);
    summary.list(
      plan.jobs.map((job) => {
        const parts = [
          job.folder ? `folder ${job.folder}` : '',
          job.names.length ? `pipelines ${job.names.join(', ')}` : '',
          job.pattern ? `names like ${job.pattern}` : '',
        ];
        const excluded = job.exclude.length ? ` except ${job.exclude.join(', ')}` : '';
        return (
          `${job.name ? `**${job.name}**: ` : ''}${parts.filter(Boolean).join('; ')}${excluded} (held before the window, released ` +
          `after it)`
        );
      }),
    );
  }
  return summary;
}

/** The scheduled jobs as a table: what each was before the window, what it is now, and what the step did. */
export function renderJobs(jobs: JobReport[], summary = new MarkdownSummary()): MarkdownSummary {
  return summary.table(
    ['Pipeline', 'Folder', 'Before', 'Now', 'Done', 'Note'],
    jobs.map((job) => [job.name, job.folder ?? '', job.before, job.now, job.action, job.note ?? '']),
  );
}
