/** The Rigbox emulator's public surface: the HTTP server, its state and the demo workspaces. */
export * from './server.js';
export * from './state.js';
export { DEMO_WORKSPACES } from './demo.js';
