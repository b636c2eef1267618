import { ServiceError } from '../core/errors';
import { HttpError } from '../core/http';
import type { SlackMessage } from './slack';
import { mayHaveBeenPosted, postToSecretWebhook, type WebhookOptions } from './webhook';

/** Slack incoming webhooks: a secret URL bound to one channel, answering plain text. */

/** How a webhook is named in messages, since its URL may not be shown. */
export const SLACK_WEBHOOK_TARGET = 'the Slack incoming webhook (URL hidden: it is a secret)';

/** Advice for each plain-text error an incoming webhook answers. */
const WEBHOOK_ERRORS: Record<string, { message: string; advice: string }> = {
  invalid_payload: {
    message: 'Slack could not read the message (invalid_payload).',
    advice: 'The message is built by this task, so this is a bug: report it with the step log.',
  },
  no_text: { message: 'the message is empty (no_text).', advice: 'Give the step a message.' },
  user_not_found: {
    message: 'the webhook names a user that does not exist (user_not_found).',
    advice: 'Create a new incoming webhook and put its URL in the service connection.',
  },
  action_prohibited: {
    message: "a workspace admin has restricted posting to the webhook's channel (action_prohibited).",
    advice: 'Ask a workspace admin to allow the app to post there, or make a webhook for another channel.',
  },
  channel_not_found: {
    message: "the webhook's channel no longer exists (channel_not_found).",
    advice: 'Create a new incoming webhook for an existing channel and put its URL in the service connection.',
  },
  no_service: {
    message: 'the webhook is disabled, removed or invalid (no_service).',
    advice:
      "Check that the whole webhook URL is in the service connection's token; if it is, the app or the webhook was removed: create " +
      'a new incoming webhook.',
  },
  no_team: {
    message: "the webhook's workspace was not found (no_team).",
    advice: 'Create a new incoming webhook and put its URL in the service connection.',
  },
  team_disabled: { message: "the webhook's workspace is disabled (team_disabled).", advice: 'Ask a Slack admin about the workspace.' },
  invalid_token: {
    message: 'the webhook URL is not valid (invalid_token).',
    advice: "Copy the whole webhook URL into the service connection's token.",
  },
  channel_is_archived: {
    message: "the webhook's channel is archived (channel_is_archived).",
    advice: 'Unarchive the channel, or create a webhook for another channel.',
  },
  rollup_error: {
    message: 'the webhook call failed inside Slack (rollup_error); the message may have been posted, so it was not sent again.',
    advice: 'Look in the channel and re-run the step only if the message is missing.',
  },
};

export type SlackWebhookOptions = WebhookOptions;

/** Posts to an incoming webhook; success is HTTP 200 with the plain body `ok`. */
export async function postSlackWebhook(webhookUrl: string, message: SlackMessage, options: SlackWebhookOptions): Promise<void> {
  const response = await postToSecretWebhook(webhookUrl, message, {
    ...options,
    service: 'Slack',
    target: SLACK_WEBHOOK_TARGET,
    describeFailure: slackWebhookError,
  });
  // The documented answer is the plain body `ok`; anything else (a proxy's or sign-in page) is not Slack's.
  const body = String(response.data ?? '').trim();
  if (body !== 'ok') {
    const type = (response.headers['content-type'] ?? 'no content type').split(';')[0];
    const snippet = body.slice(0, 60).replace(/\s+/g, ' ');
    throw new ServiceError(
      'Slack',
      `answered ${response.status} with ${type} ('${options.log?.mask(snippet) ?? snippet}') where the webhook's 'ok' was expected ` +
        `(POST ${SLACK_WEBHOOK_TARGET}).`,
      {
        status: response.status,
        code: 'unexpected-answer',
        advice:
          'Something other than Slack may have answered (a proxy, a sign-in page): look in the channel, check the webhook URL, and ' +
          're-run the step only if the message is missing.',
      },
    );
  }
}

export function slackWebhookError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  if (error.failure !== 'status' && error.failure !== 'network') {
    return mayHaveBeenPosted(error, 'Slack', 'message', 'Look in the channel and re-run the step only if the message is missing.');
  }
  const code = typeof error.data === 'string' ? error.data.trim() : '';
  const known = WEBHOOK_ERRORS[code];
  if (known) return new ServiceError('Slack', known.message, { status: error.status, code, cause: error, advice: known.advice });
  if (error.status === 429)
    return new ServiceError('Slack', `${error.message}: still rate-limited after waiting.`, {
      status: 429,
      cause: error,
      advice: 'Re-run the step in a minute.',
    });
  if (error.status === undefined || error.status >= 500) {
    const refused = error.networkCode === 'ECONNREFUSED' || error.networkCode === 'EAI_AGAIN';
    return new ServiceError('Slack', `${error.message}${refused ? '.' : '; the message may have been posted, so it was not sent again.'}`, {
      status: error.status,
      cause: error,
      advice: refused
        ? 'Check that the agent can reach hooks.slack.com.'
        : 'Look in the channel and re-run the step only if the message is missing.',
    });
  }
  return new ServiceError('Slack', `${error.message}${code ? ` (${code.slice(0, 100)})` : ''}.`, { status: error.status, cause: error });
}
