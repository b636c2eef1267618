import type { DevOpsClient } from './client';
import { instant, type TimelineApproval } from './timeline';

/**
 * Who approved the run's stages, for the night's page: Approvals - Query (`GET {project}/_apis/pipelines/approvals
 * ?approvalIds={ids}&$expand=steps&api-version=7.1-preview.1`, scope vso.build, answer `{count, value: Approval[]}`)
 * asked with the ids of the timeline's `Checkpoint.Approval` records. The client library has no call for it, so
 * it goes through `DevOpsClient.getFromProject` (raw REST on the library's own guarded client).
 *
 * What Microsoft's docs do not confirm, and how this stays safe anyway:
 * - that a `Checkpoint.Approval` record's id is the approval's id. A name is taken only from an approval the
 *   service answers for that id AND whose `pipeline.owner.id` is this run's build id, so a wrong guess gives
 *   no names, never wrong ones.
 * - the shape of `pipeline`: the 7.1 reference does not list it; the 7.2-preview reference lists it as an
 *   untyped object ("pipeline context"). `{owner: {id: <build id>, name: <run name>}, id, name}` is what answers
 *   observed by users show (microsoft/azure-devops-go-api issue 147), not a documented contract. Without it,
 *   no names.
 * - whether the job's own token may read approvals (the docs give only the OAuth scope). A refusal leaves the
 *   approvals with their stage and time; the finish says why in one warning.
 * The step fields read (`status`, `actualApprover.displayName`, `lastModifiedOn`, `initiatedOn`) and the
 * approval's `id`, `status` and `lastModifiedOn` are in the documented ApprovalStep and Approval.
 */

export const APPROVALS_API_VERSION = '7.1-preview.1';

interface WireIdentity {
  displayName?: unknown;
  id?: unknown;
}

interface WireStep {
  status?: unknown;
  actualApprover?: WireIdentity | null;
  lastModifiedOn?: unknown;
  initiatedOn?: unknown;
}

/** An Approval as Approvals - Query sends it with `$expand=steps`: the fields read here. */
export interface WireApproval {
  id?: unknown;
  status?: unknown;
  lastModifiedOn?: unknown;
  steps?: unknown;
  pipeline?: { owner?: { id?: unknown } | null } | null;
}

export interface ApproverMatch {
  /** The timeline's approvals, those the service vouched for with `approvedBy` (and `at` when the timeline had none). */
  approvals: TimelineApproval[];
  /** Approvals given a name. */
  named: number;
  /** Answers for another run than this one (`pipeline.owner.id`), or that do not say which: left without names. */
  otherRun: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const isApproved = (value: unknown): boolean => text(value).toLowerCase() === 'approved';

function timeOf(value: unknown): string | undefined {
  return typeof value === 'string' ? instant(value) : undefined;
}

/** Who gave an approval the service answered for this run, and the latest time one of them did. */
function givers(approval: WireApproval): { names: string[]; at?: string } {
  if (!isApproved(approval.status)) return { names: [] };
  const steps = (Array.isArray(approval.steps) ? approval.steps : []) as Array<WireStep | null>;
  const approved = steps.filter(
    (step): step is WireStep => !!step && isApproved(step.status) && !!text(step.actualApprover?.displayName).trim(),
  );
  const names = [...new Set(approved.map((step) => text(step.actualApprover!.displayName).trim()))];
  const times = approved
    .map((step) => timeOf(step.lastModifiedOn) ?? timeOf(step.initiatedOn))
    .filter((at): at is string => !!at)
    .sort();
  return { names, at: times.at(-1) ?? timeOf(approval.lastModifiedOn) };
}

/**
 * The timeline's approvals with who gave them, from Approvals - Query's answer: an answer counts only for the
 * record of its id and only when it belongs to run `buildId`; an approval not approved (rejected, pending, timed
 * out) names nobody.
 */
export function approversFromAnswer(approvals: TimelineApproval[], answer: WireApproval[], buildId: number): ApproverMatch {
  let named = 0;
  let otherRun = 0;
  const byId = new Map(answer.filter((item) => GUID.test(text(item?.id))).map((item) => [text(item.id).toLowerCase(), item]));
  const result = approvals.map((approval): TimelineApproval => {
    const found = approval.id ? byId.get(approval.id.toLowerCase()) : undefined;
    if (!found) return approval;
    const owner = found.pipeline?.owner?.id;
    if ((typeof owner !== 'number' && typeof owner !== 'string') || owner === '' || Number(owner) !== buildId) {
      otherRun++;
      return approval;
    }
    const { names, at } = givers(found);
    if (!names.length) return approval;
    named++;
    return { ...approval, approvedBy: names, ...(approval.at ? {} : at ? { at } : {}) };
  });
  return { approvals: result, named, otherRun };
}

/** `expect` of the one call: `{count, value: [...]}` with objects in the list. */
function approvalsShape(body: unknown): string | undefined {
  const value = (body as { value?: unknown } | null)?.value;
  return body && typeof body === 'object' && Array.isArray(value) && value.every((item) => item && typeof item === 'object')
    ? undefined
    : 'expected {count, value: [approvals]}';
}

/**
 * Asks Azure DevOps who gave run `buildId`'s approvals (one call, for the records whose id can be an approval
 * id; none such: no call). Throws a ServiceError when the service refuses or answers something else.
 */
export async function readApprovers(options: {
  client: DevOpsClient;
  buildId: number;
  approvals: TimelineApproval[];
}): Promise<ApproverMatch> {
  const { client, buildId, approvals } = options;
  const ids = [...new Set(approvals.map((approval) => approval.id ?? '').filter((id) => GUID.test(id)))];
  if (!ids.length) return { approvals, named: 0, otherRun: 0 };
  const body = await client.getFromProject(`read who gave the approvals of run ${buildId}`, {
    path: '_apis/pipelines/approvals',
    query: { approvalIds: ids.join(','), $expand: 'steps', 'api-version': APPROVALS_API_VERSION },
    expect: approvalsShape,
  });
  return approversFromAnswer(approvals, (body as { value: WireApproval[] }).value, buildId);
}
