import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The change ledger: script and manual results of one window, kept beside the undo records (pipeline runs carry
 * their results in their tags), so a later run of the step on this agent knows what already happened. A
 * pipeline change also has an entry while its run is being started (`starting`, written before the run is
 * queued and removed once it is tagged): a crash in between leaves it open, and the next run of the step looks
 * for the untagged run instead of starting a second one.
 */

export interface LedgerEntry {
  outcome: 'succeeded' | 'failed' | 'timed-out' | 'confirmed' | 'starting';
  attemptId: string;
  /** When it was recorded, on the window's clock (ISO). */
  at: string;
  durationMs?: number;
  reason?: string;
  /** For `starting`: the pipeline being started. */
  pipelineId?: number;
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
    this.write();
  }

  /** Forgets an entry (a start that completed: the run's tags tell the rest). */
  delete(id: string): void {
    if (!(id in this.entries)) return;
    delete this.entries[id];
    this.write();
  }

  private write(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify({ changes: this.entries }, null, 2) + '\n');
      // On disk before the run is queued: the entry is what finds the run again after a crash.
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.file);
  }
}
