/*
 * Vitest configuration. Test files run in child processes ('forks'): Dawn is a
 * native addon and is happiest with a process of its own. SwiftShader compiles
 * each compute pipeline in seconds, so timeouts are generous.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    setupFiles: ['test/setup.ts'],
    // 'default' prints one line per file and the closing summary, on a TTY or not. In CI a
    // JSON report too, from which .ci/run prints the plain 'N passed, M failed' closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});
