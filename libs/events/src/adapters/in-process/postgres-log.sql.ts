import type pg from 'pg';

/** NOTIFY channel of publishers (payload: the topic), so consumers wake before their next poll. */
export const PUBLISHED_CHANNEL = 'kinora_events_published';
/** NOTIFY channel of group membership changes (payload: the group), so members rebalance at once. */
export const MEMBERS_CHANNEL = 'kinora_events_members';

/** Partition numbers are part of an advisory-lock key (topic id * 1024 + partition); see the migration. */
export const MAX_PARTITIONS = 1024;

export type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Creates the topic and its partition counters unless it exists, and returns its partition count. `created` tells
 * whether this statement created it (so the row is not yet committed when the caller's transaction is still open).
 */
export async function createTopicIfMissing(db: Queryable, name: string, partitions: number): Promise<{ partitions: number; created: boolean }> {
  // A concurrent creator that commits while this statement waits on the conflict is invisible to this statement's
  // snapshot, so no row comes back; the next statement sees it.
  for (let attempt = 0; attempt < 3; attempt++) {
    const { rows } = await db.query<{ partitions: number; created: boolean }>(
      `WITH created AS (
         INSERT INTO events.topics (name, partitions) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING partitions
       ), counters AS (
         INSERT INTO events.partitions (topic, partition) SELECT $1, p FROM created, generate_series(0, created.partitions - 1) AS p
       )
       SELECT partitions, true AS created FROM created
       UNION ALL SELECT partitions, false AS created FROM events.topics WHERE name = $1`,
      [name, partitions],
    );
    if (rows[0]) return rows[0];
  }
  throw new Error(`topic ${name} could neither be created nor read`);
}

export function assertPartitionCount(partitions: number, what: string): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new RangeError(`${what} must be an integer from 1 to ${MAX_PARTITIONS}, got ${partitions}`);
  }
}
