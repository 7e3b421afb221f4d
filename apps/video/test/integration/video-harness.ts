// Shared set-up of the video integration tests: a real database (primary + replica), the real in-process bus, an
// FsObjectStore in a temp folder, and users with access tokens signed like the user service's (TestIssuer: the
// video service's tests do not run another service; the platform-level tests live in apps/kinora).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_TOKEN_AUDIENCE, TokenVerifier } from '@kinora/auth';
import { loadConfig, type Config } from '@kinora/config';
import { EVENT_TYPES, TOPICS } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import {
  createEvent,
  createInProcessEventBus,
  eventsMigrationsDir,
  toEventMessage,
  type ConsumedMessage,
  type EventEnvelope,
  type InProcessEventBus,
  type Subscription,
} from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { TestIssuer } from '@kinora/projections/testing';
import { FsObjectStore } from '@kinora/storage';
import { createTestDatabase, waitUntil, type TestDatabase } from '@kinora/testing';
import { uuidv7 } from 'uuidv7';
import type { ChannelDirectory } from '../../src/index.js';

export const PUBLIC_URL = 'http://kinora.test';
export const silentLogger = createLogger({ level: 'silent' });

export interface TestUser {
  id: string;
  username: string;
  channelId: string;
  token: string;
  auth: { authorization: string };
}

export interface VideoTestEnv {
  tdb: TestDatabase;
  database: Database;
  dir: string;
  store: FsObjectStore;
  /** A bus of the test's own on the same database: publishes transcoder reports, records lifecycle events. */
  bus: InProcessEventBus;
  lifecycle: ConsumedMessage<EventEnvelope<Record<string, unknown>>>[];
  config(env?: Record<string, string>): Config;
  close(): Promise<void>;
}

/** `servers`: a dedicated primary + replica (startPostgres) for tests that stop them, instead of the shared ones. */
export async function startVideoTestEnv(prefix: string, servers?: { primaryUrl: string; replicaUrl: string }): Promise<VideoTestEnv> {
  const tdb = await createTestDatabase(prefix, servers ?? {});
  const database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl], ...(servers ? { healthIntervalMs: 50 } : {}) });
  const dir = await mkdtemp(join(tmpdir(), 'kinora-video-'));
  const store = new FsObjectStore(join(dir, 'media'), { fsync: false });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  const bus = createInProcessEventBus({ pool: database.primary, pollIntervalMs: 200 });
  const lifecycle: VideoTestEnv['lifecycle'] = [];
  const sub: Subscription = await bus.subscribe<EventEnvelope<Record<string, unknown>>>({
    group: `test-${Date.now()}`,
    topics: [TOPICS.videoLifecycle],
    handler: async (batch) => {
      lifecycle.push(...batch.messages);
    },
  });
  return {
    tdb,
    database,
    dir,
    store,
    bus,
    lifecycle,
    config: (env = {}) =>
      loadConfig({
        PUBLIC_URL,
        KINORA_DATA_DIR: dir,
        KINORA_SERVICES: 'user,video',
        CORS_ORIGINS: 'https://app.example.com',
        UPLOAD_MAX_BYTES: String(2 * 1024 * 1024),
        ...env,
      }),
    close: async () => {
      await sub.close();
      await bus.close();
      await database.close();
      await tdb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Users with access tokens from a test signer (issuer `PUBLIC_URL`, the real audience) and a channel each, known to
 * `channels` (the video service's port to the user service).
 */
export interface TestUsers {
  verifier: TokenVerifier;
  channels: ChannelDirectory;
  register(name?: string): Promise<TestUser>;
}

export async function testUsers(): Promise<TestUsers> {
  const issuer = await TestIssuer.create(PUBLIC_URL, ACCESS_TOKEN_AUDIENCE);
  const verifier = new TokenVerifier({ issuer: PUBLIC_URL, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: () => issuer.jwks(), cooldownMs: 0 });
  const channelOfUser = new Map<string, { id: string; handle: string; name: string }>();
  let seq = 0;
  return {
    verifier,
    channels: { channelOf: async (p) => channelOfUser.get(p.userId) ?? null },
    async register(name = 'user') {
      const username = `${name}${Date.now().toString(36)}${seq++}`.slice(0, 30);
      const u = await issuer.user(username);
      const channel = { id: uuidv7(), handle: username, name: username };
      channelOfUser.set(u.id, channel);
      return { id: u.id, username, channelId: channel.id, token: u.token, auth: u.headers };
    },
  };
}

/** Publishes a transcoder report on `video.transcoded`, as the transcoder worker does. */
export async function publishTranscoded(bus: InProcessEventBus, type: string, payload: { videoId: string } & Record<string, unknown>): Promise<void> {
  const event = createEvent({ type, key: payload.videoId, actor: { type: 'service', id: 'transcoder' }, payload });
  await bus.publish(TOPICS.videoTranscoded, [toEventMessage(event)]);
}

/** Writes a small fake ladder under `media/<id>/` and reports it as transcoded. */
export async function fakeTranscode(env: VideoTestEnv, videoId: string): Promise<{ segment: Buffer }> {
  const p = `media/${videoId}`;
  const segment = Buffer.alloc(4096);
  for (let i = 0; i < segment.length; i++) segment[i] = (i * 7 + 3) % 251;
  await env.store.put(`${p}/master.m3u8`, Buffer.from('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n'));
  await env.store.put(`${p}/360p/index.m3u8`, Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n'));
  await env.store.put(`${p}/360p/init.mp4`, Buffer.from('init'));
  await env.store.put(`${p}/360p/seg_00001.m4s`, segment);
  await env.store.put(`${p}/manifest.mpd`, Buffer.from('<?xml version="1.0"?><MPD/>'));
  await env.store.put(`${p}/poster.jpg`, Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  await env.store.put(`${p}/storyboard.vtt`, Buffer.from('WEBVTT\n'));
  await publishTranscoded(env.bus, EVENT_TYPES.transcodeSucceeded, {
    videoId,
    durationSec: 12.5,
    width: 640,
    height: 360,
    renditions: [
      { height: 144, width: 256, bandwidth: 200000, codecs: 'avc1.42c00c,mp4a.40.2' },
      { height: 360, width: 640, bandwidth: 800000, codecs: 'avc1.4d401e,mp4a.40.2' },
    ],
    hlsKey: `${p}/master.m3u8`,
    dashKey: `${p}/manifest.mpd`,
    thumbnailKey: `${p}/poster.jpg`,
    storyboardVttKey: `${p}/storyboard.vtt`,
  });
  return { segment };
}

export function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  return waitUntil(what, probe, { timeoutMs, intervalMs: 50 });
}

/** The lifecycle events of one video seen so far, oldest first. */
export function eventsOf(env: VideoTestEnv, videoId: string): EventEnvelope<Record<string, unknown>>[] {
  return env.lifecycle.filter((m) => m.key === videoId).map((m) => m.value);
}
