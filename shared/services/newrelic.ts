import { InputError } from '../core/errors';
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
import { toNaiveLocal } from '../core/time';
import { createOnce } from './connection';
import { NewRelicClient, type MutingCondition, type MutingRule, type MutingRuleInput } from './newrelic-client';

/**
 * New Relic alert muting through NerdGraph: one muting rule per step, with a schedule that ends at the
 * window's end (plus grace), so notifications come back by themselves; `unmute` deletes that rule and nothing
 * else. NerdGraph answers errors in `errors[]` with HTTP 200, and takes schedule times as naive local times
 * plus a time zone.
 */

export const NEWRELIC_RECORD_KIND = 'newrelic-muting-rule';

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

export {
  mapNewRelicError,
  NEWRELIC_PUBLIC_API,
  NewRelicClient,
  type MutingCondition,
  type MutingRule,
  type MutingRuleInput,
} from './newrelic-client';
export { muteSummary, unmuteSummary } from './newrelic-summary';
