/**
 * Input revisions: how a workflow's input schema changes without breaking the runs already going.
 *
 * Workflows validate their input in workflow code (workflows/common.ts `checkedInput`), so the schema
 * runs again on every replay. A change that refuses an input accepted before (a tightening) or changes a
 * default would change what an old run does when it replays on a new worker: a nondeterminism error, or
 * an InvalidInput in the middle of a week-long checkpoint. So the schemas in domain/schemas.ts only ever
 * loosen (a new optional field, a wider range); a tightening or a changed default is a revision here:
 * a patch id and the schema that applies from it on. `checkedInput` asks `patched()` for each revision
 * of its workflow type, in order, and validates with the last one granted: a run started before the
 * revision replays with the schema it started with, a run started after it gets the new one.
 *
 * A revision is never edited or removed while a run started before it may still replay (the same rule
 * as for patches: workflows/patches.ts). test/replay/schema-change.test.ts shows both sides: a made-up
 * tightening as a revision replays every recorded history, the same tightening made in place does not.
 *
 * None yet.
 */
import type { z } from 'zod';
import type { INPUT_SCHEMAS } from './inputs.js';

export type InputWorkflowType = keyof typeof INPUT_SCHEMAS;

export interface InputRevision {
  /** The patch id that guards it: `input-<workflow type>-<yyyy-mm>-<what>`, never reused. */
  patchId: string;
  /** The whole schema from this revision on (build it from the previous one with `.extend()` or `.refine()`). */
  schema: () => z.ZodType;
}

export const INPUT_REVISIONS: Readonly<Partial<Record<InputWorkflowType, readonly InputRevision[]>>> = {};
