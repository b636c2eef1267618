import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/task-runner';

/**
 * Our own tasks, read from tasks/<Name>V<major>/task.json: what the rehearsal needs to run a step the way the
 * agent does (defaults for inputs the YAML leaves out, aliases, which inputs name a service connection).
 */

export interface TaskInputDefinition {
  name: string;
  type: string;
  defaultValue?: string;
  aliases: string[];
  required: boolean;
}

export interface TaskDefinition {
  /** `SmokeTest@1` */
  reference: string;
  name: string;
  major: number;
  /** Folder under tasks/ and dist/tasks/. */
  folder: string;
  inputs: TaskInputDefinition[];
  outputVariables: string[];
}

export function loadTaskCatalog(root = repoRoot): Map<string, TaskDefinition> {
  const catalog = new Map<string, TaskDefinition>();
  const tasksDir = path.join(root, 'tasks');
  for (const folder of fs.readdirSync(tasksDir)) {
    const file = path.join(tasksDir, folder, 'task.json');
    if (!fs.existsSync(file)) continue;
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const major = Number(json.version?.Major);
    const reference = `${json.name}@${major}`;
    catalog.set(reference.toLowerCase(), {
      reference,
      name: json.name,
      major,
      folder,
      inputs: (json.inputs ?? []).map((input: any) => ({
        name: input.name,
        type: String(input.type ?? 'string'),
        defaultValue: input.defaultValue === undefined ? undefined : String(input.defaultValue),
        aliases: input.aliases ?? [],
        required: !!input.required,
      })),
      outputVariables: (json.outputVariables ?? []).map((output: any) => output.name),
    });
  }
  return catalog;
}

/** Microsoft's built-in tasks the pipeline may use; the rehearsal acts them out instead of running them. */
export const BUILT_IN_TASKS = new Set(['manualvalidation', 'delay', 'publishpipelineartifact', 'downloadpipelineartifact', 'copyfiles']);
