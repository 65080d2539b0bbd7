import { defineConfig } from 'vitest/config';

// Each test file runs in its own process: chDB and PGlite hold per-process engines, and servers bind port 0.
export default defineConfig({
  test: {
    include: ['{platform,schema,replica,hub,edge-agent,loadtest,console,demo}/test/**/*.test.ts'],
    pool: 'forks',
    // One migrated PGlite template for the run: hubs load it instead of creating a database each.
    globalSetup: ['hub/test/support/pglite-template-setup.ts'],
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
