/**
 * Markdown for the run's summary tab. Builders escape what they are given, so a server name with a pipe
 * or a message with a line break cannot break a table.
 */

/** What a table cell shows: plain values only, so that no object turns into `[object Object]`. */
export type TableCell = string | number | boolean | null | undefined;

export function escapeCell(value: TableCell): string {
  return String(value ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>');
}

export class MarkdownSummary {
  private readonly parts: string[] = [];

  heading(text: string, level = 2): this {
    this.parts.push(`${'#'.repeat(level)} ${text}`);
    return this;
  }

  paragraph(text: string): this {
    this.parts.push(text);
    return this;
  }

  list(items: string[]): this {
    if (items.length) this.parts.push(items.map((item) => `- ${item}`).join('\n'));
    return this;
  }

  table(headers: string[], rows: TableCell[][]): this {
    const lines = [
      `| ${headers.map(escapeCell).join(' | ')} |`,
      `| ${headers.map(() => '---').join(' | ')} |`,
      ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
    ];
    this.parts.push(lines.join('\n'));
    return this;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  toString(): string {
    return this.parts.join('\n\n') + '\n';
  }
}

/** A link in markdown, or plain text when there is no URL. */
export function link(text: string, url: string | undefined): string {
  return url ? `[${text.replace(/[[\]]/g, '')}](${url})` : text;
}
