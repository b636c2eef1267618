import { agentLines, issueCommand, neutralise, oneLine, writeLine } from './commands';

/**
 * Logging for people watching a run: plain lines, sections, collapsible groups, progress and issues.
 * Every line goes through the mask first, like the agent's own masking, so a secret registered here never
 * reaches the output even where the agent is not there to mask it (tests, the rehearsal, a local run).
 * Then it is made inert (see `neutralise`): messages quote plan text, script output and services' answers,
 * and the agent would act on a `##vso[` anywhere in a line. Our own commands go through `issueCommand`.
 */
export class Log {
  private readonly secrets = new Set<string>();
  private debugEnabled = false;

  /** Registers a value that must never be printed; also tells the agent to mask it. */
  addSecret(value: string | undefined): void {
    if (!value || value.length < 4 || this.secrets.has(value)) return;
    this.secrets.add(value);
    // The agent learns secrets from this command and swallows the line; it is the only place one appears.
    writeLine(`##vso[task.setsecret]${value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.secrets.add(encoded);
  }

  setDebug(enabled: boolean): void {
    this.debugEnabled = enabled;
  }

  /** Masked and inert: what may be printed of any text. */
  private safe(text: string): string {
    return neutralise(this.mask(text));
  }

  mask(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(secret).join('***');
    }
    return out;
  }

  info(message: string): void {
    // Split the way the agent does (a bare \r ends a line too), so no piece escapes the neutraliser.
    for (const line of agentLines(this.mask(message))) writeLine(neutralise(line));
  }

  debug(message: string): void {
    if (!this.debugEnabled) return;
    for (const line of agentLines(this.mask(message))) writeLine(`##[debug]${neutralise(line)}`);
  }

  warn(message: string): void {
    issueCommand('task.logissue', { type: 'warning' }, this.safe(message));
  }

  error(message: string): void {
    issueCommand('task.logissue', { type: 'error' }, this.safe(message));
  }

  section(title: string): void {
    writeLine(`##[section]${oneLine(this.safe(title))}`);
  }

  group<T>(title: string, body: () => T): T {
    writeLine(`##[group]${oneLine(this.safe(title))}`);
    try {
      const result = body();
      if (result instanceof Promise) {
        return result.finally(() => writeLine('##[endgroup]')) as T;
      }
      writeLine('##[endgroup]');
      return result;
    } catch (error) {
      writeLine('##[endgroup]');
      throw error;
    }
  }

  /** Reports progress of a long step (0-100) in the agent's UI, with a line a person can read. */
  progress(percent: number, message: string): void {
    const value = Math.max(0, Math.min(100, Math.round(percent)));
    issueCommand('task.setprogress', { value: String(value) }, this.safe(message));
  }
}
