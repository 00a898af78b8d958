/**
 * Test-only: domain/schemas.ts as a later release might change it (test/replay/schema-change.test.ts
 * bundles the workflows with this module in its place). A tightening (a checkpoint or snapshot name of
 * at most 1 character, which every recorded name fails) and a changed default (a fleet's
 * concurrency 1 instead of 10). Everything else is today's.
 */
import { z } from 'zod';
import * as today from '../../domain/schemas.js';

export * from '../../domain/schemas.js';

const shortName = () => z.string().max(1);

export const checkpointWorkspaceInput = () => today.checkpointWorkspaceInput().extend({ name: shortName() });
export const snapshotWorkspaceInput = () => today.snapshotWorkspaceInput().extend({ name: shortName() });
export const backupFleetInput = () => today.backupFleetInput().extend({ concurrency: z.number().int().min(1).max(200).default(1) });
