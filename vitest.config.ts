import { defineConfig } from 'vitest/config';

// Two projects. unit: parsers, collectors on recorded trees, the agent runtime on an
// in-process broker, config, schema — node modules only, no global setup, seconds
// (`npm run test:unit`). integration: the real components (influxd, mosquitto, redis,
// victoria-metrics, openssl, Debian's Node 18, the compiled dist/), started by the global
// setup or by the tests themselves. `npm test` runs both.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the suites start real servers; keep parallelism modest.
    maxWorkers: 2,
    projects: [
      // isolate: false: the unit files share one module cache per worker (imports are most of their time).
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/integration/setup.ts'] } },
    ],
  },
});
