import type { BuildDefinition } from 'azure-devops-node-api/interfaces/BuildInterfaces';
import { devOpsShape, type DevOpsClient } from './client';
import type { HeldDefinition } from './held-record';

/** Queue statuses by name, and the window's mark (a definition tag) that says a definition is held. */

export type QueueStatusName = 'enabled' | 'paused' | 'disabled';
export type HoldMode = 'paused' | 'disabled';

export const STATUS_NAMES: QueueStatusName[] = ['enabled', 'paused', 'disabled'];

export function queueStatusName(value: unknown): QueueStatusName {
  if (typeof value === 'number') return STATUS_NAMES[value] ?? 'enabled';
  const text = (typeof value === 'string' ? value : 'enabled').toLowerCase();
  return (STATUS_NAMES as string[]).includes(text) ? (text as QueueStatusName) : 'enabled';
}

export function queueStatusValue(name: QueueStatusName): number {
  return STATUS_NAMES.indexOf(name);
}

/**
 * The mark a held definition carries, added through the Tags API before the PUT that holds it and removed
 * after the release's PUT reads back: `maintenance-window.held:<window>:<status before>`. A re-run of the hold
 * on a fresh agent reads the true status before from it, and a release with no record finds what the window
 * held. A mark on a definition whose status is already the mark's status before is one a crash left (after
 * the mark, before the hold's PUT; or after the release's PUT, before the mark went): release removes it.
 */
export const HELD_TAG_PREFIX = 'maintenance-window.held:';

export function heldTag(windowId: string, previous: QueueStatusName, mode: HoldMode): string {
  return `${HELD_TAG_PREFIX}${windowId}:${previous}:${mode}`;
}

/**
 * The window's mark on a definition: the status before and the status the hold gave it. The hold's status is
 * in the mark so that a release with no record can tell "held" from "disabled by an admin since" (a mark
 * written before the hold's status was there, `held:<window>:<before>`, has no mode: it is read as before).
 */
export function heldMark(tags: string[] | undefined, windowId: string): { previous: QueueStatusName; mode?: HoldMode } | undefined {
  const prefix = `${HELD_TAG_PREFIX}${windowId}:`.toLowerCase();
  const tag = (tags ?? []).find((candidate) => candidate.toLowerCase().startsWith(prefix));
  const [previous, mode] = (tag?.slice(prefix.length).toLowerCase() ?? '').split(':');
  if (!previous || !(STATUS_NAMES as string[]).includes(previous)) return undefined;
  const held = mode === 'paused' || mode === 'disabled' ? mode : undefined;
  return { previous: previous as QueueStatusName, ...(held ? { mode: held } : {}) };
}

/** This window's marks among a definition's tags (one, unless something went wrong). */
const marksOf = (tags: string[] | undefined, windowId: string) =>
  (tags ?? []).filter((tag) => tag.toLowerCase().startsWith(`${HELD_TAG_PREFIX}${windowId}:`.toLowerCase()));

const sameTag = (a: string) => (b: string) => a.toLowerCase() === b.toLowerCase();

export type DefinitionName = Pick<HeldDefinition, 'id' | 'name'>;

/** Removes this window's marks from a definition (all but `keep`), each with the Tags API's DELETE. */
export async function dropMarks(
  client: DevOpsClient,
  held: DefinitionName,
  tags: string[] | undefined,
  windowId: string,
  keep?: string,
): Promise<void> {
  const build = await client.build();
  for (const tag of marksOf(tags, windowId).filter((mark) => !keep || !sameTag(keep)(mark))) {
    await client.call(
      `remove the window's mark from pipeline ${held.name}`,
      () => build.deleteDefinitionTag(client.project, held.id, tag),
      { expect: devOpsShape.tags },
    );
  }
}

/**
 * Marks a definition with its status before the hold (any other mark of this window goes first), with the
 * Tags API's PUT: the service ignores `tags` in a definition PUT. Throws when the answer lacks the mark.
 */
export async function addMark(
  client: DevOpsClient,
  held: HeldDefinition,
  tags: string[] | undefined,
  windowId: string,
  mode: HoldMode,
): Promise<void> {
  const wanted = heldTag(windowId, held.previous, mode);
  await dropMarks(client, held, tags, windowId, wanted);
  if (marksOf(tags, windowId).some(sameTag(wanted))) return;
  const build = await client.build();
  const after = await client.call(
    `mark pipeline ${held.name} as held (${wanted})`,
    () => build.addDefinitionTag(client.project, held.id, wanted),
    { expect: devOpsShape.tags },
  );
  if (!after.some(sameTag(wanted)))
    throw new Error(`Azure DevOps did not keep the window's mark ${wanted} on it; its status was not changed`);
}

export function readDefinition(client: DevOpsClient, held: DefinitionName): Promise<BuildDefinition | null> {
  return client.build().then((build) =>
    client.call(`read pipeline ${held.name}`, () => build.getDefinition(client.project, held.id), {
      expect: devOpsShape.resourceOrMissing,
    }),
  );
}
