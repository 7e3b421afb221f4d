import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { getFreePort } from './internal/ports.js';
import { spawnService, type ServiceProcess } from './internal/process.js';
import { createRunDir, registerPid, removeRunDir, subDir } from './internal/run-dir.js';
import { ensureDebianPackage, ensureSystemUser, isRoot } from './internal/system.js';
import { waitUntil } from './internal/wait.js';

export interface StartPgBouncerOptions {
  /** The server behind it: a `postgres://user:password@host:port/…` URL (its user and password log in to both). */
  serverUrl: string;
  /** `transaction` (default), `session` or `statement`. */
  poolMode?: 'transaction' | 'session' | 'statement';
  /** Server connections per database/user pair (default 10). */
  poolSize?: number;
  /** Startup parameters PgBouncer accepts and drops instead of refusing the client (default: `extra_float_digits`). */
  ignoreStartupParameters?: readonly string[];
  runDir?: string;
  /** How long start (and install) may take (ms). Default 60 s, plus up to 10 min for an apt install. */
  timeoutMs?: number;
}

export interface PgBouncerHandle {
  port: number;
  /** `serverUrl` with host and port replaced by PgBouncer's (any database name of the server works). */
  url: string;
  /** `url` for another database of the server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `pgbouncer` (installed with apt-get as root when missing) on loopback in front of one PostgreSQL
 * server: every database of it (`* =` fallback entry), SCRAM auth with the server URL's user and password, pool mode
 * `transaction` unless told otherwise. As root it runs as the OS user `postgres` (PgBouncer refuses root).
 */
export async function startPgBouncer(options: StartPgBouncerOptions): Promise<PgBouncerHandle> {
  const ownsRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? createRunDir();
  const dir = subDir(runDir, 'pgbouncer');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const binary = await ensureDebianPackage({ binary: 'pgbouncer', packages: ['pgbouncer'], logFile: join(dir, 'apt.log') });
  const owner = isRoot() ? await ensureSystemUser('postgres', join(dir, 'setup.log')) : undefined;
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const port = await getFreePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const authFile = join(dir, 'userlist.txt');
  writeFileSync(authFile, `${quote(user)} ${quote(password)}\n`, { mode: 0o600 });
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${authFile}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 10}`,
      'max_client_conn = 500',
      `ignore_startup_parameters = ${(options.ignoreStartupParameters ?? ['extra_float_digits']).join(',')}`,
      'server_login_retry = 1',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  if (owner) for (const f of [dir, authFile, ini]) chownSync(f, owner.uid, owner.gid);
  const proc: ServiceProcess = spawnService({
    name: 'pgbouncer',
    command: binary,
    args: [ini],
    logFile: join(dir, 'pgbouncer.log'),
    cwd: dir,
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  registerPid(runDir, proc.pid);
  const urlFor = (database: string): string => {
    const u = new URL(options.serverUrl);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const url = urlFor(server.pathname.replace(/^\//, '') || 'postgres');
  try {
    await waitUntil(
      `pgbouncer on port ${port}`,
      async () => {
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => {});
        }
      },
      { timeoutMs, intervalMs: 100, process: proc },
    );
  } catch (err) {
    await proc.stop('SIGKILL', 1000);
    throw err;
  }
  return {
    port,
    url,
    urlFor,
    async stop() {
      await proc.stop('SIGINT', 10_000);
      if (ownsRunDir) removeRunDir(runDir);
    },
  };
}
