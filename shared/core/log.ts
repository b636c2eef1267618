import { issueCommand, writeLine } from './commands';

/**
 * Logging for people watching a run: plain lines, sections, collapsible groups, progress and issues.
 * Every line goes through the mask first, like the agent's own masking, so a secret registered here never
 * reaches the output even where the agent is not there to mask it (tests, the rehearsal, a local run).
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

  mask(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(secret).join('***');
    }
    return out;
  }

  info(message: string): void {
    for (const line of this.mask(message).split('\n')) writeLine(line);
  }

  debug(message: string): void {
    if (this.debugEnabled) writeLine(`##[debug]${this.mask(message)}`);
  }

  warn(message: string): void {
    issueCommand('task.logissue', { type: 'warning' }, this.mask(message));
  }

  error(message: string): void {
    issueCommand('task.logissue', { type: 'error' }, this.mask(message));
  }

  section(title: string): void {
    writeLine(`##[section]${this.mask(title)}`);
  }

  group<T>(title: string, body: () => T): T {
    writeLine(`##[group]${this.mask(title)}`);
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
    issueCommand('task.setprogress', { value: String(value) }, this.mask(message));
  }
}
