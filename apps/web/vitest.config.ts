import { defineConfig } from 'vitest/config';

// Component tests of the web app (Vitest in happy-dom): src/**/*.test.ts(x). `npm test` runs them after Jest
// (scripts/test.mjs) and adds their counts to its summary line.
export default defineConfig({
  root: import.meta.dirname,
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
