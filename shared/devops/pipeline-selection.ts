import type { BuildDefinitionReference } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { InputError } from '../core/errors';
import type { Log } from '../core/log';
import { devOpsShape, type DevOpsClient } from './client';
import { queueStatusName, type QueueStatusName } from './held-marks';

/** Which pipeline definitions a hold covers: folders, exact names and `*` patterns, less exclusions. */

export interface PipelineSelection {
  /** Who owns these jobs (a label for the summary). */
  label?: string;
  /** `\Folder`: every definition in it and its subfolders. */
  folder?: string;
  /** Exact names. */
  names: string[];
  /** A name pattern with `*`. */
  pattern?: string;
  /** Names or `*` patterns left out. */
  exclude: string[];
}

export interface SelectedDefinition {
  id: number;
  name: string;
  path: string;
  queueStatus: QueueStatusName;
}

function normalizeFolder(folder: string): string {
  const trimmed = folder.replace(/\//g, '\\').replace(/\\+$/, '');
  return trimmed.startsWith('\\') ? trimmed || '\\' : `\\${trimmed}`;
}

function inFolder(path: string | undefined, folder: string): boolean {
  const wanted = normalizeFolder(folder).toLowerCase();
  const actual = normalizeFolder(path ?? '\\').toLowerCase();
  return wanted === '\\' || actual === wanted || actual.startsWith(`${wanted}\\`);
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
}

/**
 * Finds the definitions the selections name. Names that match nothing are errors (a typo must not leave a job
 * running through the window); a folder or pattern that matches nothing is only reported.
 */
export async function selectDefinitions(
  client: DevOpsClient,
  selections: PipelineSelection[],
  log: Log,
  inputName: string,
): Promise<SelectedDefinition[]> {
  const build = await client.build();
  const found = new Map<number, SelectedDefinition>();
  const missing: string[] = [];
  const list = (what: string, name?: string, path?: string) =>
    client.call(
      `list pipelines (${what})`,
      () => build.getDefinitions(client.project, name, undefined, undefined, undefined, undefined, undefined, undefined, undefined, path),
      { expect: devOpsShape.list },
    );
  for (const selection of selections) {
    const excluded = selection.exclude.map(wildcard);
    const keep = (definition: BuildDefinitionReference) => !excluded.some((pattern) => pattern.test(definition.name ?? ''));
    const add = (definitions: BuildDefinitionReference[]) => {
      for (const definition of definitions.filter(keep)) {
        found.set(definition.id!, {
          id: definition.id!,
          name: definition.name ?? `#${definition.id}`,
          path: definition.path ?? '\\',
          queueStatus: queueStatusName(definition.queueStatus),
        });
      }
    };
    if (selection.folder) {
      const definitions = (await list(`folder ${selection.folder}`, undefined, selection.folder)).filter((definition) =>
        inFolder(definition.path, selection.folder!),
      );
      if (definitions.length === 0)
        log.warn(`No pipelines in folder ${selection.folder}${selection.label ? ` (${selection.label})` : ''}.`);
      add(definitions);
    }
    for (const name of selection.names) {
      const definitions = (await list(`name ${name}`, name)).filter(
        (definition) => (definition.name ?? '').toLowerCase() === name.toLowerCase(),
      );
      if (definitions.length === 0) missing.push(name);
      add(definitions);
    }
    if (selection.pattern) {
      const definitions = (await list(`names like ${selection.pattern}`, selection.pattern)).filter((definition) =>
        wildcard(selection.pattern!).test(definition.name ?? ''),
      );
      if (definitions.length === 0) log.warn(`No pipelines named like ${selection.pattern}.`);
      add(definitions);
    }
  }
  if (missing.length) {
    throw new InputError(
      inputName,
      `no pipeline named ${missing.map((name) => `'${name}'`).join(', ')} in project ${client.project}; nothing was changed.`,
    );
  }
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path) || a.name.localeCompare(b.name));
}

/**
 * Selections from the step's inline lines and the plan's `jobs`: a line starting with `\` is a folder, one with
 * `*` a name pattern, `!name` leaves a pipeline out (of every selection), anything else is an exact name.
 */
export function buildSelections(lines: string[], planJobs: PipelineSelection[] = []): PipelineSelection[] {
  const exclude = lines
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).trim())
    .filter(Boolean);
  const selections: PipelineSelection[] = [];
  const names: string[] = [];
  for (const line of lines.filter((text) => !text.startsWith('!'))) {
    if (line.startsWith('\\') || line.startsWith('/')) selections.push({ folder: normalizeFolder(line), names: [], exclude: [] });
    else if (line.includes('*')) selections.push({ pattern: line, names: [], exclude: [] });
    else names.push(line);
  }
  if (names.length) selections.push({ names, exclude: [] });
  return [...selections, ...planJobs].map((selection) => ({ ...selection, exclude: [...selection.exclude, ...exclude] }));
}
