/**
 * The text of a value read from outside (a plan's YAML, an input's JSON, a service's answer): a string as it
 * is, a number or boolean as written, nothing as '', and an object or list as its JSON rather than
 * `[object Object]`.
 */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return typeof value === 'symbol' ? value.toString() : '[function]';
}
