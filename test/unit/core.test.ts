import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatCommand, issueCommand, neutralise, parseCommand, setWriter } from '../../shared/core/commands';
import { agentCommands, unexpectedCommands } from '../helpers/agent-commands';
import { InputError } from '../../shared/core/errors';
import { Log } from '../../shared/core/log';
import { newRecordId, newUndoRecord, parseUndoRecord, RecordStore, type UndoRecord } from '../../shared/core/records';
import { backoffDelay, parseRetryAfter } from '../../shared/core/retry';
import { MarkdownSummary } from '../../shared/core/summary';
import { formatLocal, parseLocalDateTime, resolveEndTime, toNaiveLocal } from '../../shared/core/time';

describe('shared/core', () => {
  describe('logging commands', () => {
    it('escapes values so they cannot break a command, and parses them back', () => {
      const line = formatCommand('task.setvariable', { variable: 'a;b]c', isOutput: 'true' }, '50%\nnext');
      assert.equal(line, '##vso[task.setvariable variable=a%3Bb%5Dc;isOutput=true;]50%AZP25%0Anext');
      assert.deepEqual(parseCommand(line), {
        command: 'task.setvariable',
        properties: { variable: 'a;b]c', isOutput: 'true' },
        message: '50%\nnext',
      });
    });
  });

  describe('Log', () => {
    it('masks registered secrets (and their URL-encoded form) in every line and tells the agent once', () => {
      const lines: string[] = [];
      const previous = setWriter((line) => lines.push(line));
      try {
        const log = new Log();
        log.addSecret('xoxb-secret/token');
        log.addSecret('xoxb-secret/token');
        log.info('calling with xoxb-secret/token and xoxb-secret%2Ftoken');
        log.warn('warning xoxb-secret/token');
        log.progress(150, 'almost xoxb-secret/token');
        assert.equal(lines.filter((line) => line.startsWith('##vso[task.setsecret]')).length, 1);
        const visible = lines.filter((line) => !line.startsWith('##vso[task.setsecret]')).join('\n');
        assert.doesNotMatch(visible, /xoxb-secret/);
        assert.match(visible, /##vso\[task.setprogress value=100;\]almost \*\*\*/);
      } finally {
        setWriter(previous);
      }
    });
  });

  describe('outside text is inert', () => {
    const capture = (body: (log: Log) => void): string[] => {
      const lines: string[] = [];
      const previous = setWriter((line) => lines.push(line));
      try {
        const log = new Log();
        log.setDebug(true);
        body(log);
      } finally {
        setWriter(previous);
      }
      return lines;
    };
    const forged = [
      'Upgrade\n##vso[task.setvariable variable=results;isOutput=true]forged',
      'title ##vso[task.complete result=Succeeded;]done',
      'a\r##vso[task.complete result=Succeeded;]bare CR',
      'x\r\n##[error]looks like an error',
      '#\u200b#vso[task.setvariable variable=x]zero width',
      '##VSO[task.complete result=Failed]upper case',
      '#\u00ad#\u2060vso[task.prependpath]/tmp',
      '\u0000##vso[task.uploadfile]/etc/passwd',
      '###vso[artifact.upload]x',
      '##[section]fake section',
    ];

    it('neutralise turns every form of ##vso[ and ##[ into **', () => {
      assert.equal(neutralise('a ##vso[task.complete]x ##[error]y'), 'a **vso[task.complete]x **[error]y');
      assert.equal(neutralise('#\u200b#VsO[x]'), '**vso[x]');
      assert.equal(neutralise('plain # text [1] ## heading'), 'plain # text [1] ## heading');
    });

    it('info, debug, warn, error, section, group and progress print hostile text inert; own commands still work', () => {
      const lines = capture((log) => {
        for (const text of forged) {
          log.info(text);
          log.debug(text);
          log.warn(text);
          log.error(text);
          log.section(text);
          log.group(text, () => undefined);
          log.progress(50, text);
        }
        issueCommand('task.setvariable', { variable: 'results', isOutput: 'true' }, '[{"title":"##vso[task.complete]"}]');
        issueCommand('task.complete', { result: 'Succeeded' }, 'Done.');
      });
      const output = lines.join('\n');
      assert.deepEqual(unexpectedCommands(output, ['results']), []);
      const own = agentCommands(output).filter((command) => command.command === 'task.setvariable');
      assert.equal(own.length, 1, 'our own setvariable still works');
      assert.equal(
        parseCommand(lines.find((line) => line.startsWith('##vso[task.setvariable'))!)!.message,
        '[{"title":"##vso[task.complete]"}]',
        'a value is passed exactly',
      );
      assert.ok(
        lines.some((line) => line === '**vso[task.setvariable variable=results;isOutput=true]forged'),
        'the forged line is shown, inert',
      );
    });
  });

  describe('retry timing', () => {
    it('parses Retry-After as seconds or as an HTTP date', () => {
      assert.equal(parseRetryAfter('3'), 3000);
      assert.equal(parseRetryAfter('0'), 0);
      assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
      assert.equal(parseRetryAfter('soon'), undefined);
      assert.equal(parseRetryAfter(undefined), undefined);
    });
    it('backs off exponentially with jitter under a cap', () => {
      assert.equal(
        backoffDelay(1, { baseDelayMs: 100 }, () => 1),
        100,
      );
      assert.equal(
        backoffDelay(4, { baseDelayMs: 100 }, () => 1),
        800,
      );
      assert.equal(
        backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 1000 }, () => 1),
        1000,
      );
      assert.equal(
        backoffDelay(3, { baseDelayMs: 100 }, () => 0),
        25,
        'never zero',
      );
    });
  });

  describe('undo records', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-records-'));
    const store = new RecordStore(dir);
    const record: UndoRecord<{ members: string[] }> = {
      kind: 'demo',
      version: 1,
      id: newRecordId('demo', 'w1', new Date('2025-04-13T08:45:00Z')),
      createdAt: '2025-04-13T08:45:00Z',
      description: 'demo change',
      data: { members: ['10.0.0.1'] },
    };
    const validate = (data: unknown) => {
      if (!Array.isArray((data as { members?: unknown })?.members)) throw new Error('"members" must be a list');
      return data as { members: string[] };
    };

    it('writes records and receipts and lists them together', () => {
      assert.match(record.id, /^demo-w1-20250413T084500Z-[a-z0-9]+$/);
      const file = store.write(record);
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), record);
      assert.equal(store.list()[0].receipt, undefined);
      store.writeReceipt(record, 'restored', new Date('2025-04-13T09:00:00Z'));
      assert.equal(store.list().length, 1);
      assert.equal(store.list()[0].receipt?.recordId, record.id);
    });

    it('makes new records of a kind for a window, stamped with the given clock', () => {
      const now = new Date('2025-04-13T08:45:00Z');
      const made = newUndoRecord({
        kind: 'demo',
        windowId: 'w1',
        description: 'd',
        data: { members: [] as string[] },
        now,
        expiresAt: new Date('2025-04-13T17:00:00Z'),
      });
      assert.match(made.id, /^demo-w1-20250413T084500Z-/);
      assert.equal(made.version, 1);
      assert.equal(made.createdAt, '2025-04-13T08:45:00.000Z');
      assert.equal(made.expiresAt, '2025-04-13T17:00:00.000Z');
      assert.ok(!('expiresAt' in newUndoRecord({ kind: 'demo', description: 'd', data: {}, now })), 'no expiry unless given');
    });

    it('reads a record given as JSON or as a file path', () => {
      assert.deepEqual(parseUndoRecord('undoRecord', JSON.stringify(record), 'demo', validate).data, record.data);
      const file = path.join(dir, 'copy.json');
      fs.writeFileSync(file, JSON.stringify(record));
      assert.equal(parseUndoRecord('undoRecord', file, 'demo', validate).id, record.id);
    });

    it('refuses malformed records naming the input', () => {
      const bad: Array<[string, RegExp]> = [
        ['{not json', /Input 'undoRecord': is not valid JSON/],
        ['{"a":1}', /is not an undo record/],
        [JSON.stringify({ ...record, kind: 'other' }), /of kind 'other', but this step restores 'demo'/],
        [JSON.stringify({ ...record, data: {} }), /malformed 'demo' undo record: "members" must be a list/],
        ['/no/such/file.json', /neither an undo record/],
      ];
      for (const [value, message] of bad) {
        assert.throws(
          () => parseUndoRecord('undoRecord', value, 'demo', validate),
          (error: Error) => error instanceof InputError && message.test(error.message),
        );
      }
    });
  });

  describe('summary', () => {
    it('escapes table cells', () => {
      const text = new MarkdownSummary()
        .heading('Pool')
        .table(['Server', 'State'], [['a|b', 'line1\nline2']])
        .toString();
      assert.match(text, /\| a\\\|b \| line1<br>line2 \|/);
    });
  });

  describe('time', () => {
    const zone = 'America/New_York';
    it('reads local date-times in the window time zone across DST', () => {
      assert.equal(
        parseLocalDateTime('until', '2025-03-08 19:00', zone, new Date('2025-01-01T00:00:00Z')).toISOString(),
        '2025-03-09T00:00:00.000Z',
      );
      assert.equal(
        parseLocalDateTime('until', '2025-03-09 19:00', zone, new Date('2025-01-01T00:00:00Z')).toISOString(),
        '2025-03-09T23:00:00.000Z',
      );
      assert.equal(
        parseLocalDateTime('until', '2025-11-02T04:45', zone, new Date('2025-01-01T00:00:00Z')).toISOString(),
        '2025-11-02T09:45:00.000Z',
      );
      assert.equal(
        parseLocalDateTime('until', '2025-04-13T12:00:00Z', zone, new Date('2025-01-01T00:00:00Z')).toISOString(),
        '2025-04-13T12:00:00.000Z',
      );
    });
    it('takes a time of day as the next such time', () => {
      const now = new Date('2025-04-13T08:45:00Z'); // 04:45 EDT
      assert.equal(parseLocalDateTime('until', '12:00', zone, now).toISOString(), '2025-04-13T16:00:00.000Z');
      assert.equal(parseLocalDateTime('until', '04:00', zone, now).toISOString(), '2025-04-14T08:00:00.000Z');
    });
    it('needs exactly one of duration and until, in the future', () => {
      const now = new Date('2025-04-13T08:45:00Z');
      assert.equal(resolveEndTime({ durationMinutes: 90, timeZone: zone, now }).toISOString(), '2025-04-13T10:15:00.000Z');
      assert.throws(() => resolveEndTime({ timeZone: zone, now }), /every silence must end by itself/);
      assert.throws(() => resolveEndTime({ durationMinutes: 5, until: '12:00', timeZone: zone, now }), /not both/);
      assert.throws(() => resolveEndTime({ until: '2025-04-12 12:00', timeZone: zone, now }), /already past/);
      assert.throws(() => resolveEndTime({ durationMinutes: 0, timeZone: zone, now }), /positive/);
    });
    it('formats local and naive local times', () => {
      const date = new Date('2025-04-13T16:00:00Z');
      assert.equal(formatLocal(date, zone), '2025-04-13 12:00 EDT');
      assert.equal(toNaiveLocal(date, zone), '2025-04-13T12:00:00');
    });
  });
});
