import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { realClock } from '../../shared/core/clock';
import { setWriter } from '../../shared/core/commands';
import { Log } from '../../shared/core/log';
import { renderChecklist } from '../../shared/plan/checklist';
import { main as validatePlan } from '../../shared/plan/cli';
import { chainHeights } from '../../shared/plan/graph';
import { formatProblem, loadPlan, parsePlan, PlanError, type ParseResult } from '../../shared/plan/plan';
import { MAX_PLAN_BYTES } from '../../shared/plan/plan-input';
import { runScript } from '../../shared/plan/scripts';
import { webhookSecretParts } from '../../shared/services/connection';
import { postSlackWebhook } from '../../shared/services/slack';
import { postTeamsWorkflow } from '../../shared/services/teams';
import { AzureDevOpsEmulator } from '../emulators/azure-devops';
import { agentCommands, unexpectedCommands } from '../helpers/agent-commands';
import { newWorkDirectory, runBundledTask } from '../helpers/task-runner';

/**
 * Hostile plan files, plan text, script arguments and script output (issue 10, items 4-6). Each case ends in a
 * clear error naming the file (and line) within a small time bound, or prints inert: no output line of a
 * task, the validator or the log holds a working `##vso[` command, read the way the agent reads it.
 */

const HEAD = 'window: { name: W, date: 2025-03-23 }\nchanges:\n';
const FORGED = [
  '##vso[task.setvariable variable=failed;isOutput=true]0',
  '##vso[task.complete result=Succeeded;]forged',
  '##[error]forged error',
  '##[section]forged section',
  '#\u200b#vso[task.prependpath]/tmp/evil',
  '##VSO[task.uploadfile]/etc/passwd',
  '#\u00ad#vso[artifact.upload containerfolder=x]/etc',
  '###vso[build.addbuildtag]x',
  '##vso[task.setsecret]not-a-secret',
  '\u0007##vso[task.logissue type=error]bell',
];

/**
 * The invisible characters and the BEL (\u0007) that some forged lines carry: the scripts below print the forged
 * lines without them. A control character in this pattern is the point, hence the disabled rule.
 */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u200b\u00ad\u0007]/g;
const MAX_CASE_MS = 5000;
const MAX_ERROR_CHARS = 2000;

let cases = 0;
const timed = <T>(name: string, body: () => T): T => {
  const started = Date.now();
  const result = body();
  const took = Date.now() - started;
  assert.ok(took < MAX_CASE_MS, `${name} took ${took} ms`);
  cases++;
  return result;
};

/** Parses plan text and expects an error matching `pattern`, at a line, naming the file, bounded in size. */
function expectRefused(name: string, text: string, pattern: RegExp, options: { scriptRoot?: string; line?: number } = {}): ParseResult {
  const file = `plans/${name.replace(/\W+/g, '-')}.yml`;
  const result = timed(name, () => parsePlan(text, file, options));
  assert.equal(result.plan, undefined, `${name} was accepted`);
  const errors = result.problems.filter((problem) => problem.severity === 'error');
  assert.ok(errors.length > 0, name);
  const formatted = errors.map(formatProblem);
  assert.ok(
    formatted.some((line) => pattern.test(line)),
    `${name}: expected ${pattern} in\n${formatted.join('\n').slice(0, 3000)}`,
  );
  for (const line of formatted) {
    assert.ok(line.startsWith(`${file}:`), `${name}: names the file: ${line.slice(0, 200)}`);
    assert.ok(line.length < MAX_ERROR_CHARS, `${name}: a ${line.length}-character message`);
  }
  if (options.line !== undefined)
    assert.ok(
      errors.some((problem) => problem.line === options.line && pattern.test(formatProblem(problem))),
      `${name}: at line ${options.line}: ${formatted.join('\n').slice(0, 500)}`,
    );
  assert.ok(new PlanError(result.problems).message.length < 60 * MAX_ERROR_CHARS);
  return result;
}

function change(id: string, extra: string): string {
  return `  - id: ${id}\n    title: ${id}\n${extra}`;
}

/** A tiny seeded generator, so the fuzzed cases are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('hostile corpus (text): plan files, plan text, script arguments and output', function () {
  this.timeout(60_000);
  after(() => console.log(`      hostile corpus (text): ${cases} cases`));

  describe('plan text', () => {
    it('refuses alias bombs at the line of their first alias', () => {
      const levels = (depth: number, width: number) => {
        const lines = ['window: { name: W, date: 2025-03-23 }', 'changes: []', `l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`];
        for (let level = 1; level < depth; level++)
          lines.push(
            `l${level}: &l${level} [${Array(width)
              .fill(`*l${level - 1}`)
              .join(', ')}]`,
          );
        return lines.join('\n');
      };
      for (const [depth, width] of [
        [4, 10],
        [6, 9],
        [9, 9],
        [3, 60],
      ])
        expectRefused(`alias bomb ${depth}x${width}`, levels(depth, width), /aliases \(\*name\) expand too far \(an alias bomb\)/, {
          line: 4,
        });
      const merge = [
        'window: &w { name: W, date: 2025-03-23 }',
        'a: &a { <<: *w, x: 1 }',
        ...Array.from(
          { length: 12 },
          (_, i) =>
            `m${i}: &m${i} [${Array(10)
              .fill(i ? `*m${i - 1}` : '*a')
              .join(', ')}]`,
        ),
        'changes: []',
      ].join('\n');
      expectRefused('alias bomb through merge keys', merge, /alias bomb|unknown field/);
    });

    it('refuses deep nesting before the YAML parser recurses, with the line', () => {
      for (const [name, open, close] of [
        ['lists', '[', ']'],
        ['maps', '{a: ', '}'],
        ['mixed', '[{a: ', '}]'],
      ] as const) {
        for (const depth of [40, 5000, 30_000]) {
          expectRefused(
            `flow ${name} ${depth}`,
            `${HEAD}  - id: a\n    title: ${open.repeat(depth)}x${close.repeat(depth)}\n`,
            /nests deeper than 32 levels/,
            { line: 4 },
          );
        }
      }
      const block = [
        'window: { name: W, date: 2025-03-23 }',
        'changes: []',
        'deep:',
        ...Array.from({ length: 200 }, (_, i) => `${' '.repeat(2 * (i + 1))}k${i}:`),
      ].join('\n');
      expectRefused('block mappings 200 deep', block, /nests deeper than 32 levels/);
      const brackets =
        HEAD +
        Array.from(
          { length: 60 },
          (_, i) => `  - id: c${i}\n    title: Fix [PLAT-${i} {x\n    manual: |\n      see [1 and {2\n      - [ ] tick`,
        ).join('\n');
      assert.ok(
        timed('unbalanced brackets in text', () => parsePlan(brackets, 'brackets.yml')).plan,
        'brackets inside text are not nesting',
      );
      expectRefused('block sequences 200 deep', `${HEAD}  - ${'- '.repeat(200)}x\n`, /nests deeper than 32 levels/, { line: 3 });
    });

    it('refuses huge plan text and long strings without echoing them', () => {
      const fifty = 'x'.repeat(50 * 1024 * 1024);
      expectRefused('50 MB string', `${HEAD}${change('a', `    manual: "${fifty}"\n`)}`, /a plan may be at most/, { line: 1 });
      for (const [field, at] of [
        ['title', 4],
        ['manual', 5],
        ['notes', 5],
      ] as const) {
        const long = 'y'.repeat(20_000);
        const text =
          field === 'title'
            ? `${HEAD}  - id: a\n    title: ${long}\n    manual: m\n`
            : `${HEAD}  - id: a\n    title: t\n    ${field}: ${long}\n${field === 'notes' ? '    manual: m\n' : ''}`;
        expectRefused(`long ${field}`, text, /is 20000 characters long; at most 10000/, { line: at });
      }
      expectRefused(
        'long field name',
        `${HEAD}  - id: a\n    title: t\n    manual: m\n    ? ${'k'.repeat(30_000)}\n    : 1\n`,
        /field name 'k{30}…'.*30000 characters long/,
      );
      expectRefused('long implicit key', `${HEAD}  - id: a\n    ${'k'.repeat(30_000)}: 1\n`, /is not valid YAML/);
      expectRefused(
        'long unknown dependency',
        `${HEAD}${change('a', `    manual: m\n    dependsOn: [${'d'.repeat(9000)}]\n`)}`,
        /unknown change/,
        { line: 6 },
      );
      const many = HEAD + Array.from({ length: 1001 }, (_, i) => `  - { id: c${i}, title: t, manual: m }`).join('\n');
      expectRefused('1001 changes', many, /lists 1001 changes; a plan may have at most 1000/, { line: 2 });
    });

    it('refuses NUL bytes in any string, and cmd metacharacters in a .cmd/.bat argument', () => {
      expectRefused('NUL in a title', `${HEAD}  - id: a\n    title: "bad\\0title"\n    manual: m\n`, /contains a NUL byte/, { line: 4 });
      expectRefused(
        'NUL in a script argument',
        `${HEAD}${change('a', '    script: { path: run.sh, arguments: ["x\\0y"] }\n')}`,
        /contains a NUL byte/,
        { line: 5 },
      );
      expectRefused('NUL in a script path', `${HEAD}${change('a', '    script: { path: "run\\0.sh" }\n')}`, /contains a NUL byte/, {
        line: 5,
      });
      for (const bad of ['a&b', 'a|b', 'a<b', 'a>b', 'a^b', '%PATH%', '!x!', 'say \\"hi\\"', '(x)', 'two\\nlines', 'a\\rb']) {
        for (const ext of ['cmd', 'BAT']) {
          expectRefused(
            `cmd argument ${bad} (.${ext})`,
            `${HEAD}${change('fix', `    script: { path: scripts/fix.${ext}, arguments: [ok, "${bad}"] }\n`)}`,
            /changes\[0\]\.script\.arguments\[1\]: argument .* cmd\.exe would interpret/,
            { line: 5 },
          );
        }
      }
    });

    it('refuses scripts that would fail at night: symlinks out, folders, FIFOs, non-executable files', () => {
      const root = newWorkDirectory('mw-hostile-repo-');
      const outside = newWorkDirectory('mw-hostile-outside-');
      fs.writeFileSync(path.join(outside, 'evil.sh'), 'echo evil\n');
      fs.mkdirSync(path.join(root, 'scripts'));
      fs.symlinkSync(path.join(outside, 'evil.sh'), path.join(root, 'scripts', 'link.sh'));
      fs.symlinkSync(outside, path.join(root, 'scripts', 'linkdir'));
      fs.mkdirSync(path.join(root, 'scripts', 'folder.sh'));
      fs.writeFileSync(path.join(root, 'scripts', 'tool'), '#!/bin/sh\necho hi\n', { mode: 0o644 });
      fs.writeFileSync(path.join(root, 'scripts', 'ok.sh'), 'echo ok\n', { mode: 0o644 });
      fs.writeFileSync(path.join(root, 'scripts', 'exe'), '#!/bin/sh\necho ok\n', { mode: 0o755 });
      const fifo = spawnSync('mkfifo', [path.join(root, 'scripts', 'pipe.sh')]).status === 0;
      const plan = (scriptPath: string) => `${HEAD}${change('s', `    script: { path: ${scriptPath} }\n`)}`;
      const refuse = (name: string, scriptPath: string, pattern: RegExp) =>
        expectRefused(name, plan(scriptPath), pattern, { scriptRoot: root, line: 5 });
      refuse('script symlink out of the repository', 'scripts/link.sh', /is a symlink that leads out of the repository/);
      refuse('script through a symlinked folder', 'scripts/linkdir/evil.sh', /is a symlink that leads out of the repository/);
      refuse('script that is a folder', 'scripts/folder.sh', /is a folder, not a script/);
      refuse('script that is not executable', 'scripts/tool', /is not executable; it is run directly/);
      refuse('script given by absolute path', path.join(outside, 'evil.sh'), /must be a path inside the repository/);
      refuse('script outside by ..', '../evil.sh', /must be a path inside the repository/);
      refuse('script that does not exist', 'scripts/none.sh', /does not exist in the repository/);
      if (fifo) refuse('script that is a FIFO', 'scripts/pipe.sh', /is a FIFO \(named pipe\), not a script/);
      for (const good of ['scripts/ok.sh', 'scripts/exe'])
        assert.ok(timed(good, () => parsePlan(plan(good), 'good.yml', { scriptRoot: root })).plan, `${good} is fine`);
    });

    it('handles a dependsOn chain thousands deep without overflowing, and finds a cycle through it', () => {
      const chain = (length: number, cycle: boolean) =>
        HEAD +
        Array.from(
          { length },
          (_, i) => `  - { id: c${i}, title: t, manual: m, dependsOn: [${i ? `c${i - 1}` : cycle ? `c${length - 1}` : ''}] }`,
        ).join('\n');
      const plan = timed('chain of 600', () => parsePlan(chain(600, false), 'chain.yml')).plan!;
      assert.ok(plan, 'a long chain is a valid plan');
      assert.equal(timed('heights of the chain', () => chainHeights(plan.changes)).get('c0'), 600);
      expectRefused('cycle through 600 changes', chain(600, true), /dependency cycle: c0 -> c599 -> c598/);
      const wide = timed('heights of 100,000', () =>
        chainHeights(Array.from({ length: 100_000 }, (_, i) => ({ id: `n${i}`, dependsOn: i ? [`n${i - 1}`] : [] }))),
      );
      assert.equal(wide.get('n0'), 100_000);
    });

    it('gives every malformed or fuzzed text a located error, never an exception', () => {
      const broken: Array<[string, string]> = [
        ['unclosed quote', `${HEAD}  - id: "a\n`],
        ['tab indentation', `${HEAD}\t- id: a\n`],
        ['duplicate keys', 'window: { name: W, date: 2025-03-23 }\nwindow: { name: X, date: 2025-03-23 }\nchanges: []\n'],
        ['binary junk', '\u0000\u0001\u0002\uffff\ud800'],
        ['scalar document', 'just text'],
        ['empty document', ''],
        ['a list', '- a\n- b\n'],
        ['two documents', `${HEAD}  []\n---\nmore: 1\n`],
        ['directive junk', '%YAML 9.9\n%TAG ! !x\n---\na: 1\n'],
        ['unknown tag', `${HEAD}  - !!binary xyz\n`],
        ['anchor to nothing', `${HEAD}  - *nothing\n`],
      ];
      for (const [name, text] of broken) expectRefused(name, text, /:\d+:\d+ /);
      const alphabet = 'ab:-[]{}&*!|>\'"#%@`,? \n\t\\0123\u200b#vso';
      const next = random(10);
      for (let n = 0; n < 25; n++) {
        const length = 20 + Math.floor(next() * 400);
        let text = HEAD;
        for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
        expectRefused(`fuzzed text ${n}`, text, /:\d+:\d+ /);
      }
    });
  });

  describe('plan files and the validator', () => {
    const dir = newWorkDirectory('mw-hostile-files-');

    it('refuses /dev/zero, a FIFO, a folder and a 50 MB file without reading them, naming the file', async () => {
      const big = path.join(dir, 'big.yml');
      const fd = fs.openSync(big, 'w');
      fs.ftruncateSync(fd, 50 * 1024 * 1024);
      fs.closeSync(fd);
      const fifo = path.join(dir, 'fifo.yml');
      const haveFifo = spawnSync('mkfifo', [fifo]).status === 0;
      const link = path.join(dir, 'zero.yml');
      fs.symlinkSync('/dev/zero', link);
      const files: Array<[string, RegExp]> = [
        ['/dev/zero', /is a character device, not a plan file/],
        [link, /is a character device, not a plan file/],
        ['/dev/null', /is a character device, not a plan file/],
        [dir, /is a folder, not a plan file/],
        [big, new RegExp(`is ${50 * 1024 * 1024} bytes; a plan file may be at most ${MAX_PLAN_BYTES} bytes`)],
        [path.join(dir, 'missing.yml'), /cannot be read \(ENOENT\)/],
      ];
      if (haveFifo) files.push([fifo, /is a FIFO \(named pipe\), not a plan file/]);
      for (const [file, pattern] of files) {
        timed(`loadPlan ${file}`, () =>
          assert.throws(
            () => loadPlan(file),
            (error: unknown) => error instanceof PlanError && error.message.includes(`${file}:1:1`) && pattern.test(error.message),
          ),
        );
        const err: string[] = [];
        const code = timed(`validate-plan ${file}`, () =>
          validatePlan(
            [file],
            () => undefined,
            (line) => err.push(line),
          ),
        );
        assert.equal(code, 1, file);
        assert.match(err.join('\n'), pattern);
        assert.ok(err.join('\n').includes(file));
      }
    });

    it('validate-plan lists at most 50 problems, each bounded, for a file full of them', () => {
      const file = path.join(dir, 'many.yml');
      fs.writeFileSync(
        file,
        HEAD +
          Array.from({ length: 400 }, (_, i) => `  - { id: c${i}, title: t, manual: m, dependsOn: [${'x'.repeat(400)}${i}] }`).join('\n'),
      );
      const err: string[] = [];
      assert.equal(
        timed('validate-plan many problems', () =>
          validatePlan(
            [file],
            () => undefined,
            (line) => err.push(line),
          ),
        ),
        1,
      );
      assert.ok(err.length <= 53, `${err.length} lines`);
      assert.match(err.join('\n'), /… and 350 more problem\(s\)/);
      assert.ok(err.every((line) => line.length < MAX_ERROR_CHARS));
    });
  });

  describe('text printed by the log, the validator and scripts', () => {
    let lines: string[] = [];
    let restore: ReturnType<typeof setWriter>;
    beforeEach(() => {
      lines = [];
      restore = setWriter((line) => lines.push(line));
    });
    afterEach(() => setWriter(restore));

    it('prints every forged command inert through every Log method, the checklist and validate-plan', () => {
      const log = new Log();
      log.setDebug(true);
      for (const forged of FORGED) {
        for (const glue of ['\n', '\r', '\r\n', ' ', '\u2028']) {
          const text = `Upgrade${glue}${forged}`;
          timed(`log ${JSON.stringify(text)}`, () => {
            log.info(text);
            log.debug(text);
            log.warn(text);
            log.error(text);
            log.section(text);
            log.group(text, () => undefined);
            log.progress(10, text);
          });
        }
      }
      const changes = FORGED.map((forged, i) =>
        change(`c${i}`, `    manual: ${JSON.stringify(`Do it\n${forged}`)}\n    notes: ${JSON.stringify(forged)}\n`),
      );
      const plan = parsePlan(`${HEAD}${changes.join('')}`, 'forged.yml').plan!;
      assert.ok(plan, 'forged text is valid plan text');
      log.info(renderChecklist({ plan }).toString());
      // validate-plan prints straight to stdout in a CI step: its own output must be inert too.
      const dir = newWorkDirectory('mw-hostile-cli-');
      const good = path.join(dir, 'forged.yml');
      const goodChanges = FORGED.map((forged, i) => change(`c${i}`, `    manual: ${JSON.stringify(`Do it\n${forged}`)}\n`));
      fs.writeFileSync(good, `${HEAD}${goodChanges.join('')}`);
      const bad = path.join(dir, 'forged-bad.yml');
      const badChanges = FORGED.map((forged, i) =>
        change(`c${i}`, `    manual: m\n    dependsOn: [${JSON.stringify(forged)}]\n    ${JSON.stringify(forged)}: 1\n`),
      );
      fs.writeFileSync(bad, `${HEAD}${badChanges.join('')}`);
      const printed: string[] = [];
      assert.equal(
        timed('validate-plan forged', () =>
          validatePlan(
            [good, '--checklist'],
            (line) => printed.push(line),
            (line) => printed.push(line),
          ),
        ),
        0,
        printed.join('\n'),
      );
      assert.equal(
        timed('validate-plan forged errors', () =>
          validatePlan(
            [bad],
            (line) => printed.push(line),
            (line) => printed.push(line),
          ),
        ),
        1,
      );
      assert.match(printed.join('\n'), /unknown change '\*\*vso\[task\.setvariable/);
      lines.push(...printed);
      assert.deepEqual(unexpectedCommands(lines.join('\n'), []), []);
      assert.equal(
        agentCommands(lines.join('\n')).filter((command) => command.command === 'task.setsecret').length,
        0,
        'a forged setsecret is not one',
      );
    });

    it('relays a script that prints forged commands inert, and a NUL argument as an error at once', async () => {
      const root = newWorkDirectory('mw-hostile-script-');
      const printf = FORGED.map((forged) => `printf '%s\\n' ${JSON.stringify(forged.replace(INVISIBLE, ''))}`).join('\n');
      fs.writeFileSync(
        path.join(root, 'forge.sh'),
        `${printf}\nprintf 'a\\r##vso[task.complete result=Succeeded]\\n' >&2\nprintf '${'z'.repeat(100)}%.0s' $(seq 1 400)\n`,
      );
      const log = new Log();
      const started = Date.now();
      const run = await runScript({
        path: 'forge.sh',
        arguments: [],
        root,
        timeoutMs: 20_000,
        log,
        label: '[forge]',
        env: { PATH: process.env.PATH },
      });
      cases++;
      assert.equal(run.exitCode, 0);
      assert.ok(lines.length >= FORGED.length, lines.join('\n'));
      assert.deepEqual(unexpectedCommands(lines.join('\n'), []), []);
      const nul = await runScript({
        path: 'forge.sh',
        arguments: ['a\0b'],
        root,
        timeoutMs: 60_000,
        log,
        label: '[nul]',
        env: { PATH: process.env.PATH },
      });
      cases++;
      assert.match(nul.startError ?? '', /contains a NUL byte/);
      assert.ok(Date.now() - started < 5000, 'no hang');
    });
  });

  describe('secret fragments of webhook URLs', () => {
    let server: http.Server;
    let base = '';
    before(async () => {
      // A proxy that echoes the request line in its error page, as some do.
      server = http.createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          const echoed = decodeURIComponent(request.url ?? '');
          if (request.url!.includes('/services/')) {
            response
              .writeHead(400, { 'Content-Type': 'text/plain' })
              .end(`invalid_payload for POST ${echoed} (token ${echoed.split('/').pop()})`);
          } else {
            const sig = new URL(request.url!, 'http://x').searchParams.get('sig');
            response
              .writeHead(400, { 'Content-Type': 'application/json' })
              .end(JSON.stringify({ error: { code: 'BadRequest', message: `no flow for ${echoed}; sig ${sig} rejected` } }));
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    const attempt = async (post: (log: Log) => Promise<void>): Promise<string> => {
      const lines: string[] = [];
      const restore = setWriter((line) => lines.push(line));
      const log = new Log();
      try {
        await post(log).catch((error: Error) => log.error(error.message));
      } finally {
        setWriter(restore);
      }
      cases++;
      return lines.filter((line) => !line.startsWith('##vso[task.setsecret]')).join('\n');
    };

    it('masks a Slack webhook path and token that an error echoes alone', async () => {
      const token = 'AbCdEfGhIjKlMnOpQrStUvWx';
      const url = `${base}/services/T0123ABCD/B0456EFGH/${token}`;
      assert.deepEqual(
        webhookSecretParts(url).sort(),
        [`/services/T0123ABCD/B0456EFGH/${token}`, `T0123ABCD/B0456EFGH/${token}`, token].sort(),
      );
      const visible = await attempt((log) =>
        postSlackWebhook(url, { text: 'hi' }, { log, retry: { attempts: 1 } as never, clock: realClock() }),
      );
      assert.ok(!visible.includes(token), visible);
      assert.ok(!visible.includes('B0456EFGH/'), visible);
    });

    it('masks the sig of a Teams or Power Automate workflow URL that an error echoes alone', async () => {
      for (const sig of ['Zm9vYmFyLXNpZ25hdHVyZS0xMjM0NTY3ODkw', 'abc%2Bdef%2Fghi%3D0123456789']) {
        const query = `api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`;
        const url = `${base}/workflows/0a1b/triggers/manual/paths/invoke?${query}`;
        const visible = await attempt((log) =>
          postTeamsWorkflow(url, { type: 'message', attachments: [] }, { log, retry: { attempts: 1 } as never, clock: realClock() }),
        );
        assert.ok(!visible.includes(sig) && !visible.includes(decodeURIComponent(sig)), visible);
      }
    });
  });

  describe('bundled tasks with hostile plans (as the agent runs them)', () => {
    const ado = new AzureDevOpsEmulator();
    before(() => ado.start());
    after(() => ado.stop());
    const runChangesOutputs = [
      'results',
      'succeeded',
      'failed',
      'blocked',
      'manualPending',
      'manualInstructions',
      'manualConfirmed',
      'finished',
    ];

    const runChanges = (planFile: string, scriptRoot: string) =>
      runBundledTask('RunChangesV1', {
        endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
        variables: {
          'System.CollectionUri': ado.collectionUrl,
          'System.TeamProject': ado.project,
          'System.BuildId': '77',
          'System.StageAttempt': '1',
          'MaintenanceWindow.PollIntervalMs': '40',
        },
        inputs: { planFile, scriptRoot },
        timeoutMs: 30_000,
      });

    it('RunChangesV1 prints forged titles, instructions and script output inert, and sets only its outputs', async () => {
      const root = newWorkDirectory('mw-hostile-run-');
      fs.mkdirSync(path.join(root, 'scripts'));
      fs.writeFileSync(
        path.join(root, 'scripts', 'forge.sh'),
        FORGED.map((forged) => `echo ${JSON.stringify(forged.replace(INVISIBLE, ''))}`).join('\n') + '\n',
      );
      const plan = [
        HEAD.trimEnd(),
        ...FORGED.map((forged, i) =>
          change(`m${i}`, `    manual: ${JSON.stringify(`Check the thing\n${forged}`)}\n`).replace(
            `title: m${i}`,
            `title: ${JSON.stringify(`Title ${i}\n${forged}`)}`,
          ),
        ),
        change('s', `    script: { path: scripts/forge.sh, arguments: [${JSON.stringify(FORGED[1])}] }\n`),
      ].join('\n');
      const planFile = path.join(root, 'forged.yml');
      fs.writeFileSync(planFile, plan);
      const run = await runChanges(planFile, root);
      cases++;
      assert.equal(run.exitCode, 0, run.stdout.slice(-3000));
      assert.deepEqual(unexpectedCommands(run.stdout + '\n' + run.stderr, runChangesOutputs), []);
      assert.equal(run.outputs.failed, '0');
      assert.deepEqual(run.refusedVariables, [], 'sets only the variables its task.json allows');
      assert.ok(run.stdout.includes('**vso[task.complete result=Succeeded;]forged'), 'the forged text is shown, inert');
    });

    it('RunChangesV1 fails a script change whose result cannot be recorded, instead of waiting out the step', async () => {
      const root = newWorkDirectory('mw-hostile-run-');
      fs.writeFileSync(path.join(root, 'ok.sh'), 'echo done\n');
      const planFile = path.join(root, 'plan.yml');
      fs.writeFileSync(planFile, `${HEAD}${change('s', '    script: { path: ok.sh }\n')}`);
      const workDirectory = newWorkDirectory();
      // The ledger is written through a temporary file: a folder in its place makes the write fail.
      fs.mkdirSync(path.join(workDirectory, 'records', 'changes-2025-03-23.json.tmp'), { recursive: true });
      const run = await runBundledTask('RunChangesV1', {
        endpoints: { SYSTEMVSSCONNECTION: { url: ado.collectionUrl, scheme: 'OAuth', parameters: { AccessToken: ado.token } } },
        variables: {
          'System.CollectionUri': ado.collectionUrl,
          'System.TeamProject': ado.project,
          'System.BuildId': '78',
          'MaintenanceWindow.PollIntervalMs': '40',
        },
        inputs: { planFile, scriptRoot: root },
        workDirectory,
        timeoutMs: 20_000,
      });
      cases++;
      assert.equal(run.killed, false, 'finished by itself');
      assert.equal(run.outputs.failed, '1', run.stdout.slice(-2000));
      assert.match(run.warnings.join('\n'), /s \(s\): failed.* - its result could not be recorded: EISDIR/);
    });

    it('RunChangesV1 fails quickly naming planFile and the line for /dev/zero, an alias bomb and deep nesting', async () => {
      const root = newWorkDirectory('mw-hostile-run-');
      const bomb = path.join(root, 'bomb.yml');
      fs.writeFileSync(
        bomb,
        `${HEAD}  []\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: ` +
          `[*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`,
      );
      const deep = path.join(root, 'deep.yml');
      fs.writeFileSync(deep, `${HEAD}  - id: a\n    title: ${'['.repeat(50_000)}\n`);
      for (const [file, pattern] of [
        ['/dev/zero', /Input 'planFile'.*\/dev\/zero:1:1 \(plan\): is a character device, not a plan file/s],
        [bomb, /Input 'planFile'.*bomb\.yml:5:\d+ \(plan\): cannot be read: its aliases/s],
        [deep, /Input 'planFile'.*deep\.yml:4:\d+ \(plan\): nests deeper than 32 levels/s],
      ] as const) {
        const run = await runChanges(file, root);
        cases++;
        assert.equal(run.result, 'Failed', run.stdout.slice(-2000));
        assert.match(run.errors.join('\n'), pattern);
        assert.ok(run.durationMs < 15_000, `${file}: ${run.durationMs} ms`);
        assert.ok(run.stdout.length < 20_000, `${file}: ${run.stdout.length} characters of output`);
        assert.deepEqual(unexpectedCommands(run.stdout, runChangesOutputs), []);
      }
    });
  });
});
