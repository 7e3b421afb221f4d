import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka, type KafkaHandle } from './kafka.harness.js';
import { startPostgres, type PostgresHandle } from './postgres.harness.js';
import { startRedis, type RedisHandle } from './redis.harness.js';
import { HarnessError, spawnService, tailFile, type ServiceProcess } from './internal/process.js';
import { createRunDir, registerPid, removeRunDir } from './internal/run-dir.js';
import { assertPortFree, getFreePorts } from './internal/ports.js';
import { ensureDebianPackage } from './internal/system.js';
import { repoRoot } from './internal/workspace.js';

/**
 * The platform as it runs in Kubernetes, on one machine: every service its own process (two gateways, two
 * realtime instances, two analytics consumers in one group), real Kafka, Redis, a PostgreSQL primary with a
 * streaming replica (reads go to the replica), and the nginx edge in front. `npm run cluster` and the end-to-end
 * suite both start it through {@link startCluster}.
 */
export interface ClusterOptions {
  /** The edge's port (the URL users open). Default: a free loopback port. */
  port?: number;
  /** The URL clients see (token issuer, stream links). Default `http://127.0.0.1:<port>`. */
  publicUrl?: string;
  /** Folder for data and logs; default a new temp folder that `stop()` removes. */
  runDir?: string;
  /**
   * Keep the processes' logs when the default run folder is removed (at `stop()`, and after a start-up that
   * failed): they are copied into this folder (created) first. The data is removed all the same.
   */
  keepLogsIn?: string;
  /** Every service's `LOG_LEVEL`. Default `info`. */
  logLevel?: string;
  /** Extra environment for every service process (e.g. `COUNTER_FLUSH_INTERVAL_MS`, `RATE_LIMIT_AUTH`). */
  env?: Record<string, string>;
  /** Extra edge environment (e.g. `EDGE_RATE_LIMIT`). */
  edgeEnv?: Record<string, string>;
  /** Progress lines ("postgres up", "services ready"…). */
  onProgress?: (line: string) => void;
  /** How long each process may take to become ready (ms). Default 90 s. */
  readyTimeoutMs?: number;
  /**
   * Fixed ports for some processes by name (e.g. `{ like: 41234 }`), the others get free ones: a fault test that
   * routes one upstream through a relay (`LIKE_SERVICE_URL` in `env`) knows where the relay must forward.
   */
  ports?: Readonly<Record<string, number>>;
}

/** One process of the cluster; `stop()` and `start()` break and mend it (tests). */
export interface ClusterProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and waits until it is ready. */
  start(): Promise<void>;
}

export interface ClusterHandle {
  /** The edge: what users and tests talk to. */
  url: string;
  /** Every process by name: `user`, `video`, `transcoder`, `comment`, `like`, `subscription`, `recommendation`, `analytics-1`, `analytics-2`, `realtime-1`, `realtime-2`, `gateway-1`, `gateway-2`, `edge`. */
  processes: ReadonlyMap<string, ClusterProcess>;
  postgres: { url: string; replicaUrl: string };
  redisUrl: string;
  kafkaBrokers: string[];
  /** The infrastructure's own handles, for fault tests that stop and start them (this cluster's, never the harness's shared ones). */
  infra: { postgres: PostgresHandle; redis: RedisHandle; kafka: KafkaHandle };
  runDir: string;
  /** Stops the edge, the gateways, the services (SIGTERM, drained), then Kafka, Redis and PostgreSQL. */
  stop(): Promise<void>;
}

/** The services behind the gateways, with how many instances each runs. */
const SERVICES: ReadonlyArray<{ name: string; app: string; instances: number }> = [
  { name: 'user', app: 'user', instances: 1 },
  { name: 'video', app: 'video', instances: 1 },
  { name: 'transcoder', app: 'transcoder', instances: 1 },
  { name: 'comment', app: 'comment', instances: 1 },
  { name: 'like', app: 'like', instances: 1 },
  { name: 'subscription', app: 'subscription', instances: 1 },
  { name: 'recommendation', app: 'recommendation', instances: 1 },
  { name: 'analytics', app: 'analytics', instances: 2 },
  { name: 'realtime', app: 'realtime', instances: 2 },
];

class Proc implements ClusterProcess {
  private process: ServiceProcess | undefined;
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly launch: () => ServiceProcess,
    private readonly ready: (p: ServiceProcess) => Promise<void>,
    readonly logFile: string,
    private readonly runDir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return this.process?.running ?? false;
  }
  get pid(): number | undefined {
    return this.process?.pid;
  }

  spawn(): ServiceProcess {
    const p = this.launch();
    this.process = p;
    if (p.pid !== undefined) registerPid(this.runDir, p.pid);
    return p;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.ready(this.spawn());
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal, 15_000);
  }
}

/** Polls `GET /readyz` (the edge: `/_edge/healthz`) until 200; fails at once when the process exits. */
async function waitReady(p: ServiceProcess, url: string, name: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!p.running) throw new HarnessError(`${name} ${p.describeExit()} during start-up. Last lines of ${logFile}:\n${tailFile(logFile, 40)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new HarnessError(`${name} was not ready within ${timeoutMs} ms (${url}). Last lines of ${logFile}:\n${tailFile(logFile, 40)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<ClusterHandle> {
  // A taken edge port fails now, in one line, not after Kafka started (nor "ready" because another program answers).
  if (options.port !== undefined) await assertPortFree(options.port);
  const root = repoRoot();
  const progress = options.onProgress ?? (() => {});
  const ownDir = options.runDir === undefined;
  const runDir = options.runDir ?? createRunDir();
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;

  for (const s of [...SERVICES.map((x) => x.app), 'gateway', 'edge']) {
    const entry = join(root, 'apps', s, 'dist', 'main.js');
    if (!existsSync(entry)) throw new HarnessError(`${entry} is missing: build first (npm run build)`);
  }
  const t0 = performance.now();
  // nginx lives in /usr/sbin, which is not on a normal user's PATH: the edge gets its absolute path.
  const [, nginx] = await Promise.all([
    ensureDebianPackage({ binary: 'ffmpeg', packages: ['ffmpeg'], logFile: join(runDir, 'logs', 'apt.log') }),
    ensureDebianPackage({ binary: 'nginx', packages: ['nginx'], logFile: join(runDir, 'logs', 'apt.log') }),
  ]);

  let postgres: PostgresHandle | undefined;
  let redis: RedisHandle | undefined;
  let kafka: KafkaHandle | undefined;
  const procs = new Map<string, Proc>();
  const stopAll = async (): Promise<void> => {
    const order = ['edge', 'gateway-1', 'gateway-2'];
    for (const name of order) await procs.get(name)?.stop().catch(() => {});
    await Promise.all([...procs.values()].filter((p) => !order.includes(p.name)).map((p) => p.stop().catch(() => {})));
    await Promise.all([kafka?.stop(), redis?.stop(), postgres?.stop()].map((p) => p?.catch(() => {})));
    if (ownDir) {
      if (options.keepLogsIn !== undefined) keepLogs(join(runDir, 'logs'), options.keepLogsIn);
      removeRunDir(runDir);
    }
  };

  try {
    [postgres, redis, kafka] = await Promise.all([
      startPostgres({ runDir }),
      startRedis({ runDir }),
      startKafka({ runDir }),
    ]);
    progress(`postgres (primary + replica), redis and kafka up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const serviceNames = SERVICES.flatMap((s) => (s.instances === 1 ? [s.name] : Array.from({ length: s.instances }, (_, i) => `${s.name}-${i + 1}`)));
    const names = [...serviceNames, 'gateway-1', 'gateway-2'];
    const ports = await getFreePorts(names.length + (options.port === undefined ? 1 : 0));
    const portOf = new Map(names.map((n, i) => [n, options.ports?.[n] ?? ports[i]!]));
    const edgePort = options.port ?? ports[names.length]!;
    const publicUrl = options.publicUrl ?? `http://127.0.0.1:${edgePort}`;
    const urlOf = (n: string) => `http://127.0.0.1:${portOf.get(n)!}`;

    const secret = (n: number) => randomBytes(n).toString('base64url');
    const common: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      HOST: '127.0.0.1',
      PUBLIC_URL: publicUrl,
      DATABASE_URL: postgres.url,
      DATABASE_REPLICA_URLS: postgres.replicaUrl,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      KAFKA_TOPIC_PARTITIONS: '6',
      STORAGE_URL: `file://${join(runDir, 'media')}`,
      MEDIA_SIGNING_KEY: secret(36),
      GATEWAY_IDENTITY_SECRET: secret(36),
      // Services see the client address the gateway forwards (X-Forwarded-For), gateways the edge's.
      TRUSTED_PROXIES: '127.0.0.1',
      LOG_LEVEL: options.logLevel ?? 'info',
      USER_SERVICE_URL: urlOf('user'),
      VIDEO_SERVICE_URL: urlOf('video'),
      COMMENT_SERVICE_URL: urlOf('comment'),
      LIKE_SERVICE_URL: urlOf('like'),
      SUBSCRIPTION_SERVICE_URL: urlOf('subscription'),
      RECOMMENDATION_SERVICE_URL: urlOf('recommendation'),
      // One instance answers the internal reads and the chat REST routes; events reach every instance.
      ANALYTICS_SERVICE_URL: urlOf('analytics-1'),
      REALTIME_SERVICE_URL: urlOf('realtime-1'),
      ...(options.env ?? {}),
    };

    const makeProc = (name: string, app: string, port: number, env: Record<string, string>, readyPath: string): Proc => {
      const logFile = join(runDir, 'logs', `${name}.log`);
      const dataDir = join(runDir, 'data', name);
      mkdirSync(dataDir, { recursive: true });
      const proc: Proc = new Proc(
        name,
        port,
        () =>
          spawnService({
            name,
            command: process.execPath,
            args: [join(root, 'apps', app, 'dist', 'main.js')],
            cwd: root,
            env: { ...common, KINORA_DATA_DIR: dataDir, PORT: String(port), ...env },
            logFile,
          }),
        (p) => waitReady(p, `http://127.0.0.1:${port}${readyPath}`, name, logFile, readyTimeoutMs),
        logFile,
        runDir,
      );
      procs.set(name, proc);
      return proc;
    };
    for (const s of SERVICES) {
      const list = s.instances === 1 ? [s.name] : Array.from({ length: s.instances }, (_, i) => `${s.name}-${i + 1}`);
      for (const n of list) makeProc(n, s.app, portOf.get(n)!, {}, '/readyz');
    }
    for (const n of ['gateway-1', 'gateway-2']) makeProc(n, 'gateway', portOf.get(n)!, {}, '/readyz');
    const edge = makeProc(
      'edge',
      'edge',
      edgePort,
      {
        NGINX_BIN: nginx,
        EDGE_HTTP_PORT: String(edgePort),
        EDGE_LISTEN_HOST: '127.0.0.1',
        EDGE_RUN_DIR: join(runDir, 'edge'),
        EDGE_UPSTREAMS: ['gateway-1', 'gateway-2'].map((n) => `127.0.0.1:${portOf.get(n)!}`).join(','),
        EDGE_REALTIME_UPSTREAMS: ['realtime-1', 'realtime-2'].map((n) => `127.0.0.1:${portOf.get(n)!}`).join(','),
        ...(options.edgeEnv ?? {}),
      },
      '/_edge/healthz',
    );

    // The user service first: it creates the platform's Kafka topics once (no creation race between a dozen
    // processes) and serves the JWKS every other process verifies tokens with.
    const t1 = performance.now();
    await procs.get('user')!.start();
    await Promise.all(serviceNames.filter((n) => n !== 'user').map((n) => procs.get(n)!.start()));
    progress(`${serviceNames.length} service processes ready in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    // Gateways read every upstream's OpenAPI document at start, so they come after the services.
    await Promise.all(['gateway-1', 'gateway-2'].map((n) => procs.get(n)!.start()));
    await edge.start();
    progress(`gateways and edge ready; all up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    return {
      url: `http://127.0.0.1:${edgePort}`,
      processes: procs,
      postgres: { url: postgres.url, replicaUrl: postgres.replicaUrl },
      redisUrl: redis.url,
      kafkaBrokers: kafka.brokers,
      infra: { postgres, redis, kafka },
      runDir,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    // The message names log files of the run folder, which is gone now.
    if (ownDir && options.keepLogsIn !== undefined && err instanceof Error) err.message += `\n(the logs are kept in ${options.keepLogsIn})`;
    throw err;
  }
}

/** Copies the run's logs out before its folder goes; a failure to do so is reported, not thrown (the stop goes on). */
function keepLogs(from: string, to: string): void {
  try {
    mkdirSync(to, { recursive: true });
    cpSync(from, to, { recursive: true });
  } catch (err) {
    process.stderr.write(`could not keep the logs in ${to}: ${(err as Error).message}\n`);
  }
}
