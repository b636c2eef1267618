/**
 * Packages a task loads on first use rather than at start-up: the Azure and Azure DevOps SDKs, exceljs, axios,
 * the proxy agents, ajv, yaml. Only types are imported at the top of a module; the values come from the loader
 * of the package, called inside the function that needs it, so a step that stops at its inputs never reads them.
 *
 * This file is the one place of the rule: `extension/build.mjs` sends every `require` written here to a
 * `lazy.js` beside the task's bundle, keeping only the packages whose loaders the task still calls after
 * esbuild drops unused code, so a task also carries only what it calls. A new lazy package is a new loader
 * here, its name written out (esbuild follows only a literal `require`). Node keeps each module once loaded.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- a require inside a function is what makes them lazy */

/** The `yaml` package: plan files, smoke-check files, pipeline parameters. */
export function loadYaml(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}

/** The `ajv` JSON-schema validator (the plan schema). */
export function loadAjv(): typeof import('ajv') {
  return require('ajv') as typeof import('ajv');
}

/** axios, the HTTP client of the services (shared/core/http.ts). */
export function loadAxios(): typeof import('axios') {
  return require('axios') as typeof import('axios');
}

/** The HTTPS proxy agent (a CONNECT tunnel). */
export function loadHttpsProxyAgent(): typeof import('https-proxy-agent') {
  return require('https-proxy-agent') as typeof import('https-proxy-agent');
}

/** The HTTP proxy agent (plain requests forwarded). */
export function loadHttpProxyAgent(): typeof import('http-proxy-agent') {
  return require('http-proxy-agent') as typeof import('http-proxy-agent');
}

/** Entra credentials (`@azure/identity`). */
export function loadAzureIdentity(): typeof import('@azure/identity') {
  return require('@azure/identity') as typeof import('@azure/identity');
}

/** The Azure SDK's HTTP pipeline, for a request no SDK client has a method for. */
export function loadCoreRestPipeline(): typeof import('@azure/core-rest-pipeline') {
  return require('@azure/core-rest-pipeline') as typeof import('@azure/core-rest-pipeline');
}

/** The compute SDK: virtual machines and their patches. */
export function loadArmCompute(): typeof import('@azure/arm-compute') {
  return require('@azure/arm-compute') as typeof import('@azure/arm-compute');
}

/** The network SDK: application gateways. */
export function loadArmNetwork(): typeof import('@azure/arm-network') {
  return require('@azure/arm-network') as typeof import('@azure/arm-network');
}

/** The resources SDK: generic ARM resources (alert processing rules). */
export function loadArmResources(): typeof import('@azure/arm-resources') {
  return require('@azure/arm-resources') as typeof import('@azure/arm-resources');
}

/** `azure-devops-node-api`, the Azure DevOps client. */
export function loadDevOpsApi(): typeof import('azure-devops-node-api') {
  return require('azure-devops-node-api') as typeof import('azure-devops-node-api');
}

/** Its bearer-token handler (the job token, Entra tokens). */
export function loadDevOpsBearerHandler(): typeof import('azure-devops-node-api/handlers/bearertoken') {
  return require('azure-devops-node-api/handlers/bearertoken') as typeof import('azure-devops-node-api/handlers/bearertoken');
}

/** exceljs: the patch sheet. */
export function loadExcelJs(): typeof import('exceljs') {
  return require('exceljs') as typeof import('exceljs');
}
