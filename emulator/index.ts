export * from './server.js';
export * from './state.js';
export { DEMO_WORKSPACES } from './demo.js';
