import { describe, expect, it } from '@jest/globals';
import { countsOf, vitestTargets } from '../scripts/test-summary.mjs';

// `npm test` adds the web app's Vitest counts to Jest's in its one summary line (scripts/test.mjs).
describe('the npm test summary', () => {
  it('counts passed, failed (broken suites included) and skipped tests of Jest and Vitest reports', () => {
    expect(countsOf({ numPassedTests: 5, numFailedTests: 1, numPendingTests: 2, numTodoTests: 1, numRuntimeErrorTestSuites: 1 })).toEqual({ passed: 5, failed: 2, skipped: 3 });
    // Vitest's report: a file that failed to load has no assertions.
    const vitest = {
      numPassedTests: 3,
      numFailedTests: 0,
      numPendingTests: 0,
      numTodoTests: 0,
      testResults: [
        { status: 'passed', assertionResults: [{}, {}, {}] },
        { status: 'failed', assertionResults: [] },
      ],
    };
    expect(countsOf(vitest)).toEqual({ passed: 3, failed: 1, skipped: 0 });
  });

  it('runs Vitest on a whole run and for paths into apps/web, not for other targeted runs', () => {
    expect(vitestTargets([])).toEqual([]);
    expect(vitestTargets(['apps/web'])).toEqual([]);
    expect(vitestTargets(['./apps/web/'])).toEqual([]);
    expect(vitestTargets(['apps/web/src/watch'])).toEqual(['src/watch']);
    expect(vitestTargets(['apps/web/src/player/Controls.test.tsx', 'libs/config'])).toEqual(['src/player/Controls.test.tsx']);
    expect(vitestTargets(['apps/web/test/watch.e2e.test.ts'])).toBeNull();
    expect(vitestTargets(['apps/web/src/studio.spec.ts'])).toBeNull(); // a Jest spec of the web app
    expect(vitestTargets(['apps/web/src/web.spec.ts', 'apps/web/src/watch/chat.test.ts'])).toEqual(['src/watch/chat.test.ts']);
    expect(vitestTargets(['libs/testing'])).toBeNull();
    expect(vitestTargets(['-t', 'apps/web'])).toBeNull();
    expect(vitestTargets(['apps/user', '-t', 'likes'])).toBeNull();
  });
});
