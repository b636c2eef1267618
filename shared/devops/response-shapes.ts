/** Checks of what the Azure DevOps client parsed, before a caller relies on it. */

/** Checks for `call`'s `expect`: what a list and a single resource must look like once the client parsed them. */
export const devOpsShape = {
  list: (result: unknown): string | undefined =>
    Array.isArray(result) && result.every((item) => item && typeof item === 'object')
      ? undefined
      : `expected a list, got ${describeValue(result)}`,
  resource: (result: unknown): string | undefined =>
    result && typeof result === 'object' && typeof (result as { id?: unknown }).id === 'number'
      ? undefined
      : `expected a resource with an id, got ${describeValue(result)}`,
  /** A resource, or nothing for a 404 (which the client answers as null). */
  resourceOrMissing: (result: unknown): string | undefined =>
    result === null || result === undefined ? undefined : devOpsShape.resource(result),
  /** The definition Tags API's answer: the definition's tags after the call (the client unwraps `{count, value}`). */
  tags: (result: unknown): string | undefined =>
    Array.isArray(result) && result.every((item) => typeof item === 'string')
      ? undefined
      : `expected a list of tags, got ${describeValue(result)}`,
};

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? `an object with ${Object.keys(value).slice(0, 5).join(', ') || 'no fields'}` : `a ${typeof value}`;
}
