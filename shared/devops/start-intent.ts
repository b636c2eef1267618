import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What a step is about to start, written before it queues a pipeline run and removed once the run is tagged.
 * A crash in between leaves the file: the next run of the step looks for the untagged run it queued instead of
 * starting a second one (RunPipelineV1; the plan's changes keep the same intent in their change ledger).
 */

export interface StartIntent {
  pipelineId: number;
  attemptId: string;
  /** When the start was about to be sent, on the window's clock (ISO). */
  at: string;
}

export class StartIntentFile {
  constructor(readonly file: string) {}

  /** The intent in the records folder for this window and run key. */
  static of(directory: string, windowId: string, key: string): StartIntentFile {
    const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '_');
    return new StartIntentFile(path.join(directory, `run-starting-${safe(windowId)}-${safe(key)}.json`));
  }

  read(): StartIntent | undefined {
    try {
      const intent = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<StartIntent>;
      if (typeof intent.pipelineId !== 'number' || typeof intent.attemptId !== 'string' || typeof intent.at !== 'string') return undefined;
      return { pipelineId: intent.pipelineId, attemptId: intent.attemptId, at: intent.at };
    } catch {
      return undefined;
    }
  }

  /** Writes it durably (fsync, then an atomic rename) before the run is queued. */
  write(intent: StartIntent): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(intent, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.file);
  }

  clear(): void {
    fs.rmSync(this.file, { force: true });
  }
}
