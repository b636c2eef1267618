import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from './errors';

/**
 * Undo records: what a mutating step is about to change and the value before, written *before* the change.
 * A record is published three ways: as the step's `undoRecord` output variable (for the partner step in the
 * same run), as a file in the run's records folder (published as a pipeline artifact, so a later run can
 * restore from it), and in the step's summary. Its partner restores from it and then writes a receipt beside
 * it, which is how the window's finish step knows that everything silenced or swapped is back.
 */

export interface UndoRecord<T = unknown> {
  /** What kind of change this is, e.g. `appgateway-pool`, `pingdom`, `cloudflare-dns`. */
  kind: string;
  /** Format version of `data` for this kind. */
  version: number;
  /** Unique id of this record (kind, window and a time stamp). */
  id: string;
  windowId?: string;
  createdAt: string;
  /** When the change undoes itself (silences), if it does. */
  expiresAt?: string;
  /** One line for people: what was changed. */
  description: string;
  data: T;
}

export interface RestoreReceipt {
  recordId: string;
  kind: string;
  restoredAt: string;
  description: string;
}

export class RecordStore {
  constructor(readonly directory: string) {}

  private file(id: string, suffix = ''): string {
    return path.join(this.directory, `${id.replace(/[^A-Za-z0-9._-]/g, '_')}${suffix}.json`);
  }

  /** Writes the record durably (fsync) before the caller changes anything. Returns its path. */
  write(record: UndoRecord): string {
    fs.mkdirSync(this.directory, { recursive: true });
    const file = this.file(record.id);
    const temp = `${file}.tmp`;
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(record, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    return file;
  }

  /** Records that the change of `record` is undone, at `at` (the window's clock, so a rehearsal's receipts carry its night). */
  writeReceipt(record: UndoRecord, description: string, at: Date): string {
    fs.mkdirSync(this.directory, { recursive: true });
    const receipt: RestoreReceipt = {
      recordId: record.id,
      kind: record.kind,
      restoredAt: at.toISOString(),
      description,
    };
    const file = this.file(record.id, '.restored');
    fs.writeFileSync(file, JSON.stringify(receipt, null, 2) + '\n');
    return file;
  }

  /**
   * Every receipt in the folder, including those whose record lives elsewhere: a partner step in another
   * job restores from the record it was handed and writes the receipt in its own folder.
   */
  receipts(): RestoreReceipt[] {
    if (!fs.existsSync(this.directory)) return [];
    return fs
      .readdirSync(this.directory)
      .filter((name) => name.endsWith('.restored.json'))
      .sort()
      .map((name) => JSON.parse(fs.readFileSync(path.join(this.directory, name), 'utf8')) as RestoreReceipt);
  }

  /** Every record in the folder with its receipt, if any. */
  list(): Array<{ record: UndoRecord; receipt?: RestoreReceipt }> {
    if (!fs.existsSync(this.directory)) return [];
    const names = fs.readdirSync(this.directory).filter((name) => name.endsWith('.json') && !name.endsWith('.restored.json'));
    const out: Array<{ record: UndoRecord; receipt?: RestoreReceipt }> = [];
    for (const name of names.sort()) {
      const record = JSON.parse(fs.readFileSync(path.join(this.directory, name), 'utf8')) as UndoRecord;
      // Steps keep other state files here too (a change ledger, say): only undo records are listed.
      if (!record || typeof record.id !== 'string' || typeof record.kind !== 'string' || typeof record.createdAt !== 'string') continue;
      const receiptFile = this.file(record.id, '.restored');
      const receipt = fs.existsSync(receiptFile) ? (JSON.parse(fs.readFileSync(receiptFile, 'utf8')) as RestoreReceipt) : undefined;
      out.push({ record, receipt });
    }
    return out;
  }
}

/** A new version-1 record of `kind` for `windowId`, stamped `now`: what every mutating step writes first. */
export function newUndoRecord<T>(fields: {
  kind: string;
  windowId?: string;
  description: string;
  data: T;
  expiresAt?: Date;
  /** The window clock's time (`ctx.clock.now()`), so a rehearsal's records carry its night. */
  now: Date;
}): UndoRecord<T> {
  const now = fields.now;
  return {
    kind: fields.kind,
    version: 1,
    id: newRecordId(fields.kind, fields.windowId, now),
    windowId: fields.windowId,
    createdAt: now.toISOString(),
    ...(fields.expiresAt ? { expiresAt: fields.expiresAt.toISOString() } : {}),
    description: fields.description,
    data: fields.data,
  };
}

export function newRecordId(kind: string, windowId: string | undefined, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const random = Math.random().toString(36).slice(2, 8);
  return [kind, windowId, stamp, random].filter(Boolean).join('-');
}

/**
 * Reads an undo record given to a partner step: the JSON itself (the output variable), or a path to the file.
 * `validate` checks `data` for this kind and returns it typed; every problem names the input.
 */
export function parseUndoRecord<T>(inputName: string, value: string, kind: string, validate: (data: unknown) => T): UndoRecord<T> {
  let text = value.trim();
  if (!text.startsWith('{')) {
    if (!fs.existsSync(text)) {
      throw new InputError(inputName, 'is neither an undo record (JSON) nor the path of an existing record file.');
    }
    text = fs.readFileSync(text, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(inputName, `is not valid JSON (${(error as Error).message}).`);
  }
  const record = parsed as Partial<UndoRecord>;
  if (!record || typeof record !== 'object' || typeof record.kind !== 'string' || typeof record.id !== 'string') {
    throw new InputError(inputName, 'is not an undo record: it needs at least "kind", "id" and "data".');
  }
  if (record.kind !== kind) {
    throw new InputError(inputName, `is an undo record of kind '${record.kind}', but this step restores '${kind}'.`);
  }
  let data: T;
  try {
    data = validate(record.data);
  } catch (error) {
    throw new InputError(inputName, `is a malformed '${kind}' undo record: ${(error as Error).message}`);
  }
  return { ...(record as UndoRecord), data };
}
