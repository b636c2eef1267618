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

/** `IC-Web1..5` for IC-Web1, IC-Web2, ... IC-Web5; the names joined otherwise. */
export function compactNames(names: readonly string[]): string {
  const parsed = names.map((name) => /^(.*?)(\d+)$/.exec(name));
  if (names.length > 2 && parsed.every((match) => match && match[1] === parsed[0]![1])) {
    const numbers = parsed.map((match) => Number(match![2]));
    if (numbers.every((value, index) => index === 0 || value === numbers[index - 1] + 1))
      return `${names[0]}..${numbers[numbers.length - 1]}`;
  }
  return names.join(', ');
}
