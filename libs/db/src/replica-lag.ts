import pg from 'pg';

export interface ReplicaLag {
  /** Seconds of replay lag (0 when the replica has replayed all it received). */
  seconds: number;
  /** WAL bytes the replica has not replayed; undefined when the primary could not be asked. */
  bytes: number | undefined;
}

export interface ReplicaLagLog {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface ReplicaLagMonitorOptions {
  primaryUrl: string;
  replicaUrls: readonly string[];
  applicationName?: string;
  /** A sample younger than this is served from the cache (default 5 s). */
  maxAgeMs?: number;
  /** How long `latest()` waits for a fresh sample before it answers with what it has (default 1 s). */
  waitMs?: number;
  /** Connect and query timeout of the monitoring connections (default 3 s). */
  timeoutMs?: number;
  log?: ReplicaLagLog;
}

/**
 * On the replica: 0 while it has replayed everything it received (an idle primary must not look like growing lag),
 * else the age of the last replayed transaction. Not in recovery (a "replica" URL that is a primary): 0.
 */
const REPLICA_SQL = `SELECT pg_is_in_recovery() AS recovery,
  pg_last_wal_replay_lsn()::text AS replay_lsn,
  CASE WHEN NOT pg_is_in_recovery() THEN 0
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
  END::float8 AS seconds`;

/** `X/Y` (two hex halves of a 64-bit WAL position) → bytes. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new Error(`not a WAL position: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/**
 * A replica's label: `host:port` of its URL (never the credentials), suffixed with `#<index>` when two URLs share
 * it.
 */
export function replicaLabels(urls: readonly string[]): string[] {
  const base = urls.map((u, i) => {
    try {
      const url = new URL(u);
      return `${url.hostname}:${url.port || '5432'}`;
    } catch {
      return `replica-${i}`;
    }
  });
  return base.map((b, i) => (base.indexOf(b) !== base.lastIndexOf(b) ? `${b}#${i}` : b));
}

/** One monitoring connection: connected on first use, thrown away on any error and made again next time. */
export class Probe {
  private client: pg.Client | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly applicationName: string,
    private readonly timeoutMs: number,
  ) {}

  async query<R extends pg.QueryResultRow>(sql: string): Promise<R> {
    if (this.closed) throw new Error('closed');
    try {
      if (!this.client) {
        const client = new pg.Client({
          connectionString: this.url,
          application_name: this.applicationName,
          connectionTimeoutMillis: this.timeoutMs,
          query_timeout: this.timeoutMs,
        });
        // A connection that dies while idle: forget it (the next sample reconnects).
        client.on('error', () => this.drop(client));
        this.client = client;
        await client.connect();
      }
      const { rows } = await this.client.query<R>(sql);
      if (!rows[0]) throw new Error('no row');
      return rows[0];
    } catch (err) {
      if (this.client) this.drop(this.client);
      throw err;
    }
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => {});
  }

  close(): void {
    this.closed = true;
    if (this.client) this.drop(this.client);
  }
}

/**
 * Replay lag of each replica, sampled on demand (at scrape time) and cached for `maxAgeMs`, over one dedicated
 * connection per server (not the request pools: a saturated pool must not hide the lag, and the sample must not
 * queue behind requests). A scrape never waits more than `waitMs`: a replica that is down or hangs answers from the
 * previous sample until its own sample fails, and a failed replica has no value at all (its series disappears, a
 * warning is logged once per outage; its readiness check reports it) rather than a stale one.
 */
export class ReplicaLagMonitor {
  readonly labels: readonly string[];
  private readonly primary: Probe;
  private readonly replicas: Probe[];
  private readonly maxAgeMs: number;
  private readonly waitMs: number;
  private readonly log: ReplicaLagLog | undefined;
  private values = new Map<string, ReplicaLag>();
  private sampledAt = 0;
  private inFlight: Promise<void> | undefined;
  private inFlightSince = 0;
  private readonly failing = new Set<string>();
  private closed = false;

  constructor(opts: ReplicaLagMonitorOptions) {
    const app = `${opts.applicationName ?? 'kinora'}-metrics`;
    const timeoutMs = opts.timeoutMs ?? 3000;
    this.labels = replicaLabels(opts.replicaUrls);
    this.primary = new Probe(opts.primaryUrl, app, timeoutMs);
    this.replicas = opts.replicaUrls.map((u) => new Probe(u, app, timeoutMs));
    this.maxAgeMs = opts.maxAgeMs ?? 5000;
    this.waitMs = opts.waitMs ?? 1000;
    this.log = opts.log;
  }

  /** The lag of every replica that answered its last sample, sampling first when the cache is stale. */
  async latest(): Promise<ReadonlyMap<string, ReplicaLag>> {
    if (this.replicas.length === 0 || this.closed) return new Map();
    if (!this.inFlight && Date.now() - this.sampledAt >= this.maxAgeMs) {
      this.inFlightSince = Date.now();
      this.inFlight = this.sample().finally(() => {
        this.inFlight = undefined;
      });
    }
    if (this.inFlight) {
      // Several callers of one scrape share one sample and one deadline.
      const left = this.waitMs - (Date.now() - this.inFlightSince);
      let timer: NodeJS.Timeout | undefined;
      if (left > 0) await Promise.race([this.inFlight, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    return this.values;
  }

  /**
   * Takes one sample of every replica (and of the primary's WAL position). Each replica's value is updated as soon as
   * it answers, so a hanging server delays only its own. Never rejects.
   */
  async sample(): Promise<void> {
    const primaryLsn = this.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn').then(
      (r) => {
        this.recovered('primary');
        return parseLsn(r.lsn);
      },
      (err: unknown) => {
        this.failed('primary', err);
        return undefined;
      },
    );
    await Promise.all(
      this.replicas.map(async (probe, i) => {
        const label = this.labels[i]!;
        let lag: ReplicaLag | undefined;
        try {
          const r = await probe.query<{ recovery: boolean; replay_lsn: string | null; seconds: number }>(REPLICA_SQL);
          this.recovered(label);
          // Read at about the same time as the replica; WAL written in between counts as not yet replayed.
          const current = await primaryLsn;
          let bytes: number | undefined;
          if (current !== undefined) {
            // Not a replica (no replay position): nothing to replay.
            const diff = r.recovery && r.replay_lsn ? current - parseLsn(r.replay_lsn) : 0n;
            bytes = diff > 0n ? Number(diff) : 0;
          }
          lag = { seconds: Math.max(0, Number(r.seconds)), bytes };
        } catch (err) {
          this.failed(label, err);
        }
        const values = new Map(this.values);
        if (lag) values.set(label, lag);
        else values.delete(label);
        this.values = values;
      }),
    );
    await primaryLsn;
    this.sampledAt = Date.now();
  }

  private failed(server: string, err: unknown): void {
    if (this.closed || this.failing.has(server)) return;
    this.failing.add(server);
    this.log?.warn({ server, err: err instanceof Error ? err.message : String(err) }, 'replica lag: cannot read the WAL position (its lag metrics are left out until it answers)');
  }

  private recovered(server: string): void {
    if (this.failing.delete(server)) this.log?.info({ server }, 'replica lag: the server answers again');
  }

  close(): void {
    this.closed = true;
    this.primary.close();
    for (const r of this.replicas) r.close();
  }
}
