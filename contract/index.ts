/**
 * The typed contract shared by workflows, activities, client, CLI and tests: workflow type names,
 * query/signal/update definitions, search-attribute keys, and the shapes of heartbeats and progress
 * details. Workflow code imports it (so: no Node builtins, only @temporalio/workflow and
 * @temporalio/common); the names here are the wire, and replay tests pin them.
 */
export * from './workflow-types.js';
export * from './messages.js';
export * from './search-attributes.js';
export * from './heartbeats.js';
export * from './progress.js';
