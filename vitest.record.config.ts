import { defineConfig } from 'vitest/config';

/** `npm run record-histories` (and `npm run record-cross-release`): record the histories the replay test replays. */
export default defineConfig({
  test: {
    include: ['test/replay/record-*.ts'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
