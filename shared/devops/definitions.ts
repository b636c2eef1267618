/**
 * Holding scheduled jobs for the window (the runbook's "Reschedule Jobs", stage Pre-Maintenance) and starting
 * them again after it: each selected pipeline definition's queue status goes to paused (queued runs wait) or
 * disabled (nothing is queued), and back to exactly what it was.
 *
 * A definition update is a PUT of the whole definition carrying the revision it was read at, so a concurrent
 * edit in the web UI is never overwritten: a stale revision is refused (409, or 404 on some servers) and the
 * definition is read again. The undo record lists every definition hold is about to change with its previous
 * status, and is written before the first update; release restores only what hold changed and is still in the
 * state hold left it, so it can run twice, after a crash half-way, or from a later run.
 *
 * Each held definition also carries the window's mark, a definition tag. The service ignores `tags` sent in a
 * definition PUT or POST (MicrosoftDocs/vsts-rest-api-specs issue #429): only the definition Tags API
 * (`_apis/build/definitions/{id}/tags/{tag}`, PUT to add, DELETE to remove) changes them. So the mark is its
 * own write, made (and read back) before the status changes, and removed only once the status is back.
 */

// The parts live in modules of their own; this one keeps the names every caller imports.
export { HELD_TAG_PREFIX, heldMark, heldTag, queueStatusName, type HoldMode, type QueueStatusName } from './held-marks';
export {
  QUEUE_STATUS_RECORD_KIND,
  validateQueueStatusRecord,
  type DefinitionOutcome,
  type HeldDefinition,
  type QueueStatusRecordData,
} from './held-record';
export { buildSelections, selectDefinitions, type PipelineSelection, type SelectedDefinition } from './pipeline-selection';
export { holdDefinitions, type HoldOptions } from './hold';
export { heldPipelinesKind, releaseOutcomes, type HeldItem } from './held-pipelines-kind';
