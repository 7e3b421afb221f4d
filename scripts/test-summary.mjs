// The pure parts of scripts/test.mjs (tested in test/test-summary.test.ts): the counts of a Jest-shaped JSON
// report and which Vitest files a run covers.

/** Counts of a Jest-shaped JSON report (Jest's and Vitest's); a suite that failed to load counts as a failure. */
export function countsOf(r) {
  const brokenSuites = r.numRuntimeErrorTestSuites ?? (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  return { passed: r.numPassedTests ?? 0, failed: (r.numFailedTests ?? 0) + brokenSuites, skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0) };
}

/**
 * The Vitest paths of a run: everything for a whole run; for a targeted one, the given paths that point into
 * apps/web (a path naming the app or a folder of it runs all of its component tests); null: no Vitest this run.
 * Options (`-t`, `--runInBand`, …) are Jest's; a run given only options runs no Vitest.
 */
export function vitestTargets(argv) {
  if (argv.length === 0) return [];
  const paths = argv.filter((a) => !a.startsWith('-'));
  if (paths.length !== argv.length) {
    // Values of options (`-t pattern`) are not paths.
    const values = new Set(argv.flatMap((a, i) => (a.startsWith('-') && !a.includes('=') && argv[i + 1] && !argv[i + 1].startsWith('-') ? [argv[i + 1]] : [])));
    return pickWeb(paths.filter((p) => !values.has(p)));
  }
  return pickWeb(paths);
}

export function pickWeb(paths) {
  const web = paths.map((p) => p.replace(/^\.\//, '')).filter((p) => p.startsWith('apps/web'));
  if (web.length === 0) return null;
  // Vitest runs from apps/web: its filters are relative to it ('' = everything there).
  // Its Jest files (test/, *.spec.ts) are not Vitest's: a run naming only those has no Vitest part.
  const rel = web.map((p) => p.replace(/^apps\/web\/?/, '')).filter((p) => p !== '' && !p.startsWith('test') && !/\.spec\.[cm]?tsx?$/.test(p));
  return web.some((p) => /^apps\/web\/?$/.test(p)) ? [] : rel.length ? rel : null;
}
