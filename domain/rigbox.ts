import type { z } from 'zod';
import { rigboxSnapshot, rigboxWorkspace } from './schemas.js';

/**
 * Rigbox API shapes as the docs give them (eager schemas for Node code; workflows use the types only).
 * Tolerant to extra fields (they are dropped, so history holds only what rigsnap uses), strict on the
 * fields rigsnap relies on.
 */
export const RigboxSnapshot = rigboxSnapshot();
export type RigboxSnapshot = z.infer<typeof RigboxSnapshot>;

/**
 * Statuses the docs name or imply. Rigbox may have more (an error state, say): the status stays a
 * string, and rigsnap only acts on these.
 */
export const KNOWN_STATUSES = ['running', 'stopped', 'stopping', 'starting'] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

export const RigboxWorkspace = rigboxWorkspace();
export type RigboxWorkspace = z.infer<typeof RigboxWorkspace>;

export { newestFirst } from './order.js';
