import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { getFreePorts } from './internal/ports.js';
import { spawnService, type ServiceProcess } from './internal/process.js';
import { createRunDir, registerPid, removeRunDir, subDir } from './internal/run-dir.js';
import { ensureDebianPackage } from './internal/system.js';
import { waitUntil } from './internal/wait.js';
import { pingRedis, startRedis, type RedisHandle } from './redis.harness.js';

export interface StartRedisSentinelOptions {
  /** Sentinels to start (1 or 3; quorum is the majority). Default 1. */
  sentinels?: 1 | 3;
  /** The name the Sentinels monitor. Default `kinora`. */
  masterName?: string;
  /** How long a silent primary takes to count as down (ms). Default 1000. */
  downAfterMs?: number;
  /**
   * Clients reach the Sentinels and the data nodes over TLS only (certificates of a CA made for the run, naming
   * 127.0.0.1 and localhost); replication and the Sentinels' own connections use TLS too. Each server also keeps a
   * plain port on loopback for the harness's own checks (`nodes[i].port`). Default false.
   */
  tls?: boolean;
  /** Folder for configs and logs; default: a new temp folder that `stop()` removes. */
  runDir?: string;
  timeoutMs?: number;
}

export interface RedisSentinelHandle {
  masterName: string;
  /** The Sentinels' addresses, as `REDIS_SENTINELS` wants them (their TLS ports with `tls`). */
  sentinels: Array<{ host: string; port: number }>;
  /** `host:port,host:port` */
  sentinelsEnv: string;
  /** The two data servers: `nodes[0]` starts as the primary, `nodes[1]` as its replica. */
  nodes: [RedisHandle, RedisHandle];
  /** With `tls`: the CA certificate (PEM) that signed the servers' certificates, and the nodes' TLS ports. */
  tls?: { ca: string; nodePorts: [number, number] };
  /** The port of the primary as the first Sentinel names it now (its TLS port with `tls`). */
  primaryPort(): Promise<number>;
  /**
   * `SENTINEL FAILOVER` on the first Sentinel, then waits until the Sentinel names the other node and that node
   * accepts writes. Resolves the new primary's port.
   */
  failover(): Promise<number>;
  /** Waits until the Sentinel names a primary other than `port` that accepts writes (after a primary was stopped). */
  waitForNewPrimary(port: number): Promise<number>;
  stop(): Promise<void>;
}

async function withClient<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

/**
 * A Redis primary, one replica and one or three Sentinels (Debian's `redis-server`, the Sentinels as
 * `redis-server <conf> --sentinel`) on loopback ports. Resolves once the Sentinels see the primary and its replica
 * in sync (and each other), so a failover can happen at once.
 */
/** A CA and one server certificate for 127.0.0.1 and localhost (openssl), in `dir`. */
function makeCertificates(dir: string): { ca: string; caFile: string; certFile: string; keyFile: string } {
  const files = { caKey: join(dir, 'ca.key'), caFile: join(dir, 'ca.crt'), keyFile: join(dir, 'server.key'), csr: join(dir, 'server.csr'), certFile: join(dir, 'server.crt'), ext: join(dir, 'server.ext') };
  writeFileSync(files.ext, 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n');
  const steps = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.caKey, '-out', files.caFile, '-days', '2', '-subj', '/CN=Kinora test Redis CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.keyFile, '-out', files.csr, '-subj', '/CN=127.0.0.1'],
    ['x509', '-req', '-in', files.csr, '-CA', files.caFile, '-CAkey', files.caKey, '-CAcreateserial', '-out', files.certFile, '-days', '2', '-extfile', files.ext],
  ];
  for (const args of steps) {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
  }
  return { ca: readFileSync(files.caFile, 'utf8'), caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile };
}

export async function startRedisSentinel(options: StartRedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const ownsRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? createRunDir();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const masterName = options.masterName ?? 'kinora';
  const count = options.sentinels ?? 1;
  const quorum = Math.floor(count / 2) + 1;
  const binary = await ensureDebianPackage({ binary: 'redis-server', packages: ['redis-server'], logFile: join(subDir(runDir, 'redis-sentinel'), 'apt.log') });
  const sentinelProcesses: ServiceProcess[] = [];
  const nodes: RedisHandle[] = [];
  const stop = async (): Promise<void> => {
    for (const p of sentinelProcesses) await p.stop('SIGTERM', 10_000);
    for (const n of nodes) await n.stop();
    if (ownsRunDir) removeRunDir(runDir);
  };
  try {
    const certs = options.tls ? makeCertificates(subDir(runDir, 'redis-tls')) : undefined;
    const tlsPorts = certs ? await getFreePorts(2 + count) : [];
    // TLS ports beside the plain ones (kept on loopback for the harness's checks); replication over TLS, and no
    // client certificates asked for (the servers prove who they are, clients authenticate with passwords if any).
    const tlsArgs = (port: number | undefined): string[] =>
      certs && port !== undefined
        ? ['--tls-port', String(port), '--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile, '--tls-ca-cert-file', certs.caFile, '--tls-auth-clients', 'no', '--tls-replication', 'yes']
        : [];
    const primary = await startRedis({ runDir: subDir(runDir, 'redis-primary'), timeoutMs, args: tlsArgs(tlsPorts[0]) });
    nodes.push(primary);
    // With TLS the replica follows the primary's TLS port, and tells it (and so the Sentinels) its own TLS port.
    const primaryAddress = String(tlsPorts[0] ?? primary.port);
    const replica = await startRedis({ runDir: subDir(runDir, 'redis-replica'), timeoutMs, args: ['--replicaof', '127.0.0.1', primaryAddress, ...tlsArgs(tlsPorts[1])] });
    nodes.push(replica);
    // Client-facing port (TLS with `tls`) → the node's plain port, for the checks below.
    const adminPort = (port: number): number => (certs ? (port === tlsPorts[0] ? primary.port : port === tlsPorts[1] ? replica.port : port) : port);
    await waitUntil(
      'redis replica in sync',
      () => withClient(replica.port, async (c) => /master_link_status:up/.test(await c.info('replication'))),
      { timeoutMs, intervalMs: 50 },
    );
    const ports = await getFreePorts(count);
    for (const [i, port] of ports.entries()) {
      const dir = subDir(runDir, `redis-sentinel-${i}`);
      const conf = join(dir, 'sentinel.conf');
      // Sentinel rewrites its config file (what it learns: replicas, other sentinels, the current epoch).
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          ...(certs
            ? [
                `tls-port ${tlsPorts[2 + i]}`,
                `tls-cert-file ${certs.certFile}`,
                `tls-key-file ${certs.keyFile}`,
                `tls-ca-cert-file ${certs.caFile}`,
                'tls-auth-clients no',
                'tls-replication yes',
              ]
            : []),
          `sentinel monitor ${masterName} 127.0.0.1 ${primaryAddress} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} 4000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const proc = spawnService({ name: `redis-sentinel ${i}`, command: binary, args: [conf, '--sentinel', '--logfile', ''], logFile: join(dir, 'sentinel.log'), cwd: dir });
      sentinelProcesses.push(proc);
      registerPid(runDir, proc.pid);
      await waitUntil(`redis-sentinel on port ${port}`, () => pingRedis(port), { timeoutMs, intervalMs: 50, process: proc });
    }
    // Every Sentinel knows the replica (found through the primary's INFO) and the other Sentinels (hello messages).
    await waitUntil(
      'sentinels see the replica and each other',
      async () => {
        for (const port of ports) {
          const ok = await withClient(port, async (c) => {
            const replicas = (await c.call('SENTINEL', 'REPLICAS', masterName)) as string[][];
            const others = (await c.call('SENTINEL', 'SENTINELS', masterName)) as string[][];
            const upReplicas = replicas.filter((r) => {
              const flags = r[r.indexOf('flags') + 1] ?? '';
              return flags === 'slave';
            });
            return upReplicas.length === 1 && others.length === count - 1;
          });
          if (!ok) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100 },
    );

    const primaryPort = () =>
      withClient(ports[0]!, async (c) => Number(((await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string])[1]));
    const waitForNewPrimary = async (old: number): Promise<number> => {
      let now = old;
      await waitUntil(
        `a new redis primary instead of ${old}`,
        async () => {
          now = await primaryPort();
          if (now === old) return false;
          // Promoted: answers as master and takes writes.
          return withClient(adminPort(now), async (c) => /role:master/.test(await c.info('replication')) && (await c.set(`kinora:harness:${Date.now()}`, '1', 'PX', 1000)) === 'OK');
        },
        { timeoutMs, intervalMs: 100 },
      );
      return now;
    };
    const clientPorts = certs ? tlsPorts.slice(2) : ports;
    return {
      masterName,
      sentinels: clientPorts.map((port) => ({ host: '127.0.0.1', port })),
      sentinelsEnv: clientPorts.map((p) => `127.0.0.1:${p}`).join(','),
      nodes: [primary, replica],
      ...(certs ? { tls: { ca: certs.ca, nodePorts: [tlsPorts[0]!, tlsPorts[1]!] as [number, number] } } : {}),
      primaryPort,
      async failover() {
        const old = await primaryPort();
        await withClient(ports[0]!, (c) => c.call('SENTINEL', 'FAILOVER', masterName));
        return waitForNewPrimary(old);
      },
      waitForNewPrimary,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
