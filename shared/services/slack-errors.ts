import { ServiceError } from '../core/errors';
import { answerFailure, HttpError, withoutService } from '../core/http';

/** Slack's failures turned into messages a person can act on: Web API `ok:false` errors and HTTP failures. */

export interface SlackAnswer {
  ok: boolean;
  error?: string;
  needed?: string;
  provided?: string;
  warning?: string;
  [key: string]: unknown;
}

interface ErrorContext {
  channel?: string;
  botName?: string;
}

const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'no_permission',
  'ekm_access_denied',
]);

/** The advice for each `ok:false` error a person can do something about. */
export function slackApiError(method: string, answer: SlackAnswer, context: ErrorContext = {}): ServiceError {
  const code = answer.error ?? 'unknown_error';
  const where = context.channel ?? 'the channel';
  const app = context.botName ? `@${context.botName}` : '@your-app';
  const fail = (message: string, advice?: string) => new ServiceError('Slack', message, { code, advice });
  if (AUTH_ERRORS.has(code)) {
    return fail(
      `the bot token was refused (${code}).`,
      "Put a valid bot token (xoxb-…) from the Slack app's OAuth & Permissions page into the service connection; reinstall the app " +
        'if it was removed from the workspace.',
    );
  }
  switch (code) {
    case 'not_in_channel':
      return fail(
        `the app is not a member of ${where} (not_in_channel).`,
        `Invite the app to ${where} (type /invite ${app} in the channel).`,
      );
    case 'channel_not_found':
      return fail(
        `${where} was not found (channel_not_found).`,
        'Check the channel id or name; a private channel is only visible to the app once it is a member (/invite @app).',
      );
    case 'is_archived':
      return fail(`${where} is archived (is_archived).`, 'Unarchive the channel, or post to another one.');
    case 'missing_scope': {
      const scope = answer.needed ?? 'the scope this call needs';
      const why = method === 'conversations.list' ? ' (to find channels by name; or give channel ids (C…) instead of names)' : '';
      return fail(
        `the Slack app lacks the ${scope} scope for ${method}.`,
        `Add the bot scope ${scope}${why} on the app's OAuth & Permissions page and reinstall the app to the workspace.`,
      );
    }
    case 'msg_too_long':
      return fail('the message is too long (msg_too_long).', 'Shorten the message or the results given to the step.');
    case 'no_text':
      return fail('the message is empty (no_text).', 'Give the step a message.');
    case 'posting_to_general_channel_denied':
    case 'restricted_action':
      return fail(
        `the workspace does not let the app post to ${where} (${code}).`,
        'Ask a workspace admin to allow it, or post to another channel.',
      );
    case 'invalid_blocks':
    case 'invalid_blocks_format':
      return fail(
        `Slack refused the message layout (${code}).`,
        'The layout is built by this task, so this is a bug: report it with the step log.',
      );
    case 'ratelimited':
      return fail(`Slack rate-limited ${method} (ratelimited).`, 'Re-run the step in a minute.');
    case 'invalid_cursor':
    case 'invalid_limit':
    case 'invalid_types':
      return fail(`Slack refused the channel listing (${code}).`, 'This is a bug in the task: report it with the step log.');
    default:
      return fail(`${method} failed: ${code}.`, `See https://api.slack.com/methods/${method}#errors for what '${code}' means.`);
  }
}

/** Errors with no Slack answer: an HTTP status (after the HTTP layer's retries) or a dropped connection. */
export function slackHttpError(method: string, error: unknown, channel?: string): unknown {
  if (!(error instanceof HttpError)) return error;
  const posting = method === 'chat.postMessage';
  if (error.failure !== 'status' && error.failure !== 'network') {
    // Not Slack's answer, or no end to it: a post may still have reached the channel.
    if (!posting) return answerFailure(error);
    return new ServiceError(
      'Slack',
      `${withoutService(error)}. The message to ${channel ?? 'the channel'} may have been posted, so it was not sent again.`,
      {
        status: error.status,
        code: error.failure,
        advice: 'Look in the channel and re-run the step only if the message is missing.',
        cause: error,
      },
    );
  }
  if (error.status === 429) {
    return new ServiceError('Slack', `${error.message}: still rate-limited after waiting.`, {
      status: 429,
      cause: error,
      advice: 'Re-run the step in a minute.',
    });
  }
  const mayHavePosted =
    posting &&
    (error.status === undefined ? error.networkCode !== 'ECONNREFUSED' && error.networkCode !== 'EAI_AGAIN' : error.status >= 500);
  if (mayHavePosted) {
    return new ServiceError(
      'Slack',
      `${error.message}. The message to ${channel ?? 'the channel'} may have been posted, so it was not sent again.`,
      {
        status: error.status,
        cause: error,
        advice: 'Look in the channel and re-run the step only if the message is missing.',
      },
    );
  }
  if (error.status === 404) {
    return new ServiceError('Slack', `${error.message}.`, {
      status: 404,
      cause: error,
      advice: "Check the service connection's server URL: it should be https://slack.com/api (or a proxy of it).",
    });
  }
  return new ServiceError('Slack', `${error.message}.`, { status: error.status, cause: error });
}
