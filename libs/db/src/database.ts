import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { commonErrors } from '@kinora/http';
import { formatLsn } from './lsn-token.js';
import { parseLsn, Probe, ReplicaLagMonitor, replicaLabels, type ReplicaLagLog, type ReplicaLagMonitorOptions } from './replica-lag.js';

export interface DatabaseOptions {
  primaryUrl: string;
  replicaUrls?: readonly string[];
  /**
   * The database's name in a client's read-your-writes token (`Kinora-Lsn: users=…,videos=…`): `users`, `videos`,
   * `analytics` for the per-entity databases, `main` (default) for the one database of the all-in-one process.
   */
  name?: string;
  /** Connections per pool. */
  poolMax?: number;
  applicationName?: string;
  /**
   * `statement_timeout` and `idle_in_transaction_session_timeout` of every connection (ms), sent as startup
   * parameters (no session-level `SET`, so they hold behind PgBouncer too when it passes them on). 0: not sent
   * (the server's or the role's setting applies). Defaults 30 s and 60 s.
   */
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** How long a new connection may take (ms, default 5 s). */
  connectTimeoutMs?: number;
  /**
   * How often the health of every server and the replay position of every replica are polled (ms, default 250).
   * A replica's reads wait for its poll to see a client's position; a dead primary is noticed at the latest then.
   */
  healthIntervalMs?: number;
  onError?: (err: Error) => void;
  /** Where the replica-lag monitor and the health checks say that a server stopped (or started again) answering. */
  log?: ReplicaLagLog;
  /** Tuning of the replica-lag samples (cache age, how long a scrape waits, connection timeouts). */
  replicaLag?: Pick<ReplicaLagMonitorOptions, 'maxAgeMs' | 'waitMs' | 'timeoutMs'>;
}

/** Connections of one pool (or of all replica pools together), as the metrics report them. */
export interface PoolStats {
  idle: number;
  busy: number;
  waiting: number;
  max: number;
}

/** One server's state as the health checks last saw it. */
export interface ServerHealth {
  /** `primary`, or the replica's `host:port` label. */
  server: string;
  up: boolean;
  /** Replicas: the last polled `pg_last_wal_replay_lsn()` (`X/Y`); undefined while down or before the first poll. */
  replayLsn?: string;
}

interface RequestContext {
  /** This request wrote to the primary: its own later reads go there too. */
  wrote: boolean;
  /** The position the client has seen written to this database (from its `Kinora-Lsn` token). */
  minLsn: bigint | undefined;
  /** The authenticated caller (see {@link Database.setPrincipal}). */
  principal: string | undefined;
  /** Principals whose writes this request made (the caller, or a user signing in or registering). */
  writers: Set<string>;
}

/** Failed health checks in a row (without a connection error, e.g. timeouts) that eject a server. */
const TIMEOUTS_TO_EJECT = 3;

/** Principals remembered with their last write position (in-process fallback for clients without a token). */
const MAX_WRITERS = 10_000;

/** SQLSTATEs and socket errors that say "the server is not there", as opposed to a failing statement. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
]);

/**
 * Whether `err` means the server is unreachable (eject it), not that a statement failed. Timeouts are not: a busy
 * host or a stalled event loop causes them too (the health checks eject after several in a row).
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (!e) return false;
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated(?! due to connection timeout)|Client has encountered a connection error/i.test(msg);
}

/** pg's pool could not get a connection in `connectionTimeoutMillis`: the statement was never sent. */
function isConnectTimeout(err: unknown): boolean {
  const msg = (err as { message?: unknown } | undefined)?.message;
  return typeof msg === 'string' && /timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(msg);
}

function primaryUnavailable(): Error {
  return commonErrors.SERVICE_UNAVAILABLE('The database primary does not answer: writes are refused until it is back; retry later', undefined, { 'retry-after': '5' });
}

/** A server the health checks follow: a primary or a replica, its pool, its drizzle. */
class Server {
  up = true;
  /**
   * Answered once: only then does "down" fail queries at once. A server never reached (a wrong URL at start-up)
   * lets its own connection error through, which says what is wrong.
   */
  everUp = false;
  /** A health check of this server is running. */
  polling = false;
  /** Health checks failed in a row. */
  failures = 0;
  /** Replicas: last polled replay position; `null` when the server is not in recovery (a promoted replica). */
  replayLsn: bigint | null | undefined;
  readonly drizzle: NodePgDatabase;

  constructor(
    readonly label: string,
    readonly pool: pg.Pool,
    readonly probe: Probe,
  ) {
    this.drizzle = drizzle({ client: pool });
  }
}

/**
 * The primary pool, the replica pools and drizzle over each. Routing of reads (read-your-writes by WAL position):
 * inside a request context (see {@link Database.runInContext}, done by `dbPlugin` from the `Kinora-Lsn` header), a
 * read goes to a replica only once that replica has replayed the position the client has seen written; after a write
 * in the same request, or when no replica has caught up, it goes to the primary. Failures: a replica whose poll or
 * query fails on a connection error is ejected (its reads go to the others or the primary) until its poll answers
 * again; while the primary does not answer, writes fail at once with a 503 problem and reads use the replicas.
 */
export class Database {
  readonly name: string;
  readonly primary: pg.Pool;
  readonly replicas: pg.Pool[];
  private readonly primaryServer: Server;
  private readonly replicaServers: Server[];
  private readonly als = new AsyncLocalStorage<RequestContext>();
  private readonly writerLsn = new Map<string, bigint>();
  private readonly opts: DatabaseOptions;
  private readonly healthTimer: NodeJS.Timeout;
  private lagMonitor: ReplicaLagMonitor | undefined;
  private closed = false;

  constructor(opts: DatabaseOptions) {
    this.opts = opts;
    this.name = opts.name ?? 'main';
    const app = opts.applicationName ?? 'kinora';
    const statementTimeout = opts.statementTimeoutMs ?? 30_000;
    const idleInTx = opts.idleInTransactionTimeoutMs ?? 60_000;
    const connectTimeout = opts.connectTimeoutMs ?? 5000;
    const common: pg.PoolConfig = {
      max: opts.poolMax ?? 10,
      application_name: app,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: connectTimeout,
      ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
      ...(idleInTx > 0 ? { idle_in_transaction_session_timeout: idleInTx } : {}),
    };
    const onError = opts.onError ?? (() => {});
    // As patient as a pool connection: a slow answer (a busy host, a stalled event loop) is not a dead server.
    const probeTimeout = connectTimeout;
    const health = `${app}-health`;
    this.primary = new pg.Pool({ connectionString: opts.primaryUrl, ...common });
    this.primaryServer = new Server('primary', this.primary, new Probe(opts.primaryUrl, health, probeTimeout));
    const labels = replicaLabels(opts.replicaUrls ?? []);
    this.replicaServers = (opts.replicaUrls ?? []).map(
      (url, i) => new Server(labels[i]!, new pg.Pool({ connectionString: url, ...common }), new Probe(url, health, probeTimeout)),
    );
    this.replicas = this.replicaServers.map((s) => s.pool);
    for (const s of [this.primaryServer, ...this.replicaServers]) {
      s.pool.on('error', (err) => {
        // After close(): pool.end() resolves before the ended connections' sockets are gone, so a server stopping
        // right after (the embedded PostgreSQL on shutdown) can still fail them. Expected, not worth an error line.
        if (this.closed) return;
        // An idle connection died: the server may be gone; the next poll says.
        if (isConnectionError(err)) void this.poll();
        onError(err);
      });
      // pg reports a connection lost while no statement runs on it as an 'error' event on the client, and pg-pool
      // listens only while the client is idle: a client checked out (a transaction between two statements, a
      // relay holding one) would turn a dying server into an uncaught error that ends the process. Every client
      // gets a listener for its whole life; the statement that follows fails with a connection error anyway.
      s.pool.on('connect', (client) => {
        client.on('error', (err) => {
          if (isConnectionError(err)) void this.poll();
        });
      });
    }
    this.guardPrimary(this.primaryServer);
    for (const s of this.replicaServers) this.guardReplica(s);
    this.healthTimer = setInterval(() => void this.poll(), opts.healthIntervalMs ?? 250);
    this.healthTimer.unref();
    void this.poll();
  }

  /**
   * Runs `fn` in a request context (the Fastify plugin does this for every request). `minLsn`: the position of
   * this database that the client has seen written (its `Kinora-Lsn` token); its reads wait for a replica that
   * has replayed it, or go to the primary.
   */
  runInContext<T>(fn: () => T, minLsn?: bigint): T {
    return this.als.run({ wrote: false, minLsn, principal: undefined, writers: new Set() }, fn);
  }

  /**
   * Sets the principal of the current context once it is known (after authentication): besides its token, its
   * reads wait for the last position its writes reached through this process (a client that does not echo
   * `Kinora-Lsn` still reads its own writes when it comes back to the same instance).
   */
  setPrincipal(principal: string): void {
    const ctx = this.als.getStore();
    if (ctx) ctx.principal = principal;
  }

  /**
   * Records that `principal` writes in this request although the request is not authenticated as it
   * (registration, sign-in, token refresh): its next requests read what this one wrote.
   */
  markWriteBy(principal: string): void {
    this.markWrite();
    this.als.getStore()?.writers.add(principal);
  }

  /**
   * After a request that wrote: remembers `lsn` (the primary's position after its writes) as the last write of its
   * principals. Entries every replica has replayed are dropped when the map is full.
   */
  recordWritePosition(lsn: bigint): void {
    const ctx = this.als.getStore();
    if (!ctx) return;
    const writers = new Set(ctx.writers);
    if (ctx.principal) writers.add(ctx.principal);
    for (const w of writers) {
      const prev = this.writerLsn.get(w);
      if (prev === undefined || lsn > prev) this.writerLsn.set(w, lsn);
    }
    if (this.writerLsn.size > MAX_WRITERS) this.pruneWriters();
  }

  private pruneWriters(): void {
    const replayed = this.replicaServers.map((s) => (s.up && typeof s.replayLsn === 'bigint' ? s.replayLsn : 0n));
    const floor = replayed.length > 0 ? replayed.reduce((a, b) => (a < b ? a : b)) : 0n;
    for (const [w, lsn] of this.writerLsn) if (lsn <= floor) this.writerLsn.delete(w);
    // Replicas far behind (or none): forget the oldest entries rather than grow without bound.
    for (const w of this.writerLsn.keys()) {
      if (this.writerLsn.size <= MAX_WRITERS) break;
      this.writerLsn.delete(w);
    }
  }

  /** The position the current context's reads must see: its token's, or its principal's last write here. */
  private requiredLsn(ctx: RequestContext | undefined): bigint | undefined {
    if (!ctx) return undefined;
    const own = ctx.principal ? this.writerLsn.get(ctx.principal) : undefined;
    if (own === undefined) return ctx.minLsn;
    if (ctx.minLsn === undefined) return own;
    return own > ctx.minLsn ? own : ctx.minLsn;
  }

  /** Whether the current request context wrote to the primary (its response then carries the new position). */
  get contextWrote(): boolean {
    return this.als.getStore()?.wrote ?? false;
  }

  /** Drizzle on the primary, for writes; marks the context as having written. 503 problem while the primary is down. */
  writer(): NodePgDatabase {
    this.checkPrimary();
    this.markWrite();
    return this.primaryServer.drizzle;
  }

  /** Drizzle on the primary without marking a write (reads that must not lag, such as sign-in). */
  get primaryDrizzle(): NodePgDatabase {
    return this.primaryServer.drizzle;
  }

  /** Drizzle for reads: a replica that has replayed what the client has seen written, else the primary. */
  reader(): NodePgDatabase {
    return this.pickReader().drizzle;
  }

  /** The raw pool for reads, with the same routing as {@link reader}. */
  readPool(): pg.Pool {
    return this.pickReader().pool;
  }

  /**
   * The raw pool for reads that must see the latest commit (cache fills, a creator's own list, checks before a
   * write): the primary; while it is down, the replica that has replayed the most (stale by at most what the
   * primary had not shipped beats a 503 for a read). Writes still fail at once.
   */
  latestPool(): pg.Pool {
    return this.pickLatest().pool;
  }

  /** Drizzle with the routing of {@link latestPool}. */
  get latestDrizzle(): NodePgDatabase {
    return this.pickLatest().drizzle;
  }

  /** A single statement on the primary (a write, or a read that must not lag); marks the context as written. */
  async execute<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    this.checkPrimary();
    this.markWrite();
    return this.primary.query<R>(text, params);
  }

  /** Runs `fn` in a primary transaction (BEGIN/COMMIT, ROLLBACK on throw). */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.checkPrimary();
    this.markWrite();
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      // The primary went away under the transaction: the same 503 as every write while it is down.
      if (isConnectionError(err) && this.primaryServer.everUp) {
        this.setUp(this.primaryServer, false, err);
        void this.poll();
        throw primaryUnavailable();
      }
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Throws the 503 problem (with `Retry-After`) that writes get while the primary is down. For a write handler to
   * call before work that only serves the write (a lookup in another service): a refused write is refused at once,
   * not after that work.
   */
  assertWritable(): void {
    this.checkPrimary();
  }

  /** Marks the current request context as having written (its reads go to the primary from now on). */
  markWrite(): void {
    const ctx = this.als.getStore();
    if (ctx) ctx.wrote = true;
  }

  /**
   * The primary's WAL insert position now: at least the commit record of every transaction committed before the
   * call. What a response that wrote hands its client (`Kinora-Lsn`). Undefined when the primary does not answer.
   */
  async currentLsn(): Promise<bigint | undefined> {
    if (!this.primaryServer.up) return undefined;
    try {
      const { rows } = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      return rows[0] ? parseLsn(rows[0].lsn) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether the primary answered its last health check (or query). */
  get primaryAvailable(): boolean {
    return this.primaryServer.up;
  }

  /** What the health checks last saw of each server. */
  health(): ServerHealth[] {
    return [
      { server: 'primary', up: this.primaryServer.up },
      ...this.replicaServers.map((s) => ({
        server: s.label,
        up: s.up,
        ...(s.up && typeof s.replayLsn === 'bigint' ? { replayLsn: formatLsn(s.replayLsn) } : {}),
      })),
    ];
  }

  /** Polls every server now (the timer does it every `healthIntervalMs`); resolves when all answered or failed. */
  async poll(): Promise<void> {
    if (this.closed) return;
    await Promise.all([this.primaryServer, ...this.replicaServers].map((s) => this.pollServer(s)));
  }

  /**
   * One health check of one server (skipped while its previous one runs, so a hanging server delays only its own).
   * A connection error marks it down at once; a timeout (which a stalled event loop can cause too, e.g. a busy
   * start-up) only after {@link TIMEOUTS_TO_EJECT} in a row.
   */
  private async pollServer(s: Server): Promise<void> {
    if (s.polling) return;
    s.polling = true;
    try {
      if (s === this.primaryServer) {
        await s.probe.query<{ ok: number }>('SELECT 1 AS ok');
      } else {
        const r = await s.probe.query<{ lsn: string | null }>('SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS lsn');
        s.replayLsn = r.lsn === null ? null : parseLsn(r.lsn);
      }
      s.failures = 0;
      this.setUp(s, true);
    } catch (err) {
      s.failures++;
      if (this.closed) return;
      if (isConnectionError(err) || s.failures >= TIMEOUTS_TO_EJECT) {
        if (s !== this.primaryServer) s.replayLsn = undefined;
        this.setUp(s, false, err);
      }
    } finally {
      s.polling = false;
    }
  }

  private setUp(server: Server, up: boolean, err?: unknown): void {
    if (up) server.everUp = true;
    if (server.up === up || this.closed) return;
    server.up = up;
    const what = server === this.primaryServer ? 'database primary' : 'database replica';
    if (up) this.opts.log?.info({ server: server.label, database: this.name }, `${what} answers again: back in service`);
    else
      this.opts.log?.warn(
        { server: server.label, database: this.name, err: err instanceof Error ? err.message : String(err) },
        server === this.primaryServer
          ? 'database primary does not answer: writes answer 503, reads go to the replicas'
          : 'database replica does not answer: its reads go to the other replicas or the primary',
      );
  }

  private checkPrimary(): void {
    if (!this.primaryServer.up && this.primaryServer.everUp) throw primaryUnavailable();
  }

  private pickReader(): Server {
    const ctx = this.als.getStore();
    if (ctx?.wrote && this.primaryServer.up) return this.primaryServer;
    const min = this.requiredLsn(ctx);
    const fresh = this.replicaServers.filter(
      (s) => s.up && s.replayLsn !== undefined && (min === undefined || s.replayLsn === null || s.replayLsn >= min),
    );
    if (fresh.length > 0) return fresh[Math.floor(Math.random() * fresh.length)]!;
    if (this.primaryServer.up) return this.primaryServer;
    // No primary: a replica that has not caught up is better than no answer (documented as the one exception).
    const any = this.replicaServers.filter((s) => s.up);
    if (any.length > 0) return any[Math.floor(Math.random() * any.length)]!;
    return this.primaryServer;
  }

  private pickLatest(): Server {
    if (this.primaryServer.up || !this.primaryServer.everUp) return this.primaryServer;
    // A promoted replica (not in recovery: null) is the newest; unknown positions last.
    const rank = (s: Server): bigint => (s.replayLsn === null ? BigInt(Number.MAX_SAFE_INTEGER) ** 2n : (s.replayLsn ?? -1n));
    const up = this.replicaServers.filter((s) => s.up);
    if (up.length === 0) return this.primaryServer;
    return up.reduce((best, s) => (rank(s) > rank(best) ? s : best));
  }

  /** Another server for a read whose replica just failed: a healthy replica, else the primary. */
  private fallbackFor(failed: Server): Server {
    const others = this.replicaServers.filter((s) => s !== failed && s.up && s.replayLsn !== undefined);
    const min = this.requiredLsn(this.als.getStore());
    const fresh = others.filter((s) => min === undefined || s.replayLsn === null || s.replayLsn! >= min);
    if (fresh.length > 0) return fresh[Math.floor(Math.random() * fresh.length)]!;
    if (this.primaryServer.up) return this.primaryServer;
    return others[0] ?? this.primaryServer;
  }

  /**
   * Primary queries fail at once with a 503 problem while the primary is down (no connect timeout to wait for),
   * and a connection error marks it down (the health poll brings it back).
   */
  private guardPrimary(server: Server): void {
    const pool = server.pool as unknown as Record<'query' | 'connect', (...args: unknown[]) => unknown>;
    for (const method of ['query', 'connect'] as const) {
      const original = pool[method]!.bind(server.pool);
      pool[method] = (...args: unknown[]) => {
        if (typeof args[args.length - 1] === 'function') return original(...args);
        if (!server.up && server.everUp) return Promise.reject(primaryUnavailable());
        return (original(...args) as Promise<unknown>).then((result) => {
          server.everUp = true;
          return result;
        }, (err: unknown) => {
          if (isConnectionError(err)) {
            this.setUp(server, false, err);
            void this.poll();
            // The answer a client gets while the primary is down (503 + Retry-After), from the first failure on:
            // a raw connection error would be a 500, and would count against the service at the gateways. A
            // primary never reached (a wrong URL at start-up) keeps its own error, which says what is wrong.
            if (server.everUp) throw primaryUnavailable();
          }
          throw err;
        });
      };
    }
  }

  /**
   * A replica's `query` (what reads use): on a connection error the replica is ejected and the read is retried once
   * on another replica or the primary; reads reaching an ejected replica's pool go elsewhere straight away.
   */
  private guardReplica(server: Server): void {
    const pool = server.pool as unknown as Record<'query', (...args: unknown[]) => unknown>;
    const original = pool.query!.bind(server.pool);
    pool.query = (...args: unknown[]) => {
      if (typeof args[args.length - 1] === 'function') return original(...args);
      if (!server.up) return this.fallbackFor(server).pool.query(...(args as [string]));
      return (original(...args) as Promise<unknown>).catch((err: unknown) => {
        if (isConnectionError(err)) {
          server.replayLsn = undefined;
          this.setUp(server, false, err);
          void this.poll();
        } else if (!isConnectTimeout(err)) throw err;
        // The statement never ran (no connection): elsewhere is safe for a read.
        return this.fallbackFor(server).pool.query(...(args as [string]));
      });
    };
  }

  /** Connections of the primary pool and of the replica pools (summed), read now. */
  poolStats(): { primary: PoolStats; replica: PoolStats | undefined } {
    const stats = (pools: pg.Pool[]): PoolStats => {
      const s = { idle: 0, busy: 0, waiting: 0, max: 0 };
      for (const p of pools) {
        s.idle += p.idleCount;
        s.busy += p.totalCount - p.idleCount;
        s.waiting += p.waitingCount;
        s.max += p.options.max ?? 10;
      }
      return s;
    };
    return { primary: stats([this.primary]), replica: this.replicas.length > 0 ? stats(this.replicas) : undefined };
  }

  /**
   * The replay lag of the replicas, sampled over dedicated connections when first asked for (see
   * {@link ReplicaLagMonitor}); closed with the database.
   */
  get replicaLag(): ReplicaLagMonitor {
    if (!this.lagMonitor) {
      this.lagMonitor = new ReplicaLagMonitor({
        primaryUrl: this.opts.primaryUrl,
        replicaUrls: this.opts.replicaUrls ?? [],
        applicationName: this.opts.applicationName ?? 'kinora',
        ...this.opts.replicaLag,
        ...(this.opts.log ? { log: this.opts.log } : {}),
      });
      if (this.closed) this.lagMonitor.close();
    }
    return this.lagMonitor;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Readiness: some server can serve reads. A dead primary (writes answer 503) or a dead replica (its reads go
   * elsewhere) keeps the process in service; it fails only when neither the primary nor any replica answers.
   */
  async ping(): Promise<void> {
    if (this.replicaServers.length === 0) {
      await this.primary.query('SELECT 1');
      return;
    }
    await this.poll();
    if (!this.primaryServer.up && !this.replicaServers.some((s) => s.up)) throw new Error('no database server answers');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.healthTimer);
    this.lagMonitor?.close();
    for (const s of [this.primaryServer, ...this.replicaServers]) s.probe.close();
    await Promise.all([this.primary.end(), ...this.replicas.map((p) => p.end())]);
  }
}
