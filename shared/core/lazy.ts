/**
 * Packages a task loads on first use rather than at start-up: the Azure and Azure DevOps SDKs, exceljs, axios,
 * the proxy agents, ajv, yaml. Only types are imported at the top of a module; the values come from
 * `loadOnFirstUse('<package>')`, called inside the function that needs them, so a step that stops at its
 * inputs never reads them.
 *
 * How they stay out of the bundle's start: `extension/build.mjs` rewrites each `loadOnFirstUse('<package>')`
 * (the name must be written out, in quotes) into `require('<package>')` before esbuild reads the file, and puts
 * each package of its `LAZY` list that is required this way into a `lazy.js` beside the task's bundle, read on
 * the first call. The build stops on a call it cannot rewrite: esbuild cannot follow a `require` of a name
 * held in a variable, which in the bundle would look for node_modules that the extension does not ship. From
 * the TypeScript sources (tests, the rehearsal) the function below does the require itself.
 */

/** Every package loaded on first use, with its type; keep in step with `LAZY` in extension/build.mjs. */
export interface LazyPackages {
  '@azure/arm-compute': typeof import('@azure/arm-compute');
  '@azure/arm-network': typeof import('@azure/arm-network');
  '@azure/arm-resources': typeof import('@azure/arm-resources');
  '@azure/core-rest-pipeline': typeof import('@azure/core-rest-pipeline');
  '@azure/identity': typeof import('@azure/identity');
  ajv: typeof import('ajv');
  axios: typeof import('axios');
  'azure-devops-node-api': typeof import('azure-devops-node-api');
  'azure-devops-node-api/handlers/bearertoken': typeof import('azure-devops-node-api/handlers/bearertoken');
  exceljs: typeof import('exceljs');
  'http-proxy-agent': typeof import('http-proxy-agent');
  'https-proxy-agent': typeof import('https-proxy-agent');
  yaml: typeof import('yaml');
}

/** The package `name`, loaded the first time it is asked for (Node keeps it for the next calls). */
export function loadOnFirstUse<Name extends keyof LazyPackages>(name: Name): LazyPackages[Name] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the one require of the lazy packages, from the sources
  return require(name) as LazyPackages[Name];
}
