import { ServiceError } from '../core/errors';
import { answerFailure, HttpClient, HttpError, unexpectedShape } from '../core/http';
import type { Log } from '../core/log';
import type { RetryOptions } from '../core/retry';
import { textOf } from '../core/text';

/** The NerdGraph client for muting rules, and New Relic's errors as messages a person can act on. */

export const NEWRELIC_PUBLIC_API = 'https://api.newrelic.com/graphql';

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
