import { InputError, ServiceError } from '../core/errors';
import { answerFailure, HttpClient, HttpError, unexpectedShape } from '../core/http';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import { newUndoRecord, type RecordStore, type UndoRecord } from '../core/records';
import {
  describeOutcome,
  mergeOutcomes,
  requireBack,
  restoreRecordOrMarks,
  type UndoItem,
  type UndoKind,
  type UndoOutcome,
} from '../core/undo';
import type { RetryOptions } from '../core/retry';
import { MarkdownSummary } from '../core/summary';
import { textOf } from '../core/text';
import { toNaiveLocal } from '../core/time';
import { createOnce } from './connection';

/**
 * New Relic alert muting through NerdGraph: one muting rule per step, with a schedule that ends at the
 * window's end (plus grace), so notifications come back by themselves; `unmute` deletes that rule and nothing
 * else. NerdGraph answers errors in `errors[]` with HTTP 200, and takes schedule times as naive local times
 * plus a time zone.
 */

export const NEWRELIC_PUBLIC_API = 'https://api.newrelic.com/graphql';
export const NEWRELIC_RECORD_KIND = 'newrelic-muting-rule';

export interface MutingCondition {
  attribute: string;
  operator: 'IN' | 'EQUALS';
  values: string[];
}

export interface MutingRule {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  status?: string;
  condition: { operator: 'AND' | 'OR'; conditions: MutingCondition[] };
  schedule?: { startTime?: string; endTime?: string; timeZone?: string } | null;
}

export interface MutingRuleInput {
  name: string;
  description: string;
  enabled: boolean;
  condition: MutingRule['condition'];
  schedule: { startTime: string; endTime: string; timeZone: string };
  actionOnMutingRuleWindowEnded: 'CLOSE_ISSUES_ON_INACTIVE';
}

const RULE_FIELDS =
  'id name description enabled status condition { operator conditions { attribute operator values } } schedule { startTime endTime ' +
  'timeZone }';

export class NewRelicClient {
  private readonly http: HttpClient;

  constructor(
    private readonly options: { baseUrl: string; apiKey: string; accountId: number; log: Log; retry?: RetryOptions; maxBodyBytes?: number },
  ) {
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      service: 'New Relic',
      headers: { 'API-Key': options.apiKey, 'Content-Type': 'application/json' },
      retry: options.retry,
      maxBodyBytes: options.maxBodyBytes,
      log: options.log,
    });
  }

  /**
   * One GraphQL call; `errors[]` (HTTP 200 or not) becomes a ServiceError, and so does an answer with neither
   * `data` nor `errors`, or whose `data` lacks what the query asked for (`path`). Reads are safe to repeat.
   */
  private async graphql<T>(query: string, variables: Record<string, unknown>, idempotent: boolean, path: string[]): Promise<T> {
    type Answer = { data?: T; errors?: Array<{ message: string; extensions?: { errorClass?: string; code?: string } }> };
    let response;
    try {
      response = await this.http.request<Answer>({ method: 'POST', body: { query, variables }, idempotent });
    } catch (error) {
      throw mapNewRelicError(error);
    }
    const data = response.data;
    const where = `POST /graphql (${path.join('.')})`;
    if (data === null || typeof data !== 'object' || Array.isArray(data))
      throw unexpectedShape('New Relic', where, response.status, 'the answer is not an object');
    if (data.errors !== undefined && !Array.isArray(data.errors))
      throw unexpectedShape('New Relic', where, response.status, "'errors' is not an array");
    if (data.errors?.length) {
      const classes = data.errors.map((e) => e?.extensions?.errorClass ?? e?.extensions?.code ?? '').filter(Boolean);
      const denied =
        classes.some((c) => /UNAUTHORIZED|FORBIDDEN|ACCESS/i.test(c)) ||
        data.errors.some((e) => /api key|not authorized|access denied/i.test(String(e?.message)));
      throw new ServiceError('New Relic', data.errors.map((e) => String(e?.message ?? 'an error without a message')).join('; '), {
        code: classes[0],
        advice: denied
          ? 'Check the New Relic service connection: it needs a User key (NRAK-…) of a user who may manage alert muting rules on this ' +
            'account.'
          : undefined,
      });
    }
    if (data.data === null || typeof data.data !== 'object')
      throw unexpectedShape('New Relic', where, response.status, "neither 'data' nor 'errors'");
    let node: unknown = data.data;
    for (const [index, key] of path.entries()) {
      node = (node as Record<string, unknown>)[key];
      // A null account is NerdGraph's way of saying "not visible"; the caller says so in its own words.
      if (node === null && key === 'account') break;
      if (node === null || typeof node !== 'object') {
        throw unexpectedShape(
          'New Relic',
          where,
          response.status,
          `'data.${path.slice(0, index + 1).join('.')}' is ${node === undefined ? 'missing' : textOf(node)}`,
        );
      }
    }
    return data.data;
  }

  async listRules(): Promise<MutingRule[]> {
    const query = `query($accountId: Int!) { actor { account(id: $accountId) { alerts { mutingRules { ${RULE_FIELDS} } } } } }`;
    const data = await this.graphql<{ actor: { account: { alerts: { mutingRules: MutingRule[] } } | null } }>(
      query,
      { accountId: this.options.accountId },
      true,
      ['actor', 'account'],
    );
    if (!data.actor.account)
      throw new ServiceError('New Relic', `account ${this.options.accountId} was not found or the key cannot see it.`);
    const rules = data.actor.account.alerts?.mutingRules;
    if (!Array.isArray(rules))
      throw unexpectedShape('New Relic', 'POST /graphql (actor.account.alerts.mutingRules)', 200, "'mutingRules' is not an array");
    return rules;
  }

  async createRule(rule: MutingRuleInput): Promise<MutingRule> {
    const query =
      `mutation($accountId: Int!, $rule: AlertsMutingRuleInput!) { alertsMutingRuleCreate(accountId: $accountId, rule: $rule) { ` +
      `${RULE_FIELDS} } }`;
    return (
      await this.graphql<{ alertsMutingRuleCreate: MutingRule }>(query, { accountId: this.options.accountId, rule }, false, [
        'alertsMutingRuleCreate',
      ])
    ).alertsMutingRuleCreate;
  }

  /** Sets the whole rule to absolute values, so repeating it is harmless. */
  async updateRule(id: string, rule: MutingRuleInput): Promise<MutingRule> {
    const query =
      `mutation($accountId: Int!, $id: ID!, $rule: AlertsMutingRuleUpdateInput!) { alertsMutingRuleUpdate(accountId: $accountId, id: ` +
      `$id, rule: $rule) { ${RULE_FIELDS} } }`;
    return (
      await this.graphql<{ alertsMutingRuleUpdate: MutingRule }>(query, { accountId: this.options.accountId, id, rule }, true, [
        'alertsMutingRuleUpdate',
      ])
    ).alertsMutingRuleUpdate;
  }

  /** Deleting twice leaves the same state (the second answers "not found"), so it is retried like a read. */
  async deleteRule(id: string): Promise<void> {
    const query = `mutation($accountId: Int!, $id: ID!) { alertsMutingRuleDelete(accountId: $accountId, id: $id) { id } }`;
    await this.graphql(query, { accountId: this.options.accountId, id }, true, ['alertsMutingRuleDelete']);
  }
}

export function mapNewRelicError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  const notAnAnswer = answerFailure(error);
  if (notAnAnswer) return notAnAnswer;
  const advice =
    error.status === 401 || error.status === 403
      ? 'Check the New Relic service connection: it needs a User key (NRAK-…), not a license or browser key.'
      : undefined;
  return new ServiceError('New Relic', error.message, { status: error.status, advice, cause: error });
}

// ---------------------------------------------------------------------------------------------------------
// What to mute

export interface NewRelicSelection {
  policyNames: string[];
  conditionNames: string[];
  entityNames: string[];
  /** `key=value` pairs. */
  entityTags: string[];
}

/** Each kind narrows the others (AND); the values of one kind are alternatives (IN). */
export function mutingCondition(selection: NewRelicSelection): MutingRule['condition'] {
  const conditions: MutingCondition[] = [];
  const add = (attribute: string, values: string[]) => {
    if (values.length) conditions.push({ attribute, operator: 'IN', values: [...new Set(values)] });
  };
  add('policyName', selection.policyNames);
  add('conditionName', selection.conditionNames);
  add('targetName', selection.entityNames);
  const tags = new Map<string, string[]>();
  for (const pair of selection.entityTags) {
    const match = /^([^=\s]+)\s*=\s*(.+)$/.exec(pair);
    if (!match) throw new InputError('entityTags', `'${pair}' is not a tag as key=value.`);
    tags.set(match[1], [...(tags.get(match[1]) ?? []), match[2].trim()]);
  }
  for (const [key, values] of tags) add(`tags.${key}`, values);
  if (conditions.length === 0) {
    throw new InputError(
      'policyNames',
      'give at least one of policyNames, conditionNames, entityNames or entityTags: a muting rule without a condition is refused.',
    );
  }
  return { operator: 'AND', conditions };
}

// ---------------------------------------------------------------------------------------------------------
// Undo record

export interface NewRelicUndoData {
  accountId: number;
  /** Unknown until NerdGraph answers; found again by name and marker after a crash. */
  ruleId?: string;
  name: string;
  /** Text in the rule's description that says it is this window's. */
  marker: string;
  endsAt: string;
  timeZone: string;
  condition: MutingRule['condition'];
}

export function validateNewRelicUndoData(data: unknown): NewRelicUndoData {
  const value = data as Partial<NewRelicUndoData> | undefined;
  if (!value || !Number.isInteger(value.accountId)) throw new Error("'accountId' is missing.");
  if (typeof value.name !== 'string' || !value.name) throw new Error("'name' is missing.");
  if (typeof value.marker !== 'string' || value.marker.length < 8) throw new Error("'marker' is missing.");
  if (value.ruleId !== undefined && typeof value.ruleId !== 'string') throw new Error("'ruleId' must be a string.");
  if (typeof value.endsAt !== 'string' || typeof value.timeZone !== 'string') throw new Error("'endsAt' and 'timeZone' are required.");
  return value as NewRelicUndoData;
}

const isOurs = (rule: MutingRule, data: Pick<NewRelicUndoData, 'name' | 'marker' | 'ruleId'>) =>
  rule.id === data.ruleId || (rule.name === data.name && rule.description.includes(data.marker));

// ---------------------------------------------------------------------------------------------------------
// Mute and unmute

export interface MuteOptions {
  client: NewRelicClient;
  log: Log;
  accountId: number;
  ruleName: string;
  selection: NewRelicSelection;
  endsAt: Date;
  timeZone: string;
  windowId: string;
  publish: (record: UndoRecord<NewRelicUndoData>) => void;
  /** The window's clock (simulated in a rehearsal): the rule's start and the record's time. */
  clock: WindowClock;
}

export interface MuteResult {
  record: UndoRecord<NewRelicUndoData>;
  rule: MutingRule;
  adopted: boolean;
}

export async function muteNewRelic(options: MuteOptions): Promise<MuteResult> {
  const { client, log } = options;
  const condition = mutingCondition(options.selection);
  const marker = mutingRuleMark(options.windowId);
  const now = options.clock.now();
  const input: MutingRuleInput = {
    name: options.ruleName,
    description: `Muted for the maintenance window ${marker}; ends by itself at ${options.endsAt.toISOString()}.`,
    enabled: true,
    condition,
    schedule: {
      startTime: toNaiveLocal(now, options.timeZone),
      endTime: toNaiveLocal(options.endsAt, options.timeZone),
      timeZone: options.timeZone,
    },
    actionOnMutingRuleWindowEnded: 'CLOSE_ISSUES_ON_INACTIVE',
  };
  const record: UndoRecord<NewRelicUndoData> = newUndoRecord({
    kind: NEWRELIC_RECORD_KIND,
    windowId: options.windowId,
    now,
    expiresAt: options.endsAt,
    description: `New Relic muting rule '${options.ruleName}' on account ${options.accountId}`,
    data: {
      accountId: options.accountId,
      name: options.ruleName,
      marker,
      endsAt: options.endsAt.toISOString(),
      timeZone: options.timeZone,
      condition,
    },
  });
  const find = async () => (await client.listRules()).find((rule) => isOurs(rule, record.data));
  const existing = await find();
  if (existing) {
    log.info(
      `Muting rule ${existing.id} '${existing.name}' exists already (an earlier run of this step): setting it to this run's ` +
        `condition and end.`,
    );
    record.data.ruleId = existing.id;
    options.publish(record);
    return { record, rule: await client.updateRule(existing.id, input), adopted: true };
  }
  options.publish(record);
  log.info(`Creating muting rule '${options.ruleName}' until ${input.schedule.endTime} ${options.timeZone}.`);
  const rule = await createOnce({ create: () => client.createRule(input), find, log });
  record.data.ruleId = rule.id;
  options.publish(record);
  return { record, rule, adopted: false };
}

export interface UnmuteResult {
  outcome: UndoOutcome<MutingRuleItem>;
  deleted: string[];
}

export interface MutingRuleItem {
  id?: string;
  name: string;
}

/** The text every muting rule of a window carries in its description: the window's mark. */
export const mutingRuleMark = (windowId: string) => `[maintenance window ${windowId}]`;

/**
 * The New Relic kind of the undo protocol: a muting rule is deleted only when its description carries this
 * window's mark; a record naming another rule (another team's, by id or name) is refused, not obeyed.
 */
export function newRelicUndoKind(options: {
  client: NewRelicClient;
  log: Log;
  accountId: number;
}): UndoKind<NewRelicUndoData, MutingRuleItem> {
  const { client, log } = options;
  return {
    kind: NEWRELIC_RECORD_KIND,
    validate: validateNewRelicUndoData,
    targetOf: (data) => ({ account: data.accountId }),
    async assess(data, windowId) {
      const mark = mutingRuleMark(windowId);
      const rules = await client.listRules();
      const items: Array<UndoItem<MutingRuleItem>> = [];
      const named = (rule: MutingRule) => `muting rule ${rule.id} '${rule.name}'`;
      const candidates = data
        ? rules.filter((rule) => rule.id === data.ruleId || rule.name === data.name || rule.description.includes(mark))
        : rules.filter((rule) => rule.description.includes(mark));
      for (const rule of candidates) {
        const ours = rule.description.includes(mark);
        items.push({
          name: named(rule),
          verdict: ours ? 'restore' : 'refuse',
          reason: ours ? 'delete it' : `not this window's rule (no '${mark}' in its description)`,
          item: { id: rule.id, name: rule.name },
        });
      }
      if (data && !candidates.some((rule) => rule.description.includes(mark))) {
        items.push({
          name: `muting rule '${data.name}'`,
          verdict: 'back',
          reason: 'it is gone',
          item: { id: data.ruleId, name: data.name },
        });
      }
      return items;
    },
    async restore(items) {
      for (const { name, item } of items) {
        log.info(`Deleting ${name}.`);
        try {
          await client.deleteRule(item.id!);
        } catch (error) {
          // An answer lost after the delete happened: the rule is gone, which is what we want.
          if (!(await client.listRules()).some((rule) => rule.id === item.id)) continue;
          throw error;
        }
      }
    },
    async readBack(items) {
      const ids = new Set((await client.listRules()).map((rule) => rule.id));
      return items.filter(({ item }) => item.id !== undefined && ids.has(item.id)).map(({ name }) => name);
    },
  };
}

export async function unmuteNewRelic(options: {
  client: NewRelicClient;
  log: Log;
  accountId: number;
  record?: UndoRecord<NewRelicUndoData>;
  store?: RecordStore;
  windowId: string;
  /** The window's clock: the receipt's time. */
  clock: WindowClock;
}): Promise<UnmuteResult> {
  const outcome = mergeOutcomes(
    await restoreRecordOrMarks({
      kind: newRelicUndoKind(options),
      record: options.record,
      store: options.store,
      windowId: options.windowId,
      target: { account: options.accountId },
      log: options.log,
      now: () => options.clock.now(),
      describe: (o) => `New Relic muting rules of this window removed (${describeOutcome(o)}).`,
    }),
  );
  requireBack(outcome, 'New Relic notifications are not all back');
  return { outcome, deleted: outcome.items.filter((i) => i.verdict === 'restore').map((i) => i.item.id!) };
}

// ---------------------------------------------------------------------------------------------------------
// What the run summary shows

const describeCondition = (condition: MutingRule['condition']) =>
  condition.conditions
    .map((c) => `${c.attribute} ${c.operator === 'IN' ? 'in' : '='} ${c.values.join(', ')}`)
    .join(condition.operator === 'AND' ? ' and ' : ' or ');

export function muteSummary(result: MuteResult, endsAtText: string): MarkdownSummary {
  const { data } = result.record;
  return new MarkdownSummary()
    .heading(`New Relic: notifications muted until ${endsAtText}`)
    .table(
      ['Muting rule', 'Mutes', 'Ends (New Relic schedule)'],
      [
        [
          `${result.rule.name} (${result.rule.id})${result.adopted ? ', kept from an earlier run' : ''}`,
          describeCondition(data.condition),
          `${result.rule.schedule?.endTime ?? '?'} ${data.timeZone}`,
        ],
      ],
    )
    .paragraph(`The rule stops muting by itself at that time; the unmute step deletes it earlier. Undo record \`${result.record.id}\`.`);
}

export function unmuteSummary(result: UnmuteResult): MarkdownSummary {
  const record = result.outcome.record as UndoRecord<NewRelicUndoData> | undefined;
  return new MarkdownSummary()
    .heading(
      `New Relic: notifications back on ` +
        `(${record ? `muting rule '${record.data.name}' removed` : `muting rules of window ${result.outcome.windowId} removed`})`,
    )
    .paragraph(
      result.deleted.length
        ? `Deleted muting rule ${result.deleted.join(', ')}${record ? ` (${describeCondition(record.data.condition)})` : ''}.`
        : 'The muting rule was already gone; nothing else was touched.',
    )
    .paragraph(record ? `Undone from undo record \`${record.id}\`.` : `Restored from the marks of window ${result.outcome.windowId}.`);
}
