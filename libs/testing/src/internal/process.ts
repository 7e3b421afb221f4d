import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';

/** An error that points at the log file of the process that failed, with its last lines. */
export class HarnessError extends Error {
  constructor(message: string, readonly logFile?: string) {
    super(logFile ? `${message}\n  log: ${logFile}\n${indent(tailFile(logFile))}` : message);
    this.name = 'HarnessError';
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n');
}

/** The last `lines` lines of a file ('' when it cannot be read). */
export function tailFile(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(log file not readable)';
  }
}

export interface SpawnOptions {
  /** Short name used in messages ("postgres primary", "redis"). */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended to this file; nothing is swallowed. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this OS user (root only); libuv also drops the supplementary groups. */
  uid?: number;
  gid?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running child process whose output goes to a log file. */
export class ServiceProcess {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  constructor(private readonly child: ChildProcess, options: SpawnOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    if (child.pid === undefined) throw new HarnessError(`${options.name}: could not start ${options.command}`, options.logFile);
    this.pid = child.pid;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    live.add(this);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Describes how the process ended, for error messages. */
  describeExit(): string {
    if (!this.exitInfo) return 'still running';
    return this.exitInfo.signal ? `killed by ${this.exitInfo.signal}` : `exited with code ${this.exitInfo.code}`;
  }

  /** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout' && this.running) {
      appendFileSync(this.logFile, `\n[harness] ${this.name} did not stop within ${timeoutMs} ms after ${signal}: SIGKILL\n`);
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /**
   * Lets the Node process exit while this child runs (a service shared for the life of a Jest worker, stopped by
   * the exit hook below instead of an afterAll).
   */
  unref(): void {
    this.child.unref();
  }

  /** Synchronous last resort (process exit, Ctrl-C). */
  killNow(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

/** Every service process of this Node process that has not exited yet. */
const live = new Set<ServiceProcess>();

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the process ends without stopping its services (a crash, process.exit), do not leave them behind.
  process.once('exit', () => {
    for (const p of live) p.killNow('SIGKILL');
  });
}

/** The service processes still running in this Node process. */
export function liveServiceProcesses(): ServiceProcess[] {
  return [...live];
}

function openLog(options: SpawnOptions): number {
  const fd = openSync(options.logFile, 'a');
  const who = options.uid !== undefined ? ` (uid ${options.uid})` : '';
  appendFileSync(fd, `[harness] ${new Date().toISOString()} $ ${options.command} ${options.args.join(' ')}${who}\n`);
  return fd;
}

let ownProcessGroups = false;

/**
 * From now on, long-running processes start in process groups of their own (`setsid`), so that a terminal's Ctrl-C
 * (SIGINT to the foreground process group) reaches only this process, which then stops them in order: services
 * first, then Kafka, Redis and PostgreSQL (`npm run cluster`). Off by default: when a test runner is interrupted its
 * workers die without running exit hooks, and only the shared process group takes the servers down with them.
 * The exit hook still kills them when this process exits without stopping them.
 */
export function spawnInOwnProcessGroups(on = true): void {
  ownProcessGroups = on;
}

/** Starts a long-running process with stdout/stderr appended to `options.logFile`. */
export function spawnService(options: SpawnOptions): ServiceProcess {
  installExitHook();
  const fd = openLog(options);
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      uid: options.uid,
      gid: options.gid,
      detached: ownProcessGroups,
    });
    // A spawn failure (ENOENT, EACCES) arrives as an 'error' event, followed by no 'exit'.
    child.once('error', (err) => {
      appendFileSync(options.logFile, `[harness] spawn error: ${err.message}\n`);
    });
    return new ServiceProcess(child, options);
  } finally {
    closeSync(fd);
  }
}

/** Runs a command to completion (output to the log file); rejects with the log tail when it fails. */
export async function runCommand(options: SpawnOptions & { timeoutMs?: number }): Promise<void> {
  const fd = openLog(options);
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      uid: options.uid,
      gid: options.gid,
    });
  } finally {
    closeSync(fd);
  }
  const timeoutMs = options.timeoutMs ?? 600_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', (err) =>
        reject(new HarnessError(`${options.name}: cannot run ${options.command}: ${err.message}`, options.logFile)),
      );
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    if (code !== 0) {
      const how = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}` : `exited with code ${code}`;
      throw new HarnessError(`${options.name}: \`${options.command} ${options.args.join(' ')}\` ${how}`, options.logFile);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** True when a process with this pid exists and is not a zombie (signal 0 probe, then /proc state). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // "pid (comm) S ...": the state follows the last ')'. A zombie has exited and only waits to be reaped.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust the signal probe
  }
}
