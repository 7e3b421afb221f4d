#!/usr/bin/env node
// `npm test`: every suite in one Jest run (ESM, against the real services that libs/testing starts when the
// TEST_* URLs are not given), then the web app's component tests (Vitest in happy-dom, apps/web/src/**/*.test.ts(x)),
// then one plain summary line `N passed, N failed, N skipped`: the sum of Jest's and Vitest's JSON reports. Vitest
// runs on a whole run and when a path given points into apps/web; a failure of either makes the run fail.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildWeb } from './build-web.mjs';
import { countsOf, vitestTargets } from './test-summary.mjs';

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
const jestArgs = process.argv.slice(2);
const webTargets = vitestTargets(jestArgs);
// A run of only web component tests finds no Jest test: that is no failure then.
const args = [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', `--outputFile=${resultsFile}`, ...(webTargets ? ['--passWithNoTests'] : []), ...jestArgs];

function runVitest(targets) {
  const file = join(resultsDir, `vitest-${process.pid}.json`);
  rmSync(file, { force: true });
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const r = spawnSync(process.execPath, [vitest, 'run', '--root', join(root, 'apps/web'), '--reporter=default', '--reporter=json', `--outputFile.json=${file}`, ...targets], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? '' },
    stdio: 'inherit',
  });
  let counts = { passed: 0, failed: r.status === 0 ? 0 : 1, skipped: 0 };
  if (existsSync(file)) {
    counts = countsOf(JSON.parse(readFileSync(file, 'utf8')));
    // Vitest failed without a failing test (a config or load error): never a silent pass.
    if (r.status !== 0 && counts.failed === 0) counts.failed = 1;
  }
  rmSync(file, { force: true });
  return { counts, ok: r.status === 0 };
}

{
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    let total = { passed: 0, failed: 0, skipped: 0 };
    if (existsSync(resultsFile)) total = countsOf(JSON.parse(readFileSync(resultsFile, 'utf8')));
    // Jest ended without a report (its global setup failed): a failure, never an empty pass.
    else if ((code ?? 1) !== 0) total.failed = 1;
    rmSync(resultsFile, { force: true });
    let exit = code ?? (signal ? 1 : 0);
    const targets = signal ? null : webTargets;
    if (targets) {
      const v = runVitest(targets);
      total = { passed: total.passed + v.counts.passed, failed: total.failed + v.counts.failed, skipped: total.skipped + v.counts.skipped };
      if (!v.ok && exit === 0) exit = 1;
    }
    console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
    process.exit(exit);
  });
}
