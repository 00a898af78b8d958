/**
 * Test-only: domain/input-revisions.ts as a later release would write the same changes as
 * test/replay/made-up-schemas.ts makes in place (a checkpoint or snapshot name of at most 1 character,
 * a fleet's default concurrency 1), but as revisions guarded by patched(). test/replay/schema-change.test.ts
 * bundles the workflows with this module in its place.
 */
import { z } from 'zod';
import type { InputRevision, InputWorkflowType } from '../../domain/input-revisions.js';
import * as today from '../../domain/schemas.js';

export type { InputRevision, InputWorkflowType } from '../../domain/input-revisions.js';

const shortName = () => z.string().max(1);

export const INPUT_REVISIONS: Readonly<Partial<Record<InputWorkflowType, readonly InputRevision[]>>> = {
  checkpointWorkspace: [
    { patchId: 'input-checkpointWorkspace-2099-01-short-name', schema: () => today.checkpointWorkspaceInput().extend({ name: shortName() }) },
  ],
  snapshotWorkspace: [{ patchId: 'input-snapshotWorkspace-2099-01-short-name', schema: () => today.snapshotWorkspaceInput().extend({ name: shortName() }) }],
  backupFleet: [
    {
      patchId: 'input-backupFleet-2099-01-concurrency-1',
      schema: () => today.backupFleetInput().extend({ concurrency: z.number().int().min(1).max(200).default(1) }),
    },
  ],
};
