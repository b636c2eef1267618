import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandPipeline } from './pipeline-expander';
import { DEFAULT_PIPELINE, parseArguments, runRehearsal, windowResultLine } from './rehearse';
import { repoRoot } from '../helpers/task-runner';

/**
 * `npm run rehearse:failures`: every failure path issue 9 names, one rehearsal each, in one table. A cancel at
 * every stage of the night and at the running drain and patch of both web batches, both approvals rejected, a
 * job timeout in Changes, and the agent dying in both web batches, Starting Maintenance and Changes (without
 * --recover it must name what is left, with it nothing may be left). Too long for the test suite (about ten
 * minutes of rehearsals); the suite keeps a representative few in test/e2e/failure-paths.test.ts.
 */

interface Case {
  args: string[];
  /** `none`: the night must end with nothing left; `some`: it must name what is left. */
  expectLeft: 'none' | 'some';
}

function cases(): Case[] {
  const stages = expandPipeline(path.join(repoRoot, DEFAULT_PIPELINE)).stages.map((stage) => stage.name);
  const steps = ['WebBatch_1.batch.drain', 'WebBatch_1.batch.patch', 'WebBatch_2.batch.drain', 'WebBatch_2.batch.patch'];
  const kills = ['WebBatch_1.batch.patch', 'WebBatch_2.batch.patch', 'StartingMaintenance.start.page', 'Changes.changes.run'];
  return [
    ...[...stages, ...steps].map((at): Case => ({ args: ['--cancel-at', at], expectLeft: 'none' })),
    ...['maintenance-release-manager', 'maintenance-platform-approver'].map((env): Case => ({
      args: ['--reject-approval', env],
      expectLeft: 'none',
    })),
    { args: ['--hosted-cap', '360', '--slow-step', 'Changes.changes.run=400'], expectLeft: 'none' },
    ...kills.flatMap((at): Case[] => [
      { args: ['--kill-at', at], expectLeft: 'some' },
      { args: ['--kill-at', at, '--recover'], expectLeft: 'none' },
    ]),
  ];
}

async function main(): Promise<number> {
  const only = process.argv.slice(2).join(' ');
  const selected = cases().filter((c) => !only || c.args.join(' ').includes(only));
  const rows: string[] = [];
  let wrong = 0;
  for (const entry of selected) {
    const outDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-failure-matrix-'));
    const started = Date.now();
    let line: string;
    let ok: boolean;
    try {
      const outcome = await runRehearsal({ ...parseArguments(entry.args), outDirectory, print: () => undefined });
      line = windowResultLine(outcome.window);
      ok = entry.expectLeft === 'none' ? outcome.window.left.length === 0 : outcome.window.left.length > 0;
    } catch (error) {
      line = `could not run: ${(error as Error).message}`;
      ok = false;
    } finally {
      fs.rmSync(outDirectory, { recursive: true, force: true });
    }
    if (!ok) wrong++;
    const row =
      `${ok ? 'ok  ' : 'FAIL'} ${entry.args.join(' ').padEnd(58)} ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} ` +
      `s  ${line}`;
    rows.push(row);
    console.log(row);
  }
  console.log(`\n${selected.length - wrong} of ${selected.length} failure paths ended as they must.`);
  return wrong ? 1 : 0;
}

void main().then((code) => process.exit(code));
