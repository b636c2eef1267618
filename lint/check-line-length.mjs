// Lines stay within MAX_LINE characters (issue 11). Prettier wraps code at the same width, but not a long
// string literal or comment: those are the author's to wrap. This check formats each file in memory with the
// repository's Prettier settings and reports every line of the result that is still too long, so it judges
// what the file will look like after `npm run format`, even before that has run. On a formatted file the
// line numbers are the file's own.
//
//   node lint/check-line-length.mjs            every TypeScript and JavaScript file
//   node lint/check-line-length.mjs FILE...    only those files
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

export const MAX_LINE = 140;

/**
 * A line that is one regular expression literal (an assertion's pattern, which Prettier already put on a line
 * of its own) is let through: it cannot be wrapped without rewriting it as a string and escaping it again.
 */
const REGEX_ALONE = /^\s*\/(?![/*]).*\/[dgimsuvy]*[,;)]*$/;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CODE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'out', 'coverage', '.git']);

function codeFiles(directory) {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) ? [] : codeFiles(full);
    return CODE.test(entry.name) ? [full] : [];
  });
}

/** The lines of `file`, once formatted, that are longer than MAX_LINE: `{ line, length, text }`. */
export async function longLines(file) {
  const source = fs.readFileSync(file, 'utf8');
  const options = (await prettier.resolveConfig(file)) ?? {};
  const formatted = await prettier.format(source, { ...options, filepath: file });
  return formatted
    .split('\n')
    .map((text, index) => ({ line: index + 1, length: text.length, text }))
    .filter((entry) => entry.length > MAX_LINE && !REGEX_ALONE.test(entry.text));
}

async function main(args) {
  const files = args.length ? args.map((file) => path.resolve(file)) : codeFiles(root);
  let count = 0;
  for (const file of files) {
    const relative = path.relative(root, file).split(path.sep).join('/');
    for (const entry of await longLines(file)) {
      count++;
      console.log(
        `${relative}:${entry.line}: ${entry.length} characters (max ${MAX_LINE}) once formatted: ${entry.text.trim().slice(0, 80)}…`,
      );
    }
  }
  if (count) {
    console.log(`\n${count} line(s) over ${MAX_LINE} characters: wrap the string literal or comment (Prettier wraps the code).`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
