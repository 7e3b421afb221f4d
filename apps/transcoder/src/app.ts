import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '@kinora/config';
import { TOPICS } from '@kinora/contracts';
import { type Database, runMigrations } from '@kinora/db';
import type { EventBus, Subscription } from '@kinora/events';
import type { ValidationLimits } from '@kinora/media';
import type { Logger } from '@kinora/observability';
import { createServiceApp } from '@kinora/service';
import { createStore, type ObjectStore } from '@kinora/storage';
import { TranscodeEventPublisher } from './events/transcode.events.js';
import { subscribeVideoUploaded, type ClusterRunner } from './events/video-uploaded.consumer.js';
import { TranscoderMetrics } from './metrics.js';
import { JobRepository } from './repositories/job.repository.js';
import { TranscodeJobRepository } from './repositories/transcode-job.repository.js';
import { kubernetesRunner } from './services/cluster.runner.js';
import { MediaRepository } from './repositories/media.repository.js';
import { WorkDirRepository } from './repositories/work-dir.repository.js';
import type { RetryBackoff } from './services/failure.classifier.js';
import { TranscodeWorker } from './services/transcode.worker.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

export type TranscoderConfig = Pick<
  Config,
  'transcodeConcurrency' | 'transcodePreset' | 'transcodeMaxAttempts' | 'transcodeLeaseMs' | 'transcodeWorkDir'
> &
  Partial<Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'transcodeRunner' | 'transcodeNamespace' | 'kubeconfig' | 'transcodeChunkSec' | 'transcodeMaxParallel' | 'transcodeImage' | 'transcodeMaxDurationSec'>>;

/** Knobs that are not configuration (tests turn them; the defaults suit production). */
export interface TranscoderTuning {
  /** How often an idle worker looks for due jobs (ms). Default 1000. */
  pollIntervalMs?: number;
  /** How often the lease is extended (ms). Default a third of the lease. */
  heartbeatIntervalMs?: number;
  /** At most one progress event per interval (ms), default 2000, and only after a change of `progressMinDelta` (0.05). */
  progressIntervalMs?: number;
  progressMinDelta?: number;
  /** Delay before attempt n+1: initialMs·2^(n-1), capped. Default 5 s doubling up to 5 min. */
  retryBackoff?: RetryBackoff;
  /**
   * Write final events in the job's transaction (`publish(…, { client })`, the in-process bus's outbox; the bus's
   * log must then be in the transcoder's database). Default true; adapters without the option publish at once.
   */
  publishInTransaction?: boolean;
  limits?: ValidationLimits;
  /** libx264 threads per job; default ffmpeg's choice. */
  threads?: number;
  /** Override `FFMPEG_PATH` / `FFPROBE_PATH`. */
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Without a usable ffmpeg: fail queued jobs at once (default), or leave them for another worker. */
  whenFfmpegMissing?: 'fail' | 'wait';
  /** Objects uploaded at once. Default 4. */
  uploadConcurrency?: number;
}

/** What the module needs from its process (apps/kinora's PlatformContext fits, plus the metrics registry). */
export interface TranscoderContext {
  config: TranscoderConfig;
  database: Database;
  logger: Logger;
  bus: EventBus;
  store: ObjectStore;
  /** The process registry (`app.metrics`); default a private one. */
  metrics?: Registry;
  tuning?: TranscoderTuning;
  /** The kubernetes runner's client; default: built from `config` when `transcodeRunner` is `kubernetes`. */
  cluster?: ClusterRunner;
}

export interface TranscoderStatus {
  started: boolean;
  /** Video ids of the jobs this process runs. */
  running: string[];
  /** Why the worker takes no jobs (ffmpeg missing, database unreachable), or null. */
  problem: string | null;
}

export interface TranscoderPluginOptions {
  /**
   * `/readyz` fails while ffmpeg is missing (standalone worker). Default false: embedded, the rest of the platform
   * is still useful, so /readyz stays 200 and names the problem in the `transcoder` check's `warning`.
   */
  requireFfmpeg?: boolean;
}

export interface TranscoderModule {
  /** Migrates schema `transcoder`, subscribes to `video.lifecycle` (group `transcoder`) and starts the worker loop. */
  start(): Promise<void>;
  /** Unsubscribes, cancels running jobs and gives them back to the queue. */
  stop(): Promise<void>;
  /** Starts the module when the app is ready, stops it when the app closes, and adds the `transcoder` readiness check. */
  plugin: FastifyPluginAsync<TranscoderPluginOptions>;
  status(): TranscoderStatus;
  /** The job table (read access for tests and operators). */
  jobs: JobRepository;
}

/**
 * The transcoder worker as a module of a process: embedded in apps/kinora, or alone in apps/transcoder's `main.ts`.
 */
export function createTranscoderModule(ctx: TranscoderContext): TranscoderModule {
  const { config, database, bus, store } = ctx;
  const logger = ctx.logger.child({ module: 'transcoder' });
  const tuning = ctx.tuning ?? {};
  const jobs = new JobRepository(database);
  const metrics = new TranscoderMetrics(ctx.metrics, () => jobs.countByState(), (err) => logger.debug({ err }, 'could not count jobs for /metrics'));
  const publisher = new TranscodeEventPublisher(bus, tuning.publishInTransaction ?? true);
  const workDirs = new WorkDirRepository(config.transcodeWorkDir, logger);
  const media = new MediaRepository(store, logger, {
    ffmpegPath: tuning.ffmpegPath ?? config.ffmpegPath,
    ffprobePath: tuning.ffprobePath ?? config.ffprobePath,
    uploadConcurrency: tuning.uploadConcurrency,
  });
  const worker = new TranscodeWorker(
    { database, jobs, media, workDirs, publisher, metrics, logger },
    {
      concurrency: config.transcodeConcurrency,
      preset: config.transcodePreset,
      maxAttempts: config.transcodeMaxAttempts,
      leaseMs: config.transcodeLeaseMs,
      heartbeatIntervalMs: tuning.heartbeatIntervalMs,
      pollIntervalMs: tuning.pollIntervalMs ?? 1000,
      progressIntervalMs: tuning.progressIntervalMs ?? 2000,
      progressMinDelta: tuning.progressMinDelta ?? 0.05,
      retryBackoff: tuning.retryBackoff ?? { initialMs: 5_000, maxMs: 300_000 },
      limits: tuning.limits ?? (config.transcodeMaxDurationSec === undefined ? undefined : { maxDurationSec: config.transcodeMaxDurationSec }),
      threads: tuning.threads,
      whenFfmpegMissing: tuning.whenFfmpegMissing ?? 'fail',
    },
  );

  // TRANSCODE_RUNNER=kubernetes: uploads become TranscodeJobs; the operator transcodes and publishes video.transcoded.
  let cluster = ctx.cluster;
  let ownRepo: TranscodeJobRepository | undefined;
  if (!cluster && config.transcodeRunner === 'kubernetes') {
    ownRepo = TranscodeJobRepository.load({ kubeconfig: config.kubeconfig, namespace: config.transcodeNamespace });
    cluster = kubernetesRunner(ownRepo, {
      transcodeChunkSec: config.transcodeChunkSec ?? 60,
      transcodeMaxAttempts: config.transcodeMaxAttempts,
      transcodeMaxParallel: config.transcodeMaxParallel ?? 4,
      transcodeImage: config.transcodeImage,
    });
  }

  let subscription: Subscription | undefined;
  let state: 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' = 'idle';
  let starting: Promise<void> | undefined;

  const start = async (): Promise<void> => {
    if (state !== 'idle') return starting;
    state = 'starting';
    starting = (async () => {
      await runMigrations(database.primary, { schema: 'transcoder', dir: migrationsDir, logger });
      await bus.ensureTopics([{ name: TOPICS.videoTranscoded, partitions: 3 }]);
      if (cluster) {
        subscription = await subscribeVideoUploaded({ bus, database, jobs, publisher, logger, onQueued: () => {}, cluster });
        state = 'started';
        logger.info({ runner: 'kubernetes', namespace: cluster.namespace }, 'transcoder started: uploads become TranscodeJobs');
        return;
      }
      await workDirs.removeAbandoned();
      subscription = await subscribeVideoUploaded({ bus, database, jobs, publisher, logger, onQueued: () => worker.wake() });
      await worker.start();
      state = 'started';
      logger.info(
        { owner: worker.owner, concurrency: config.transcodeConcurrency, preset: config.transcodePreset, workDir: workDirs.processDir },
        'transcoder started',
      );
    })();
    return starting;
  };

  const stop = async (): Promise<void> => {
    if (state === 'idle' || state === 'stopped' || state === 'stopping') {
      state = 'stopped';
      return;
    }
    await starting?.catch(() => {});
    state = 'stopping';
    await subscription?.close().catch((err: unknown) => logger.warn({ err }, 'could not close the VideoUploaded subscription'));
    ownRepo?.close();
    if (!cluster) {
      await worker.stop();
      await workDirs.close();
    }
    state = 'stopped';
    logger.info({}, 'transcoder stopped');
  };

  const status = (): TranscoderStatus => ({ started: state === 'started', running: cluster ? [] : worker.runningJobs, problem: cluster ? null : worker.problem() });

  const plugin: FastifyPluginAsync<TranscoderPluginOptions> = async (app, opts) => {
    app.readiness.add('transcoder', async () => {
      if (state !== 'started') throw new Error(`transcoder ${state}`);
      if (cluster) return; // no ffmpeg here: the operator's Jobs transcode
      const problem = worker.problem();
      if (problem && (opts.requireFfmpeg || problem !== worker.ffmpegProblem)) throw new Error(problem);
      // Embedded, the rest of the platform is still useful: ready, but /readyz says that uploads fail.
      if (problem) return `degraded: ${problem}`;
    });
    app.addHook('onReady', start);
    app.addHook('preClose', stop);
  };

  return { start, stop, plugin, status, jobs };
}

export interface TranscoderAppDeps {
  database: Database;
  logger: Logger;
  /** Default: Kafka when `KAFKA_BROKERS` is set, else the in-process bus on the database (closed with the app). */
  bus?: EventBus;
  /** Default: the store `STORAGE_URL` names (closed with the app). */
  store?: ObjectStore;
  tuning?: TranscoderTuning;
}

/**
 * The transcoder as its own process (`createServiceApp`): base app (/healthz, /readyz, /metrics), the database
 * check, the event bus, and the module, which starts when the app is ready. No OpenAPI document and no
 * authentication: the worker serves no API. Nothing listens yet.
 */
export async function buildApp(config: Config, deps: TranscoderAppDeps): Promise<FastifyInstance> {
  const { app, bus } = await createServiceApp({
    name: 'transcoder',
    config,
    database: deps.database,
    logger: deps.logger,
    openapi: false,
    verifier: false,
    ...(deps.bus ? { bus: deps.bus } : {}),
  });
  let store = deps.store;
  if (!store) {
    const own = createStore(config.storageUrl);
    app.addHook('onClose', async () => own.close());
    store = own;
  }
  // A standalone worker is one of possibly several: without ffmpeg it leaves the jobs to the others (and is not ready).
  const tuning: TranscoderTuning = { whenFfmpegMissing: 'wait', ...deps.tuning };
  const mod = createTranscoderModule({ config, database: deps.database, logger: deps.logger, bus, store, metrics: app.metrics, tuning });
  await app.register(mod.plugin, { requireFfmpeg: true });
  return app;
}
