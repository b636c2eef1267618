import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The change ledger: script and manual results of one window, kept beside the undo records (pipeline runs carry
 * their results in their tags), so a later run of the step on this agent knows what already happened.
 */

export interface LedgerEntry {
  outcome: 'succeeded' | 'failed' | 'timed-out' | 'confirmed';
  attemptId: string;
  /** When it was recorded, on the window's clock (ISO). */
  at: string;
  durationMs?: number;
  reason?: string;
}

export class Ledger {
  private readonly entries: Record<string, LedgerEntry>;

  constructor(private readonly file: string) {
    try {
      const saved: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      const changes = typeof saved === 'object' && saved !== null && 'changes' in saved ? saved.changes : undefined;
      // The file is this class's own (`set` writes it), so its entries are taken as they were written.
      this.entries = typeof changes === 'object' && changes !== null ? (changes as Record<string, LedgerEntry>) : {};
    } catch {
      this.entries = {};
    }
  }

  get(id: string): LedgerEntry | undefined {
    return this.entries[id];
  }

  /** Records an entry and writes the file at once (through a temporary file, so a crash leaves the old one). */
  set(id: string, entry: LedgerEntry): void {
    this.entries[id] = entry;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    fs.writeFileSync(temp, JSON.stringify({ changes: this.entries }, null, 2) + '\n');
    fs.renameSync(temp, this.file);
  }
}
