import { Gauge, type Metric, type Registry } from 'prom-client';
import type { Database } from './database.js';

/** The databases whose metrics each registry reports (one per process, but tests may build more). */
const sources = new WeakMap<Registry, Set<Database>>();

/**
 * Registers the database metrics on `registry`, computed when it is scraped:
 * - `kinora_db_pool_connections{pool,state}`, `kinora_db_pool_max_connections{pool}`,
 *   `kinora_db_pool_waiting_requests{pool}`: `pool` is `primary` or `replica` (all replica pools summed);
 * - `kinora_db_server_up{database,server}`: the health checks' view of each server (1 up, 0 down);
 * - `kinora_db_replica_lag_seconds{replica}`, `kinora_db_replica_lag_bytes{replica}`: `replica` is the `host:port`
 *   of each replica URL; see {@link ReplicaLagMonitor} for what a scrape waits for and what a dead replica reports.
 * Idempotent: the metrics are registered once per registry (the all-in-one process mounts every service on one);
 * a second database on the same registry adds its numbers to the same series, and a closed one stops counting.
 */
export function registerDatabaseMetrics(registry: Registry, database: Database): void {
  let set = sources.get(registry);
  if (set) {
    set.add(database);
    return;
  }
  set = new Set([database]);
  sources.set(registry, set);
  const live = (): Database[] => [...set].filter((d) => !d.isClosed);

  reuse(registry, 'kinora_db_pool_connections', (name) =>
    new Gauge({
      name,
      help: 'Connections in a database pool, by pool (primary, or replica: all replica pools summed) and state (idle, busy)',
      labelNames: ['pool', 'state'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [pool, s] of poolStats(live())) {
          this.set({ pool, state: 'idle' }, s.idle);
          this.set({ pool, state: 'busy' }, s.busy);
        }
      },
    }),
  );
  reuse(registry, 'kinora_db_pool_max_connections', (name) =>
    new Gauge({
      name,
      help: 'Configured size of a database pool (replica: all replica pools summed)',
      labelNames: ['pool'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [pool, s] of poolStats(live())) this.set({ pool }, s.max);
      },
    }),
  );
  reuse(registry, 'kinora_db_pool_waiting_requests', (name) =>
    new Gauge({
      name,
      help: 'Queries waiting for a free connection of a database pool (replica: all replica pools summed)',
      labelNames: ['pool'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [pool, s] of poolStats(live())) this.set({ pool }, s.waiting);
      },
    }),
  );
  reuse(registry, 'kinora_db_server_up', (name) =>
    new Gauge({
      name,
      help: "Whether a database server answered this process's last health check (1) or not (0), by database (users, videos, analytics, main) and server (primary, or the replica's host:port)",
      labelNames: ['database', 'server'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const d of live()) for (const h of d.health()) this.set({ database: d.name, server: h.server }, h.up ? 1 : 0);
      },
    }),
  );
  reuse(registry, 'kinora_db_replica_lag_seconds', (name) =>
    new Gauge({
      name,
      help: 'Replay lag of a database replica in seconds (0 when it has replayed all it received); absent while the replica does not answer',
      labelNames: ['replica'] as const,
      registers: [registry],
      async collect() {
        const lags = await replicaLags(live());
        this.reset();
        for (const [replica, lag] of lags) this.set({ replica }, lag.seconds);
      },
    }),
  );
  reuse(registry, 'kinora_db_replica_lag_bytes', (name) =>
    new Gauge({
      name,
      help: "WAL bytes a database replica has not replayed (the primary's current position minus the replica's replay position)",
      labelNames: ['replica'] as const,
      registers: [registry],
      async collect() {
        const lags = await replicaLags(live());
        this.reset();
        for (const [replica, lag] of lags) if (lag.bytes !== undefined) this.set({ replica }, lag.bytes);
      },
    }),
  );
}

function poolStats(databases: Database[]): Map<string, { idle: number; busy: number; waiting: number; max: number }> {
  const out = new Map<string, { idle: number; busy: number; waiting: number; max: number }>();
  for (const d of databases) {
    const stats = d.poolStats();
    for (const [pool, s] of [['primary', stats.primary], ['replica', stats.replica]] as const) {
      if (!s) continue;
      const sum = out.get(pool) ?? { idle: 0, busy: 0, waiting: 0, max: 0 };
      sum.idle += s.idle;
      sum.busy += s.busy;
      sum.waiting += s.waiting;
      sum.max += s.max;
      out.set(pool, sum);
    }
  }
  return out;
}

async function replicaLags(databases: Database[]): Promise<Map<string, { seconds: number; bytes: number | undefined }>> {
  const out = new Map<string, { seconds: number; bytes: number | undefined }>();
  for (const values of await Promise.all(databases.map((d) => d.replicaLag.latest()))) {
    for (const [replica, lag] of values) out.set(replica, lag);
  }
  return out;
}

function reuse<T extends Metric>(registry: Registry, name: string, make: (name: string) => T): T {
  // Registered on this registry by something else already (another copy of this module): share it.
  return (registry.getSingleMetric(name) as T | undefined) ?? make(name);
}
