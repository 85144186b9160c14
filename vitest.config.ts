import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'protocol/**/*.test.ts', 'agent/**/*.test.ts', 'collector/**/*.test.ts', 'dashboards/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real influxd/snmpd processes; two cores are all we have.
    maxWorkers: 2,
  },
});
