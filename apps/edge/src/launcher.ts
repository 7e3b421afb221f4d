import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { assertPortFree, PortUnavailableError } from '@kinora/config/port-check';
import type { EdgeConfig } from './config.js';
import { renderNginxConf, runPaths, type RunPaths } from './render.js';

/** Start-up failed; the message is one line (nginx's own reason when it gave one), `details` has the rest. */
export class EdgeStartError extends Error {
  constructor(
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'EdgeStartError';
  }
}

export interface EdgeProcess {
  readonly pid: number;
  readonly paths: RunPaths;
  /** Resolves when the nginx master exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Re-renders for `config` (same run folder and ports), checks it with `nginx -t`, then reloads (SIGHUP). */
  reload(config: EdgeConfig): Promise<void>;
  /** `graceful` (SIGQUIT: finish open requests, at most worker_shutdown_timeout) or `fast` (SIGTERM). */
  stop(mode?: 'graceful' | 'fast'): Promise<void>;
  /** What nginx wrote to stdout/stderr so far (only with `stdio: 'pipe'`). */
  output(): string;
}

export interface StartEdgeOptions {
  /** nginx's own stdout/stderr: inherited (the entry point) or captured (tests). Default `pipe`. */
  stdio?: 'inherit' | 'pipe';
  /** How long to wait until every port accepts connections. Default 10 s. */
  readyTimeoutMs?: number;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function nginxArgs(config: EdgeConfig, conf: string): string[] {
  return ['-p', `${config.runDir}/`, '-c', conf];
}

/** nginx's most telling line, without its timestamp and pid (`[emerg] bind() to 127.0.0.1:80 failed …`). */
function firstReason(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim().replace(/^(nginx: |\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d )/, '').replace(/^(\[\w+\]) \d+#\d+: /, '$1 '))
    .filter(Boolean);
  return lines.find((l) => /\[(emerg|alert|crit)\]/.test(l)) ?? lines.find((l) => /\[error\]/.test(l)) ?? lines[0] ?? 'no output';
}

function run(bin: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new EdgeStartError(`nginx not found (NGINX_BIN=${bin}); install it: apt-get install -y --no-install-recommends nginx`)
          : err,
      ),
    );
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * When nginx starts as root its workers switch to another user (`nobody` unless EDGE_WORKER_USER says otherwise),
 * and those workers write the cache and the temp files: every folder above them must be searchable by others.
 */
async function checkReachableByWorkers(config: EdgeConfig, dirs: string[]): Promise<void> {
  if (!isRoot() || config.workerUser?.split(':')[0] === 'root') return;
  for (const dir of dirs) {
    for (let d = dirname(dir); ; d = dirname(d)) {
      const s = await stat(d);
      if ((s.mode & 0o001) === 0) {
        throw new EdgeStartError(
          `nginx workers (user ${config.workerUser?.split(':')[0] ?? 'nobody'}) cannot reach ${dir}: ${d} is not searchable by others ` +
            `(chmod o+x ${d}, or choose another EDGE_RUN_DIR/EDGE_CACHE_DIR/EDGE_WEB_ROOT, or set EDGE_WORKER_USER)`,
        );
      }
      if (d === dirname(d)) break;
    }
  }
}

/** Creates the run folder's layout and writes nginx.conf (to `file`, default the run folder's nginx.conf). */
export async function writeRunFolder(config: EdgeConfig, file?: string): Promise<RunPaths> {
  const paths = runPaths(config.runDir);
  await mkdir(config.runDir, { recursive: true, mode: 0o755 });
  await mkdir(paths.logs, { recursive: true, mode: 0o755 });
  await mkdir(paths.temp, { recursive: true, mode: 0o755 });
  await mkdir(dirname(config.cache.dir), { recursive: true, mode: 0o755 });
  if (isRoot()) {
    // mkdir's mode is filtered by the umask and does not touch folders that exist (a mkdtemp folder is 0700).
    for (const d of [config.runDir, paths.temp]) await chmod(d, 0o755);
  }
  // The workers also read the web app's files.
  await checkReachableByWorkers(config, [paths.temp, config.cache.dir, ...(config.webRoot ? [join(config.webRoot, 'index.html')] : [])]);
  await writeFile(file ?? paths.conf, renderNginxConf(config));
  return paths;
}

/** `nginx -t` on a rendered file; throws {@link EdgeStartError} with nginx's reason. */
export async function checkNginxConf(config: EdgeConfig, conf: string): Promise<void> {
  const { code, output } = await run(config.nginxBin, ['-t', '-q', ...nginxArgs(config, conf)]);
  if (code !== 0) throw new EdgeStartError(`nginx rejected ${conf}: ${firstReason(output)}`, output);
}

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}

function probeHost(listenHost: string): string {
  if (listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '::1';
  return listenHost;
}

/**
 * Binds each port for a moment: nginx itself retries a taken port for 2.5 s before it gives up, and says less about
 * which setting is at fault. The line names the address and the setting (`127.0.0.1:80 (EDGE_HTTP_PORT) is already
 * in use`).
 */
async function checkPortsFree(config: EdgeConfig): Promise<void> {
  const wanted: Array<[string, number]> = [];
  if (config.httpPort !== null) wanted.push(['EDGE_HTTP_PORT', config.httpPort]);
  if (config.tls) wanted.push(['EDGE_HTTPS_PORT', config.tls.port]);
  for (const [variable, port] of wanted) {
    try {
      await assertPortFree(port, config.listenHost, variable);
    } catch (err) {
      if (err instanceof PortUnavailableError) throw new EdgeStartError(`${err.address} (${variable}) ${err.reason}`);
      throw err;
    }
  }
}

/** The pid in `pidFile` when that process is still an nginx (a killed launcher leaves its nginx behind). */
async function runningNginx(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('nginx') ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Renders the configuration into the run folder, checks it, starts nginx in the foreground
 * (`nginx -p <runDir> -c <runDir>/nginx.conf -g 'daemon off;'`) and resolves once every port accepts connections.
 */
export async function startEdge(config: EdgeConfig, options: StartEdgeOptions = {}): Promise<EdgeProcess> {
  const running = await runningNginx(runPaths(config.runDir).pid);
  if (running !== undefined) {
    throw new EdgeStartError(`nginx (pid ${running}) is already running from ${config.runDir}: stop it (kill -QUIT ${running}) or use another EDGE_RUN_DIR`);
  }
  const paths = await writeRunFolder(config);
  await checkNginxConf(config, paths.conf);
  await checkPortsFree(config);

  const stdio = options.stdio ?? 'pipe';
  const child: ChildProcess = spawn(config.nginxBin, [...nginxArgs(config, paths.conf), '-g', 'daemon off;'], {
    stdio: stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: -1, signal: null }));
  });
  let gone = false;
  void exited.then(() => (gone = true));

  const host = probeHost(config.listenHost);
  const ports = [config.httpPort, config.tls?.port].filter((p): p is number => typeof p === 'number');
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (gone) {
      const details = `${output}\n${await tail(paths.errorLog)}`.trim();
      throw new EdgeStartError(`nginx exited during start-up: ${firstReason(details)}`, details);
    }
    // nginx writes its pid file once every socket is bound; the probes alone could hit someone else's listener.
    const pidFile = await readFile(paths.pid, 'utf8').catch(() => '');
    if (pidFile.trim() === String(child.pid)) {
      const up = await Promise.all(ports.map((p) => probe(host, p)));
      if (up.every(Boolean)) break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new EdgeStartError(`nginx did not accept connections on ${host}:${ports.join(', ')} within ${options.readyTimeoutMs ?? 10_000} ms`, output);
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  return {
    pid: child.pid!,
    paths,
    exited,
    output: () => output,
    async reload(next: EdgeConfig): Promise<void> {
      if (next.runDir !== config.runDir) throw new EdgeStartError('reload cannot move the run folder (restart instead)');
      const staged = `${paths.conf}.next`;
      await writeRunFolder(next, staged);
      await checkNginxConf(next, staged);
      await rename(staged, paths.conf);
      child.kill('SIGHUP');
    },
    async stop(mode: 'graceful' | 'fast' = 'graceful'): Promise<void> {
      if (!gone) child.kill(mode === 'graceful' ? 'SIGQUIT' : 'SIGTERM');
      await exited;
    },
  };
}
