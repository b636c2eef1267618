/**
 * A plan file's data as `plan.schema.json` describes it, once the schema has accepted it: the type the typed
 * ajv validator narrows to. Defaults the schema names (status, timeZone, …) are not filled in here; `toPlan`
 * in `plan.ts` applies them. Keep this in step with the schema when a field is added.
 */

export type PlanFileScalar = string | number | boolean;

export interface PlanFileWindow {
  name: string;
  date: string;
  id?: string;
  timeZone?: string;
  maintenancePage?: boolean;
  wiki?: string;
}

export interface PlanFileJob {
  name?: string;
  pipelines: {
    folder?: string;
    names?: string[];
    pattern?: string;
    exclude?: string[];
  };
}

export interface PlanFileChange {
  id: string;
  title: string;
  jira?: string[];
  team?: string;
  status?: 'planned' | 'doing' | 'done' | 'not-doing' | 'deferred';
  reason?: string;
  notes?: string;
  dependsOn?: string[];
  estimateMinutes?: number;
  pipeline?: {
    name: string;
    folder?: string;
    branch?: string;
    parameters?: Record<string, PlanFileScalar>;
    timeoutMinutes?: number;
  };
  script?: {
    path: string;
    arguments?: PlanFileScalar[];
    timeoutMinutes?: number;
  };
  manual?: string;
}

export interface PlanFile {
  window: PlanFileWindow;
  jira?: string;
  jobs?: PlanFileJob[];
  changes: PlanFileChange[];
}

/**
 * The fields of a value read from YAML before (or whether or not) the schema accepted it: the value itself
 * when it is an object or a list, otherwise no fields, just as reading a property of a scalar finds nothing.
 */
export function fieldsOf(value: unknown): Readonly<Record<string, unknown>> {
  return isObject(value) ? value : {};
}

/** Whether a value read from YAML is an object or a list, whose fields can be read. */
export function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null;
}
