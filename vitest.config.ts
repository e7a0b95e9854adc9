import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Kernel-checked suites create namespaces; run files one at a time on this 2-core machine.
    fileParallelism: false,
  },
});
