import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkInputReads,
  checkTaskFolder,
  parseVisibleRule,
  restrictionProblems,
  scanInputReads,
  stripComments,
  type TaskJson,
} from '../helpers/task-contract';
import { repoRoot } from '../helpers/task-runner';

const ICON = fs.readFileSync(path.join(repoRoot, 'extension', 'images', 'task-icon.png'));

function goodTask(): TaskJson {
  return {
    id: '3f1c8f0e-8f55-4a4e-9d43-0d3c1b9a2b11',
    name: 'Fixture',
    friendlyName: 'Maintenance: fixture',
    version: { Major: 1, Minor: 0, Patch: 0 },
    minimumAgentVersion: '3.232.1',
    instanceNameFormat: 'Fixture $(action)',
    groups: [{ name: 'main', displayName: 'Main' }],
    inputs: [
      {
        name: 'action',
        type: 'pickList',
        label: 'Action',
        required: true,
        defaultValue: 'pause',
        groupName: 'main',
        helpMarkDown: 'What to do.',
        options: { pause: 'Pause', resume: 'Resume' },
      },
      {
        name: 'connection',
        type: 'connectedService:maintenance-pingdom',
        label: 'Connection',
        required: true,
        groupName: 'main',
        helpMarkDown: 'Pingdom.',
      },
      { name: 'reason', type: 'string', label: 'Reason', groupName: 'main', helpMarkDown: 'Why.', visibleRule: 'action = pause' },
      { name: 'dryRun', type: 'boolean', label: 'Dry run', groupName: 'main', helpMarkDown: 'Only say.' },
    ],
    outputVariables: [{ name: 'undoRecord', description: 'The undo record.' }],
    restrictions: { settableVariables: { allowed: ['undoRecord'] } },
    execution: { Node20_1: { target: 'index.js' }, Node24: { target: 'index.js' } },
  };
}

const goodSource = `
import { runTask } from '../../shared/core/task';
const ACTIONS = ['pause', 'resume'] as const;
void runTask('Fixture', async ({ input }) => {
  const action = input.choice('action', ACTIONS);
  const endpoint = input.endpoint('connection', { required: true });
  // input.string('retired') is a comment and does not count
  const url = 'https://example.com//path'; input.string('reason');
  const dryRun = input.bool("dryRun");
  return void [action, endpoint, url, dryRun];
});
`;

function writeTask(task: unknown, files: Record<string, string>, options: { icon?: boolean } = {}): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-contract-')), 'FixtureV1');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify(task, null, 2));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  if (options.icon !== false) fs.writeFileSync(path.join(dir, 'icon.png'), ICON);
  return dir;
}

describe('task contract checker (test/helpers/task-contract)', () => {
  it('finds literal input reads, their kinds and lines, and skips commented-out ones', () => {
    const reads = scanInputReads({ 'index.ts': goodSource });
    assert.deepEqual(
      reads.map((r) => [r.kind, r.name, r.line]),
      [
        ['choice', 'action', 5],
        ['endpoint', 'connection', 6],
        ['string', 'reason', 8],
        ['bool', 'dryRun', 9],
      ],
    );
    assert.deepEqual(reads[0].choices, ['pause', 'resume'], 'a const array declared in the folder is resolved');
  });

  it('reads choice lists given inline, with a type argument, across lines', () => {
    const [read] = scanInputReads({ 'index.ts': "input.choice<Mode>(\n  'mode',\n  ['a', \"b\",\n 'c',] as const, 'a')" });
    assert.equal(read.name, 'mode');
    assert.deepEqual(read.choices, ['a', 'b', 'c']);
    const [unknown] = scanInputReads({ 'index.ts': "input.choice('mode', MODES_FROM_ELSEWHERE)" });
    assert.equal(unknown.choices, undefined);
  });

  it('follows a relative import to the const array a choice uses', () => {
    const modules: Record<string, string> = { '../../shared/services/modes': "export const MODES = ['on', 'off'] as const; // ['x']" };
    const source = "import { type Mode, MODES as ALLOWED } from '../../shared/services/modes';\ninput.choice('mode', ALLOWED);";
    const [read] = scanInputReads({ 'index.ts': source }, (specifier) => modules[specifier]);
    assert.deepEqual(read.choices, ['on', 'off']);
  });

  it('keeps strings intact while stripping comments', () => {
    assert.equal(stripComments("a('//x') // gone\nb"), "a('//x')        \nb");
    assert.equal(stripComments('a /* x\ny */ b'), 'a     \n     b');
  });

  it('parses visible rules', () => {
    assert.deepEqual(parseVisibleRule('provider = slack || template != text'), [
      { input: 'provider', operator: '=', value: 'slack' },
      { input: 'template', operator: '!=', value: 'text' },
    ]);
    assert.ok('error' in parseVisibleRule('just words')[0]);
  });

  it('passes a task whose task.json and code agree', () => {
    const dir = writeTask(goodTask(), { 'index.ts': goodSource });
    assert.deepEqual(checkTaskFolder(dir, { endpointTypes: ['maintenance-pingdom'] }), []);
  });

  it('catches every kind of disagreement in a deliberately broken task', () => {
    const task = goodTask();
    task.friendlyName = 'Maintenance: a friendly name much too long to show';
    delete task.execution!.Node24;
    task.minimumAgentVersion = '2.144.0';
    task.instanceNameFormat = 'Fixture $(actoin)';
    task.inputs![0].defaultValue = 'stop';
    task.inputs![1].type = 'connectedService:maintenance-pingdum';
    task.inputs![2].visibleRule = 'acton = pause';
    task.inputs![3].groupName = 'advanced';
    delete task.inputs![3].helpMarkDown;
    task.inputs!.push({ name: 'unused', type: 'string', label: 'Unused', helpMarkDown: 'Never read, and in no group, which is allowed.' });
    task.groups!.push({ name: 'empty', displayName: 'Empty' });
    task.restrictions = { settableVariables: { allowed: ['undoRecord', 'PATH'] } };
    const source = `
void runTask('Fixture', async ({ input }) => {
  input.choice('action', ['pause', 'resume', 'status']);
  input.string('connection');
  input.string('reason');
  input.string('dryRun');
  input.int('retries');
  input.string(someName);
});`;
    const problems = checkTaskFolder(writeTask(task, { 'index.ts': source }, { icon: false }), { endpointTypes: ['maintenance-pingdom'] });
    const expected = [
      /friendlyName must have 1 to 40 characters/,
      /execution\.Node24 must target index\.js/,
      /minimumAgentVersion 2\.144\.0 is older than 3\.232\.1/,
      /instanceNameFormat refers to \$\(actoin\)/,
      /input 'action' defaults to 'stop', which is not one of its options/,
      /service connection type 'maintenance-pingdum', which is neither built in .* nor declared/,
      /input 'reason': visibleRule names 'acton', which is not an input/,
      /input 'dryRun' has no helpMarkDown/,
      /input 'dryRun' is in group 'advanced', which is not declared/,
      /group 'empty' holds no input/,
      /index\.ts:3: input\.choice\('action'\) accepts \[pause, resume, status\] but task\.json offers \[pause, resume\]; task\.json does not offer status/,
      /index\.ts:4: reads 'connection' .* with input\.string; service connections are read with input\.endpoint/,
      /index\.ts:6: reads boolean 'dryRun' with input\.string, not input\.bool/,
      /index\.ts:7: reads input 'retries', which task\.json does not declare/,
      /index\.ts:8: input\.string\(\.\.\.\) reads a computed input name/,
      /declares input 'unused', which the code never reads/,
      /icon\.png is missing/,
      /restrictions\.settableVariables\.allowed lists PATH, which is not an output variable/,
    ];
    for (const pattern of expected)
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `expected a problem matching ${pattern}; got:\n${problems.join('\n')}`,
      );
    assert.equal(problems.length, expected.length, problems.join('\n'));
  });

  it('asks for restrictions.settableVariables equal to the output variables, and commands left as they are', () => {
    const missing = goodTask();
    delete missing.restrictions;
    assert.deepEqual(restrictionProblems(missing), [
      'restrictions.settableVariables.allowed is missing: list the output variables (the task may set nothing else)',
    ]);
    const short = goodTask();
    short.outputVariables!.push({ name: 'checkIds', description: 'Ids.' });
    short.restrictions = { commands: { mode: 'restricted' }, settableVariables: { allowed: ['undoRecord'] } };
    assert.deepEqual(restrictionProblems(short), [
      'restrictions.settableVariables.allowed lacks output variable(s) checkIds',
      "restrictions.commands.mode 'restricted' would refuse task.uploadsummary; leave commands as they are",
    ]);
  });

  it('asks for the allowed values of a choice when they are not literal', () => {
    const problems = checkInputReads(
      goodTask(),
      scanInputReads({
        'index.ts': "input.choice('action', imported); input.endpoint('connection'); input.string('reason'); input.bool('dryRun')",
      }),
    );
    assert.deepEqual(problems, [
      "index.ts:1: input.choice('action', ...) needs its allowed values as an array literal, or a const array declared in the task " +
        'folder or a module it imports',
    ]);
  });
});
