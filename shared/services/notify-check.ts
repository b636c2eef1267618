import { messageOf, ServiceError } from '../core/errors';
import type { WindowClock } from '../core/clock';
import type { Log } from '../core/log';
import type { PreflightFinding } from '../core/preflight';
import type { Destination } from './notify';
import { isChannelId, normalizeChannel, SlackClient, type SlackChannel } from './slack';

/**
 * Notify's (and the window's announcements') `check` action: posts nothing. With a bot token it proves the
 * token with the channel listing, finds every channel and asks whether the bot is a member (the list says,
 * conversations.info for ids); a webhook is only checked to be well-formed, since any call to it would post.
 */

function channelLabel(channel: string): string {
  const name = normalizeChannel(channel);
  return isChannelId(name) ? name : `#${name}`;
}

async function channelFinding(client: SlackClient, asked: string, resolved: SlackChannel): Promise<PreflightFinding> {
  const object = `Slack channel ${channelLabel(asked)}`;
  const channel = isChannelId(resolved.id) && resolved.is_member === undefined ? await client.channelInfo(resolved.id) : resolved;
  if (channel.is_archived)
    return {
      check: 'slack-channel',
      object,
      verdict: 'NO-GO',
      why: 'the channel is archived.',
      fix: 'Unarchive the channel, or change the step to a live channel.',
    };
  if (!channel.is_member) {
    return {
      check: 'slack-channel',
      object,
      verdict: 'NO-GO',
      why: 'the Slack app (bot) is not a member of the channel, so its posts would be refused.',
      fix: `Invite the app in ${channelLabel(asked)} (/invite @the-app), or change the step's channels.`,
    };
  }
  return {
    check: 'slack-channel',
    object,
    verdict: 'GO',
    why: 'the bot is a member.',
    fix: '',
    wouldDo: `would post to ${channelLabel(asked)}`,
  };
}

export async function checkNotify(
  destination: Destination,
  options: { log: Log; clock: WindowClock; purpose?: string },
): Promise<PreflightFinding[]> {
  if (destination.provider !== 'slack') {
    const kind = destination.provider === 'teams' ? 'Teams workflow webhook' : 'Slack incoming webhook';
    return [
      {
        check: 'webhook',
        object: `${kind} (URL hidden: it is a secret)`,
        verdict: 'GO',
        why: 'the URL is well-formed; not called, since any call would post.',
        fix: '',
        wouldDo: `would post ${options.purpose ?? 'the notice'} there`,
      },
    ];
  }
  const client = new SlackClient({ baseUrl: destination.apiUrl, token: destination.token, log: options.log, clock: options.clock });
  let resolved: Map<string, SlackChannel>;
  try {
    resolved = await client.resolveChannels(destination.channels);
  } catch (error) {
    const code = error instanceof ServiceError ? error.code : undefined;
    const auth = code && ['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive'].includes(code);
    return [
      {
        check: auth ? 'slack-token' : 'slack-channel',
        object: auth ? 'Slack service connection (bot token)' : `Slack channels ${destination.channels.map(channelLabel).join(', ')}`,
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: auth
          ? 'Put a valid bot token (xoxb-…) of the Slack app in the service connection.'
          : 'Check the channel names; invite the app to private channels (/invite @the-app).',
      },
    ];
  }
  const findings: PreflightFinding[] = [];
  for (const asked of destination.channels) {
    const key = normalizeChannel(asked);
    try {
      findings.push(await channelFinding(client, asked, resolved.get(key)!));
    } catch (error) {
      findings.push({
        check: 'slack-channel',
        object: `Slack channel ${channelLabel(asked)}`,
        verdict: 'NO-GO',
        why: messageOf(error),
        fix: 'Check the channel id, and that the app may read it (channels:read, groups:read).',
      });
    }
  }
  return findings;
}
