import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { withReplicas } from 'drizzle-orm/pg-core';
import { ReplicaLagMonitor, type ReplicaLagLog, type ReplicaLagMonitorOptions } from './replica-lag.js';

export interface DatabaseOptions {
  primaryUrl: string;
  replicaUrls?: readonly string[];
  /** Connections per pool. */
  poolMax?: number;
  applicationName?: string;
  /**
   * After a principal writes, its reads go to the primary for this long, so it sees its own writes while replicas
   * catch up (default 5 s; replication lag beyond that is an incident, not a normal state).
   */
  stickyPrimaryMs?: number;
  onError?: (err: Error) => void;
  /** Where the replica-lag monitor says that a server stopped (or started again) answering its samples. */
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

interface RequestContext {
  wrote: boolean;
  principal: string | undefined;
}

/**
 * The primary pool, the replica pools and drizzle over them (`withReplicas`). Read-your-writes: inside a request
 * context (see {@link Database.runInContext}), once the request wrote, or while its principal wrote recently, reads
 * go to the primary; otherwise they are spread over the replicas.
 */
export class Database {
  readonly primary: pg.Pool;
  readonly replicas: pg.Pool[];
  private readonly primaryDb: NodePgDatabase;
  private readonly replicatedDb: NodePgDatabase;
  private readonly als = new AsyncLocalStorage<RequestContext>();
  private readonly recentWriters = new Map<string, number>();
  private readonly stickyMs: number;
  private readonly opts: DatabaseOptions;
  private lagMonitor: ReplicaLagMonitor | undefined;
  private closed = false;

  constructor(opts: DatabaseOptions) {
    this.opts = opts;
    const common = {
      max: opts.poolMax ?? 10,
      application_name: opts.applicationName ?? 'kinora',
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
    };
    this.primary = new pg.Pool({ connectionString: opts.primaryUrl, ...common });
    this.replicas = (opts.replicaUrls ?? []).map((url) => new pg.Pool({ connectionString: url, ...common }));
    const onError = opts.onError ?? (() => {});
    for (const p of [this.primary, ...this.replicas]) p.on('error', onError);
    this.primaryDb = drizzle({ client: this.primary });
    const replicaDbs = this.replicas.map((p) => drizzle({ client: p }));
    // withReplicas sends selects to a replica and everything else to the primary.
    this.replicatedDb =
      replicaDbs.length > 0
        ? (withReplicas(this.primaryDb, replicaDbs as unknown as [NodePgDatabase, ...NodePgDatabase[]]) as unknown as NodePgDatabase)
        : this.primaryDb;
    this.stickyMs = opts.stickyPrimaryMs ?? 5000;
  }

  /** Runs `fn` in a request context (the Fastify plugin does this for every request). */
  runInContext<T>(fn: () => T, principal?: string): T {
    return this.als.run({ wrote: false, principal }, fn);
  }

  /** Sets the principal of the current context once it is known (after authentication). */
  setPrincipal(principal: string): void {
    const ctx = this.als.getStore();
    if (ctx) ctx.principal = principal;
  }

  /** Drizzle on the primary, for writes; marks the context (and its principal) as having written. */
  writer(): NodePgDatabase {
    this.markWrite();
    return this.primaryDb;
  }

  /** Drizzle on the primary without marking a write (reads that must not lag, such as sign-in). */
  get primaryDrizzle(): NodePgDatabase {
    return this.primaryDb;
  }

  /** Drizzle for reads: the primary when read-your-writes requires it, else the replicas. */
  reader(): NodePgDatabase {
    return this.mustReadPrimary() ? this.primaryDb : this.replicatedDb;
  }

  /** The raw pool for reads, with the same routing as {@link reader}. */
  readPool(): pg.Pool {
    if (this.replicas.length === 0 || this.mustReadPrimary()) return this.primary;
    return this.replicas[Math.floor(Math.random() * this.replicas.length)]!;
  }

  /** A single statement on the primary (a write, or a read that must not lag); marks the context as written. */
  async execute<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    this.markWrite();
    return this.primary.query<R>(text, params);
  }

  /** Runs `fn` in a primary transaction (BEGIN/COMMIT, ROLLBACK on throw). */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.markWrite();
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Records that `principal` just wrote, from a request that was not authenticated as it (registration, sign-in,
   * token refresh): its next requests read from the primary for the sticky window too.
   */
  markWriteBy(principal: string): void {
    this.markWrite();
    this.recentWriters.set(principal, Date.now() + this.stickyMs);
    if (this.recentWriters.size > 10_000) this.pruneWriters();
  }

  markWrite(): void {
    const ctx = this.als.getStore();
    if (!ctx) return;
    ctx.wrote = true;
    if (ctx.principal) {
      this.recentWriters.set(ctx.principal, Date.now() + this.stickyMs);
      if (this.recentWriters.size > 10_000) this.pruneWriters();
    }
  }

  private mustReadPrimary(): boolean {
    if (this.replicas.length === 0) return true;
    const ctx = this.als.getStore();
    if (!ctx) return false;
    if (ctx.wrote) return true;
    if (ctx.principal) {
      const until = this.recentWriters.get(ctx.principal);
      if (until !== undefined) {
        if (until > Date.now()) return true;
        this.recentWriters.delete(ctx.principal);
      }
    }
    return false;
  }

  private pruneWriters(): void {
    const now = Date.now();
    for (const [k, until] of this.recentWriters) if (until <= now) this.recentWriters.delete(k);
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

  /** Readiness: the primary and every replica answer. */
  async ping(): Promise<void> {
    await Promise.all([this.primary, ...this.replicas].map((p) => p.query('SELECT 1')));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lagMonitor?.close();
    await Promise.all([this.primary.end(), ...this.replicas.map((p) => p.end())]);
  }
}
