import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { EVENT_TYPES, TOPICS, type VideoChangedV1, type VideoState, type Visibility } from '@kinora/contracts';
import { runMigrations, type Database } from '@kinora/db';
import type { ConsumedBatch, EventBus, EventBusLogger, EventEnvelope, Subscription } from '@kinora/events';

/**
 * Absolute path of this lib's SQL migrations (`libs/projections/migrations`), run into the service's own schema.
 * From `src/` and `dist/` alike, `../migrations` is the same folder.
 */
export const projectionsMigrationsDir: string = fileURLToPath(new URL('../migrations', import.meta.url));

/** What a service knows about a video: the latest `VideoChanged.v1` it applied. */
export interface VideoRecord {
  id: string;
  version: number;
  channelId: string;
  ownerId: string;
  title: string;
  tags: string[];
  visibility: Visibility;
  state: VideoState;
  deleted: boolean;
  publishedAt: Date | null;
  durationSec: number | null;
}

/**
 * Runs in the transaction that applies a newer version of a video (`previous` is undefined for a video seen for
 * the first time). What it writes commits together with the projection, so a redelivered event (already applied,
 * same or older version) never runs it twice.
 */
export type VideoChangeHandler = (change: {
  client: pg.PoolClient;
  previous: VideoRecord | undefined;
  current: VideoRecord;
  event: EventEnvelope<VideoChangedV1>;
}) => Promise<void>;

export interface VideoProjectionOptions {
  database: Database;
  /** The service's schema; the projection lives in `<schema>.video_projection`. */
  schema: string;
  bus: EventBus;
  /** Consumer group on `video.lifecycle`; default `<schema>.video-projection` (one per service). */
  group?: string;
  logger?: EventBusLogger;
  onChange?: VideoChangeHandler;
  /** After a batch that changed the projection committed (e.g. to wake an outbox relay `onChange` wrote to). */
  onCommitted?: (applied: number) => void;
  /** Events applied per transaction. Default 100. */
  maxBatchSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VISIBILITIES = new Set(['public', 'unlisted', 'private']);
const STATES = new Set(['awaiting_upload', 'processing', 'ready', 'failed']);

interface VideoRow {
  video_id: string;
  version: string;
  channel_id: string;
  owner_id: string;
  title: string;
  tags: string[];
  visibility: Visibility;
  state: VideoState;
  deleted: boolean;
  published_at: Date | null;
  duration_sec: number | null;
}

function toRecord(r: VideoRow): VideoRecord {
  return {
    id: r.video_id,
    version: Number(r.version),
    channelId: r.channel_id,
    ownerId: r.owner_id,
    title: r.title,
    tags: r.tags,
    visibility: r.visibility,
    state: r.state,
    deleted: r.deleted,
    publishedAt: r.published_at,
    durationSec: r.duration_sec,
  };
}

/** A `VideoChanged.v1` this projection can store, or why not (a malformed event is skipped, never retried forever). */
export function checkVideoChanged(value: unknown): { ok: true; event: EventEnvelope<VideoChangedV1> } | { ok: false; reason: string } {
  const e = value as Partial<EventEnvelope<Partial<VideoChangedV1>>> | null;
  if (!e || typeof e !== 'object' || e.type !== EVENT_TYPES.videoChanged) return { ok: false, reason: 'not a VideoChanged.v1' };
  const p = e.payload;
  if (!p || typeof p !== 'object') return { ok: false, reason: 'no payload' };
  for (const f of ['videoId', 'channelId', 'ownerId'] as const) {
    if (typeof p[f] !== 'string' || !UUID.test(p[f])) return { ok: false, reason: `${f} is not a UUID` };
  }
  if (!Number.isSafeInteger(p.version) || p.version! < 1) return { ok: false, reason: 'bad version' };
  if (!VISIBILITIES.has(p.visibility as string) || !STATES.has(p.state as string)) return { ok: false, reason: 'bad visibility or state' };
  if (typeof p.deleted !== 'boolean' || typeof p.title !== 'string') return { ok: false, reason: 'bad deleted or title' };
  if (p.publishedAt !== null && p.publishedAt !== undefined && Number.isNaN(Date.parse(p.publishedAt))) return { ok: false, reason: 'bad publishedAt' };
  return { ok: true, event: e as EventEnvelope<VideoChangedV1> };
}

/** Whether a ready public video counts as published (feeds, notifications). */
export function isPublished(v: Pick<VideoRecord, 'state' | 'visibility' | 'deleted'>): boolean {
  return v.state === 'ready' && v.visibility === 'public' && !v.deleted;
}

/**
 * The contract's visibility rule: a video that is not ready, or is private, is visible only to its owner; a deleted
 * (or unknown) video to nobody. Unlisted ready videos are visible to anyone who has the id.
 */
export function canSee(video: Pick<VideoRecord, 'ownerId' | 'state' | 'visibility' | 'deleted'> | undefined, userId: string | null | undefined): boolean {
  if (!video || video.deleted) return false;
  if (userId && video.ownerId === userId) return true;
  return video.state === 'ready' && video.visibility !== 'private';
}

/**
 * A service's own copy of the videos it needs to know about, kept from `VideoChanged.v1` events on
 * `video.lifecycle` by a consumer group of its own. The newest `version` wins, so redelivery and reordering are
 * harmless; each batch is applied in one transaction.
 */
export class VideoProjection {
  private readonly table: string;
  private readonly logger: EventBusLogger;
  private subscription: Subscription | undefined;

  constructor(private readonly opts: VideoProjectionOptions) {
    if (!SCHEMA_NAME.test(opts.schema)) throw new TypeError(`invalid schema name ${JSON.stringify(opts.schema)}`);
    this.table = `${opts.schema}.video_projection`;
    this.logger = opts.logger ?? { debug() {}, info() {}, warn() {}, error() {} };
  }

  get group(): string {
    return this.opts.group ?? `${this.opts.schema}.video-projection`;
  }

  /** Creates `<schema>.video_projection` (idempotent; safe under concurrent starts). */
  async migrate(logger?: { info(obj: object, msg?: string): void }): Promise<void> {
    await runMigrations(this.opts.database.primary, { schema: this.opts.schema, dir: projectionsMigrationsDir, ...(logger ? { logger } : {}) });
  }

  /** Joins the consumer group; events are applied until {@link close}. */
  async start(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.opts.bus.subscribe<unknown>({
      group: this.group,
      topics: [TOPICS.videoLifecycle],
      maxBatchSize: this.opts.maxBatchSize ?? 100,
      fromBeginning: true,
      handler: (batch) => this.handle(batch),
    });
  }

  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.close();
  }

  private async handle(batch: ConsumedBatch<unknown>): Promise<void> {
    const events: EventEnvelope<VideoChangedV1>[] = [];
    for (const m of batch.messages) {
      const type = (m.value as { type?: unknown } | null)?.type;
      if (type !== EVENT_TYPES.videoChanged) continue; // other lifecycle events are not ours
      const checked = checkVideoChanged(m.value);
      if (checked.ok) events.push(checked.event);
      else this.logger.warn({ topic: m.topic, partition: m.partition, offset: m.offset, reason: checked.reason }, 'skipping a malformed VideoChanged.v1');
    }
    if (events.length > 0) await this.apply(events);
  }

  /** Applies events in order in one transaction; returns how many changed the projection. */
  async apply(events: EventEnvelope<VideoChangedV1>[]): Promise<number> {
    const applied = await this.opts.database.transaction(async (client) => {
      let n = 0;
      for (const event of events) if (await this.applyOne(client, event)) n++;
      return n;
    });
    if (applied > 0) this.opts.onCommitted?.(applied);
    return applied;
  }

  private async applyOne(client: pg.PoolClient, event: EventEnvelope<VideoChangedV1>): Promise<boolean> {
    const p = event.payload;
    const { rows } = await client.query<VideoRow>(`SELECT * FROM ${this.table} WHERE video_id = $1 FOR UPDATE`, [p.videoId]);
    const previous = rows[0] ? toRecord(rows[0]) : undefined;
    if (previous && previous.version >= p.version) return false;
    let publishedAt = p.publishedAt ? new Date(p.publishedAt) : null;
    if (!publishedAt && isPublished(p)) publishedAt = previous?.publishedAt ?? new Date(Date.now());
    const current: VideoRecord = {
      id: p.videoId,
      version: p.version,
      channelId: p.channelId,
      ownerId: p.ownerId,
      title: p.title,
      tags: Array.isArray(p.tags) ? p.tags.filter((t): t is string => typeof t === 'string') : [],
      visibility: p.visibility,
      state: p.state,
      deleted: p.deleted,
      publishedAt,
      durationSec: typeof p.durationSec === 'number' ? p.durationSec : null,
    };
    await client.query(
      `INSERT INTO ${this.table} (video_id, version, channel_id, owner_id, title, tags, visibility, state, deleted, published_at, duration_sec, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
       ON CONFLICT (video_id) DO UPDATE SET
         version = EXCLUDED.version, channel_id = EXCLUDED.channel_id, owner_id = EXCLUDED.owner_id, title = EXCLUDED.title,
         tags = EXCLUDED.tags, visibility = EXCLUDED.visibility, state = EXCLUDED.state, deleted = EXCLUDED.deleted,
         published_at = EXCLUDED.published_at, duration_sec = EXCLUDED.duration_sec, updated_at = now()
       WHERE ${this.table}.version < EXCLUDED.version`,
      [current.id, current.version, current.channelId, current.ownerId, current.title, current.tags, current.visibility, current.state, current.deleted, current.publishedAt, current.durationSec],
    );
    if (this.opts.onChange) await this.opts.onChange({ client, previous, current, event });
    return true;
  }

  /**
   * The video as last applied. Reads go to a replica when the request context allows; a miss there is checked on
   * the primary (a replica that lags must not turn a just-created video into a 404). `primary: true` for writes.
   */
  async get(videoId: string, opts: { primary?: boolean; client?: pg.ClientBase } = {}): Promise<VideoRecord | undefined> {
    const sql = `SELECT * FROM ${this.table} WHERE video_id = $1`;
    if (opts.client) return first(await opts.client.query<VideoRow>(sql, [videoId]));
    const primary = this.opts.database.primary;
    const pool = opts.primary ? primary : this.opts.database.readPool();
    const found = first(await pool.query<VideoRow>(sql, [videoId]));
    if (found || pool === primary) return found;
    return first(await primary.query<VideoRow>(sql, [videoId]));
  }

  /** The owner of a channel, as named by any video of it this projection knows (undefined: none known). */
  async channelOwner(channelId: string): Promise<string | undefined> {
    const { rows } = await this.opts.database.primary.query<{ owner_id: string }>(
      `SELECT owner_id FROM ${this.table} WHERE channel_id = $1 ORDER BY version DESC LIMIT 1`,
      [channelId],
    );
    return rows[0]?.owner_id;
  }
}

function first(res: pg.QueryResult<VideoRow>): VideoRecord | undefined {
  return res.rows[0] ? toRecord(res.rows[0]) : undefined;
}
