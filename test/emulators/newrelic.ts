import { DateTime, IANAZone } from 'luxon';
import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/**
 * New Relic NerdGraph (`POST /graphql`) for alert muting rules: `alertsMutingRuleCreate`,
 * `alertsMutingRuleUpdate`, `alertsMutingRuleDelete` and the `actor.account.alerts.mutingRules` query.
 * Errors come back the GraphQL way, in `errors[]` with HTTP 200 (a bad key too). Schedule times must be
 * naive local date-times (an offset or `Z` is refused) read in the schedule's IANA time zone; a rule's
 * `status` is ACTIVE, SCHEDULED, ENDED or INACTIVE from the emulator's clock.
 *
 * The emulator does not parse GraphQL: it recognises the operation by its field name and takes every
 * argument from `variables` (which is how the client sends them), checking the variables are declared.
 */

export const NEWRELIC_KEY = 'NRAK-7Q2W9E8R6T5Y4U3I1O0PASDFGH';
export const NEWRELIC_ACCOUNT = 3_141_592;

export interface EmulatedMutingRule {
  id: string;
  accountId: number;
  name: string;
  description: string;
  enabled: boolean;
  condition: { operator: string; conditions: Array<{ attribute: string; operator: string; values: string[] }> };
  schedule: { startTime: string; endTime: string; timeZone: string } | null;
  actionOnMutingRuleWindowEnded: string;
}

const NAIVE = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/;
const OPERATORS = [
  'EQUALS',
  'NOT_EQUALS',
  'IN',
  'NOT_IN',
  'CONTAINS',
  'NOT_CONTAINS',
  'STARTS_WITH',
  'ENDS_WITH',
  'IS_BLANK',
  'IS_NOT_BLANK',
];
const ATTRIBUTE =
  /^(accountId|conditionId|conditionName|conditionType|entity\.guid|nrqlEventType|nrqlQuery|policyId|policyName|product|conditionRunbookUrl|targetId|targetName|tags\.[\w.-]+)$/;

export type Operation = 'create' | 'update' | 'delete' | 'list';

function operationOf(query: string): Operation | undefined {
  if (/alertsMutingRuleCreate\s*\(/.test(query)) return 'create';
  if (/alertsMutingRuleUpdate\s*\(/.test(query)) return 'update';
  if (/alertsMutingRuleDelete\s*\(/.test(query)) return 'delete';
  if (/mutingRules\s*\{/.test(query)) return 'list';
  return undefined;
}

export class NewRelicEmulator extends Emulator {
  readonly keys = new Map<string, number[]>();
  rules = new Map<string, EmulatedMutingRule>();
  private nextId = 880_001;
  /** Real time, unless a rehearsal makes the emulator follow its simulated clock (`followClock`). */
  private clock: () => number = () => Date.now();
  /**
   * Faults by GraphQL operation (every NerdGraph call is the same POST, so the kit's path faults cannot tell
   * them apart): `status` answers that HTTP status without doing anything; `lost` does the operation and
   * then answers 502, as when an answer is lost on the way back.
   */
  readonly operationFaults: Array<{ operation: Operation; kind: 'status' | 'lost'; status?: number; retryAfter?: number }> = [];

  constructor(options: { https?: boolean } = {}) {
    super({ name: 'New Relic', https: options.https ?? true });
    this.onReset(() => this.seed());
    this.seed();
    this.route('POST', '/graphql', (req) => this.graphql(req));
  }

  private seed(): void {
    this.keys.clear();
    this.keys.set(NEWRELIC_KEY, [NEWRELIC_ACCOUNT]);
    this.rules = new Map();
    this.nextId = 880_001;
    this.operationFaults.length = 0;
    // Someone else's rule on the same account: unmute must never touch it.
    this.addRule({
      name: 'Weekly batch jobs',
      description: 'Quiet the nightly ETL alerts on Sundays',
      enabled: true,
      condition: { operator: 'AND', conditions: [{ attribute: 'policyName', operator: 'EQUALS', values: ['ETL'] }] },
      schedule: { startTime: '2025-01-05T01:00:00', endTime: '2025-01-05T05:00:00', timeZone: 'America/New_York' },
      actionOnMutingRuleWindowEnded: 'CLOSE_ISSUES_ON_INACTIVE',
    });
  }

  addRule(rule: Omit<EmulatedMutingRule, 'id' | 'accountId'>): EmulatedMutingRule {
    const stored = { ...rule, id: String(this.nextId++), accountId: NEWRELIC_ACCOUNT };
    this.rules.set(stored.id, stored);
    return stored;
  }

  /** Makes schedule checks and statuses read `now`, as during a rehearsed night, instead of real time. */
  followClock(now: () => Date): void {
    this.clock = () => now().getTime();
  }

  /** When a rule stops muting, as an absolute time. */
  endOf(rule: EmulatedMutingRule): Date | undefined {
    if (!rule.schedule) return undefined;
    return DateTime.fromISO(rule.schedule.endTime, { zone: rule.schedule.timeZone }).toJSDate();
  }

  status(rule: EmulatedMutingRule): string {
    if (!rule.enabled) return 'INACTIVE';
    if (!rule.schedule) return 'ACTIVE';
    const now = this.clock();
    const start = DateTime.fromISO(rule.schedule.startTime, { zone: rule.schedule.timeZone }).toMillis();
    if (now < start) return 'SCHEDULED';
    return now < this.endOf(rule)!.getTime() ? 'ACTIVE' : 'ENDED';
  }

  /** Rule names and what they mute, sorted: "the same rules" in tests. */
  ruleState(): string[] {
    return [...this.rules.values()].map((r) => `${r.id} ${r.name} ${JSON.stringify(r.condition)}`).sort();
  }

  private errors(...messages: Array<[string, string?]>): EmulatorResponse {
    return {
      body: {
        data: null,
        errors: messages.map(([message, errorClass]) => ({ message, ...(errorClass ? { extensions: { errorClass } } : {}) })),
      },
    };
  }

  private graphql(req: EmulatorRequest): EmulatorResponse {
    const key = String(req.headers['api-key'] ?? '');
    const accounts = this.keys.get(key);
    if (!accounts) return this.errors(['Invalid API key', 'UNAUTHORIZED']);
    const query = String(req.body?.query ?? '');
    const variables = (req.body?.variables ?? {}) as Record<string, any>;
    if (!query) return { status: 400, body: { errors: [{ message: 'Must provide query string.' }] } };
    for (const name of Object.keys(variables)) {
      if (!new RegExp(`\\$${name}\\s*:`).test(query))
        return this.errors([`Variable $${name} is not declared by the operation.`, 'GRAPHQL_VALIDATION_FAILED']);
    }
    const accountId = Number(variables.accountId);
    if (!accounts.includes(accountId)) {
      return /^\s*query/.test(query)
        ? {
            body: {
              data: { actor: { account: null } },
              errors: [{ message: `Account ${accountId} not found or not accessible`, extensions: { errorClass: 'FORBIDDEN' } }],
            },
          }
        : this.errors([`Access denied to account ${accountId}`, 'FORBIDDEN']);
    }
    const operation = operationOf(query);
    if (!operation) return this.errors(['The New Relic emulator does not know this operation.', 'GRAPHQL_VALIDATION_FAILED']);
    const index = this.operationFaults.findIndex((fault) => fault.operation === operation);
    const fault = index >= 0 ? this.operationFaults.splice(index, 1)[0] : undefined;
    if (fault?.kind === 'status') {
      return {
        status: fault.status ?? 503,
        headers: fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {},
        body: { errors: [{ message: 'Service unavailable' }] },
      };
    }
    const response = this.run(operation, accountId, variables);
    return fault?.kind === 'lost' ? { status: 502, body: '<html>502 Bad Gateway</html>' } : response;
  }

  private run(operation: Operation, accountId: number, variables: Record<string, any>): EmulatorResponse {
    switch (operation) {
      case 'create':
        return this.create(accountId, variables.rule);
      case 'update':
        return this.update(accountId, String(variables.id), variables.rule);
      case 'delete':
        return this.remove(accountId, String(variables.id));
      case 'list': {
        const rules = [...this.rules.values()].filter((rule) => rule.accountId === accountId).map((rule) => this.json(rule));
        return { body: { data: { actor: { account: { alerts: { mutingRules: rules } } } } } };
      }
    }
  }

  /** NerdGraph calls of one operation so far. */
  operations(operation: Operation): number {
    return this.journal.filter((entry) => operationOf(String(entry.body?.query ?? '')) === operation).length;
  }

  private json(rule: EmulatedMutingRule) {
    return { ...rule, status: this.status(rule), createdAt: new Date().toISOString() };
  }

  /** Checks a rule input the way NerdGraph does; returns the problem or undefined. */
  private invalid(rule: any, partial: boolean): string | undefined {
    if (!rule || typeof rule !== 'object') return 'Argument rule is required.';
    if (!partial || rule.name !== undefined) if (typeof rule.name !== 'string' || !rule.name.trim()) return 'name must not be blank';
    if (!partial || rule.condition !== undefined) {
      const condition = rule.condition;
      if (
        !condition ||
        !['AND', 'OR'].includes(condition.operator) ||
        !Array.isArray(condition.conditions) ||
        condition.conditions.length === 0
      ) {
        return 'condition must have an operator (AND, OR) and at least one condition';
      }
      for (const c of condition.conditions) {
        if (!ATTRIBUTE.test(c.attribute ?? '')) return `Invalid muting rule attribute: ${c.attribute}`;
        if (!OPERATORS.includes(c.operator)) return `Invalid operator ${c.operator}`;
        if (!Array.isArray(c.values)) return 'values must be a list';
      }
    }
    if (rule.schedule) {
      const { startTime, endTime, timeZone } = rule.schedule;
      if (!IANAZone.isValidZone(timeZone ?? '')) return `Invalid time zone: ${timeZone}`;
      for (const time of [startTime, endTime]) {
        if (time !== undefined && !NAIVE.test(time))
          return `Invalid schedule time '${time}': use a local date-time without an offset (yyyy-MM-ddTHH:mm:ss)`;
      }
      if (!endTime) return 'A schedule without repeat needs an endTime';
      const end = DateTime.fromISO(endTime, { zone: timeZone });
      if (startTime && end <= DateTime.fromISO(startTime, { zone: timeZone })) return 'endTime must be after startTime';
      if (end.toMillis() <= this.clock()) return 'endTime must be in the future';
    }
    return undefined;
  }

  private create(accountId: number, input: any): EmulatorResponse {
    const problem = this.invalid(input, false);
    if (problem) return this.errors([problem, 'BAD_USER_INPUT']);
    const rule = this.addRule({
      name: input.name,
      description: input.description ?? '',
      enabled: input.enabled !== false,
      condition: input.condition,
      schedule: input.schedule
        ? {
            startTime:
              input.schedule.startTime ??
              DateTime.fromMillis(this.clock(), { zone: input.schedule.timeZone }).toFormat("yyyy-LL-dd'T'HH:mm:ss"),
            endTime: input.schedule.endTime,
            timeZone: input.schedule.timeZone,
          }
        : null,
      actionOnMutingRuleWindowEnded: input.actionOnMutingRuleWindowEnded ?? 'CLOSE_ISSUES_ON_INACTIVE',
    });
    rule.accountId = accountId;
    return { body: { data: { alertsMutingRuleCreate: this.json(rule) } } };
  }

  private update(accountId: number, id: string, input: any): EmulatorResponse {
    const rule = this.rules.get(id);
    if (!rule || rule.accountId !== accountId)
      return {
        body: {
          data: { alertsMutingRuleUpdate: null },
          errors: [{ message: `Muting rule ${id} not found`, extensions: { errorClass: 'NOT_FOUND' } }],
        },
      };
    const problem = this.invalid(input, true);
    if (problem) return this.errors([problem, 'BAD_USER_INPUT']);
    for (const key of ['name', 'description', 'enabled', 'condition', 'schedule', 'actionOnMutingRuleWindowEnded'] as const) {
      if (input[key] !== undefined) (rule as any)[key] = input[key];
    }
    return { body: { data: { alertsMutingRuleUpdate: this.json(rule) } } };
  }

  private remove(accountId: number, id: string): EmulatorResponse {
    const rule = this.rules.get(id);
    if (!rule || rule.accountId !== accountId)
      return {
        body: {
          data: { alertsMutingRuleDelete: null },
          errors: [{ message: `Muting rule ${id} not found`, extensions: { errorClass: 'NOT_FOUND' } }],
        },
      };
    this.rules.delete(id);
    return { body: { data: { alertsMutingRuleDelete: { id } } } };
  }
}
