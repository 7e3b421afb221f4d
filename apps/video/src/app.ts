import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { MemoryLocker, Server as TusServer } from '@tus/server';
import type { TokenVerifier } from '@kinora/auth';
import { LayeredCache, type Cache } from '@kinora/cache';
import type { Config } from '@kinora/config';
import { Database } from '@kinora/db';
import { OutboxRelay, type EventBus, type Subscription, type TransactionalPublisher } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { createCache, createCountersView, createServiceApp, openServiceSchema } from '@kinora/service';
import { createStore, type ObjectStore } from '@kinora/storage';
import { LifecyclePublisher } from './events/lifecycle.events.js';
import { consumeTranscoded } from './events/transcoded.consumer.js';
import { zeroStats, type ChannelDirectory, type VideoStatsReader } from './ports.js';
import { ObjectStoreDataStore } from './repositories/object-store.datastore.js';
import { UploadRepository } from './repositories/upload.repository.js';
import { VIDEO_CLASS, VideoCache } from './repositories/video.cache.js';
import { VideoRepository } from './repositories/video.repository.js';
import { mediaRoutes } from './routes/media/media.routes.js';
import { UPLOADS_PATH, uploadsRoutes } from './routes/uploads/uploads.routes.js';
import { videosRoutes } from './routes/videos/videos.routes.js';
import { httpChannelDirectory } from './services/http-channel.directory.js';
import { MediaAccess } from './services/media.access.js';
import { MediaSigner } from './services/media.signer.js';
import { ProcessingService } from './services/processing.service.js';
import { loadOrCreateSigningKey } from './services/signing-key.js';
import { VideoPresenter } from './services/video.presenter.js';
import { VideoService, type VideoChangedHook } from './services/video.service.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

const silent = { info() {}, warn() {}, error() {}, debug() {} };

export interface VideoModuleOptions {
  database: Database;
  config: Pick<Config, 'publicUrl' | 'dataDir' | 'uploadMaxBytes' | 'mediaSigningKey'>;
  logger?: Logger;
  bus: EventBus;
  store: ObjectStore;
  /** Who owns which channel (the user service): asked once per created video. */
  channels: ChannelDirectory;
  stats?: VideoStatsReader;
  /**
   * How events leave the business transaction. Default: the `videos.outbox` table, drained to `bus` by a relay
   * (any bus, Kafka included). Embedded mode may pass `inTransactionPublisher(bus)` (the in-process bus's log as
   * the outbox).
   */
  publisher?: TransactionalPublisher;
  /** Relay tuning (tests shorten the poll interval). */
  relay?: { pollIntervalMs?: number; batchSize?: number };
  /** Upload bytes buffered per stored part (default 8 MiB; tests lower it). */
  uploadPartSizeBytes?: number;
  /** Lifetime of signed media URLs (default 6 h, rounded up to the hour). */
  signedUrlTtlSec?: number;
  /** Consume `video.transcoded` (default true). */
  consumeTranscoded?: boolean;
  /**
   * The process's cache (video metadata, first feed pages, media access decisions), shared with the other modules
   * of the process; changes evict through it on every instance. Default: a cache of this module's own, in process.
   */
  cache?: Cache;
  /**
   * Anonymous reads of held public videos answered before routing, at most `maxEntries` remembered (see
   * `videosRoutes`). Only where nothing must run on every request first: the standalone service (buildApp) behind
   * the gateway, never embedded with it. Default off.
   */
  earlyReads?: { maxEntries: number } | false;
}

export interface VideoModule {
  /** Encapsulated routes; expects `request.principal`/`app.requireUser` (auth plugin) and `app.db`. */
  plugin: FastifyPluginAsync;
  videos: VideoService;
  processing: ProcessingService;
  signer: MediaSigner;
  tus: TusServer;
  relay: OutboxRelay;
}

/** Migrates the `videos` schema and wires the service; the plugin starts the transcoder-report consumer on ready. */
export async function createVideoModule(opts: VideoModuleOptions): Promise<VideoModule> {
  const logger = opts.logger ?? (silent as unknown as Logger);
  const { relay, publisher } = await openServiceSchema({
    database: opts.database,
    bus: opts.bus,
    schema: 'videos',
    migrationsDir,
    logger: opts.logger,
    relay: opts.relay,
    publisher: opts.publisher,
  });
  const signingKey = opts.config.mediaSigningKey ?? (await loadOrCreateSigningKey(opts.config.dataDir));
  const signer = new MediaSigner(signingKey, opts.signedUrlTtlSec !== undefined ? { ttlSec: opts.signedUrlTtlSec } : {});
  const videoRepo = new VideoRepository(opts.database);
  const uploadRepo = new UploadRepository(opts.database);
  const events = new LifecyclePublisher(publisher);
  const presenter = new VideoPresenter(opts.config.publicUrl, signer);
  const cache = opts.cache ?? new LayeredCache();
  const videoCache = new VideoCache(cache, videoRepo);
  const access = new MediaAccess(videoRepo, cache);
  const onChanged: VideoChangedHook = async (id, change = {}) => {
    const jobs = [access.invalidate(id)];
    if (change.feeds === false) jobs.push(cache.invalidate(VIDEO_CLASS, id.toLowerCase()));
    else jobs.push(videoCache.invalidate(id, change.channelId));
    await Promise.all(jobs);
  };
  const videos = new VideoService({
    db: opts.database,
    videos: videoRepo,
    uploads: uploadRepo,
    events,
    channels: opts.channels,
    stats: opts.stats ?? zeroStats,
    presenter,
    store: opts.store,
    logger,
    onChanged,
    cache: videoCache,
  });
  const datastore = new ObjectStoreDataStore(uploadRepo, opts.store, {
    ...(opts.uploadPartSizeBytes !== undefined ? { partSizeBytes: opts.uploadPartSizeBytes } : {}),
    onError: (err, msg) => logger.error({ err }, msg),
  });
  const processing = new ProcessingService({
    db: opts.database,
    videos: videoRepo,
    uploads: uploadRepo,
    datastore,
    events,
    store: opts.store,
    videoService: videos,
    logger,
    onChanged,
  });
  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore,
    locker: new MemoryLocker(),
    // A PATCH that holds the lock is asked to stop when another request for the same upload comes in (a client
    // resuming after a broken connection the server has not noticed yet); it stops after this long.
    lockDrainTimeout: 1000,
    maxSize: opts.config.uploadMaxBytes,
    disableTerminationForFinishedUploads: true,
    generateUrl: (_req, { id }) => `${opts.config.publicUrl}${UPLOADS_PATH}/${id}`,
    // The upload id is the video id (validated by the route before tus sees the request).
    namingFunction: (_req, metadata) => String(metadata?.['videoId'] ?? '').toLowerCase(),
    onUploadFinish: async (_req, upload) => {
      await processing.completeUpload(upload.id);
      return {};
    },
  });

  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(videosRoutes, { videos, earlyReads: opts.earlyReads ?? false });
    await app.register(uploadsRoutes, { tus, videos, publicUrl: opts.config.publicUrl });
    await app.register(mediaRoutes, { store: opts.store, signer, access });
    let subscription: Subscription | undefined;
    app.addHook('onReady', async () => {
      relay.start();
      if (opts.consumeTranscoded !== false) subscription = await consumeTranscoded(opts.bus, processing, logger);
      void processing.recoverStrandedUploads();
    });
    app.addHook('onClose', async () => {
      await subscription?.close().catch((err: unknown) => logger.warn({ err }, 'closing the video.transcoded consumer failed'));
      await relay.close();
    });
  };
  return { plugin, videos, processing, signer, tus, relay };
}

export interface VideoAppDeps {
  database: Database;
  logger: Logger;
  /** Default: the in-process bus on `database` (its `events` schema is migrated). */
  bus?: EventBus;
  /** Default: the store `STORAGE_URL` names. */
  store?: ObjectStore;
  /** Default: the user service at `USER_SERVICE_URL` over HTTP. */
  channels?: ChannelDirectory;
  /** Default: verify tokens against the JWKS of `USER_SERVICE_URL` (else of `PUBLIC_URL`). */
  verifier?: TokenVerifier;
  /** Default: analytics' counters at `ANALYTICS_SERVICE_URL`, kept current by the `analytics.counters` events. */
  stats?: VideoStatsReader;
  uploadPartSizeBytes?: number;
  /** Default: in process, over Redis when `REDIS_URL` is set (`createCache`). */
  cache?: Cache;
  /** Anonymous reads of held public videos answered before routing (default true, bounded like the cache; see `VideoModuleOptions`). */
  earlyReads?: boolean;
}

/**
 * The video service as its own process: base app (problems, health, metrics, OpenAPI), the database plugin,
 * authentication, the routes and the consumer. Nothing listens yet.
 */
export async function buildApp(config: Config, deps: VideoAppDeps): Promise<FastifyInstance> {
  const { app, bus } = await createServiceApp({
    name: 'video',
    config,
    database: deps.database,
    logger: deps.logger,
    ...(deps.bus ? { bus: deps.bus } : {}),
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  });
  const store = deps.store ?? createStore(config.storageUrl);
  if (!deps.store) app.addHook('onClose', async () => store.close());
  const userUrl = config.upstreams.user ?? config.publicUrl;
  const mod = await createVideoModule({
    database: deps.database,
    config,
    logger: deps.logger,
    bus,
    store,
    channels: deps.channels ?? httpChannelDirectory(userUrl),
    stats: deps.stats ?? createCountersView(app, { config, bus, logger: deps.logger, service: 'video' }),
    cache: deps.cache ?? createCache(app, { config, logger: deps.logger, service: 'video' }),
    ...(deps.uploadPartSizeBytes !== undefined ? { uploadPartSizeBytes: deps.uploadPartSizeBytes } : {}),
    earlyReads: deps.earlyReads === false ? false : { maxEntries: config.cache.maxEntries },
  });
  await app.register(mod.plugin);
  return app;
}
