/** The domain barrel for the client, the CLI and activities (never for workflows: it builds every zod schema, see domain/schemas.ts). */
export * from './constants.js';
export * from './errors.js';
export * from './ids.js';
export * from './inputs.js';
export * from './polling.js';
export * from './results.js';
export * from './retention.js';
export * from './rigbox.js';
export * from './time.js';
export * from './lock.js';
export * from './links.js';
export * from './audit.js';
export * from './backup-names.js';
export * from './notice.js';
