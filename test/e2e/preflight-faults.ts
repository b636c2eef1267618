import * as path from 'node:path';
import { FAULT_NAMES } from '../helpers/faults';
import { runPreflightRehearsal, type PreflightRehearsalOutcome } from './preflight-rehearsal';

/**
 * `npm run rehearse:preflight-faults [-- <name filter>...]`: the whole of pipelines/preflight.yml against the
 * emulators, clean for both seed plans (each must say GO) and once with each documented fault (each must say
 * NO-GO), every run writing nothing anywhere and posting its verdict once, in one table. Two rehearsals at a
 * time (each takes a minute or two); too long for the test suite, which keeps a fast few in
 * test/e2e/preflight-rehearsal.test.ts.
 */

interface Case {
  name: string;
  plan: string;
  faults: string[];
  expect: 'GO' | 'NO-GO';
}

const CASES: Case[] = [
  { name: 'clean', plan: 'plans/2025-04-13.yml', faults: [], expect: 'GO' },
  { name: 'clean (no maintenance page)', plan: 'plans/2025-03-23.yml', faults: [], expect: 'GO' },
  ...FAULT_NAMES.map((fault): Case => ({ name: fault, plan: 'plans/2025-04-13.yml', faults: [fault], expect: 'NO-GO' })),
];

const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

async function runCase(entry: Case): Promise<{ entry: Case; outcome?: PreflightRehearsalOutcome; error?: string; seconds: number }> {
  const started = Date.now();
  try {
    // Not under out/rehearsal, which every night's rehearsal clears when it starts.
    const outDirectory = path.join('out', 'preflight-faults', entry.name.replace(/[^A-Za-z0-9-]+/g, '-'));
    const outcome = await runPreflightRehearsal({ plan: entry.plan, faults: entry.faults, outDirectory, print: () => undefined });
    return { entry, outcome, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    return { entry, error: (error as Error).message, seconds: (Date.now() - started) / 1000 };
  }
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const selected = CASES.filter((entry) => !filters.length || filters.some((filter) => entry.name.includes(filter)));
  const results: Array<Awaited<ReturnType<typeof runCase>>> = [];
  const queue = [...selected];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const result = await runCase(next);
      results.push(result);
      console.log(`  ${result.entry.name}: ${result.outcome?.verdict ?? 'ERROR'} (${result.seconds.toFixed(0)} s)`);
    }
  };
  await Promise.all([worker(), worker()]);
  results.sort((a, b) => selected.indexOf(a.entry) - selected.indexOf(b.entry));
  const rows = results.map(({ entry, outcome, error, seconds }) => {
    const ok = !!outcome && outcome.verdict === entry.expect && outcome.writes.length === 0 && outcome.posts === 1;
    const named = outcome?.problems.map((problem) => `${problem.object}: ${problem.why} Fix: ${problem.fix}`).join('; ') || error || '';
    return {
      ok,
      cells: [
        entry.name,
        entry.expect,
        outcome?.verdict ?? 'ERROR',
        String(outcome?.writes.length ?? '-'),
        `${seconds.toFixed(0)} s`,
        clip(named, 160),
      ],
    };
  });
  console.log('');
  console.log('| case | expected | verdict | writes | time | problems (object: why. Fix) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.ok ? '✔' : '✘'} ${row.cells.join(' | ')} |`);
  const failed = rows.filter((row) => !row.ok).length;
  console.log(`\n${rows.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

void main().then((code) => process.exit(code));
