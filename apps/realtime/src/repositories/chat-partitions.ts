import type { Database } from '@kinora/db';

const DAY_MS = 86_400_000;
const PARTITION = /^chat_messages_p(\d{4})(\d{2})(\d{2})$/;

function dayStart(ms: number): Date {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS);
}

function partitionName(day: Date): string {
  return `chat_messages_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * Daily partitions of `realtime.chat_messages` (UTC days): creates today's and the next `aheadDays`, and drops those
 * entirely older than `retentionDays`. Concurrent instances serialise on an advisory lock, so two starts never race
 * on the same CREATE.
 */
export class ChatPartitions {
  constructor(
    private readonly db: Database,
    private readonly opts: { aheadDays: number; retentionDays: number },
  ) {}

  async maintain(now = Date.now()): Promise<{ created: string[]; dropped: string[] }> {
    return this.db.transaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('kinora.realtime.chat_partitions'))`);
      const { rows } = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'realtime.chat_messages'::regclass`,
      );
      const existing = new Set(rows.map((r) => r.name));
      const created: string[] = [];
      const today = dayStart(now).getTime();
      for (let d = 0; d <= this.opts.aheadDays; d++) {
        const from = new Date(today + d * DAY_MS);
        const name = partitionName(from);
        if (existing.has(name)) continue;
        const to = new Date(from.getTime() + DAY_MS);
        await client.query(
          `CREATE TABLE realtime.${name} PARTITION OF realtime.chat_messages FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
        );
        created.push(name);
      }
      const dropped: string[] = [];
      const keepFrom = today - this.opts.retentionDays * DAY_MS;
      for (const name of existing) {
        const m = PARTITION.exec(name);
        if (!m) continue;
        const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
        if (start + DAY_MS <= keepFrom) {
          await client.query(`DROP TABLE realtime.${name}`);
          dropped.push(name);
        }
      }
      return { created, dropped };
    });
  }

  /** The oldest time still kept (history scans stop there). */
  keptSince(now = Date.now()): Date {
    return new Date(dayStart(now).getTime() - this.opts.retentionDays * DAY_MS);
  }
}
