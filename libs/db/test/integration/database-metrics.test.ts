// The database metrics (pools and replica lag) against real servers: the harness's primary and streaming replica
// for the pools, a dedicated primary + replica (startPostgres) for the lag, since pausing replay on the shared
// replica would stall every other suite. Dead and hanging replicas are a closed port and a socket that never
// answers; a replica that goes away and comes back sits behind a TCP proxy the test closes and reopens.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createBaseApp, createLogger } from '@kinora/observability';
import { createTestDatabase, getFreePort, startPostgres, waitForReplica, waitUntil, type PostgresHandle, type TestDatabase } from '@kinora/testing';
import { Database, dbPlugin, registerDatabaseMetrics } from '../../src/index.js';

/** `name{labels} value` samples of a text exposition, as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(kinora_db_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function portOf(url: string): string {
  return new URL(url).port;
}

interface LogLine {
  level: 'warn' | 'info';
  obj: object;
  msg: string | undefined;
}

/** Records the replica-lag monitor's lines (the health checks, which share the log, are tested in failover.test.ts). */
function recordingLog(lines: LogLine[]) {
  const keep = (msg?: string) => msg?.startsWith('replica lag') === true;
  return {
    warn: (obj: object, msg?: string) => void (keep(msg) && lines.push({ level: 'warn', obj, msg })),
    info: (obj: object, msg?: string) => void (keep(msg) && lines.push({ level: 'info', obj, msg })),
  };
}

/** A TCP proxy to `port` that can be shut (its connections cut) and opened again on the same port. */
async function tcpProxy(port: number) {
  const listenPort = await getFreePort();
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(port, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(listenPort, '127.0.0.1', resolve);
    });
  const shut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = undefined;
    });
  await open();
  return { port: listenPort, open, shut };
}

describe('pool metrics (harness primary and replica)', () => {
  let tdb: TestDatabase;
  let database: Database;
  const registry = new Registry();

  beforeAll(async () => {
    tdb = await createTestDatabase('db_metrics_pools');
    database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl], poolMax: 3 });
    registerDatabaseMetrics(registry, database);
  });

  afterAll(async () => {
    await database?.close();
    await tdb?.drop();
  });

  it('reports each pool, its size and the lag of the replica', async () => {
    await database.primary.query('SELECT 1');
    await database.replicas[0]!.query('SELECT 1');
    const s = samples(await registry.metrics());
    expect(s.get('kinora_db_pool_max_connections{pool="primary"}')).toBe(3);
    expect(s.get('kinora_db_pool_max_connections{pool="replica"}')).toBe(3);
    expect(s.get('kinora_db_pool_connections{pool="primary",state="idle"}')).toBe(1);
    expect(s.get('kinora_db_pool_connections{pool="primary",state="busy"}')).toBe(0);
    expect(s.get('kinora_db_pool_connections{pool="replica",state="idle"}')).toBe(1);
    expect(s.get('kinora_db_pool_waiting_requests{pool="primary"}')).toBe(0);
    expect(s.get('kinora_db_pool_waiting_requests{pool="replica"}')).toBe(0);
    // Other suites write to the shared primary meanwhile: the harness replica is close behind, not exactly level.
    const label = `127.0.0.1:${portOf(tdb.replicaUrl)}`;
    const seconds = s.get(`kinora_db_replica_lag_seconds{replica="${label}"}`);
    const bytes = s.get(`kinora_db_replica_lag_bytes{replica="${label}"}`);
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(30);
    expect(bytes).toBeGreaterThanOrEqual(0);
    expect(bytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('counts busy connections and waiting queries while connections are held, and none after', async () => {
    const held = await Promise.all([database.primary.connect(), database.primary.connect(), database.primary.connect()]);
    let waiter: Promise<unknown> | undefined;
    try {
      waiter = database.primary.query('SELECT 1');
      const second = database.primary.query('SELECT 2');
      waiter = Promise.all([waiter, second]);
      const s = samples(await registry.metrics());
      expect(s.get('kinora_db_pool_connections{pool="primary",state="busy"}')).toBe(3);
      expect(s.get('kinora_db_pool_connections{pool="primary",state="idle"}')).toBe(0);
      expect(s.get('kinora_db_pool_waiting_requests{pool="primary"}')).toBe(2);
      expect(s.get('kinora_db_pool_waiting_requests{pool="replica"}')).toBe(0);
    } finally {
      for (const c of held) c.release();
    }
    await waiter;
    const s = samples(await registry.metrics());
    expect(s.get('kinora_db_pool_connections{pool="primary",state="busy"}')).toBe(0);
    expect(s.get('kinora_db_pool_connections{pool="primary",state="idle"}')).toBe(3);
    expect(s.get('kinora_db_pool_waiting_requests{pool="primary"}')).toBe(0);
  });

  it('a second registration on the same registry adds no duplicate metric, and a closed database stops counting', async () => {
    const other = new Database({ primaryUrl: tdb.url, poolMax: 5 });
    registerDatabaseMetrics(registry, database);
    registerDatabaseMetrics(registry, other);
    await other.primary.query('SELECT 1');
    const text = await registry.metrics();
    expect(text.match(/^# TYPE kinora_db_pool_max_connections gauge$/gm)).toHaveLength(1);
    expect(samples(text).get('kinora_db_pool_max_connections{pool="primary"}')).toBe(8);
    await other.close();
    expect(samples(await registry.metrics()).get('kinora_db_pool_max_connections{pool="primary"}')).toBe(3);
  });

  it('dbPlugin puts them on the app /metrics', async () => {
    const app = await createBaseApp({ logger: createLogger({ level: 'silent' }), bodyLimitBytes: 1024 });
    await app.register(dbPlugin, { database });
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const s = samples(res.body);
      expect(s.get('kinora_db_pool_max_connections{pool="primary"}')).toBe(3);
      expect(s.has(`kinora_db_replica_lag_seconds{replica="127.0.0.1:${portOf(tdb.replicaUrl)}"}`)).toBe(true);
    } finally {
      await app.close();
    }
  });
});

describe('replica lag (a dedicated primary and replica)', () => {
  let pgh: PostgresHandle;
  let database: Database;
  let admin: pg.Client;
  let replicaAdmin: pg.Client;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  const registry = new Registry();
  const log: LogLine[] = [];
  let label: string;

  beforeAll(async () => {
    pgh = await startPostgres();
    proxy = await tcpProxy(pgh.replicaPort);
    const replicaUrl = pgh.replicaUrl.replace(`:${pgh.replicaPort}/`, `:${proxy.port}/`);
    label = `127.0.0.1:${proxy.port}`;
    database = new Database({
      primaryUrl: pgh.url,
      replicaUrls: [replicaUrl],
      log: recordingLog(log),
      replicaLag: { maxAgeMs: 0, waitMs: 2000, timeoutMs: 1000 },
    });
    registerDatabaseMetrics(registry, database);
    admin = new pg.Client({ connectionString: pgh.url });
    replicaAdmin = new pg.Client({ connectionString: pgh.replicaUrl });
    await Promise.all([admin.connect(), replicaAdmin.connect()]);
    await admin.query('CREATE TABLE ticks (at timestamptz NOT NULL DEFAULT now())');
    await admin.query('INSERT INTO ticks DEFAULT VALUES');
    // A transaction replayed, so the replica has a last-replay timestamp.
    await waitForReplica(pgh.url, pgh.replicaUrl);
  }, 120_000);

  afterAll(async () => {
    await replicaAdmin?.query('SELECT pg_wal_replay_resume()').catch(() => {});
    await Promise.all([admin?.end(), replicaAdmin?.end()].map((p) => p?.catch(() => {})));
    await database?.close();
    await proxy?.shut();
    await pgh?.stop();
  });

  const lag = async () => {
    const s = samples(await registry.metrics());
    return { seconds: s.get(`kinora_db_replica_lag_seconds{replica="${label}"}`), bytes: s.get(`kinora_db_replica_lag_bytes{replica="${label}"}`) };
  };

  it('is 0 when the replica has replayed everything, even long after the last write', async () => {
    await waitForReplica(pgh.url, pgh.replicaUrl);
    await new Promise((r) => setTimeout(r, 1100));
    await waitUntil('lag 0', async () => {
      const l = await lag();
      return l.seconds === 0 && l.bytes === 0;
    }, { timeoutMs: 10_000, intervalMs: 200 });
  });

  it('grows while replay is paused, and falls back to 0 once it resumes', async () => {
    await replicaAdmin.query('SELECT pg_wal_replay_pause()');
    try {
      await admin.query('INSERT INTO ticks SELECT now() FROM generate_series(1, 1000)');
      // Received but not replayed.
      await waitUntil('the replica received the insert', async () => {
        const { rows } = await replicaAdmin.query<{ behind: boolean }>('SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() AS behind');
        return rows[0]?.behind === true;
      }, { timeoutMs: 10_000, intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 1500));
      const paused = await lag();
      expect(paused.seconds).toBeGreaterThanOrEqual(1.5);
      expect(paused.seconds).toBeLessThan(120);
      expect(paused.bytes).toBeGreaterThan(1000 * 30);
      await new Promise((r) => setTimeout(r, 1000));
      expect((await lag()).seconds).toBeGreaterThan(paused.seconds!);
    } finally {
      await replicaAdmin.query('SELECT pg_wal_replay_resume()');
    }
    await waitForReplica(pgh.url, pgh.replicaUrl);
    await waitUntil('lag back to 0', async () => {
      const l = await lag();
      return l.seconds === 0 && l.bytes === 0;
    }, { timeoutMs: 10_000, intervalMs: 200 });
  });

  it('drops the series of a replica that stops answering (warned once) and brings it back when it answers', async () => {
    expect((await lag()).seconds).toBeDefined();
    await proxy.shut();
    const t0 = Date.now();
    const first = await lag();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(first).toEqual({ seconds: undefined, bytes: undefined });
    expect((await lag()).seconds).toBeUndefined();
    const warnings = log.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ server: label });
    // The pools are still reported.
    expect(samples(await registry.metrics()).get('kinora_db_pool_max_connections{pool="primary"}')).toBe(10);
    await proxy.open();
    await waitUntil('lag series back', async () => (await lag()).seconds !== undefined, { timeoutMs: 10_000, intervalMs: 200 });
    expect(log.filter((l) => l.level === 'info')).toEqual([{ level: 'info', obj: { server: label }, msg: expect.stringMatching(/answers again/) }]);
  });
});

describe('a replica that is down or hangs', () => {
  let tdb: TestDatabase;
  let hang: Server;
  const held: Socket[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('db_metrics_dead');
    // Accepts connections and never says a word.
    hang = createServer((s) => held.push(s));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => hang?.close(r));
    await tdb?.drop();
  });

  it('does not hold up or break /metrics: the pools are reported, the dead replicas have no lag', async () => {
    const closedPort = await getFreePort();
    const hangPort = (hang.address() as { port: number }).port;
    const lines: LogLine[] = [];
    const database = new Database({
      primaryUrl: tdb.url,
      replicaUrls: [`postgres://postgres:postgres@127.0.0.1:${closedPort}/x`, `postgres://postgres:postgres@127.0.0.1:${hangPort}/x`, tdb.replicaUrl],
      log: recordingLog(lines),
      replicaLag: { timeoutMs: 3000, waitMs: 500, maxAgeMs: 0 },
    });
    const app = await createBaseApp({ logger: createLogger({ level: 'silent' }), bodyLimitBytes: 1024 });
    await app.register(dbPlugin, { database });
    try {
      const t0 = Date.now();
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(res.statusCode).toBe(200);
      const s = samples(res.body);
      expect(s.get('kinora_db_pool_max_connections{pool="replica"}')).toBe(30);
      const live = `127.0.0.1:${portOf(tdb.replicaUrl)}`;
      const lagKeys = (text: string) => [...samples(text).keys()].filter((k) => k.startsWith('kinora_db_replica_lag')).sort();
      // The live replica answered at once; the closed port failed at once; the hanging one is still being waited for.
      expect(lagKeys(res.body)).toEqual([`kinora_db_replica_lag_bytes{replica="${live}"}`, `kinora_db_replica_lag_seconds{replica="${live}"}`]);
      // Once its connection times out the hanging replica is warned about too; the live one keeps its series.
      await waitUntil('the hanging replica timed out', async () => lines.length === 2, { timeoutMs: 15_000, intervalMs: 250 });
      const again = await app.inject({ method: 'GET', url: '/metrics' });
      expect(again.statusCode).toBe(200);
      expect(lagKeys(again.body)).toEqual([`kinora_db_replica_lag_bytes{replica="${live}"}`, `kinora_db_replica_lag_seconds{replica="${live}"}`]);
      // One warning per dead replica, however many scrapes.
      expect(lines.filter((l) => l.level === 'warn').map((l) => (l.obj as { server: string }).server).sort()).toEqual(
        [`127.0.0.1:${closedPort}`, `127.0.0.1:${hangPort}`].sort(),
      );
    } finally {
      await app.close();
      await database.close();
    }
  }, 30_000);
});
