import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface WorkDirLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Scratch space of running jobs: `<root>/<host>-<pid>-<random>/<job>/` per process, so processes sharing the root
 * never touch each other's files. A folder left by a process of this host that no longer runs (killed mid-job) is
 * removed at start.
 */
export class WorkDirRepository {
  readonly processDir: string;
  private readonly host: string;

  constructor(
    readonly root: string,
    private readonly logger: WorkDirLogger,
  ) {
    this.host = hostname().replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 64) || 'host';
    this.processDir = join(root, `${this.host}-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** Removes the folders of dead processes of this host; returns how many. */
  async removeAbandoned(): Promise<number> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const entry of entries) {
      const m = /^(.+)-(\d+)-[0-9a-f]{8}$/.exec(entry.name);
      if (!entry.isDirectory() || !m || m[1] !== this.host || join(this.root, entry.name) === this.processDir) continue;
      if (isAlive(Number(m[2]))) continue;
      await rm(join(this.root, entry.name), { recursive: true, force: true });
      removed++;
    }
    if (removed > 0) this.logger.info({ root: this.root, removed }, 'removed work folders of stopped transcoder processes');
    return removed;
  }

  /** A fresh, empty folder for one attempt of a job. */
  async create(videoId: string, attempt: number): Promise<string> {
    // Video ids are UUIDs; anything else is made safe for a path (ffmpeg output patterns must not contain '%').
    const name = `${videoId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100)}-${attempt}`;
    const dir = join(this.processDir, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async remove(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.logger.warn({ err, dir }, 'could not remove a work folder'));
  }

  /** At stop, once no job runs: the process folder. */
  async close(): Promise<void> {
    await rm(this.processDir, { recursive: true, force: true }).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
