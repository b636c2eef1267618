import { ServiceError, messageOf } from '../core/errors';
import { HttpClient, HttpError } from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { DevOpsClient, SERVICE, type DevOpsConnection } from './client';

/**
 * The two approval environments of the window, set up once per project: each environment (through
 * `azure-devops-node-api`'s Task Agent API), its Approval check (the requester cannot approve their own run)
 * and its Exclusive Lock check (one run at a time in the stages that deploy to it; the pipeline's stages ask
 * for `lockBehavior: sequential`, so a second run waits its turn). Checks are raw REST: the client has no call
 * for check configurations, and the service wants the `-preview` api-version. Idempotent: it reads first,
 * creates what is missing, updates a check only when it differs, and says what it did for each.
 */

export const APPROVAL_CHECK_TYPE = { id: '8c6f20a7-a545-4486-9777-f762fafe0d4d', name: 'Approval' };
/** The Exclusive Lock check: no settings, only a timeout (how long a run waits for the lock). */
export const EXCLUSIVE_LOCK_CHECK_TYPE = { id: '2ef31ad6-baa0-403a-8b45-2cbc9b4e5563', name: 'ExclusiveLock' };
export const CHECKS_API_VERSION = '7.1-preview.1';

export interface ApprovalEnvironment {
  name: string;
  description: string;
  /** Users or groups, by display name, e-mail or id (GUID). */
  approvers: string[];
  minRequiredApprovers: number;
  instructions: string;
  requesterCannotBeApprover: boolean;
  timeoutMinutes: number;
}

export interface Identity {
  id: string;
  displayName: string;
}

export interface EnvironmentOutcome {
  environment: string;
  environmentId: number;
  environmentAction: 'created' | 'exists';
  checkId: number;
  checkAction: 'created' | 'updated' | 'unchanged';
  lockCheckId: number;
  lockAction: 'created' | 'updated' | 'unchanged';
  approvers: Identity[];
  /** What differed, when the check was updated. */
  differences: string[];
}

/** The approval environments the window pipeline deploys to. */
export function windowEnvironments(options: {
  releaseManager: string[];
  platformApprover: string[];
  minRequiredApprovers?: number;
  timeoutMinutes?: number;
}): ApprovalEnvironment[] {
  const common = {
    minRequiredApprovers: options.minRequiredApprovers ?? 1,
    requesterCannotBeApprover: true,
    timeoutMinutes: options.timeoutMinutes ?? 720,
  };
  return [
    {
      ...common,
      name: 'maintenance-release-manager',
      description: 'Monthly maintenance window: the Release Manager approves Starting Maintenance.',
      approvers: options.releaseManager,
      instructions:
        'Release Manager: approving starts the maintenance window. It announces the start in dailyops and maintenance, mutes alerts ' +
        'and, when the plan says so, puts Pingdom in maintenance and the maintenance page up on www and my. Check the plan (the run ' +
        'summary of Pre-Maintenance) and the Saturday smoke tests first.',
    },
    {
      ...common,
      name: 'maintenance-platform-approver',
      description: "Monthly maintenance window: the Platform Approver approves the plan's changes.",
      approvers: options.platformApprover,
      instructions:
        "Platform Approver: approving runs the month's changes from the plan file (pipelines and scripts in dependency order; " +
        "manual changes are confirmed one by one afterwards). Check the plan's change list in the run summary first.",
    },
  ];
}

export interface CheckConfiguration {
  id: number;
  version?: number;
  type: { id: string; name?: string };
  settings?: {
    approvers?: Array<{ id: string; displayName?: string }>;
    minRequiredApprovers?: number;
    instructions?: string;
    requesterCannotBeApprover?: boolean;
    executionOrder?: string;
    blockedApprovers?: unknown[];
  };
  resource: { type: string; id: string; name?: string };
  timeout?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class EnvironmentSetup {
  private readonly client: DevOpsClient;
  private readonly http: HttpClient;
  private readonly log: Log;
  private readonly connection: DevOpsConnection;

  /** `clock`: retries wait on it. */
  constructor(options: { connection: DevOpsConnection; log: Log; clock: WindowClock }) {
    this.connection = options.connection;
    this.log = options.log;
    this.client = new DevOpsClient({ connection: options.connection, log: options.log, sleep: (ms) => options.clock.wait(ms) });
    const auth =
      options.connection.kind === 'pat'
        ? `Basic ${Buffer.from(`:${options.connection.token}`).toString('base64')}`
        : `Bearer ${options.connection.token}`;
    this.http = new HttpClient({
      baseUrl: options.connection.collectionUrl,
      service: SERVICE,
      headers: { Authorization: auth, Accept: 'application/json' },
      log: options.log,
      sleep: (ms) => options.clock.wait(ms),
    });
  }

  /** Creates or updates every environment and its approval check; returns what it did for each. */
  async apply(environments: ApprovalEnvironment[]): Promise<EnvironmentOutcome[]> {
    const outcomes: EnvironmentOutcome[] = [];
    // Every approver is found before anything is created, so a typo changes nothing.
    const resolved = new Map<ApprovalEnvironment, Identity[]>();
    for (const wanted of environments) resolved.set(wanted, await this.resolveApprovers(wanted));
    for (const wanted of environments) {
      const approvers = resolved.get(wanted)!;
      const environment = await this.ensureEnvironment(wanted);
      const checks = await this.listChecks(environment.id, wanted.name);
      const check = await this.ensureApprovalCheck(environment.id, wanted, approvers, checks);
      const lock = await this.ensureExclusiveLock(environment.id, wanted, checks);
      outcomes.push({
        environment: wanted.name,
        environmentId: environment.id,
        environmentAction: environment.action,
        checkId: check.id,
        checkAction: check.action,
        lockCheckId: lock.id,
        lockAction: lock.action,
        approvers,
        differences: [...check.differences, ...lock.differences],
      });
    }
    return outcomes;
  }

  private async ensureEnvironment(wanted: ApprovalEnvironment): Promise<{ id: number; action: 'created' | 'exists' }> {
    const api = await this.client.taskAgent();
    const found = await this.client.call(`read environment ${wanted.name}`, () =>
      api.getEnvironments(this.connection.project, wanted.name),
    );
    const existing = (found ?? []).find((environment) => environment.name?.toLowerCase() === wanted.name.toLowerCase());
    if (existing?.id !== undefined) {
      this.log.info(`Environment ${wanted.name} exists (id ${existing.id}).`);
      return { id: existing.id, action: 'exists' };
    }
    const created = await this.client.call(
      `create environment ${wanted.name}`,
      () => api.addEnvironment({ name: wanted.name, description: wanted.description }, this.connection.project),
      { idempotent: false },
    );
    if (created?.id === undefined) throw new ServiceError(SERVICE, `creating environment ${wanted.name} returned no id.`);
    this.log.info(`Environment ${wanted.name} created (id ${created.id}).`);
    return { id: created.id, action: 'created' };
  }

  /** Finds each approver's identity; a name that matches nobody, or several people, is an error before any change. */
  async resolveApprovers(wanted: ApprovalEnvironment): Promise<Identity[]> {
    if (wanted.approvers.length === 0) throw new ServiceError(SERVICE, `environment ${wanted.name} needs at least one approver.`);
    const identities: Identity[] = [];
    for (const approver of wanted.approvers) {
      if (GUID.test(approver)) {
        identities.push({ id: approver, displayName: approver });
        continue;
      }
      const response = await this.request<{
        value?: Array<{
          id: string;
          providerDisplayName?: string;
          customDisplayName?: string;
          properties?: { Mail?: { $value?: string } };
        }>;
      }>(`find ${approver}`, {
        method: 'GET',
        path: '_apis/identities',
        query: { searchFilter: 'General', filterValue: approver, queryMembership: 'None', 'api-version': '7.1' },
      });
      const candidates = (response.value ?? []).map((identity) => ({
        id: identity.id,
        displayName: identity.customDisplayName ?? identity.providerDisplayName ?? identity.id,
        mail: identity.properties?.Mail?.$value,
      }));
      const exact = candidates.filter(
        (candidate) =>
          candidate.displayName.toLowerCase() === approver.toLowerCase() || candidate.mail?.toLowerCase() === approver.toLowerCase(),
      );
      const chosen = exact.length === 1 ? exact[0] : candidates.length === 1 ? candidates[0] : undefined;
      if (!chosen) {
        throw new ServiceError(
          SERVICE,
          candidates.length === 0
            ? `no user or group named '${approver}' (approver of ${wanted.name}); give the display name, e-mail or id as Azure DevOps ` +
                `knows it.`
            : `'${approver}' (approver of ${wanted.name}) matches ${candidates.length} identities ` +
                `(${candidates.map((c) => c.displayName).join(', ')}); give the exact name or the id.`,
        );
      }
      identities.push({ id: chosen.id, displayName: chosen.displayName });
    }
    return identities;
  }

  private get checksPath(): string {
    return `${encodeURIComponent(this.connection.project)}/_apis/pipelines/checks/configurations`;
  }

  /**
   * Read only (the preflight): the environment's id and its checks, or no id when the environment does not
   * exist. Writes nothing.
   */
  async inspect(name: string): Promise<{ id?: number; checks: CheckConfiguration[] }> {
    const api = await this.client.taskAgent();
    const found = await this.client.call(`read environment ${name}`, () => api.getEnvironments(this.connection.project, name));
    const existing = (found ?? []).find((environment) => environment.name?.toLowerCase() === name.toLowerCase());
    if (existing?.id === undefined) return { checks: [] };
    return { id: existing.id, checks: await this.listChecks(existing.id, name) };
  }

  private async listChecks(environmentId: number, name: string): Promise<CheckConfiguration[]> {
    const listed = await this.request<{ value?: CheckConfiguration[] }>(`read the checks of ${name}`, {
      method: 'GET',
      path: this.checksPath,
      query: { resourceType: 'environment', resourceId: String(environmentId), $expand: 'settings', 'api-version': CHECKS_API_VERSION },
    });
    return listed.value ?? [];
  }

  /** One Exclusive Lock check per environment, timing out with the approval (a run waiting for the lock longer gives up). */
  private async ensureExclusiveLock(
    environmentId: number,
    wanted: ApprovalEnvironment,
    checks: CheckConfiguration[],
  ): Promise<{ id: number; action: 'created' | 'updated' | 'unchanged'; differences: string[] }> {
    const path = this.checksPath;
    const locks = checks.filter(
      (check) => check.type?.id?.toLowerCase() === EXCLUSIVE_LOCK_CHECK_TYPE.id || check.type?.name === EXCLUSIVE_LOCK_CHECK_TYPE.name,
    );
    const body = {
      type: EXCLUSIVE_LOCK_CHECK_TYPE,
      settings: {},
      resource: { type: 'environment', id: String(environmentId), name: wanted.name },
      timeout: wanted.timeoutMinutes,
    };
    if (locks.length === 0) {
      const created = await this.request<CheckConfiguration>(`create the exclusive lock check of ${wanted.name}`, {
        method: 'POST',
        path,
        query: { 'api-version': CHECKS_API_VERSION },
        body,
      });
      this.log.info(`Exclusive lock check created on ${wanted.name} (id ${created.id}): one run at a time.`);
      return { id: created.id, action: 'created', differences: [] };
    }
    const current = locks[0];
    if (Number(current.timeout) === wanted.timeoutMinutes) {
      this.log.info(`Exclusive lock check ${current.id} on ${wanted.name} is as wanted: nothing to change.`);
      return { id: current.id, action: 'unchanged', differences: [] };
    }
    const differences = [`lock timeout ${current.timeout} → ${wanted.timeoutMinutes} min`];
    await this.request<CheckConfiguration>(`update the exclusive lock check of ${wanted.name}`, {
      method: 'PATCH',
      path: `${path}/${current.id}`,
      query: { 'api-version': CHECKS_API_VERSION },
      body: { ...body, id: current.id, version: current.version },
      idempotent: true,
    });
    this.log.info(`Exclusive lock check ${current.id} on ${wanted.name} updated: ${differences.join('; ')}.`);
    return { id: current.id, action: 'updated', differences };
  }

  private async ensureApprovalCheck(
    environmentId: number,
    wanted: ApprovalEnvironment,
    approvers: Identity[],
    checks: CheckConfiguration[],
  ): Promise<{ id: number; action: 'created' | 'updated' | 'unchanged'; differences: string[] }> {
    const path = this.checksPath;
    const approvals = checks.filter((check) => check.type?.id === APPROVAL_CHECK_TYPE.id || check.type?.name === APPROVAL_CHECK_TYPE.name);
    const settings = {
      approvers: approvers.map((approver) => ({ id: approver.id, displayName: approver.displayName })),
      executionOrder: 'anyOrder',
      minRequiredApprovers: wanted.minRequiredApprovers,
      instructions: wanted.instructions,
      blockedApprovers: [],
      requesterCannotBeApprover: wanted.requesterCannotBeApprover,
    };
    const body = {
      type: APPROVAL_CHECK_TYPE,
      settings,
      resource: { type: 'environment', id: String(environmentId), name: wanted.name },
      timeout: wanted.timeoutMinutes,
    };
    if (approvals.length === 0) {
      const created = await this.request<CheckConfiguration>(`create the approval check of ${wanted.name}`, {
        method: 'POST',
        path,
        query: { 'api-version': CHECKS_API_VERSION },
        body,
      });
      this.log.info(`Approval check created on ${wanted.name} (id ${created.id}): ${approvers.map((a) => a.displayName).join(', ')}.`);
      return { id: created.id, action: 'created', differences: [] };
    }
    if (approvals.length > 1)
      this.log.warn(`Environment ${wanted.name} has ${approvals.length} approval checks; only check ${approvals[0].id} is kept in line.`);
    const current = approvals[0];
    const differences = compareCheck(current, settings, wanted.timeoutMinutes);
    if (differences.length === 0) {
      this.log.info(`Approval check ${current.id} on ${wanted.name} is as wanted: nothing to change.`);
      return { id: current.id, action: 'unchanged', differences };
    }
    await this.request<CheckConfiguration>(`update the approval check of ${wanted.name}`, {
      method: 'PATCH',
      path: `${path}/${current.id}`,
      query: { 'api-version': CHECKS_API_VERSION },
      body: { ...body, id: current.id, version: current.version },
      idempotent: true,
    });
    this.log.info(`Approval check ${current.id} on ${wanted.name} updated: ${differences.join('; ')}.`);
    return { id: current.id, action: 'updated', differences };
  }

  private async request<T>(what: string, request: Parameters<HttpClient['request']>[0]): Promise<T> {
    try {
      return (await this.http.request<T>(request)).data;
    } catch (error) {
      if (error instanceof HttpError) {
        const status = error.status;
        const advice =
          status === 401 || status === 403
            ? ' Check the PAT: it needs the scopes Environment (Read & manage), Identity (Read) and, for checks, Project and Team (Read).'
            : '';
        throw new ServiceError(SERVICE, `could not ${what}: ${messageOf(error)}${advice}`, { status, cause: error });
      }
      throw error;
    }
  }
}

function compareCheck(
  current: CheckConfiguration,
  wanted: { approvers: Identity[]; minRequiredApprovers: number; instructions: string; requesterCannotBeApprover: boolean },
  timeoutMinutes: number,
): string[] {
  const differences: string[] = [];
  const have = new Set((current.settings?.approvers ?? []).map((approver) => approver.id.toLowerCase()));
  const want = new Set(wanted.approvers.map((approver) => approver.id.toLowerCase()));
  if (have.size !== want.size || [...want].some((id) => !have.has(id)))
    differences.push(`approvers ${[...have].join(', ') || 'none'} → ${wanted.approvers.map((a) => a.displayName).join(', ')}`);
  if ((current.settings?.minRequiredApprovers ?? 0) !== wanted.minRequiredApprovers)
    differences.push(`minimum approvers ${current.settings?.minRequiredApprovers ?? 0} → ${wanted.minRequiredApprovers}`);
  if ((current.settings?.instructions ?? '') !== wanted.instructions) differences.push('instructions');
  if (!!current.settings?.requesterCannotBeApprover !== wanted.requesterCannotBeApprover)
    differences.push(`requester cannot approve → ${wanted.requesterCannotBeApprover}`);
  if (Number(current.timeout) !== timeoutMinutes) differences.push(`timeout ${current.timeout} → ${timeoutMinutes} min`);
  return differences;
}
