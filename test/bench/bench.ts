import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `npm run bench`: every `*.bench.ts` beside this file contributes sections. Each figure is a ratio against a
 * baseline measured in the same run, on the same machine, because machines here are shared and noisy.
 */

export interface BenchRow {
  label: string;
  /** The measured figure, formatted with its unit. */
  value: string;
  /** The baseline it is compared with, formatted, if any. */
  baseline?: string;
  /** value / baseline (or the ratio that makes sense for the row), if any. */
  ratio?: number;
  note?: string;
}

export interface BenchSection {
  title: string;
  rows: BenchRow[];
}

export type BenchModule = { run: () => Promise<BenchSection[]> };

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function printSection(section: BenchSection): void {
  console.log(`\n## ${section.title}`);
  const width = Math.max(...section.rows.map((row) => row.label.length), 10);
  for (const row of section.rows) {
    const parts = [row.label.padEnd(width), row.value.padStart(12)];
    if (row.baseline !== undefined) parts.push(`baseline ${row.baseline}`.padStart(22));
    if (row.ratio !== undefined) parts.push(`ratio ${row.ratio.toFixed(2)}x`.padStart(14));
    if (row.note) parts.push(row.note);
    console.log(parts.join('  '));
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((name) => name.endsWith('.bench.ts'))
    .filter((name) => only.length === 0 || only.some((filter) => name.includes(filter)))
    .sort();
  console.log(`Benchmarks (${files.length} file(s)); node ${process.version}; figures are ratios against baselines measured in this run.`);
  for (const file of files) {
    const module = (await import(path.join(__dirname, file))) as BenchModule;
    for (const section of await module.run()) printSection(section);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
