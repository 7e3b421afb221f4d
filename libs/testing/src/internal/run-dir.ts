import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from './process.js';

/**
 * Every harness run owns one temp folder `<tmpdir>/kinora-test-XXXXXX`: data folders, configs, logs, plus
 * `owner.pid` (the Node process that started the services) and `pids` (every service process, one a line).
 * A later run uses these files to end what a killed run left behind.
 */
const PREFIX = 'kinora-test-';

export function createRunDir(): string {
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  // Services that drop root (postgres) must be able to walk into it.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  return dir;
}

/** A sub-folder of the run folder, created on demand. */
export function subDir(runDir: string, name: string): string {
  const dir = join(runDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

export function registerPid(runDir: string, pid: number): void {
  appendFileSync(join(runDir, 'pids'), `${pid}\n`);
}

function readPids(runDir: string): number[] {
  try {
    return readFileSync(join(runDir, 'pids'), 'utf8')
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/**
 * Our services all run with their working directory inside the run folder (postgres chdirs to its data folder,
 * redis to `--dir`, java is started there), so a pid recorded in `pids` is only ours if its cwd still points
 * into the folder: a recycled pid is never touched.
 */
function belongsTo(pid: number, runDir: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).startsWith(runDir);
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Synchronously ends the recorded processes of a run folder that still run there (SIGTERM, then SIGKILL after
 * `graceMs`). Safe to call from signal and exit handlers.
 */
export function killRunDirProcessesSync(runDir: string, graceMs = 5_000): number[] {
  const pids = readPids(runDir).filter((pid) => belongsTo(pid, runDir));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(pidAlive) && Date.now() < deadline) sleepSync(50);
  for (const pid of pids.filter(pidAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Removes a run folder; never throws (a failure is reported on stderr and the next run retries). */
export function removeRunDir(runDir: string): void {
  try {
    rmSync(runDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (err) {
    process.stderr.write(`[@kinora/testing] could not remove ${runDir}: ${(err as Error).message}\n`);
  }
}

/**
 * Ends the processes and removes the folders of earlier runs whose owner process is gone (a run killed with
 * SIGKILL, a crashed Jest). Returns the folders cleaned.
 */
export function cleanupStaleRunDirs(): string[] {
  const cleaned: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((name) => name.startsWith(PREFIX));
  } catch {
    return cleaned;
  }
  for (const name of entries) {
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number.parseInt(readFileSync(join(dir, 'owner.pid'), 'utf8'), 10);
    } catch {
      continue; // not ours, or not fully created: leave it
    }
    if (!Number.isInteger(owner) || owner === process.pid || pidAlive(owner)) continue;
    killRunDirProcessesSync(dir, 3_000);
    removeRunDir(dir);
    cleaned.push(dir);
  }
  return cleaned;
}
