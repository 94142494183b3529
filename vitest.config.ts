// CommonJS syntax on purpose: package.json has "type": "commonjs", and ESM syntax
// here makes Vite warn on every run.
const { defineConfig } = require('vitest/config') as typeof import('vitest/config');

// 2-core machine: at most two test files (each with its own servers) at once.
module.exports = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
