import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the tests on the production topology (dev/cluster.ts: PostgreSQL, Temporal
 * Server, the Web UI, worker processes). Kept out of `npm test`: each test starts its own cluster,
 * minutes on a shared 2-core machine. No global dev server.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    pool: 'forks',
    // One cluster at a time: they compete for the same two cores.
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
