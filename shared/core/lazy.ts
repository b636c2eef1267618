/**
 * Packages a task loads on first use rather than at start-up. `extension/build.mjs` puts each package named
 * in its `LAZY` list into a `lazy.js` beside the task's bundle, and a `require` of it inside a function is
 * what reaches that file: a step that stops at its inputs never reads them. Only types are imported at the
 * top of a module; the values come from these functions.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- a require inside a function is what makes them lazy */

/** The `yaml` package: plan files, smoke-check files, pipeline parameters. */
export function yamlPackage(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}

/** The `ajv` JSON-schema validator's class (the plan schema). */
export function ajvClass(): typeof import('ajv').default {
  return (require('ajv') as typeof import('ajv')).default;
}
