import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { backoffDelayMs, type BackoffOptions } from '../backoff.js';
import { assertTopicName, silentLogger, type EventBus, type EventBusLogger, type EventMessage } from '../event-bus.js';
import type { InProcessEventBus } from '../adapters/in-process/postgres-log.bus.js';

/**
 * Absolute path of the outbox table's migrations (`libs/events/outbox-migrations`), to run into a service's own
 * schema: `runMigrations(pool, { schema: 'comments', dir: outboxMigrationsDir })` creates `comments.outbox`. The file
 * names (`outbox_*.sql`) do not collide with the service's own migrations in `<schema>.schema_migrations`.
 * From `src/outbox/` and `dist/outbox/` alike, `../../outbox-migrations` is the same folder.
 */
export const outboxMigrationsDir: string = fileURLToPath(new URL('../../outbox-migrations', import.meta.url));

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function assertSchema(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) throw new TypeError(`invalid schema name ${JSON.stringify(schema)}`);
}

/**
 * How a service publishes from inside its business transaction: the events exist if and only if the transaction
 * commits, and reach the bus after the commit.
 */
export interface TransactionalPublisher {
  /** Records `messages` for `topic` in the caller's open transaction (`client` after `BEGIN`). */
  publish<T>(client: pg.ClientBase, topic: string, messages: EventMessage<T>[]): Promise<void>;
  /** Call after the transaction committed: a hint to deliver now rather than at the next poll. */
  committed(): void;
}

/**
 * The transactional outbox: writes the messages into `<schema>.outbox` in the business transaction; an
 * {@link OutboxRelay} moves them to the bus. Works with any `EventBus` adapter (Kafka included).
 */
export class OutboxWriter implements TransactionalPublisher {
  private readonly table: string;
  constructor(private readonly opts: { schema: string; onCommitted?: () => void }) {
    assertSchema(opts.schema);
    this.table = `${opts.schema}.outbox`;
  }

  async publish<T>(client: pg.ClientBase, topic: string, messages: EventMessage<T>[]): Promise<void> {
    assertTopicName(topic);
    if (messages.length === 0) return;
    if (client.getTransactionStatus() !== 'T') {
      throw new Error('OutboxWriter.publish needs a client inside an open transaction (after BEGIN)');
    }
    const keys: string[] = [];
    const values: string[] = [];
    const headers: string[] = [];
    for (const m of messages) {
      if (typeof m.key !== 'string' || m.key === '') throw new TypeError('an event message needs a non-empty string key');
      const value = JSON.stringify(m.value);
      if (value === undefined) throw new TypeError(`the value of the message with key ${m.key} is not JSON-serialisable`);
      keys.push(m.key);
      values.push(value);
      headers.push(JSON.stringify(m.headers ?? {}));
    }
    // Identity values follow the order of the rows, so one call's messages keep their order.
    await client.query(
      `INSERT INTO ${this.table} (topic, key, value, headers)
       SELECT $1, m.key, m.value::jsonb, m.headers::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(key, value, headers, n)
       ORDER BY m.n`,
      [topic, keys, values, headers],
    );
  }

  committed(): void {
    this.opts.onCommitted?.();
  }
}

/**
 * Embedded mode's shortcut: the in-process bus appends to its PostgreSQL log in the caller's transaction, so the
 * log itself is the outbox. Only when the bus's log lives in the same database as the business tables.
 */
export function inTransactionPublisher(bus: InProcessEventBus): TransactionalPublisher {
  return {
    publish: (client, topic, messages) => bus.publish(topic, messages, { client }),
    committed: () => {},
  };
}

export interface OutboxRelayOptions {
  /** The database holding `<schema>.outbox` (the service's primary). The relay never ends it. */
  pool: pg.Pool;
  schema: string;
  /** Where the messages go. */
  bus: EventBus;
  logger?: EventBusLogger;
  /** Rows moved per transaction. Default 100. */
  batchSize?: number;
  /** How often an idle relay looks for rows it was not woken for (other processes, a crash). Default 1000. */
  pollIntervalMs?: number;
  /** How soon a relay retries when another relay of the same schema is draining. Default 50. */
  busyRetryMs?: number;
  /** Delays after a failed drain (bus or database down). Default 200 ms doubling up to 30 s. */
  retryBackoff?: Partial<BackoffOptions>;
}

/** Clients of any pool that already carry the relay's error listener (added once per connection). */
const guarded = new WeakSet<pg.PoolClient>();

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  value: unknown;
  headers: Record<string, string>;
}

/**
 * Drains `<schema>.outbox` to an EventBus, at least once and in outbox order:
 *
 * - one transaction per batch takes a transaction-level advisory lock (one relay of a schema drains at a time,
 *   however many processes run one, so the order of the rows is the order of publication), reads the oldest rows,
 *   publishes them (consecutive rows of one topic in one `publish` call) and deletes them;
 * - a crash (or a failed publish) before that transaction commits leaves the rows in place: they are published
 *   again by the next drain, by this process or another. Consumers deduplicate on the envelope's `id`.
 *
 * Rows of transactions that commit out of identity order may be published out of that order; causally related
 * writes (a later transaction that saw an earlier one's rows, or waited for its row locks) always get higher ids,
 * so the events of one entity stay in order.
 */
export class OutboxRelay {
  private readonly table: string;
  private readonly lockKey: string;
  private readonly logger: EventBusLogger;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly busyRetryMs: number;
  private readonly backoff: BackoffOptions;
  private running: Promise<void> | undefined;
  private closed = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private failures = 0;
  /** Messages this relay has published (for metrics and tests). */
  published = 0;

  constructor(private readonly opts: OutboxRelayOptions) {
    assertSchema(opts.schema);
    this.table = `${opts.schema}.outbox`;
    this.lockKey = `kinora.outbox.${opts.schema}`;
    this.logger = opts.logger ?? silentLogger;
    this.batchSize = opts.batchSize ?? 100;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.busyRetryMs = opts.busyRetryMs ?? 50;
    this.backoff = { initialMs: opts.retryBackoff?.initialMs ?? 200, maxMs: opts.retryBackoff?.maxMs ?? 30_000 };
  }

  /** Starts draining in the background until {@link close}. */
  start(): void {
    if (this.closed) throw new Error('the outbox relay is closed');
    this.running ??= this.loop();
  }

  /** Drain now (call after a transaction that wrote to the outbox committed). */
  wake(): void {
    this.woken = true;
    // While failing, the backoff decides (a burst of commits must not turn into a burst of retries).
    if (this.failures === 0) this.wakeUp?.();
  }

  /**
   * One batch: publishes and deletes up to `batchSize` of the oldest rows. Returns how many, or `'busy'` when
   * another relay of this schema holds the drain lock.
   */
  async drainOnce(): Promise<number | 'busy'> {
    const client = await this.opts.pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out is reported on the client (possibly after we are done with it); the
    // failing query rejects as well, so the event only needs a listener: without one it is an uncaught error.
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on('error', (err: Error) => this.logger.debug({ err: { message: err.message } }, 'outbox relay connection lost'));
    }
    try {
      await client.query('BEGIN');
      const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [this.lockKey]);
      if (!lock[0]?.ok) {
        await client.query('ROLLBACK');
        return 'busy';
      }
      const { rows } = await client.query<OutboxRow>(
        // Ordered by the bigint column (an `ORDER BY id` would sort the text alias: '10' < '9').
        `SELECT o.id::text AS id, o.topic, o.key, o.value, o.headers FROM ${this.table} o ORDER BY o.id LIMIT $1`,
        [this.batchSize],
      );
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      // Consecutive rows of one topic go out in one publish call, in id order.
      let start = 0;
      while (start < rows.length) {
        let end = start + 1;
        while (end < rows.length && rows[end]!.topic === rows[start]!.topic) end++;
        const run = rows.slice(start, end);
        await this.opts.bus.publish(
          run[0]!.topic,
          run.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
        );
        start = end;
      }
      await client.query(`DELETE FROM ${this.table} WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      await client.query('COMMIT');
      this.published += rows.length;
      return rows.length;
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      // A connection whose transaction state is unknown (or that is gone) is not given back to the pool.
      client.release(broken && client.getTransactionStatus?.() !== 'I' ? broken : undefined);
    }
  }

  /** Drains until the outbox is empty (or another relay holds it). Returns how many rows this call published. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.drainOnce();
      if (n === 'busy' || n === 0) return total;
      total += n;
    }
  }

  /** Stops the background loop after the batch in flight; rows left behind are drained by the next relay. */
  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      let wait: number;
      try {
        const n = await this.drainOnce();
        this.failures = 0;
        if (n === 'busy') wait = this.busyRetryMs;
        else if (n > 0) continue;
        else wait = this.pollIntervalMs;
      } catch (err) {
        this.failures++;
        wait = backoffDelayMs(this.failures, this.backoff);
        this.logger.warn({ err: { message: (err as Error).message }, schema: this.opts.schema, retryInMs: wait }, 'outbox drain failed; rows stay for the next attempt');
      }
      if (this.closed) break;
      // A wake during the drain means rows may have committed after our SELECT: go again at once.
      if (this.woken && this.failures === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }
}
