import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { HarnessError, runCommand } from './process.js';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The absolute path of an executable found on PATH (plus the sbin folders), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

// apt/dpkg take a global lock: installs requested at the same time (redis and a JDK) run one after the other.
let aptQueue: Promise<unknown> = Promise.resolve();
let aptUpdated = false;

export interface DebianPackageRequest {
  /** The executable that must exist afterwards. */
  binary: string;
  /** Debian packages that provide it. */
  packages: string[];
  /** Where apt-get's output goes. */
  logFile: string;
}

/**
 * Returns the path of `binary`, installing `packages` with apt-get when it is missing (root only: other users
 * get an error that says what to install). `apt-get update` runs at most once per process, and only when the
 * install fails without it.
 */
export async function ensureDebianPackage(request: DebianPackageRequest): Promise<string> {
  const found = findExecutable(request.binary);
  if (found) return found;
  const command = `apt-get install -y --no-install-recommends ${request.packages.join(' ')}`;
  if (!isRoot()) {
    throw new HarnessError(`\`${request.binary}\` is not installed and only root can install it here. Run: sudo ${command}`);
  }
  const run = aptQueue.then(async () => {
    if (findExecutable(request.binary)) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      runCommand({
        name: `apt-get install ${request.packages.join(' ')}`,
        command: 'apt-get',
        args: ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...request.packages],
        logFile: request.logFile,
        env,
      });
    try {
      await install();
    } catch (err) {
      if (aptUpdated) throw err;
      aptUpdated = true;
      await runCommand({
        name: 'apt-get update',
        command: 'apt-get',
        args: ['-o', 'DPkg::Lock::Timeout=300', 'update'],
        logFile: request.logFile,
        env,
      });
      await install();
    }
  });
  aptQueue = run.catch(() => undefined);
  await run;
  const installed = findExecutable(request.binary);
  if (!installed) {
    throw new HarnessError(`\`${command}\` succeeded but \`${request.binary}\` is still not on PATH`, request.logFile);
  }
  return installed;
}

export interface OsUser {
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up in /etc/passwd. */
export function lookupUser(name: string): OsUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== name) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, home: fields[5] ?? '/' };
  }
  return undefined;
}

/** The OS user `name`, created as a system user when missing (root only). */
export async function ensureSystemUser(name: string, logFile: string): Promise<OsUser> {
  const existing = lookupUser(name);
  if (existing) return existing;
  await runCommand({
    name: `useradd ${name}`,
    command: findExecutable('useradd') ?? 'useradd',
    args: ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name],
    logFile,
  });
  const created = lookupUser(name);
  if (!created) throw new HarnessError(`useradd ${name} ran but the user is not in /etc/passwd`, logFile);
  return created;
}
