import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The project a `rheo` command or service started by an integration test reads when the test names
// none: the fraud example. Tests of other projects pass `--project` (or their own RHEO_PROJECT).
const FRAUD_PROJECT = fileURLToPath(new URL('./examples/fraud', import.meta.url));

// Two layers: unit tests need no services and run in parallel; integration tests share one real
// local stack, so their files run one at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          // Unit tests see the default local-stack ports whatever stack the developer runs beside them.
          env: { RHEO_STACK_PORT_OFFSET: '0' },
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          env: { RHEO_PROJECT: FRAUD_PROJECT },
        },
      },
    ],
  },
});
