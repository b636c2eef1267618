// The layering of ARCHITECTURE.md ("The layers and their rule") as ESLint rules, so that `npm run lint` fails
// on the import that breaks it and names the rule. Paths are judged relative to the repository root (the
// folder above this one), after resolving each relative import against the importing file.
//
//   tasks/<Name>V1  →  shared/window  →  shared/plan  →  shared/azure | devops | services | smoke  →  shared/core
//
// A layer may import any layer below it, never one above; the four folders of the system layer do not import
// each other. test/unit/lint-layering.test.ts breaks each rule once and checks the message.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Rank of each folder of shared/: higher may import lower. The system layer's four folders share rank 1. */
const SHARED_RANK = { core: 0, azure: 1, devops: 1, services: 1, smoke: 1, report: 1, plan: 2, window: 3 };
const TASK_LIB = 'azure-pipelines-task-lib';

/** Where a repository path lies: `{ area: 'shared', folder: 'plan' }`, `{ area: 'tasks', folder: 'NotifyV1' }`, … */
function placeOf(absolutePath) {
  const relative = path.relative(root, absolutePath).split(path.sep).join('/');
  if (relative.startsWith('../') || path.isAbsolute(relative)) return { area: 'outside', folder: '', relative };
  const [area, folder = ''] = relative.split('/');
  return { area, folder, relative };
}

/** Every module a file names: static and dynamic imports, re-exports, `require`, `import x = require()`. */
function visitImports(context, onImport) {
  const fromLiteral = (node, source, typeOnly) => {
    if (source && source.type === 'Literal' && typeof source.value === 'string') onImport({ node, specifier: source.value, typeOnly });
  };
  const allSpecifiersTypes = (node) =>
    node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type');
  return {
    ImportDeclaration: (node) => fromLiteral(node, node.source, node.importKind === 'type' || allSpecifiersTypes(node)),
    ExportNamedDeclaration: (node) => fromLiteral(node, node.source, node.exportKind === 'type' || allSpecifiersTypes(node)),
    ExportAllDeclaration: (node) => fromLiteral(node, node.source, node.exportKind === 'type'),
    ImportExpression: (node) => fromLiteral(node, node.source, false),
    TSImportType: (node) => fromLiteral(node, node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.source, true),
    TSExternalModuleReference: (node) => fromLiteral(node, node.expression, false),
    CallExpression: (node) => {
      if (node.callee.type === 'Identifier' && node.callee.name === 'require') fromLiteral(node, node.arguments[0], false);
    },
  };
}

/** The repository place a relative specifier resolves to, or undefined for a package or `node:` module. */
function targetOf(context, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  return placeOf(path.resolve(path.dirname(context.filename), specifier));
}

function importRule(description, messages, check) {
  return {
    meta: { type: 'problem', docs: { description }, schema: [], messages },
    create(context) {
      const from = placeOf(context.filename);
      return visitImports(context, (found) => {
        const report = check(from, targetOf(context, found.specifier), found);
        if (report) context.report({ node: found.node, ...report });
      });
    },
  };
}

const layerOrder = importRule(
  'In shared/, a layer imports only the layers below it, and the system folders do not import each other.',
  {
    upward:
      "layering/layer-order: shared/{{from}} must not import shared/{{to}} ('{{specifier}}'): " +
      'tasks → window → plan → azure|devops|services|smoke → core, a layer imports only the layers below it.',
    sideways:
      "layering/layer-order: shared/{{from}} must not import shared/{{to}} ('{{specifier}}'): " +
      'azure, devops, services and smoke are one layer and import only shared/core, never each other.',
    unknown:
      'layering/layer-order: shared/{{folder}} is not a known layer: add it to SHARED_RANK in lint/layering.mjs ' +
      'and to ARCHITECTURE.md.',
  },
  (from, to, { specifier }) => {
    if (from.area !== 'shared' || to?.area !== 'shared' || from.folder === to.folder) return undefined;
    const fromRank = SHARED_RANK[from.folder];
    const toRank = SHARED_RANK[to.folder];
    if (fromRank === undefined || toRank === undefined) {
      return { messageId: 'unknown', data: { folder: fromRank === undefined ? from.folder : to.folder } };
    }
    if (toRank > fromRank) return { messageId: 'upward', data: { from: from.folder, to: to.folder, specifier } };
    if (toRank === fromRank) return { messageId: 'sideways', data: { from: from.folder, to: to.folder, specifier } };
    return undefined;
  },
);

const sharedNotTasks = importRule(
  'Nothing in shared/ imports from tasks/.',
  {
    sharedImportsTask:
      "layering/shared-not-tasks: shared/{{from}} must not import tasks/{{to}} ('{{specifier}}'): " +
      'the library never depends on a task; move what both need into shared/.',
  },
  (from, to, { specifier }) =>
    from.area === 'shared' && to?.area === 'tasks'
      ? { messageId: 'sharedImportsTask', data: { from: from.folder, to: to.folder, specifier } }
      : undefined,
);

const noTaskToTask = importRule(
  'No task imports another task.',
  {
    taskImportsTask:
      "layering/no-task-to-task: tasks/{{from}} must not import tasks/{{to}} ('{{specifier}}'): " +
      'each task is its own bundle; move what both need into shared/.',
  },
  (from, to, { specifier }) =>
    from.area === 'tasks' && to?.area === 'tasks' && from.folder !== to.folder
      ? { messageId: 'taskImportsTask', data: { from: from.folder, to: to.folder, specifier } }
      : undefined,
);

const productNotTests = importRule(
  'Product code (shared/, tasks/) imports neither tests nor build scripts.',
  {
    productImportsOutside:
      "layering/product-not-tests: {{from}} must not import {{to}} ('{{specifier}}'): " +
      'shared/ and tasks/ are bundled into the extension and import only shared/ and packages.',
  },
  (from, to, { specifier }) =>
    (from.area === 'shared' || from.area === 'tasks') && to && !['shared', 'tasks'].includes(to.area)
      ? { messageId: 'productImportsOutside', data: { from: from.relative, to: to.relative, specifier } }
      : undefined,
);

const taskLibOnlyInCore = importRule(
  'Only shared/core imports azure-pipelines-task-lib.',
  {
    taskLib:
      "layering/task-lib-only-in-core: {{from}} must not import '{{specifier}}': only shared/core talks to the agent " +
      '(shared/core/inputs.ts); use the TaskContext it builds.',
  },
  (from, _to, { specifier }) =>
    (specifier === TASK_LIB || specifier.startsWith(`${TASK_LIB}/`)) && !(from.area === 'shared' && from.folder === 'core')
      ? { messageId: 'taskLib', data: { from: from.relative, specifier } }
      : undefined,
);

const emulatorsImportTypesOnly = importRule(
  'Emulators import no code from outside test/emulators (product types only, with `import type`).',
  {
    product:
      "layering/emulators-types-only: {{from}} must not import product code from {{to}} ('{{specifier}}'): " +
      'an emulator follows the documented API, not our code; only `import type` is allowed.',
    other:
      "layering/emulators-types-only: {{from}} must not import {{to}} ('{{specifier}}'): " +
      'emulators import only each other and packages (anything else may reach product code); only `import type` is allowed.',
  },
  (from, to, { specifier, typeOnly }) => {
    if (from.area !== 'test' || from.folder !== 'emulators' || !to || typeOnly) return undefined;
    if (to.area === 'test' && to.folder === 'emulators') return undefined;
    const product = ['shared', 'tasks', 'extension'].includes(to.area);
    return { messageId: product ? 'product' : 'other', data: { from: from.relative, to: to.relative, specifier } };
  },
);

const processEnvOnlyInCore = {
  meta: {
    type: 'problem',
    docs: { description: 'Only shared/core reads process.env.' },
    schema: [],
    messages: {
      processEnv:
        'layering/process-env-only-in-core: {{from}} must not read process.env: only shared/core reads the agent ' +
        "environment (inputs, variables: `context.variable`; a script's environment: `childProcessEnvironment`).",
    },
  },
  create(context) {
    const from = placeOf(context.filename);
    if (from.area === 'shared' && from.folder === 'core') return {};
    const isProcess = (node) =>
      (node.type === 'Identifier' && node.name === 'process') ||
      (node.type === 'MemberExpression' &&
        node.object.type === 'Identifier' &&
        node.object.name === 'globalThis' &&
        keyName(node) === 'process');
    const report = (node) => context.report({ node, messageId: 'processEnv', data: { from: from.relative } });
    return {
      MemberExpression: (node) => {
        if (isProcess(node.object) && keyName(node) === 'env') report(node);
      },
      VariableDeclarator: (node) => {
        if (
          node.id.type === 'ObjectPattern' &&
          node.init &&
          isProcess(node.init) &&
          node.id.properties.some((p) => p.type === 'Property' && propertyKeyName(p) === 'env')
        ) {
          report(node);
        }
      },
    };
  },
};

function keyName(member) {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal') return String(member.property.value);
  return undefined;
}

function propertyKeyName(property) {
  if (!property.computed && property.key.type === 'Identifier') return property.key.name;
  if (property.key.type === 'Literal') return String(property.key.value);
  return undefined;
}

export default {
  meta: { name: 'layering' },
  rules: {
    'layer-order': layerOrder,
    'shared-not-tasks': sharedNotTasks,
    'no-task-to-task': noTaskToTask,
    'product-not-tests': productNotTests,
    'task-lib-only-in-core': taskLibOnlyInCore,
    'process-env-only-in-core': processEnvOnlyInCore,
    'emulators-types-only': emulatorsImportTypesOnly,
  },
};
