// `npm run docs:tasks`: keeps the help page of every task (docs/tasks/<Folder>.md) and the task's own help
// links in step with its task.json.
//   - The top of each page (title, description, the inputs and outputs tables) is generated from task.json,
//     down to the END_MARK line; everything below it (examples, what it restores, permissions) is written by
//     hand and kept as it is. A missing page is created with empty hand-written sections to fill in.
//   - task.json gets `helpUrl` (the page in the repository named by vss-extension.json's `repository`) and a
//     "Learn more" link at the end of its `helpMarkDown`.
// `--check` changes nothing and exits 1 naming every file that is out of date (the test runs this).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const END_MARK = '<!-- end of the generated part: write below this line -->';
const LEARN_MORE = /\s*\[Learn more\]\([^)]*\)\s*$/;

export function taskFolders(root = here) {
  return fs
    .readdirSync(path.join(root, 'tasks'))
    .filter((name) => fs.existsSync(path.join(root, 'tasks', name, 'task.json')))
    .sort();
}

/** The page's address on the repository's host: `<repository>/blob/main/docs/tasks/<Folder>.md`. */
export function helpUrl(root, folder) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'vss-extension.json'), 'utf8'));
  const repository = String(manifest.repository?.uri ?? manifest.repository?.url ?? '').replace(/\/+$/, '');
  if (!repository) throw new Error('vss-extension.json has no repository.uri: the help links need it');
  return `${repository}/blob/main/docs/tasks/${folder}.md`;
}

const cell = (text) =>
  String(text ?? '')
    .replace(/\r?\n/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();

function inputsTable(task) {
  const rows = (task.inputs ?? []).map((input) => {
    const options = input.options
      ? ` Options: ${Object.keys(input.options)
          .map((o) => `\`${o}\``)
          .join(', ')}.`
      : '';
    const picker = (task.dataSourceBindings ?? []).some((b) => b.target === input.name)
      ? ' The task assistant offers a list; any value or `$(variable)` may be typed.'
      : '';
    const fallback = input.defaultValue === undefined || input.defaultValue === '' ? '' : `\`${cell(input.defaultValue)}\``;
    const help = `${cell(input.helpMarkDown)}${options}${picker}`;
    const cells = [
      `\`${input.name}\``,
      cell(input.label),
      cell(input.type),
      input.required ? 'yes' : 'no',
      fallback,
      cell(input.visibleRule),
      help,
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [
    '| input | label | type | required | default | shown when | what it is |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function outputsTable(task) {
  const outputs = task.outputVariables ?? [];
  if (!outputs.length) return 'This task sets no output variables.';
  return ['| output | what it is |', '| --- | --- |', ...outputs.map((o) => `| \`${o.name}\` | ${cell(o.description)} |`)].join('\n');
}

export function generatedHead(task, folder) {
  const { Major } = task.version;
  return [
    `<!-- The part above the end mark is generated from tasks/${folder}/task.json by \`npm run docs:tasks\`. -->`,
    `# ${task.friendlyName} (\`${task.name}@${Major}\`)`,
    '',
    task.description,
    '',
    '## Inputs',
    '',
    inputsTable(task),
    '',
    '## Outputs',
    '',
    outputsTable(task),
    '',
    END_MARK,
  ].join('\n');
}

const SKELETON = ['', '## Example', '', '', '## What it restores', '', '', '## Permissions needed', '', ''].join('\n');

/** The page as it should be: the generated head over the hand-written part already on disk (or a skeleton). */
export function expectedPage(root, folder, task) {
  const file = path.join(root, 'docs', 'tasks', `${folder}.md`);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = current.indexOf(END_MARK);
  const written = at === -1 ? SKELETON : current.slice(at + END_MARK.length);
  return { file, current, expected: `${generatedHead(task, folder)}${written}` };
}

/** task.json with its helpUrl and "Learn more" link, or the same object when they are right already. */
export function withHelpLinks(root, folder, task) {
  const url = helpUrl(root, folder);
  const help = `${String(task.helpMarkDown ?? '').replace(LEARN_MORE, '')} [Learn more](${url})`;
  const out = {};
  for (const [key, value] of Object.entries(task)) {
    if (key === 'helpUrl') continue;
    if (key === 'helpMarkDown') {
      out.helpUrl = url;
      out.helpMarkDown = help;
    } else out[key] = value;
  }
  return out;
}

export function syncDocs(root = here, { check = false } = {}) {
  const stale = [];
  fs.mkdirSync(path.join(root, 'docs', 'tasks'), { recursive: true });
  for (const folder of taskFolders(root)) {
    const taskFile = path.join(root, 'tasks', folder, 'task.json');
    const text = fs.readFileSync(taskFile, 'utf8');
    const task = withHelpLinks(root, folder, JSON.parse(text));
    const taskText = `${JSON.stringify(task, null, 2)}\n`;
    if (taskText !== text) {
      stale.push(path.relative(root, taskFile));
      if (!check) fs.writeFileSync(taskFile, taskText);
    }
    const page = expectedPage(root, folder, task);
    if (page.expected !== page.current) {
      stale.push(path.relative(root, page.file));
      if (!check) fs.writeFileSync(page.file, page.expected);
    }
  }
  return stale;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const stale = syncDocs(here, { check });
  if (check && stale.length) {
    console.error(`docs:tasks: out of date with task.json (run 'npm run docs:tasks' and fill in any new page):\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log(stale.length ? `docs:tasks: updated ${stale.join(', ')}` : 'docs:tasks: every page and help link is up to date');
}
