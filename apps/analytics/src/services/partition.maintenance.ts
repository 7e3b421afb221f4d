import type { Database } from '@kinora/db';
import { DAY_MS, dayOf, type FactsRepository } from '../repositories/facts.repository.js';

export interface MaintenanceLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PartitionMaintenanceOptions {
  database: Database;
  facts: FactsRepository;
  /** Facts older than this many days are dropped (whole daily partitions). */
  retentionDays: number;
  /** Partitions created ahead of today. Default 7. */
  aheadDays?: number;
  /** How often the task runs. Default 1 h. */
  intervalMs?: number;
  logger: MaintenanceLogger;
  now?: () => number;
}

/**
 * Keeps the daily partitions of the facts: creates today's and `aheadDays` more, drops those wholly older than the
 * retention period. Runs at start and then every `intervalMs`; a transaction-scoped advisory lock, held by a
 * transaction left open for the round (no session state, so PgBouncer's transaction mode keeps it on one server
 * connection), lets one process at a time do it (the others skip that round).
 */
export class PartitionMaintenance {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: PartitionMaintenanceOptions) {}

  /** The oldest day whose facts are kept. */
  cutoffDay(now = (this.opts.now ?? Date.now)()): number {
    return dayOf(now) - this.opts.retentionDays * DAY_MS;
  }

  /** The days facts may be written for: from the cutoff to the last day created ahead. */
  writableDays(now = (this.opts.now ?? Date.now)()): { first: number; last: number } {
    return { first: this.cutoffDay(now), last: dayOf(now) + (this.opts.aheadDays ?? 7) * DAY_MS };
  }

  async runOnce(): Promise<{ created: number; dropped: string[] }> {
    const client = await this.opts.database.primary.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext('kinora.analytics.partitions')) AS locked");
      if (!rows[0]?.locked) {
        await client.query('ROLLBACK');
        return { created: 0, dropped: [] };
      }
      try {
        const now = (this.opts.now ?? Date.now)();
        const before = new Set(await this.opts.facts.partitionDays());
        const days: number[] = [];
        for (let d = dayOf(now); d <= this.writableDays(now).last; d += DAY_MS) days.push(d);
        await this.opts.facts.ensureDays(days);
        const created = days.filter((d) => !before.has(d)).length;
        const dropped = await this.opts.facts.dropBefore(this.cutoffDay(now));
        if (created > 0 || dropped.length > 0) this.opts.logger.info({ created, dropped }, 'analytics partitions maintained');
        return { created, dropped };
      } finally {
        // Ends the transaction, which releases the lock.
        await client.query('ROLLBACK').catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.runOnce().catch((err: unknown) => this.opts.logger.error({ err }, 'analytics partition maintenance failed'));
    }, this.opts.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
