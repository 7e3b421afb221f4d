import Module from 'node:module';
import type { TestServices } from '../test-services.js';

// Jest loads global setup/teardown through a CommonJS transform (swc + a require hook), not as ESM, so the
// NodeNext-style `./x.js` specifiers of the harness must resolve to the `./x.ts` sources. Only `import type`
// stays static here (erased); the harness itself is loaded with `import()` once the resolver knows about it.
type ResolveFilename = (request: string, parent: unknown, ...rest: unknown[]) => string;
function resolveJsToTs(): void {
  const mod = Module as unknown as { _resolveFilename: ResolveFilename & { kinoraTs?: true } };
  if (typeof require !== 'function' || mod._resolveFilename.kinoraTs) return; // real ESM: nothing to do
  const original = mod._resolveFilename;
  const patched: ResolveFilename & { kinoraTs?: true } = function (this: unknown, request, parent, ...rest) {
    try {
      return original.call(this, request, parent, ...rest);
    } catch (err) {
      if (/^\.{1,2}\/.*\.js$/.test(request)) return original.call(this, `${request.slice(0, -3)}.ts`, parent, ...rest);
      throw err;
    }
  };
  patched.kinoraTs = true;
  mod._resolveFilename = patched;
}

declare global {
  // Shared with global-teardown.ts: both run in Jest's main process.
  var __KINORA_TEST_HARNESS__: { services: TestServices; removeSignalHandlers(): void } | undefined;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Kubernetes is deliberately not started here: suites that need it call `getTestKubernetes()` (one cluster per
 * Jest worker, started on first use, or the one `TEST_KUBECONFIG` names), so a run of unrelated suites never
 * builds or starts it. Its run folders are `kinora-test-*` folders too, so the stale-run cleanup below covers them.
 *
 * Starts PostgreSQL (primary + replica), Redis and Kafka unless `TEST_*` variables point at existing ones, and
 * exports their addresses as `TEST_*` variables, which the Jest workers inherit. `KINORA_TEST_SERVICES=none`
 * skips it all (a run of pure unit tests).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.KINORA_TEST_SERVICES === 'none') {
    process.stderr.write('\n[@kinora/testing] KINORA_TEST_SERVICES=none: no services started (unit tests only)\n');
    return;
  }
  resolveJsToTs();
  const { startTestServices } = await import('../test-services.js');
  const { cleanupStaleRunDirs, killRunDirProcessesSync, removeRunDir } = await import('../internal/run-dir.js');

  const stale = cleanupStaleRunDirs();
  if (stale.length > 0) process.stderr.write(`[@kinora/testing] removed ${stale.length} folder(s) left by killed runs\n`);

  const services = await startTestServices();
  Object.assign(process.env, services.vars);

  // Ctrl-C or a kill of Jest: Jest has no handler of its own and would not run the global teardown. The first
  // signal stops the services gracefully (bounded); a second one, or a stop that hangs, kills them at once.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    const hardStop = () => {
      killRunDirProcessesSync(services.runDir, 0);
      removeRunDir(services.runDir);
      process.exit(code);
    };
    if (stopping) return hardStop();
    stopping = true;
    process.stderr.write(`\n[@kinora/testing] ${signal}: stopping the test services (again to kill them)\n`);
    setTimeout(hardStop, 30_000).unref();
    void services
      .stop()
      .catch((err: unknown) => process.stderr.write(`[@kinora/testing] stop failed: ${String(err)}\n`))
      .finally(() => process.exit(code));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  globalThis.__KINORA_TEST_HARNESS__ = {
    services,
    removeSignalHandlers: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };

  const t = services.timings;
  const parts = services.started.map((name) => `${name} ${seconds(t[name])}`);
  process.stderr.write(
    `\n[@kinora/testing] ${parts.length > 0 ? `${parts.join(', ')}; all up in ${seconds(t.total)}` : 'all services given by TEST_* variables'}` +
      ` (data and logs: ${services.runDir})\n`,
  );
}
