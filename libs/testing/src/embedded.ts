import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFreePort } from './internal/ports.js';
import { waitUntil } from './internal/wait.js';
import { repoRoot } from './internal/workspace.js';
import { createTestDatabase } from './test-database.js';

export interface EmbeddedOptions {
  /** Prefix of the test database (`createTestDatabase`). Default `kinora_embedded`. */
  databasePrefix?: string;
  /** The launcher's `LOG_LEVEL`. Default `warn`. */
  logLevel?: string;
  /** Extra environment of the launcher (e.g. `COUNTER_FLUSH_INTERVAL_MS`, `TRANSCODE_PRESET`). */
  env?: Record<string, string>;
  /** How long the launcher may take to answer /readyz (ms). Default 90 s. */
  readyTimeoutMs?: number;
}

export interface EmbeddedHandle {
  /** `http://127.0.0.1:<port>`, also the launcher's PUBLIC_URL. */
  url: string;
  /** The launcher's `KINORA_DATA_DIR` (object storage, uploads), removed by `stop()`. */
  dataDir: string;
  /** Its test database (primary), for checking state behind the API; dropped by `stop()`. */
  databaseUrl: string;
  /** The launcher's output so far (stdout and stderr). */
  logs(): string;
  /** SIGTERM and wait for the exit, then drop the database and the data folder. */
  stop(): Promise<void>;
}

/**
 * The all-in-one platform as `npm start` runs it: the built launcher (`apps/kinora/dist/main.js`) as its own process
 * on a fresh test database with its streaming replica, a loopback port and a temp data folder; resolves once /readyz
 * answers 200. The counterpart of `startCluster` for suites that run a journey in both modes.
 */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedHandle> {
  const root = repoRoot();
  const tdb = await createTestDatabase(options.databasePrefix ?? 'kinora_embedded');
  const dataDir = mkdtempSync(join(tmpdir(), 'kinora-embedded-data-'));
  const cleanUp = async (): Promise<void> => {
    await tdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  // A free port can be taken by another process between the probe and the launcher's listen (busy CI machines):
  // EADDRINUSE before readiness is retried on a new port; any other early exit fails at once with the output.
  for (let attempt = 1; ; attempt++) {
    const port = await getFreePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    const launcher = spawn(process.execPath, [join(root, 'apps/kinora/dist/main.js')], {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        DATABASE_URL: tdb.url,
        DATABASE_REPLICA_URLS: tdb.replicaUrl,
        KINORA_DATA_DIR: dataDir,
        LOG_LEVEL: options.logLevel ?? 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    launcher.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const stopLauncher = async (): Promise<void> => {
      if (launcher.exitCode === null && launcher.signalCode === null) {
        const exited = new Promise((r) => launcher.once('exit', r));
        launcher.kill('SIGTERM');
        await exited;
      }
    };
    let state: 'ready' | 'exited';
    try {
      state = await waitUntil(
        'the embedded platform is ready',
        async () => {
          if (launcher.exitCode !== null || launcher.signalCode !== null) return 'exited' as const;
          return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? ('ready' as const) : undefined;
        },
        { timeoutMs: options.readyTimeoutMs ?? 90_000, intervalMs: 250 },
      );
    } catch (err) {
      await stopLauncher();
      await cleanUp();
      throw new Error(`${(err as Error).message}; launcher output: ${output.slice(-2000)}`);
    }
    if (state === 'exited') {
      // The launcher's own port check says "port … is already in use"; a lost race at listen() says EADDRINUSE.
      if (/EADDRINUSE|port \S+ is already in use/.test(output) && attempt < 3) continue;
      await cleanUp();
      throw new Error(`the launcher exited before it was ready: ${output.slice(-2000)}`);
    }
    const stop = async (): Promise<void> => {
      await stopLauncher();
      await cleanUp();
    };
    return { url, dataDir, databaseUrl: tdb.url, logs: () => output, stop };
  }
}
