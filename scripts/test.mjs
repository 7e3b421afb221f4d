#!/usr/bin/env node
// `npm test`: every suite in one Jest run (ESM, against the real services that libs/testing starts when the
// TEST_* URLs are not given), then one plain summary line `N passed, N failed, N skipped` taken from Jest's JSON.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildWeb } from './build-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, '.cache', 'test-results');
mkdirSync(resultsDir, { recursive: true });
// One file per run: several runs may share the checkout.
const resultsFile = join(resultsDir, `jest-${process.pid}.json`);
rmSync(resultsFile, { force: true });

const env = {
  ...process.env,
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--no-warnings=ExperimentalWarning'].filter(Boolean).join(' '),
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
};
// Build every project first (incremental): tests that start built entry points (the launcher, workers) then find
// them current, and never run two writing builds at once.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const build = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(build.status ?? 1);
}
// The web app the gateway serves (Vite; skipped when its inputs are unchanged).
const web = buildWeb();
if (web.status !== 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(web.status);
}
// A whole run (no path or option given, as in CI) also type-checks the tests against the sources: Jest's swc
// transform strips types without checking them.
if (process.argv.length <= 2) {
  const check = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.spec.json')], { cwd: root, stdio: 'inherit' });
  if (check.status !== 0) {
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(check.status ?? 1);
  }
}
const args = [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', `--outputFile=${resultsFile}`, ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  let summary = '0 passed, 0 failed';
  if (existsSync(resultsFile)) {
    const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
    // Suites that fail to load count their error as a failure, so a broken file never disappears from the count.
    const brokenSuites = r.numRuntimeErrorTestSuites ?? 0;
    summary = `${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed, ${r.numPendingTests + r.numTodoTests} skipped`;
  }
  rmSync(resultsFile, { force: true });
  console.log(summary);
  process.exit(code ?? (signal ? 1 : 0));
});
