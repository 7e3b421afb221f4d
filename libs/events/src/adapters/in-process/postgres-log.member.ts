import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { checkSubscribeOptions } from '../../event-bus.js';
import type { ConsumedBatch, EventBusLogger, SubscribeOptions } from '../../event-bus.js';
import { backoffDelayMs } from '../../backoff.js';
import type { BackoffOptions } from '../../backoff.js';
import { murmur2 } from '../../partitioner.js';
import { assignPartitions } from './assignment.js';
import type { TopicPartition } from './assignment.js';
import { MAX_PARTITIONS, MEMBERS_CHANNEL, PUBLISHED_CHANNEL, createTopicIfMissing } from './postgres-log.sql.js';

export interface GroupMemberSettings {
  connection: pg.ClientConfig;
  logger: EventBusLogger;
  defaultPartitions: number;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  retryBackoff: BackoffOptions;
}

interface OwnedPartition extends TopicPartition {
  nextOffset: bigint;
  /** Consecutive handler failures of the current batch. */
  failures: number;
  /** When the failed batch may be delivered again (epoch ms); 0 when nothing failed. */
  retryAt: number;
  /** Size of the batch that failed: exactly those messages are delivered again, before anything later. */
  redeliverCount: number | null;
}

/** Everything as text: the process-wide pg type parsers (int8, jsonb, timestamptz) may be changed by others. */
interface LogRow {
  offset: string;
  key: string;
  value: string;
  headers: string;
  ts: string;
}

/** How soon a member retries to lock a partition assigned to it that the previous owner still holds. */
const ACQUIRE_RETRY_MS = 200;
const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 10_000 };

const ALIVE = `m.heartbeat_at > now() - make_interval(secs => $2)
  AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = m.backend_pid AND a.backend_start = m.backend_start)`;

const JOIN_SQL = `WITH me AS (
    INSERT INTO events.members (group_id, member_id, topics, backend_pid, backend_start)
    SELECT $1, $2, $3, pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()
    ON CONFLICT (group_id, member_id) DO UPDATE
      SET topics = EXCLUDED.topics, backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start, heartbeat_at = now()
    RETURNING 1
  )
  SELECT pg_notify('${MEMBERS_CHANNEL}', $1) FROM me`;

const LEAVE_SQL = `WITH gone AS (DELETE FROM events.members WHERE group_id = $1 AND member_id = $2 RETURNING 1)
  SELECT pg_notify('${MEMBERS_CHANNEL}', $1) FROM gone`;

/**
 * One member of a consumer group, i.e. one subscription. It owns a session connection of its own: the session
 * LISTENs for publishes and membership changes, holds one advisory lock per partition it consumes (so two members
 * never consume a partition at once, and a member that dies frees its partitions with its session), and commits
 * offsets, so a commit can only succeed while the lock is still held.
 *
 * The loop is sequential: rebalance, then one fetch + handler + commit per owned partition, then sleep until a
 * NOTIFY, the poll interval, the next heartbeat or the end of a retry backoff. Partitions are therefore only
 * revoked between batches, never under a running handler.
 */
export class GroupMember<T> {
  readonly memberId = uuidv7();
  private readonly group: string;
  private readonly topics: string[];
  private readonly maxBatchSize: number;
  private readonly groupLockKey: number;
  private readonly log: EventBusLogger;

  private session: pg.Client | null = null;
  private readonly owned = new Map<string, OwnedPartition>();
  private knownTopics = new Set<string>();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private closed: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatRunning = false;
  private wakeRequested = false;
  private wake: (() => void) | null = null;
  private rebalanceRequested = true;
  private lastRebalanceAt = 0;
  private acquirePending = false;
  private sessionFailures = 0;

  constructor(
    private readonly settings: GroupMemberSettings,
    private readonly opts: SubscribeOptions<T>,
  ) {
    const checked = checkSubscribeOptions(opts);
    this.group = checked.group;
    this.topics = checked.topics;
    this.maxBatchSize = checked.maxBatchSize;
    this.groupLockKey = murmur2(new TextEncoder().encode(`kinora.events.group:${this.group}`));
    this.log = settings.logger;
  }

  /** Connects, joins the group and takes the partitions it can; consumption then runs in the background. */
  async start(): Promise<void> {
    await this.connect();
    const session = this.requireSession();
    // A topic exists from its first subscriber on, so "the end of the log" (fromBeginning: false) is well defined.
    for (const topic of this.topics) await createTopicIfMissing(session, topic, this.settings.defaultPartitions);
    await this.rebalance();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.settings.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.loop = this.run();
  }

  /** Stops fetching, lets the running handler finish (its batch is committed if it succeeds), leaves the group. */
  close(): Promise<void> {
    if (!this.closed) {
      this.stopping = true;
      this.closed = this.shutdown();
    }
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.nudge();
    await this.loop;
    const session = this.session;
    this.session = null;
    this.owned.clear();
    if (!session) return;
    try {
      // Unlock before announcing the departure, so the members that rebalance on the NOTIFY can lock at once.
      await session.query('SELECT pg_advisory_unlock_all()');
      await session.query(LEAVE_SQL, [this.group, this.memberId]);
    } catch (err) {
      this.log.warn({ err, group: this.group, memberId: this.memberId }, 'event consumer could not leave its group cleanly');
    }
    await session.end().catch(() => undefined);
    this.log.debug({ group: this.group, memberId: this.memberId }, 'event consumer left its group');
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (!this.session) await this.connect();
        if (this.rebalanceDue()) await this.rebalance();
        this.wakeRequested = false;
        const busy = await this.consumeRound();
        this.sessionFailures = 0;
        if (!busy) await this.sleep(this.idleDelayMs());
      } catch (err) {
        if (this.stopping) break;
        this.sessionFailures++;
        this.log.error({ err, group: this.group, memberId: this.memberId }, 'event consumer failed; reconnecting its session');
        await this.dropSession();
        await this.sleep(backoffDelayMs(this.sessionFailures, RECONNECT_BACKOFF));
      }
    }
  }

  /** One fetch per owned partition that is not waiting out a retry backoff. Returns whether any message came. */
  private async consumeRound(): Promise<boolean> {
    let busy = false;
    for (const state of [...this.owned.values()]) {
      if (this.stopping) break;
      if (state.retryAt > Date.now()) continue;
      // The session a partition was locked by: the commit must go through it (see the class comment).
      const session = this.requireSession();
      const { rows } = await session.query<LogRow>(
        `SELECT l."offset"::text AS "offset", l.key, l.value::text AS value, l.headers::text AS headers,
                to_char(l.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
         FROM events.log l
         WHERE l.topic = $1 AND l.partition = $2 AND l."offset" >= $3::bigint
         ORDER BY l."offset" LIMIT $4`,
        [state.topic, state.partition, state.nextOffset.toString(), state.redeliverCount ?? this.maxBatchSize],
      );
      if (rows.length === 0) continue;
      busy = true;
      const batch: ConsumedBatch<T> = {
        topic: state.topic,
        partition: state.partition,
        messages: rows.map((r) => ({
          topic: state.topic,
          partition: state.partition,
          offset: r.offset,
          key: r.key,
          value: JSON.parse(r.value) as T,
          headers: JSON.parse(r.headers) as Record<string, string>,
          timestamp: r.ts,
        })),
      };
      try {
        await this.opts.handler(batch);
      } catch (err) {
        state.failures++;
        state.redeliverCount = rows.length;
        const delayMs = backoffDelayMs(state.failures, this.settings.retryBackoff);
        state.retryAt = Date.now() + delayMs;
        this.log.warn(
          { err, group: this.group, topic: state.topic, partition: state.partition, offset: rows[0]!.offset, attempts: state.failures, retryInMs: delayMs },
          'event handler failed; the batch will be delivered again',
        );
        continue;
      }
      const next = BigInt(rows[rows.length - 1]!.offset) + 1n;
      await session.query(
        `INSERT INTO events.consumer_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()`,
        [this.group, state.topic, state.partition, next.toString()],
      );
      Object.assign(state, { nextOffset: next, failures: 0, retryAt: 0, redeliverCount: null });
    }
    return busy;
  }

  /**
   * Computes the group's assignment from the live members, lets go of the partitions that went to others and locks
   * the new ones. A partition whose previous owner has not let go yet is retried shortly.
   */
  private async rebalance(): Promise<void> {
    const session = this.requireSession();
    this.rebalanceRequested = false;
    this.lastRebalanceAt = Date.now();
    const { rows: members } = await session.query<{ member_id: string; topics: string[] }>(
      `SELECT member_id, topics FROM events.members m WHERE m.group_id = $1 AND ${ALIVE} ORDER BY member_id`,
      [this.group, this.settings.sessionTimeoutMs / 1000],
    );
    const live = members.map((m) => ({ memberId: m.member_id, topics: m.topics }));
    // A late heartbeat of our own does not make us leave: we know we are alive.
    if (!live.some((m) => m.memberId === this.memberId)) live.push({ memberId: this.memberId, topics: this.topics });
    const { rows: topics } = await session.query<{ name: string; id: number; partitions: number }>(
      'SELECT name, id, partitions FROM events.topics WHERE name = ANY($1::text[])',
      [this.topics],
    );
    this.knownTopics = new Set(topics.map((t) => t.name));
    const topicIds = new Map(topics.map((t) => [t.name, t.id]));
    const wanted = new Map((assignPartitions(live, topics).get(this.memberId) ?? []).map((tp) => [keyOf(tp), tp]));

    for (const [key, state] of this.owned) {
      if (wanted.has(key)) continue;
      this.owned.delete(key);
      await session.query('SELECT pg_advisory_unlock($1, $2)', [this.groupLockKey, lockId(topicIds, state)]);
      this.log.debug({ group: this.group, memberId: this.memberId, topic: state.topic, partition: state.partition }, 'partition revoked');
    }

    let pending = false;
    for (const [key, tp] of wanted) {
      if (this.owned.has(key)) continue;
      const lock = [this.groupLockKey, lockId(topicIds, tp)];
      const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', lock);
      if (!rows[0]?.locked) {
        pending = true;
        continue;
      }
      let nextOffset: bigint;
      try {
        nextOffset = await this.startOffset(session, tp);
      } catch (err) {
        await session.query('SELECT pg_advisory_unlock($1, $2)', lock);
        this.log.error({ err, group: this.group, topic: tp.topic, partition: tp.partition }, 'could not load the start offset; retrying');
        pending = true;
        continue;
      }
      this.owned.set(key, { ...tp, nextOffset, failures: 0, retryAt: 0, redeliverCount: null });
      this.log.debug({ group: this.group, memberId: this.memberId, ...tp, offset: nextOffset.toString() }, 'partition assigned');
    }
    this.acquirePending = pending;
  }

  /** The offset store's position if it has one, else the group's committed one, else (recorded now) 0 or the log end. */
  private async startOffset(session: pg.Client, { topic, partition }: TopicPartition): Promise<bigint> {
    const stored = this.opts.offsetStore ? await this.opts.offsetStore.load(this.group, topic, partition) : null;
    if (stored !== null) {
      if (!/^\d{1,19}$/.test(stored)) throw new TypeError(`offsetStore.load returned ${JSON.stringify(stored)}, not a decimal offset`);
      return BigInt(stored);
    }
    // Recording the initial position makes a later owner start where this one did, not at a newer log end.
    const { rows } = await session.query<{ next_offset: string }>(
      `WITH initial AS (
         INSERT INTO events.consumer_offsets (group_id, topic, partition, next_offset)
         SELECT $1, $2, $3, CASE WHEN $4::boolean THEN 0 ELSE next_offset END
         FROM events.partitions WHERE topic = $2 AND partition = $3
         ON CONFLICT (group_id, topic, partition) DO NOTHING
         RETURNING next_offset
       )
       SELECT next_offset::text AS next_offset FROM initial
       UNION ALL SELECT next_offset::text FROM events.consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3`,
      [this.group, topic, partition, this.opts.fromBeginning ?? true],
    );
    if (!rows[0]) throw new Error(`partition ${topic}/${partition} does not exist`);
    return BigInt(rows[0].next_offset);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      ...this.settings.connection,
      keepAlive: true,
      application_name: `kinora-events ${this.group}`.slice(0, 63),
    });
    client.on('error', (err) => this.sessionLost(client, err));
    client.on('end', () => this.sessionLost(client, new Error('the session connection ended')));
    client.on('notification', (n) => this.onNotification(n));
    try {
      await client.connect();
      await client.query(`LISTEN ${PUBLISHED_CHANNEL}`);
      await client.query(`LISTEN ${MEMBERS_CHANNEL}`);
      await client.query(JOIN_SQL, [this.group, this.memberId, this.topics]);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.session = client;
    this.owned.clear();
    this.rebalanceRequested = true;
    this.log.debug({ group: this.group, memberId: this.memberId, topics: this.topics }, 'event consumer joined its group');
  }

  private sessionLost(client: pg.Client, err: Error): void {
    if (this.session !== client) return;
    this.log.warn({ err, group: this.group, memberId: this.memberId }, 'event consumer session lost; its partitions are released');
    this.session = null;
    this.owned.clear();
    this.nudge();
  }

  private async dropSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.owned.clear();
    await session?.end().catch(() => undefined);
  }

  private async heartbeat(): Promise<void> {
    const session = this.session;
    if (!session || this.stopping || this.heartbeatRunning) return;
    this.heartbeatRunning = true;
    try {
      const { rowCount } = await session.query('UPDATE events.members SET heartbeat_at = now() WHERE group_id = $1 AND member_id = $2', [this.group, this.memberId]);
      // Our row was purged (we looked dead, e.g. the event loop was blocked): join again.
      if (rowCount === 0) await session.query(JOIN_SQL, [this.group, this.memberId, this.topics]);
      await session.query(`DELETE FROM events.members m WHERE m.group_id = $1 AND NOT (${ALIVE})`, [this.group, this.settings.sessionTimeoutMs / 1000]);
    } catch (err) {
      if (this.session === session && !this.stopping) this.log.warn({ err, group: this.group, memberId: this.memberId }, 'event consumer heartbeat failed');
    } finally {
      this.heartbeatRunning = false;
    }
  }

  private onNotification(n: pg.Notification): void {
    if (n.channel === PUBLISHED_CHANNEL && n.payload !== undefined && this.topics.includes(n.payload)) {
      if (!this.knownTopics.has(n.payload)) this.rebalanceRequested = true;
      this.nudge();
    } else if (n.channel === MEMBERS_CHANNEL && n.payload === this.group) {
      this.rebalanceRequested = true;
      this.nudge();
    }
  }

  private rebalanceDue(): boolean {
    const since = Date.now() - this.lastRebalanceAt;
    return this.rebalanceRequested || since >= this.settings.heartbeatIntervalMs || (this.acquirePending && since >= ACQUIRE_RETRY_MS);
  }

  private idleDelayMs(): number {
    const now = Date.now();
    let delay = Math.min(this.settings.pollIntervalMs, this.lastRebalanceAt + this.settings.heartbeatIntervalMs - now);
    if (this.acquirePending) delay = Math.min(delay, ACQUIRE_RETRY_MS);
    for (const state of this.owned.values()) if (state.retryAt > now) delay = Math.min(delay, state.retryAt - now);
    return Math.max(0, delay);
  }

  private nudge(): void {
    this.wakeRequested = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private requireSession(): pg.Client {
    if (!this.session) throw new Error('the event consumer has no session');
    return this.session;
  }
}

function keyOf(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

/** Second half of a partition's advisory-lock key; unique per (topic, partition), see the migration. */
function lockId(topicIds: Map<string, number>, tp: TopicPartition): number {
  const id = topicIds.get(tp.topic);
  if (id === undefined) throw new Error(`topic ${tp.topic} has no id`);
  return id * MAX_PARTITIONS + tp.partition;
}
