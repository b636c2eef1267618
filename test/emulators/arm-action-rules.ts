import type { ArmEmulator } from './arm';
import type { EmulatorRequest, EmulatorResponse } from './kit';

/**
 * Azure Monitor alert processing rules (`Microsoft.AlertsManagement/actionRules`, api-version 2021-08-08) on
 * an ArmEmulator, as the generic resource operations of `@azure/arm-resources` reach them: GET, PUT
 * (create 201 / update 200, synchronous like the real resource provider) and DELETE (200, or 204 when there
 * is nothing to delete). The PUT is validated as the service does: `location` Global, scopes in the
 * subscription, at least one action, a schedule with naive times and a known Windows time-zone name.
 */

export const ACTION_RULES_API = '2021-08-08';
const TYPE = 'Microsoft.AlertsManagement/actionRules';
/** A few Windows time-zone ids the service accepts (it takes Windows names, not IANA ones). */
const WINDOWS_ZONES = new Set([
  'UTC',
  'Eastern Standard Time',
  'Central Standard Time',
  'Pacific Standard Time',
  'GMT Standard Time',
  'W. Europe Standard Time',
]);
const NAIVE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;

export interface ActionRulesOnArm {
  rules: Map<string, any>;
  resourceGroups: Set<string>;
  ruleId(resourceGroup: string, name: string): string;
  /** Rules that mute right now (enabled, inside their schedule). */
  activeRules(): any[];
  /** What "now" is for schedules: real time, or a rehearsal's simulated clock. */
  now: () => Date;
}

function armError(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message } } };
}

/** Adds the actionRules routes to an ArmEmulator; `resourceGroups` are the groups that exist. */
export function addActionRules(arm: ArmEmulator, resourceGroups: string[]): ActionRulesOnArm {
  const state: ActionRulesOnArm = {
    rules: new Map(),
    resourceGroups: new Set(resourceGroups.map((rg) => rg.toLowerCase())),
    now: () => new Date(),
    ruleId: (resourceGroup, name) => `${arm.resourceGroupId(resourceGroup)}/providers/${TYPE}/${name}`,
    activeRules: () =>
      [...state.rules.values()].filter((rule) => {
        const schedule = rule.properties.schedule;
        const now = state.now().toISOString().slice(0, 19);
        return (
          rule.properties.enabled &&
          (!schedule ||
            ((!schedule.effectiveFrom || schedule.effectiveFrom <= now) && (!schedule.effectiveUntil || now < schedule.effectiveUntil)))
        );
      }),
  };
  arm.onReset(() => state.rules.clear());

  const path = `/subscriptions/:subscription/resourceGroups/:resourceGroup/providers/${TYPE}/:name`;
  const key = (req: EmulatorRequest) => state.ruleId(req.params.resourceGroup, req.params.name).toLowerCase();
  const checked = (handler: (req: EmulatorRequest) => EmulatorResponse) => (req: EmulatorRequest) => {
    if (req.query.get('api-version') !== ACTION_RULES_API) {
      return armError(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for API version '${req.query.get('api-version')}' of type '${TYPE}'.`,
      );
    }
    if (!state.resourceGroups.has(req.params.resourceGroup.toLowerCase())) {
      return armError(404, 'ResourceGroupNotFound', `Resource group '${req.params.resourceGroup}' could not be found.`);
    }
    return handler(req);
  };

  arm.armRoute(
    'GET',
    path,
    `${TYPE}/read`,
    checked((req) => {
      const rule = state.rules.get(key(req));
      if (!rule)
        return armError(
          404,
          'ResourceNotFound',
          `The Resource '${TYPE}/${req.params.name}' under resource group '${req.params.resourceGroup}' was not found.`,
        );
      return { body: rule };
    }),
  );

  arm.armRoute(
    'PUT',
    path,
    `${TYPE}/write`,
    checked((req) => {
      const body = req.body ?? {};
      const problem = invalidRule(body, arm.subscriptionId);
      if (problem) return armError(400, 'InvalidPayload', problem);
      const existed = state.rules.has(key(req));
      const rule = {
        id: state.ruleId(req.params.resourceGroup, req.params.name),
        name: req.params.name,
        type: TYPE,
        location: 'Global',
        tags: body.tags ?? {},
        properties: { enabled: true, description: '', ...body.properties },
        systemData: { lastModifiedAt: state.now().toISOString(), lastModifiedByType: 'Application' },
      };
      state.rules.set(key(req), rule);
      return { status: existed ? 200 : 201, body: rule };
    }),
  );

  arm.armRoute(
    'DELETE',
    path,
    `${TYPE}/delete`,
    checked((req) => {
      const existed = state.rules.delete(key(req));
      return { status: existed ? 200 : 204 };
    }),
  );
  return state;
}

function invalidRule(body: any, subscriptionId: string): string | undefined {
  if (String(body.location ?? '').toLowerCase() !== 'global') return "The location must be 'Global'.";
  const properties = body.properties;
  if (!properties) return 'properties is required.';
  if (!Array.isArray(properties.scopes) || properties.scopes.length === 0) return 'At least one scope is required.';
  for (const scope of properties.scopes) {
    if (!new RegExp(`^/subscriptions/${subscriptionId}(/resourceGroups/[^/]+(/providers/.+)?)?$`, 'i').test(scope))
      return `Scope '${scope}' is not a valid scope.`;
  }
  if (!Array.isArray(properties.actions) || properties.actions.length === 0) return 'At least one action is required.';
  for (const action of properties.actions) {
    if (!['RemoveAllActionGroups', 'AddActionGroups'].includes(action.actionType)) return `Unknown actionType '${action.actionType}'.`;
  }
  for (const condition of properties.conditions ?? []) {
    if (
      ![
        'AlertRuleId',
        'Severity',
        'TargetResource',
        'TargetResourceGroup',
        'TargetResourceType',
        'MonitorService',
        'AlertRuleName',
        'Description',
        'AlertContext',
        'SignalType',
        'MonitorCondition',
        'AlertProcessingRuleName',
      ].includes(condition.field)
    ) {
      return `Unknown condition field '${condition.field}'.`;
    }
    if (
      !['Equals', 'NotEquals', 'Contains', 'DoesNotContain'].includes(condition.operator) ||
      !Array.isArray(condition.values) ||
      condition.values.length === 0
    ) {
      return `Condition on '${condition.field}' needs an operator and values.`;
    }
  }
  const schedule = properties.schedule;
  if (schedule) {
    if (!WINDOWS_ZONES.has(schedule.timeZone ?? 'UTC')) return `Time zone '${schedule.timeZone}' is not a supported Windows time zone.`;
    for (const time of [schedule.effectiveFrom, schedule.effectiveUntil]) {
      if (time !== undefined && !NAIVE.test(time)) return `Schedule time '${time}' must be in the format yyyy-MM-ddTHH:mm:ss.`;
    }
    if (schedule.effectiveFrom && schedule.effectiveUntil && schedule.effectiveUntil <= schedule.effectiveFrom)
      return 'effectiveUntil must be after effectiveFrom.';
  }
  return undefined;
}
