import type { GenericResource, ResourceManagementClient } from '@azure/arm-resources';
import { InputError, SafetyError } from '../core/errors';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import { describeOutcome, mergeOutcomes, requireBack, restoreRecordOrMarks, type UndoKind, type UndoOutcome } from '../core/undo';
import { MarkdownSummary } from '../core/summary';
import { toNaiveLocal } from '../core/time';
import { armFailure, describeArmError } from './arm-errors';
import { armClientOptions, type AzureConnection } from './credentials';
import { loadArmResources } from '../core/lazy';

/**
 * Azure Monitor alert muting: an alert processing rule (`Microsoft.AlertsManagement/actionRules`) that removes
 * every action group from the alerts of some scopes until the window's end (plus grace), so notifications
 * come back by themselves; `unmute` deletes that rule and nothing else.
 *
 * The dedicated SDK package cannot be installed here, so the rule goes through the generic resource
 * operations of `@azure/arm-resources`, which keep the SDK's authentication, retries and long-running
 * operation handling. The schedule is written in UTC: the API takes naive times plus a Windows time-zone
 * name, and UTC needs no IANA-to-Windows table and cannot be misread across a daylight-saving change.
 */

export const ACTION_RULES_API_VERSION = '2021-08-08';
export const AZURE_MONITOR_RECORD_KIND = 'azure-alert-processing-rule';
/** The tag that says a rule is ours, and for which window. */
export const WINDOW_TAG = 'maintenance-window';

const SEVERITIES = ['Sev0', 'Sev1', 'Sev2', 'Sev3', 'Sev4'];

export interface ActionRuleCondition {
  field: 'AlertRuleId' | 'Severity';
  operator: 'Equals';
  values: string[];
}

export interface AzureMonitorUndoData {
  ruleId: string;
  name: string;
  scopes: string[];
  conditions: ActionRuleCondition[];
  endsAt: string;
}

export interface AzureMonitorSelection {
  resourceGroup: string;
  ruleName: string;
  /** Resource group names or full resource ids. */
  scopes: string[];
  alertRuleIds: string[];
  severities: string[];
}

const RESOURCE_GROUP_NAME = /^[-\w._()]{1,90}$/;

/** Checks the inputs and builds the rule's id, scopes and conditions (no call made). */
export function actionRulePlan(
  subscriptionId: string,
  selection: AzureMonitorSelection,
): { ruleId: string; scopes: string[]; conditions: ActionRuleCondition[] } {
  if (!RESOURCE_GROUP_NAME.test(selection.resourceGroup) || selection.resourceGroup.endsWith('.')) {
    throw new InputError('resourceGroup', `'${selection.resourceGroup}' is not a resource group name.`);
  }
  if (!/^[^<>*%&:\\?+/]{1,260}$/.test(selection.ruleName) || /[. ]$/.test(selection.ruleName)) {
    throw new InputError('ruleName', `'${selection.ruleName}' is not a valid alert processing rule name.`);
  }
  if (selection.scopes.length === 0) throw new InputError('scopes', 'give at least one resource group or resource id to mute.');
  const scopes = selection.scopes.map((scope) => {
    if (scope.startsWith('/')) {
      if (!new RegExp(`^/subscriptions/${subscriptionId}(/|$)`, 'i').test(scope)) {
        throw new InputError('scopes', `'${scope}' is not a resource id in the connection's subscription ${subscriptionId}.`);
      }
      return scope.replace(/\/+$/, '');
    }
    if (!RESOURCE_GROUP_NAME.test(scope)) throw new InputError('scopes', `'${scope}' is neither a resource group name nor a resource id.`);
    return `/subscriptions/${subscriptionId}/resourceGroups/${scope}`;
  });
  const conditions: ActionRuleCondition[] = [];
  for (const id of selection.alertRuleIds) {
    if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/[^/]+\/[^/]+$/i.test(id)) {
      throw new InputError('alertRuleIds', `'${id}' is not the resource id of an alert rule.`);
    }
  }
  if (selection.alertRuleIds.length) conditions.push({ field: 'AlertRuleId', operator: 'Equals', values: selection.alertRuleIds });
  const severities = selection.severities.map((value) => {
    const match = SEVERITIES.find((sev) => sev.toLowerCase() === value.toLowerCase() || sev.slice(3) === value);
    if (!match) throw new InputError('severities', `'${value}' is not a severity; use Sev0 to Sev4.`);
    return match;
  });
  if (severities.length) conditions.push({ field: 'Severity', operator: 'Equals', values: [...new Set(severities)] });
  const ruleId =
    `/subscriptions/${subscriptionId}/resourceGroups/${selection.resourceGroup}/providers/Microsoft.AlertsManagement/` +
    `actionRules/${selection.ruleName}`;
  return { ruleId, scopes: [...new Set(scopes)], conditions };
}

export function validateAzureMonitorUndoData(data: unknown): AzureMonitorUndoData {
  const value = data as Partial<AzureMonitorUndoData> | undefined;
  if (!value || typeof value.ruleId !== 'string' || !/\/providers\/Microsoft\.AlertsManagement\/actionRules\/[^/]+$/i.test(value.ruleId)) {
    throw new Error("'ruleId' is not the id of an alert processing rule.");
  }
  if (typeof value.name !== 'string' || !Array.isArray(value.scopes) || typeof value.endsAt !== 'string')
    throw new Error("'name', 'scopes' and 'endsAt' are required.");
  return { conditions: [], ...value } as AzureMonitorUndoData;
}

export class AlertProcessingRules {
  private readonly client: ResourceManagementClient;

  constructor(connection: AzureConnection) {
    // Loaded here, on first use: a step that stops at its inputs starts without the SDK.
    const sdk = loadArmResources();
    this.client = new sdk.ResourceManagementClient(connection.credential, connection.subscriptionId, armClientOptions(connection));
  }

  async get(id: string): Promise<GenericResource | undefined> {
    try {
      return await this.client.resources.getById(id, ACTION_RULES_API_VERSION);
    } catch (error) {
      if (armFailure(error).status === 404) return undefined;
      throw describeArmError(error, `reading alert processing rule ${id}`);
    }
  }

  async put(id: string, rule: GenericResource): Promise<GenericResource> {
    try {
      return await this.client.resources.beginCreateOrUpdateByIdAndWait(id, ACTION_RULES_API_VERSION, rule, { updateIntervalInMs: 1000 });
    } catch (error) {
      throw describeArmError(error, `writing alert processing rule ${id}`);
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.client.resources.beginDeleteByIdAndWait(id, ACTION_RULES_API_VERSION, { updateIntervalInMs: 1000 });
    } catch (error) {
      if (armFailure(error).status === 404) return;
      throw describeArmError(error, `deleting alert processing rule ${id}`);
    }
  }
}

const windowOf = (rule: GenericResource | undefined) => rule?.tags?.[WINDOW_TAG];

export interface AzureMuteOptions {
  rules: AlertProcessingRules;
  log: Log;
  subscriptionId: string;
  selection: AzureMonitorSelection;
  endsAt: Date;
  windowId: string;
  publish: (record: UndoRecord<AzureMonitorUndoData>) => void;
  /** The window's clock (simulated in a rehearsal). */
  now: () => Date;
}

export interface AzureMuteResult {
  record: UndoRecord<AzureMonitorUndoData>;
  rule: GenericResource;
  adopted: boolean;
}

export async function muteAzureMonitor(options: AzureMuteOptions): Promise<AzureMuteResult> {
  const { rules, log } = options;
  const plan = actionRulePlan(options.subscriptionId, options.selection);
  const now = options.now();
  const existing = await rules.get(plan.ruleId);
  if (existing && windowOf(existing) !== options.windowId) {
    throw new SafetyError(
      `An alert processing rule named '${options.selection.ruleName}' exists already in ${options.selection.resourceGroup} and was ` +
        `not made for this window` +
        `${windowOf(existing) ? ` (it is tagged for window ${windowOf(existing)})` : ''}; refusing to overwrite it. Choose another ` +
        `ruleName.`,
    );
  }
  const record: UndoRecord<AzureMonitorUndoData> = newUndoRecord({
    kind: AZURE_MONITOR_RECORD_KIND,
    windowId: options.windowId,
    now,
    expiresAt: options.endsAt,
    description:
      `Azure Monitor alert processing rule '${options.selection.ruleName}' removing action groups from ` + `${plan.scopes.length} scope(s)`,
    data: {
      ruleId: plan.ruleId,
      name: options.selection.ruleName,
      scopes: plan.scopes,
      conditions: plan.conditions,
      endsAt: options.endsAt.toISOString(),
    },
  });
  options.publish(record);
  const schedule = { effectiveFrom: toNaiveLocal(now, 'UTC'), effectiveUntil: toNaiveLocal(options.endsAt, 'UTC'), timeZone: 'UTC' };
  const body: GenericResource = {
    location: 'Global',
    tags: { [WINDOW_TAG]: options.windowId },
    properties: {
      description: `Mutes notifications for the maintenance window ${options.windowId}; ends by itself at ${options.endsAt.toISOString()}.`,
      enabled: true,
      scopes: plan.scopes,
      conditions: plan.conditions,
      actions: [{ actionType: 'RemoveAllActionGroups' }],
      schedule,
    },
  };
  log.info(
    `${existing ? 'Updating the rule an earlier run of this step made' : 'Creating alert processing rule'} ${plan.ruleId} until ` +
      `${schedule.effectiveUntil} UTC.`,
  );
  const rule = await rules.put(plan.ruleId, body);
  return { record, rule, adopted: !!existing };
}

export interface ActionRuleItem {
  ruleId: string;
}

/** `/subscriptions/<s>/resourceGroups/<g>/…`: the subscription and resource group of a rule id. */
function scopeOf(ruleId: string): { subscription?: string; resourceGroup?: string } {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\//i.exec(ruleId);
  return { subscription: match?.[1], resourceGroup: match?.[2] };
}

/**
 * The Azure Monitor kind of the undo protocol: the rule is deleted only when it carries this window's tag;
 * without a record, the rule the step names (`resourceGroup`, `ruleName`) is looked up the same way.
 */
export function azureMonitorUndoKind(options: {
  rules: AlertProcessingRules;
  log: Log;
  stepRuleId?: string;
}): UndoKind<AzureMonitorUndoData, ActionRuleItem> {
  const { rules, log } = options;
  return {
    kind: AZURE_MONITOR_RECORD_KIND,
    validate: validateAzureMonitorUndoData,
    targetOf: (data) => scopeOf(data.ruleId),
    async assess(data, windowId) {
      const ruleId = data?.ruleId ?? options.stepRuleId;
      if (!ruleId) {
        log.warn('No undo record and no resourceGroup to find the rule in: nothing to unmute.');
        return [];
      }
      const name = `alert processing rule ${ruleId.split('/').pop()}`;
      const existing = await rules.get(ruleId);
      if (!existing) return [{ name, verdict: 'back', reason: 'it is gone', item: { ruleId } }];
      if (windowOf(existing) !== windowId) {
        return [
          {
            name,
            verdict: data ? 'refuse' : 'back',
            reason:
              `it is not tagged for window ${windowId} (someone replaced ` +
              `it${windowOf(existing) ? `; it is tagged for window ${windowOf(existing)}` : ''}); leaving it alone`,
            item: { ruleId },
          },
        ];
      }
      return [{ name, verdict: 'restore', reason: 'delete it', item: { ruleId } }];
    },
    async restore(items) {
      for (const { item } of items) {
        log.info(`Deleting alert processing rule ${item.ruleId}.`);
        await rules.delete(item.ruleId);
      }
    },
    async readBack(items) {
      const notBack: string[] = [];
      for (const { name, item, verdict } of items) {
        if (verdict === 'restore' && (await rules.get(item.ruleId))) notBack.push(name);
      }
      return notBack;
    },
  };
}

export async function unmuteAzureMonitor(options: {
  rules: AlertProcessingRules;
  log: Log;
  record?: UndoRecord<AzureMonitorUndoData>;
  store?: RecordStore;
  windowId: string;
  subscriptionId: string;
  /** The step's rule (`resourceGroup`, `ruleName`), for a restore without a record. */
  resourceGroup?: string;
  ruleName?: string;
  now: () => Date;
}): Promise<{ deleted: boolean; outcome: UndoOutcome<ActionRuleItem> }> {
  const stepRuleId =
    options.resourceGroup && options.ruleName
      ? actionRulePlan(options.subscriptionId, {
          resourceGroup: options.resourceGroup,
          ruleName: options.ruleName,
          scopes: [options.resourceGroup],
          alertRuleIds: [],
          severities: [],
        }).ruleId
      : undefined;
  const outcome = mergeOutcomes(
    await restoreRecordOrMarks({
      kind: azureMonitorUndoKind({ rules: options.rules, log: options.log, stepRuleId }),
      record: options.record,
      store: options.store,
      windowId: options.windowId,
      target: { subscription: options.subscriptionId, resourceGroup: options.resourceGroup },
      log: options.log,
      now: options.now,
      describe: (o) => `Azure Monitor alert processing rule of this window removed (${describeOutcome(o)}).`,
    }),
  );
  requireBack(outcome, 'Azure Monitor notifications are not all back');
  return { deleted: outcome.restored.length > 0, outcome };
}

const describeScope = (data: AzureMonitorUndoData) =>
  `${data.scopes.map((s) => s.replace(/^\/subscriptions\/[^/]+\/resourceGroups\//i, '')).join(', ')}` +
  (data.conditions.length
    ? ` where ${data.conditions.map((c) => `${c.field} = ${c.values.map((v) => v.split('/').pop()).join(' or ')}`).join(' and ')}`
    : '');

export function azureMuteSummary(result: AzureMuteResult, endsAtText: string): MarkdownSummary {
  const { data } = result.record;
  return new MarkdownSummary()
    .heading(`Azure Monitor: notifications muted until ${endsAtText}`)
    .table(
      ['Alert processing rule', 'Mutes (removes all action groups)', 'Effective until (UTC)'],
      [
        [
          `${data.name}${result.adopted ? ' (kept from an earlier run)' : ''}`,
          describeScope(data),
          (result.rule.properties as { schedule?: { effectiveUntil?: string } } | undefined)?.schedule?.effectiveUntil ?? '?',
        ],
      ],
    )
    .paragraph(`The rule stops muting by itself at that time; the unmute step deletes it earlier. Undo record \`${result.record.id}\`.`);
}

export function azureUnmuteSummary(result: { deleted: boolean; outcome: UndoOutcome<ActionRuleItem> }): MarkdownSummary {
  const record = result.outcome.record as UndoRecord<AzureMonitorUndoData> | undefined;
  const ruleIds = [...new Set(result.outcome.items.map((i) => i.item.ruleId))];
  return new MarkdownSummary()
    .heading(
      `Azure Monitor: notifications back on (rule '${record?.data.name ?? ruleIds.map((id) => id.split('/').pop()).join(', ')}' removed)`,
    )
    .paragraph(
      result.deleted
        ? `Deleted alert processing rule ${ruleIds.join(', ')}${record ? ` (${describeScope(record.data)})` : ''}.`
        : 'The rule was already gone; nothing else was touched.',
    )
    .paragraph(record ? `Undone from undo record \`${record.id}\`.` : `Restored from the marks of window ${result.outcome.windowId}.`);
}
