import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { authPlugin, TokenVerifier } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import { Database, dbPlugin, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';
import { createBaseApp, createLogger } from '@kinora/observability';
import { publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { TestIssuer, type TestUser } from '@kinora/projections/testing';
import { createTestDatabase, getTestEnv, type TestDatabase } from '@kinora/testing';
import { createAnalyticsModule, FactsRepository, InProcessViewDedupe, partitionName, PartitionMaintenance, type AnalyticsModule } from '@kinora/analytics';

// The HTTP side on the in-process bus (embedded mode): views with their dedupe window, counters read back through
// the StatsReader, the owner's analytics series, channel video counts from the video projection, and the daily
// partitions of the facts.
const logger = createLogger({ level: 'silent' });
const DAY = 86_400_000;

describe('analytics over HTTP (in-process bus)', () => {
  let db: TestDatabase;
  let database: Database;
  let bus: InProcessEventBus;
  let issuer: TestIssuer;
  let owner: TestUser;
  let other: TestUser;
  let redis: Redis;
  const apps: Array<{ app: FastifyInstance; mod: AnalyticsModule }> = [];

  async function build(opts: { redis?: Redis; viewWindowSec?: number } = {}): Promise<{ app: FastifyInstance; mod: AnalyticsModule }> {
    const config = loadConfig({ PUBLIC_URL: issuer.issuer, COUNTER_FLUSH_INTERVAL_MS: '100' });
    const app = await createBaseApp({ logger, bodyLimitBytes: config.bodyLimitBytes, trustedProxies: ['127.0.0.1'] });
    await app.register(dbPlugin, { database });
    await app.register(authPlugin, { verifier: new TokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetchJwks: () => issuer.jwks() }) });
    const mod = await createAnalyticsModule({
      database,
      bus,
      config,
      logger,
      registry: app.metrics,
      ...(opts.redis ? { redis: opts.redis } : {}),
      ...(opts.viewWindowSec !== undefined ? { viewWindowSec: opts.viewWindowSec } : {}),
    });
    await app.register(mod.plugin);
    await mod.start();
    const built = { app, mod };
    apps.push(built);
    return built;
  }

  beforeAll(async () => {
    db = await createTestDatabase('analytics_http');
    database = new Database({ primaryUrl: db.url, poolMax: 8 });
    await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
    bus = createInProcessEventBus({ pool: database.primary, logger, heartbeatIntervalMs: 300, pollIntervalMs: 100 });
    issuer = await TestIssuer.create();
    owner = await issuer.user();
    other = await issuer.user();
    redis = new Redis(getTestEnv().redisUrl);
  });

  afterAll(async () => {
    for (const { app, mod } of apps.reverse()) {
      await mod.close();
      await app.close();
    }
    await bus?.close();
    redis?.disconnect();
    await database?.close();
    await db?.drop();
  });

  const view = (app: FastifyInstance, videoId: string, body?: object, headers: Record<string, string> = {}, ip = '10.0.0.1') =>
    app.inject({ method: 'POST', url: `/api/v1/videos/${videoId}/views`, headers: { 'x-forwarded-for': ip, ...headers }, ...(body ? { payload: body } : {}) });

  async function viewsOf(mod: AnalyticsModule, videoId: string): Promise<number> {
    await mod.views.drain();
    return (await mod.loader.videos([videoId]))[0]!.views;
  }

  it.each([
    ['in-process', () => undefined],
    ['Redis', () => redis],
  ])('counts a view at most once per viewer per video per hour (%s dedupe)', async (_name, pickRedis) => {
    const r = pickRedis();
    const { app, mod } = await build(r ? { redis: r } : {});
    const videoId = randomUUID();
    const statuses = [
      (await view(app, videoId, { viewerId: 'device-a', watchedSec: 3 })).statusCode,
      (await view(app, videoId, { viewerId: 'device-a' })).statusCode, // same viewerId: not again
      (await view(app, videoId, { viewerId: 'device-b' })).statusCode,
      (await view(app, videoId, undefined, {}, '10.0.0.7')).statusCode, // anonymous: its address
      (await view(app, videoId, undefined, {}, '10.0.0.7')).statusCode,
      (await view(app, videoId, { viewerId: 'device-a' }, owner.headers)).statusCode, // signed in: the user
      (await view(app, videoId, { viewerId: 'device-z' }, owner.headers)).statusCode,
    ];
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 202]);
    await waitFor(async () => (await viewsOf(mod, videoId)) === 4, 20_000, '4 distinct viewers counted');
    await mod.counters.flush();
    expect(await viewsOf(mod, videoId)).toBe(4);
  });

  it('counts the same viewer again once the window has passed (Redis SET NX EX)', async () => {
    const { app, mod } = await build({ redis, viewWindowSec: 1 });
    const videoId = randomUUID();
    await view(app, videoId, { viewerId: 'again' });
    await view(app, videoId, { viewerId: 'again' });
    await waitFor(async () => (await viewsOf(mod, videoId)) === 1, 20_000, 'one view');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await view(app, videoId, { viewerId: 'again' });
    await waitFor(async () => (await viewsOf(mod, videoId)) === 2, 20_000, 'a second view after the window');
  });

  it('expires and bounds the in-process window', async () => {
    let now = 0;
    const d = new InProcessViewDedupe(1000, 3, () => now);
    expect(await d.firstView('v', 'a')).toBe(true);
    expect(await d.firstView('v', 'a')).toBe(false);
    now = 1000;
    expect(await d.firstView('v', 'a')).toBe(true);
    for (const x of ['b', 'c', 'd', 'e']) await d.firstView('v', x);
    expect(await d.firstView('v', 'a')).toBe(true); // evicted, oldest first
  });

  it('refuses views of a video the viewer cannot see; the owner sees its series, others do not', async () => {
    const { app, mod } = await build();
    const privateId = randomUUID();
    const publicId = randomUUID();
    const channelId = randomUUID();
    await publishVideoChanged(bus, [
      videoChangedEvent({ videoId: privateId, version: 1, channelId, ownerId: owner.id, visibility: 'private' }),
      videoChangedEvent({ videoId: publicId, version: 1, channelId, ownerId: owner.id }),
    ]);
    await waitFor(async () => !!(await mod.projection.get(privateId)) && !!(await mod.projection.get(publicId)), 20_000, 'the projection');
    expect((await view(app, privateId, { viewerId: 'x' })).statusCode).toBe(404);
    expect((await view(app, privateId, { viewerId: 'x' }, owner.headers)).statusCode).toBe(202);
    expect((await view(app, publicId, { viewerId: 'x' })).statusCode).toBe(202);
    expect((await view(app, 'not-a-uuid', {})).statusCode).toBe(400);

    // The channel's video count follows its public ready videos.
    await waitFor(async () => (await mod.loader.channels([channelId]))[0]!.videoCount === 1, 20_000, 'one public video');
    await publishVideoChanged(bus, [videoChangedEvent({ videoId: publicId, version: 2, channelId, ownerId: owner.id, deleted: true })]);
    await waitFor(async () => (await mod.loader.channels([channelId]))[0]!.videoCount === 0, 20_000, 'the deleted video uncounted');
    await publishVideoChanged(bus, [videoChangedEvent({ videoId: publicId, version: 1, channelId, ownerId: owner.id })]); // old version: ignored
    await waitFor(async () => (await viewsOf(mod, privateId)) === 1, 20_000, 'the owner view counted');
    expect((await mod.loader.channels([channelId]))[0]!.videoCount).toBe(0);

    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const url = `/api/v1/videos/${privateId}/analytics?granularity=hour&from=${new Date(hour - 3 * 3_600_000).toISOString()}&to=${new Date(hour + 3_600_000).toISOString()}`;
    const mine = await app.inject({ url, headers: owner.headers });
    expect(mine.statusCode).toBe(200);
    const series = mine.json().series as Array<{ t: string; views: number; likes: number; comments: number }>;
    expect(series).toHaveLength(4);
    expect(series.reduce((n, p) => n + p.views, 0)).toBe(1);
    expect(series.every((p) => /T\d\d:00:00\.000Z$/.test(p.t))).toBe(true);
    const day = await app.inject({ url: `/api/v1/videos/${privateId}/analytics`, headers: owner.headers });
    expect(day.json().series).toHaveLength(7);
    expect((await app.inject({ url })).statusCode).toBe(401);
    expect((await app.inject({ url, headers: other.headers })).statusCode).toBe(404); // private: not revealed
    expect((await app.inject({ url: `/api/v1/videos/${publicId}/analytics`, headers: other.headers })).statusCode).toBe(404); // deleted
    const bad = await app.inject({ url: `/api/v1/videos/${privateId}/analytics?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z`, headers: owner.headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('ANALYTICS_RANGE_INVALID');
    // Metrics (the group's members are spread over the modules built so far: sum them).
    const scraped = await Promise.all(apps.map(async (a) => (await a.app.inject({ url: '/metrics' })).body));
    const total = (re: RegExp): number => scraped.reduce((n, body) => n + [...body.matchAll(re)].reduce((m, x) => m + Number(x[1]), 0), 0);
    expect(total(/^kinora_analytics_events_total\{topic="video.views"\} (\d+)/gm)).toBeGreaterThan(0);
    expect(total(/^kinora_analytics_flush_duration_seconds_count\{result="ok"\} (\d+)/gm)).toBeGreaterThan(0);
    expect(total(/^kinora_analytics_rows_written_total\{table="video_counters"\} (\d+)/gm)).toBeGreaterThan(0);
    expect(scraped.at(-1)).toMatch(/kinora_analytics_consumer_lag\{group="analytics.counters",topic="video.views",partition="\d+"\} \d+/);
  });

  it('creates daily partitions ahead and drops those older than the retention', async () => {
    const facts = new FactsRepository(database);
    const now = Date.UTC(2031, 5, 15, 12);
    const today = Date.UTC(2031, 5, 15);
    await facts.ensureDays([today - 401 * DAY, today - 400 * DAY]);
    const maintenance = new PartitionMaintenance({ database, facts, retentionDays: 400, aheadDays: 7, logger, now: () => now });
    const { created, dropped } = await maintenance.runOnce();
    expect(created).toBe(8);
    // (The partitions of the real today, made when the modules started, are far older than 2031's retention.)
    expect(dropped).toContain(partitionName(today - 401 * DAY));
    expect(dropped).not.toContain(partitionName(today - 400 * DAY));
    const days = await facts.partitionDays();
    for (let d = today; d <= today + 7 * DAY; d += DAY) expect(days).toContain(d);
    expect(days).toContain(today - 400 * DAY);
    expect(days).not.toContain(today - 401 * DAY);
    expect(await maintenance.runOnce()).toEqual({ created: 0, dropped: [] });
    // Rows in a partition go with it.
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    await pool.query(`INSERT INTO analytics.video_hourly (video_id, hour, views) VALUES ($1, $2, 5)`, [randomUUID(), new Date(today - 400 * DAY + 3_600_000)]);
    const later = new PartitionMaintenance({ database, facts, retentionDays: 400, aheadDays: 7, logger, now: () => now + DAY });
    expect((await later.runOnce()).dropped).toEqual([partitionName(today - 400 * DAY)]);
    expect((await pool.query('SELECT count(*)::int AS n FROM analytics.video_hourly WHERE hour < $1', [new Date(today - 399 * DAY)])).rows[0].n).toBe(0);
    await pool.end();
  });
});
