import type { CheckResult } from './checks';

/**
 * Smoke results as a JUnit XML file, the format Azure DevOps' Tests tab reads (`results.publish type=JUnit`):
 * one `<testsuite>` per run, one `<testcase>` per check. A check keeps its test identity from window to window
 * (`classname` is the suite, `name` the check's name), so the Tests tab shows each check's history. The time is
 * the check's latency; the attempts, status, latency and URL go in the case's `<properties>` and `<system-out>`.
 */

export interface JunitOptions {
  /** The suite's name, also every case's `classname` (e.g. `SmokeTest`). */
  suite: string;
  /** When the checks started (the suite's `timestamp`). */
  startedAt: Date;
  /** How long the whole run took. */
  durationMs: number;
  hostname?: string;
}

/** Escapes text for an XML attribute or element, and drops characters XML 1.0 cannot carry. */
export function xmlText(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function testCase(result: CheckResult, suite: string): string {
  const properties: Array<[string, string]> = [
    ['url', result.url],
    ['attempts', String(result.attempts)],
    ['latencyMs', result.latencyMs !== undefined ? String(result.latencyMs) : ''],
    ['status', result.status !== undefined ? String(result.status) : 'no answer'],
  ];
  const answered = `answered ${result.status ?? 'nothing'} in ${result.latencyMs ?? '-'} ms`;
  const out = `${result.passed ? 'Passed' : 'Failed'}: ${result.url} ${answered} after ${result.attempts} attempt(s).`;
  const lines = [
    `    <testcase classname="${xmlText(suite)}" name="${xmlText(result.name)}" time="${seconds(result.latencyMs)}">`,
    '      <properties>',
    ...properties.map(([name, value]) => `        <property name="${name}" value="${xmlText(value)}"/>`),
    '      </properties>',
  ];
  if (!result.passed) {
    const reason = result.reasons.join('; ') || 'failed';
    lines.push(`      <failure message="${xmlText(reason)}" type="SmokeCheckFailed">${xmlText(`${reason}\n${out}`)}</failure>`);
  }
  lines.push(`      <system-out>${xmlText(out)}</system-out>`, '    </testcase>');
  return lines.join('\n');
}

/** The JUnit XML document of one smoke run. */
export function junitXml(results: CheckResult[], options: JunitOptions): string {
  const failures = results.filter((result) => !result.passed).length;
  const attributes = [
    `name="${xmlText(options.suite)}"`,
    `tests="${results.length}"`,
    `failures="${failures}"`,
    'errors="0"',
    'skipped="0"',
    `time="${seconds(options.durationMs)}"`,
    `timestamp="${options.startedAt.toISOString().replace(/\.\d{3}Z$/, '')}"`,
    ...(options.hostname ? [`hostname="${xmlText(options.hostname)}"`] : []),
  ].join(' ');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlText(options.suite)}" tests="${results.length}" failures="${failures}" errors="0" ` +
      `time="${seconds(options.durationMs)}">`,
    `  <testsuite ${attributes}>`,
    ...results.map((result) => testCase(result, options.suite)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
