import { ServiceError } from '../core/errors';
import { HttpError, isJsonContentType } from '../core/http';
import { mayHaveBeenPosted, postToSecretWebhook, type WebhookOptions } from './webhook';

/**
 * Microsoft Teams through a Power Automate workflow ("When a Teams webhook request is received"), the
 * replacement for the retired Office 365 connectors. The workflow takes a message with one Adaptive Card
 * attachment and answers 202. Its URL carries a signature (`sig=`), so the whole URL is a secret: it is the
 * service connection's token and never appears in a message.
 */

export interface AdaptiveTextBlock {
  type: 'TextBlock';
  text: string;
  wrap?: boolean;
  size?: 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge';
  weight?: 'Lighter' | 'Default' | 'Bolder';
  color?: 'Default' | 'Dark' | 'Light' | 'Accent' | 'Good' | 'Warning' | 'Attention';
  isSubtle?: boolean;
  spacing?: 'None' | 'Small' | 'Default' | 'Medium' | 'Large';
  style?: 'default' | 'heading';
}

export interface AdaptiveFactSet {
  type: 'FactSet';
  facts: Array<{ title: string; value: string }>;
}

export type AdaptiveElement = AdaptiveTextBlock | AdaptiveFactSet;

export interface AdaptiveOpenUrl {
  type: 'Action.OpenUrl';
  title: string;
  url: string;
}

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: string;
  body: AdaptiveElement[];
  actions?: AdaptiveOpenUrl[];
  msteams?: { width: 'Full' };
}

/** The payload a Teams workflow webhook accepts: a message with Adaptive Card attachments. */
export interface TeamsWorkflowMessage {
  type: 'message';
  attachments: Array<{
    contentType: 'application/vnd.microsoft.card.adaptive';
    contentUrl: null;
    content: AdaptiveCard;
  }>;
}

export function teamsMessage(card: AdaptiveCard): TeamsWorkflowMessage {
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

export type TeamsWorkflowOptions = WebhookOptions;

/** How a webhook is named in messages, since its URL may not be shown. */
export const TEAMS_TARGET = 'the Teams workflow webhook (URL hidden: it is a secret)';

/** Posts one message to a Teams workflow webhook. A 429 is waited out; a 5xx is not re-sent (it may have posted). */
export async function postTeamsWorkflow(webhookUrl: string, message: TeamsWorkflowMessage, options: TeamsWorkflowOptions): Promise<void> {
  const response = await postToSecretWebhook(webhookUrl, message, {
    ...options,
    service: 'Teams',
    target: TEAMS_TARGET,
    describeFailure: teamsError,
  });
  const found = notTheWorkflowsAnswer(response.headers['content-type'], response.data);
  const problem = found && (options.log?.mask(found) ?? found);
  if (problem) {
    throw new ServiceError(
      'Teams',
      `answered ${response.status} with ${problem} where the workflow's 202 Accepted was expected (POST ${TEAMS_TARGET}).`,
      {
        status: response.status,
        code: 'unexpected-answer',
        advice:
          'Something other than Power Automate may have answered (a proxy, a sign-in page): check the channel, check the webhook ' +
          'URL, and re-run the step if the card is missing.',
      },
    );
  }
}

/**
 * The workflow trigger answers 202 with an empty body (or a JSON/plain one when the flow has a Response
 * action); a page of HTML, or another body that is neither, is something else answering in its place.
 */
function notTheWorkflowsAnswer(contentType: string | undefined, body: string | undefined): string | undefined {
  const text = (body ?? '').trim();
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (text === '' || isJsonContentType(type) || type === 'text/plain') return undefined;
  return `${type || 'no content type'} ('${text.slice(0, 60).replace(/\s+/g, ' ')}')`;
}

function errorDetail(data: unknown): string {
  let parsed = data;
  if (typeof data === 'string') {
    try {
      parsed = JSON.parse(data);
    } catch {
      return data.trim().slice(0, 300);
    }
  }
  const inner = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (inner && (inner.code || inner.message)) return [inner.code, inner.message].filter(Boolean).join(': ').slice(0, 300);
  return '';
}

/** Turns a failed workflow call into a message a person can act on (without the URL). */
export function teamsError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  if (error.failure !== 'status' && error.failure !== 'network') {
    return mayHaveBeenPosted(error, 'Teams', 'card', 'Check the channel and re-run the step if the card is missing.');
  }
  const detail = errorDetail(error.data);
  const said = detail ? ` (${detail})` : '';
  const status = error.status;
  if (status === undefined) {
    const maybeSent = error.networkCode === 'ECONNRESET' || error.networkCode === 'ECONNABORTED' || error.networkCode === 'ETIMEDOUT';
    return new ServiceError('Teams', error.message + (maybeSent ? '; the card may have been posted, so it was not sent again.' : '.'), {
      cause: error,
      advice: maybeSent
        ? 'Check the channel and re-run the step if the card is missing.'
        : 'Check that the agent can reach Power Automate.',
    });
  }
  if (status === 400) {
    return new ServiceError('Teams', `the workflow refused the card${said}.`, {
      status,
      cause: error,
      advice: 'The card is built by this task, so this is a bug: report it with the step log.',
    });
  }
  if (status === 401 || status === 403) {
    return new ServiceError('Teams', `the workflow refused the webhook URL's signature${said}.`, {
      status,
      cause: error,
      advice:
        "The URL was copied incompletely or regenerated: copy the whole HTTP POST URL from the workflow's trigger into the service " +
        "connection's token.",
    });
  }
  if (status === 404) {
    return new ServiceError('Teams', `the workflow was not found${said}.`, {
      status,
      cause: error,
      advice:
        'The workflow was deleted or the URL is wrong: create a "When a Teams webhook request is received" workflow and put its URL ' +
        'in the service connection.',
    });
  }
  if (status === 409) {
    return new ServiceError('Teams', `the workflow is turned off${said}.`, {
      status,
      cause: error,
      advice: 'Turn the workflow on in Power Automate (My flows), then re-run the step.',
    });
  }
  if (status === 429) {
    return new ServiceError('Teams', `the workflow kept answering 429 (too many requests)${said}.`, {
      status,
      cause: error,
      advice: 'Re-run the step later.',
    });
  }
  if (status >= 500) {
    return new ServiceError('Teams', `the workflow answered ${status}${said}; the card may have been posted, so it was not sent again.`, {
      status,
      cause: error,
      advice: 'Check the channel and re-run the step if the card is missing.',
    });
  }
  return new ServiceError('Teams', `the workflow answered ${status}${said}.`, { status, cause: error });
}
