import { InputError } from '../../shared/core/errors';
import { MarkdownSummary } from '../../shared/core/summary';
import { runTask } from '../../shared/core/task';
import { composeNotice, pipelineRunLink, TEMPLATES } from '../../shared/services/messages';
import { checkNotify } from '../../shared/services/notify-check';
import {
  botToken,
  NotifyError,
  PROVIDERS,
  sendNotice,
  webhookUrl,
  type Destination,
  type NotifyResult,
} from '../../shared/services/notify';

void runTask('Notify', async ({ input, log, variable, clock, setOutput, attachSummary, reportPreflight }) => {
  const action = input.choice('action', ['send', 'check'], 'send');
  const provider = input.choice('provider', PROVIDERS, 'slack');
  const template = input.choice('template', TEMPLATES, 'text');
  const notice = composeNotice({
    template,
    message: input.text('message'),
    windowName: input.string('windowName'),
    servers: input.list('servers'),
    results: input.text('results'),
    link:
      input.string('link') ?? pipelineRunLink(variable('System.CollectionUri'), variable('System.TeamProject'), variable('Build.BuildId')),
  });

  const channels = input.list('channels');
  let destination: Destination;
  if (provider === 'slack') {
    if (channels.length === 0)
      throw new InputError('channels', 'is required for provider slack: list channel names (#maintenance) or ids (C0123ABCD).');
    const endpoint = input.endpoint('slackConnection', { required: true });
    destination = { provider, token: botToken('slackConnection', endpoint), apiUrl: endpoint.url, channels };
  } else {
    const name = provider === 'slackWebhook' ? 'slackWebhookConnection' : 'teamsConnection';
    const endpoint =
      provider === 'slackWebhook'
        ? input.endpoint('slackWebhookConnection', { required: true })
        : input.endpoint('teamsConnection', { required: true });
    destination = { provider, webhookUrl: webhookUrl(name, endpoint, provider, log) };
    if (channels.length) log.warn(`'channels' is ignored with provider ${provider}: a webhook posts where it was made for.`);
  }

  if (action === 'check') return reportPreflight(await checkNotify(destination, { log, clock, purpose: `the ${template} notice` }));
  log.section(`Notify: ${template} via ${provider}`);
  let result: NotifyResult;
  try {
    result = await sendNotice(notice, destination, { log, clock });
  } catch (error) {
    if (error instanceof NotifyError) report(error.result);
    throw error;
  }
  report(result);

  function report(outcome: NotifyResult): void {
    setOutput('messageIds', JSON.stringify(outcome.messageIds));
    attachSummary(
      'Notification',
      new MarkdownSummary().heading(`Notification: ${template}`).table(
        ['Posted to', 'Result', 'Message ts'],
        outcome.deliveries.map((d) => [d.target, d.ok ? 'posted' : `FAILED: ${d.error}`, d.ts ?? '-']),
      ),
    );
  }
});
