import { defineConfig } from 'vitest/config';

/** `npm run record-histories`: records the histories the replay test replays. */
export default defineConfig({
  test: {
    include: ['test/replay/record-histories.ts'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
