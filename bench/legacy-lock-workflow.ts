/**
 * Bench only (`npm run bench`, the old lock against the entity): the workflow API as rigsnap's workflow
 * files see it in the bench's "old lock" bundle. bench/lock-cost.ts bundles it in place of
 * '@temporalio/workflow' for imports from workflows/, so `patched('entity-2026-12')` answers false and
 * operations queue on the old per-workspace lock (`rigsnap-lock-<id>`), as runs started before the
 * entity still do (workflows/common.ts, withWorkspaceLock). Every other patch and export is the SDK's.
 */
import { patched as sdkPatched } from '@temporalio/workflow';

export * from '@temporalio/workflow';

/**
 * PATCHES.entity2026_12 of workflows/patches.ts, spelled out because bench/ may not import workflows/.
 * A renamed id would leave the entity in use: the bench checks which protocol ran and fails if it is not the old lock.
 */
const ENTITY_PATCH = 'entity-2026-12';
/**
 * PATCHES.actions2026_12: a run that records it takes every earlier patch without asking (the entity's
 * included), so this bundle answers it false too, and each earlier patch is asked as old code asked it.
 */
const ACTIONS_PATCH = 'actions-2026-12';

/** The SDK's patched(), except that the entity's change is never taken (and leaves no marker, as old code). */
export function patched(patchId: string): boolean {
  return patchId === ENTITY_PATCH || patchId === ACTIONS_PATCH ? false : sdkPatched(patchId);
}
