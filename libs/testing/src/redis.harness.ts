import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { getFreePort } from './internal/ports.js';
import { spawnService, type ServiceProcess } from './internal/process.js';
import { createRunDir, registerPid, removeRunDir, subDir } from './internal/run-dir.js';
import { ensureDebianPackage } from './internal/system.js';
import { waitUntil } from './internal/wait.js';

export interface StartRedisOptions {
  /** Folder for the log; default: a new temp folder that `stop()` removes. */
  runDir?: string;
  /** Default: a free loopback port. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '64mb']`. */
  args?: string[];
  /** How long start (and install) may take (ms). Default 60 s, plus up to 10 min for an apt install. */
  timeoutMs?: number;
}

export interface RedisHandle {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Whether the server process is up. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, no persistence). `start()` brings it back on the same port. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is saved); a no-op while it runs. */
  start(): Promise<void>;
}

/** Sends PING over a raw socket; resolves true on +PONG. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * Starts Debian's `redis-server` on loopback (no persistence), installing the package first when it is missing
 * and we are root.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const ownsRunDir = options.runDir === undefined;
  let runDir = options.runDir ?? createRunDir();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const binary = await ensureDebianPackage({
    binary: 'redis-server',
    packages: ['redis-server'],
    logFile: join(subDir(runDir, 'redis'), 'apt.log'),
  });
  const port = options.port ?? (await getFreePort());
  let server: ServiceProcess | undefined;

  const start = async (): Promise<void> => {
    if (server?.running) return;
    if (ownsRunDir && !existsSync(runDir)) runDir = createRunDir();
    const dir = subDir(runDir, 'redis');
    server = spawnService({
      name: 'redis-server',
      command: binary,
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--logfile', '', ...(options.args ?? [])],
      logFile: join(dir, 'redis.log'),
      cwd: dir,
    });
    registerPid(runDir, server.pid);
    const started = server;
    try {
      await waitUntil(`redis-server on port ${port}`, () => pingRedis(port), { timeoutMs, intervalMs: 50, process: started });
    } catch (err) {
      await started.stop('SIGKILL', 1_000);
      throw err;
    }
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return server?.running ?? false;
    },
    start,
    async stop() {
      await server?.stop('SIGTERM', 10_000);
      if (ownsRunDir) removeRunDir(runDir);
    },
  };
}

/**
 * The names of the connections a Redis server holds (`CLIENT LIST` through `admin`, any ioredis client) that start
 * with `prefix`, sorted: what a test counts to see which clients a process opened.
 */
export async function redisConnectionNames(admin: { client(subcommand: 'LIST'): Promise<unknown> }, prefix: string): Promise<string[]> {
  const list = String(await admin.client('LIST'));
  return list
    .split('\n')
    .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(prefix))
    .sort();
}

