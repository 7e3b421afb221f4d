import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TranscodeSucceededV1 } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import { validateProbe, type ValidationLimits, type X264Preset } from '@kinora/media';
import type { Logger } from '@kinora/observability';
import type { TranscodeEventPublisher } from '../events/transcode.events.js';
import type { TranscoderMetrics, Stage } from '../metrics.js';
import type { ClaimedJob, JobRepository, StageTimings } from '../repositories/job.repository.js';
import type { MediaRepository } from '../repositories/media.repository.js';
import type { WorkDirRepository } from '../repositories/work-dir.repository.js';
import {
  classifyFailure,
  finalReason,
  LeaseLostError,
  retryDelayMs,
  ShutdownError,
  workerLostFailure,
  type Failure,
  type RetryBackoff,
} from './failure.classifier.js';
import { normalizePrefix, planUpload } from './output.plan.js';
import { jobProgress, ProgressThrottle } from './progress.throttle.js';

export interface WorkerSettings {
  /** Jobs run at once by this process. */
  concurrency: number;
  preset: X264Preset;
  /** Attempts before a job fails for good. */
  maxAttempts: number;
  leaseMs: number;
  /** How often the lease is extended; default a third of `leaseMs`. */
  heartbeatIntervalMs?: number;
  /** How often an idle worker looks for due jobs (jobs queued by this process wake it at once). */
  pollIntervalMs: number;
  /** Progress events: at most one per interval, and only after a change of `progressMinDelta`. */
  progressIntervalMs: number;
  progressMinDelta: number;
  retryBackoff: RetryBackoff;
  /** Source limits (sides, duration) beyond libs/media's defaults. */
  limits?: ValidationLimits;
  /** libx264 threads per job (default: ffmpeg's choice). */
  threads?: number;
  /**
   * Without a usable ffmpeg: `fail` each queued job at once with a readable reason (the only worker of its queue,
   * as in the all-in-one process: nobody else would ever take it), or `wait` for a worker that has one (a
   * cluster; this one's /readyz fails meanwhile). Default `fail`.
   */
  whenFfmpegMissing?: 'fail' | 'wait';
}

export interface WorkerDeps {
  database: Database;
  jobs: JobRepository;
  media: MediaRepository;
  workDirs: WorkDirRepository;
  publisher: TranscodeEventPublisher;
  metrics: TranscoderMetrics;
  logger: Logger;
}

interface ActiveJob {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
}

interface Outcome {
  payload: TranscodeSucceededV1;
  timings: StageTimings;
  speed: number;
}

/** Thrown inside a job when its stage timings must travel with the error. */
class StageError extends Error {
  constructor(
    readonly error: unknown,
    readonly timings: StageTimings,
  ) {
    super('stage failed', { cause: error });
  }
}

/**
 * The worker loop: claims due jobs up to the concurrency, runs each (download → probe → one ffmpeg for the whole
 * ladder → upload under the output prefix), extends its lease while it runs, and ends it with exactly one of:
 * succeeded (+ `TranscodeSucceeded.v1`), failed (+ `TranscodeFailed.v1`), queued again after a backoff, or released
 * at shutdown. Nothing a job does can stop the loop.
 */
export class TranscodeWorker {
  /** `host/pid/random`: the lease owner recorded on the jobs this process runs. */
  readonly owner = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  private readonly active = new Map<string, ActiveJob>();
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private wakePending = false;
  private wakeUp: (() => void) | undefined;
  private toolsProblem: string | null = null;
  private toolsCheckedAt = 0;
  private lastLoopError: { at: number; message: string } | undefined;
  private lastLoopSuccessAt = Date.now();
  private readonly heartbeatMs: number;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly settings: WorkerSettings,
  ) {
    this.heartbeatMs = settings.heartbeatIntervalMs ?? Math.max(250, Math.floor(settings.leaseMs / 3));
  }

  get runningJobs(): string[] {
    return [...this.active.keys()];
  }

  /** Why the worker cannot take jobs right now (null when it can). */
  problem(): string | null {
    if (this.toolsProblem) return this.toolsProblem;
    if (this.lastLoopError && this.lastLoopError.at > this.lastLoopSuccessAt) return `database: ${this.lastLoopError.message}`;
    return null;
  }

  get ffmpegProblem(): string | null {
    return this.toolsProblem;
  }

  async start(): Promise<void> {
    if (this.loopDone) return;
    await this.checkTools();
    this.loopDone = this.loop();
  }

  /** Looks for work now (a job was queued). */
  wake(): void {
    this.wakePending = true;
    this.wakeUp?.();
  }

  /**
   * Stops claiming, cancels the running jobs (ffmpeg is terminated through its AbortSignal, uploads stop between
   * objects) and gives them back to the queue, so that a worker (this one after a restart, or another) runs them
   * again at once. Resolves when nothing runs any more.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    for (const a of this.active.values()) a.controller.abort(new ShutdownError());
    await this.loopDone;
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.active.size >= this.settings.concurrency) {
        await this.idle(this.settings.pollIntervalMs);
        continue;
      }
      if (this.toolsProblem) {
        // Look again now and then: ffmpeg may have been installed meanwhile.
        if (Date.now() - this.toolsCheckedAt > 30_000) await this.checkTools();
        if (this.toolsProblem && this.settings.whenFfmpegMissing === 'wait') {
          // The jobs stay queued for a worker that has ffmpeg.
          await this.idle(Math.max(this.settings.pollIntervalMs, 5_000));
          continue;
        }
      }
      let job: ClaimedJob | null;
      try {
        job = await this.deps.jobs.claim(this.owner, this.settings.leaseMs);
        this.lastLoopSuccessAt = Date.now();
      } catch (err) {
        this.lastLoopError = { at: Date.now(), message: (err as Error).message };
        this.deps.logger.error({ err }, 'could not claim a transcode job; retrying');
        await this.idle(Math.max(this.settings.pollIntervalMs, 1_000));
        continue;
      }
      if (!job) {
        await this.idle(this.settings.pollIntervalMs);
        continue;
      }
      if (this.stopping) {
        await this.deps.jobs.release(job).catch(() => {});
        break;
      }
      const controller = new AbortController();
      const claimed = job;
      const toolsProblem = this.toolsProblem;
      const run = toolsProblem ? this.failUnavailable(claimed, toolsProblem) : this.runJob(claimed, controller);
      const done = run.finally(() => {
        this.active.delete(claimed.videoId);
        this.deps.metrics.running.set(this.active.size);
        this.wake();
      });
      this.active.set(claimed.videoId, { job: claimed, controller, done });
      this.deps.metrics.running.set(this.active.size);
    }
  }

  private async idle(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    // A wake() during the wait leaves wakePending set: the next idle() returns at once (one extra look, no lost wake).
    this.wakeUp = undefined;
  }

  private async checkTools(): Promise<void> {
    const first = this.toolsCheckedAt === 0;
    this.toolsCheckedAt = Date.now();
    const problem = await this.deps.media.checkTools();
    if (problem && problem !== this.toolsProblem) {
      const consequence =
        this.settings.whenFfmpegMissing === 'wait'
          ? 'this worker takes no jobs (they wait for a worker that has ffmpeg)'
          : 'uploads are marked failed';
      this.deps.logger.error({ problem }, `transcoding is unavailable (${consequence}): ${problem}`);
    } else if (!problem && (first || this.toolsProblem)) {
      const found = this.deps.media.located;
      this.deps.logger.info(
        { ffmpeg: found?.ffmpeg, ffprobe: found?.ffprobe, source: found?.source, version: found?.version },
        first ? `using ${found?.version ?? 'ffmpeg'} (${found?.ffmpeg}, from ${found?.source})` : 'ffmpeg is usable again',
      );
    }
    this.toolsProblem = problem;
  }

  /** A job claimed while no usable ffmpeg exists: it fails at once, telling the uploader why. Never throws. */
  private async failUnavailable(job: ClaimedJob, problem: string): Promise<void> {
    const log = this.deps.logger.child({ videoId: job.videoId, attempt: job.attempts });
    const started = performance.now();
    const reason = /not found/.test(problem)
      ? 'Transcoding is unavailable: ffmpeg was not found on this server'
      : "Transcoding is unavailable: this server's ffmpeg cannot convert videos";
    try {
      await this.finishFailed(job, { class: 'ffmpeg_missing', permanent: true, reason, detail: problem }, {}, log, started);
    } catch (err) {
      log.error({ err }, 'could not record the end of a transcode attempt');
    }
  }

  /** One attempt of a job, from claim to its final write. Never throws. */
  private async runJob(job: ClaimedJob, controller: AbortController): Promise<void> {
    const log = this.deps.logger.child({ videoId: job.videoId, attempt: job.attempts });
    const started = performance.now();
    let latestProgress = 0;
    let progressChain: Promise<void> = Promise.resolve();
    let ended = false;
    const throttle = new ProgressThrottle(this.settings.progressIntervalMs, this.settings.progressMinDelta);
    const heartbeat = setInterval(() => {
      this.deps.jobs.heartbeat(job, this.settings.leaseMs, latestProgress).then(
        (held) => {
          if (!held && !ended && !controller.signal.aborted) {
            log.warn({}, 'lease lost (another worker took the job over): cancelling this attempt');
            controller.abort(new LeaseLostError(job.videoId));
          }
        },
        (err: unknown) => log.warn({ err }, 'lease heartbeat failed'),
      );
    }, this.heartbeatMs);
    // The final write is fenced by the lease token; heartbeats answered after it are meaningless.
    const stopHeartbeat = () => {
      ended = true;
      clearInterval(heartbeat);
    };

    const onProgress = (value: number) => {
      latestProgress = Math.max(latestProgress, value);
      if (!throttle.offer(value)) return;
      progressChain = progressChain
        .then(async () => {
          if (controller.signal.aborted) return;
          await this.deps.jobs.recordProgress(job, value);
          await this.deps.publisher.progress({ videoId: job.videoId, progress: value });
        })
        .catch((err: unknown) => log.warn({ err }, 'could not report progress'));
    };

    try {
      if (job.previousState === 'running') {
        log.warn({ previousOwner: job.previousOwner }, 'took over a job whose worker stopped heartbeating');
        if (job.attempts > this.settings.maxAttempts) {
          // This claim is not an attempt of its own: the job is over.
          await this.finishFailed(job, workerLostFailure(job.attempts - 1), {}, log, started, job.attempts - 1);
          return;
        }
      }
      log.info({ sourceKey: job.sourceKey, sizeBytes: job.sizeBytes }, 'transcode job started');
      let outcome: Outcome;
      try {
        outcome = await this.execute(job, controller.signal, onProgress, log);
      } finally {
        // Progress events in flight go out before the final event, so the final event is the last word.
        await progressChain;
      }
      stopHeartbeat();
      await this.finishSucceeded(job, outcome, log, started);
    } catch (caught) {
      stopHeartbeat();
      const error = caught instanceof StageError ? caught.error : caught;
      const timings = caught instanceof StageError ? caught.timings : {};
      try {
        if (controller.signal.aborted) {
          const reason: unknown = controller.signal.reason;
          if (reason instanceof LeaseLostError) {
            this.deps.metrics.jobDuration.observe({ outcome: 'released' }, seconds(started));
            return; // The new owner reports the outcome.
          }
          await this.deps.jobs.release(job);
          this.deps.metrics.jobDuration.observe({ outcome: 'released' }, seconds(started));
          log.info({}, 'transcode job given back to the queue (shutdown)');
          return;
        }
        const failure = classifyFailure(error);
        if (failure.permanent || job.attempts >= this.settings.maxAttempts) {
          await this.finishFailed(job, failure, timings, log, started);
        } else {
          const delayMs = retryDelayMs(job.attempts, this.settings.retryBackoff);
          const held = await this.deps.jobs.retryLater(job, delayMs, { failureClass: failure.class, detail: failure.detail });
          this.deps.metrics.failure(failure.class, false);
          this.deps.metrics.jobDuration.observe({ outcome: 'retried' }, seconds(started));
          if (held) log.warn({ failure: failure.class, detail: failure.detail, delayMs }, 'transcode attempt failed; retrying later');
          else log.warn({ failure: failure.class }, 'transcode attempt failed after its lease was lost');
        }
      } catch (err) {
        // The database is unreachable: the lease runs out and a worker takes the job again.
        log.error({ err, cause: error }, 'could not record the end of a transcode attempt');
      }
    } finally {
      stopHeartbeat();
    }
  }

  private async execute(job: ClaimedJob, signal: AbortSignal, onProgress: (value: number) => void, log: Logger): Promise<Outcome> {
    const timings: StageTimings = {};
    const timed = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        const ms = performance.now() - t0;
        timings[`${stage}Ms`] = ms;
        this.deps.metrics.stageDuration.observe({ stage }, ms / 1000);
      }
    };
    let dir: string | undefined;
    try {
      const prefix = normalizePrefix(job.outputPrefix);
      dir = await this.deps.workDirs.create(job.videoId, job.attempts);
      const sourcePath = join(dir, 'source');
      const outputDir = join(dir, 'out');

      const bytes = await timed('download', () => this.deps.media.download(job.sourceKey, sourcePath, signal));
      if (bytes !== job.sizeBytes) log.warn({ expected: job.sizeBytes, actual: bytes }, 'the source size differs from the upload event');
      onProgress(jobProgress('download', 1));

      // Probe first: a file that is not a usable video fails here, before any encoding (InvalidMediaError).
      const probed = await timed('probe', () => this.deps.media.probe(sourcePath, signal));
      const source = validateProbe(probed, this.settings.limits);

      const manifest = await timed('encode', () =>
        this.deps.media.transcode({
          input: sourcePath,
          outputDir,
          preset: this.settings.preset,
          probeResult: probed,
          signal,
          limits: this.settings.limits,
          threads: this.settings.threads,
          onProgress: (p) => onProgress(jobProgress('encode', p.ratio)),
        }),
      );
      if (!manifest.poster) throw new Error('ffmpeg wrote no poster');

      const plan = planUpload(prefix, manifest.files);
      await timed('upload', async () => {
        await this.deps.media.upload(outputDir, plan.stages, signal, (done, total) => onProgress(jobProgress('upload', done / total)));
        // Objects of an earlier attempt or upload that this one did not write (a different source, another ladder).
        const stale = await this.deps.media.removeStale(prefix, plan.keys);
        if (stale.length > 0) log.info({ removed: stale.length }, 'removed stale outputs under the prefix');
      });

      const encodeSec = (timings.encodeMs ?? 0) / 1000;
      const speed = manifest.durationSec / Math.max(encodeSec, 0.001);
      log.info(
        {
          durationSec: manifest.durationSec,
          renditions: manifest.renditions.map((r) => `${r.width}x${r.height}`),
          files: manifest.files.length,
          speed: Number(speed.toFixed(2)),
          source: `${source.video.width}x${source.video.height}`,
        },
        'transcode finished, outputs uploaded',
      );
      return {
        timings,
        speed,
        payload: {
          videoId: job.videoId,
          durationSec: manifest.durationSec,
          width: source.video.width,
          height: source.video.height,
          renditions: manifest.renditions.map((r) => ({ height: r.height, width: r.width, bandwidth: r.bandwidth, codecs: r.codecs })),
          hlsKey: `${prefix}${manifest.hls}`,
          dashKey: `${prefix}${manifest.dash}`,
          thumbnailKey: `${prefix}${manifest.poster.path}`,
          storyboardVttKey: manifest.storyboard ? `${prefix}${manifest.storyboard.vtt}` : null,
        },
      };
    } catch (error) {
      throw new StageError(error, timings);
    } finally {
      if (dir) await this.deps.workDirs.remove(dir);
    }
  }

  private async finishSucceeded(job: ClaimedJob, outcome: Outcome, log: Logger, started: number): Promise<void> {
    const held = await this.deps.database.transaction(async (client) => {
      const ok = await this.deps.jobs.succeed(client, job, {
        result: outcome.payload,
        timings: outcome.timings,
        durationSec: outcome.payload.durationSec,
        speed: outcome.speed,
      });
      // Fenced: a worker that lost its lease publishes nothing (the new owner will).
      if (ok) await this.deps.publisher.succeeded(client, outcome.payload);
      return ok;
    });
    if (!held) {
      log.warn({}, 'transcode finished after the lease was lost: result left to the new owner');
      return;
    }
    this.deps.metrics.jobDuration.observe({ outcome: 'succeeded' }, seconds(started));
    this.deps.metrics.speed.observe(outcome.speed);
    log.info({ ms: Math.round(performance.now() - started), hlsKey: outcome.payload.hlsKey }, 'transcode job succeeded');
  }

  private async finishFailed(
    job: ClaimedJob,
    failure: Failure,
    timings: StageTimings,
    log: Logger,
    started: number,
    attempts: number = job.attempts,
  ): Promise<void> {
    const reason = finalReason(failure, attempts);
    const held = await this.deps.database.transaction(async (client) => {
      const ok = await this.deps.jobs.fail(client, job, { failureClass: failure.class, reason, detail: failure.detail, timings });
      if (ok) await this.deps.publisher.failed(client, { videoId: job.videoId, reason, attempts: Math.max(1, attempts) });
      return ok;
    });
    if (!held) return;
    this.deps.metrics.failure(failure.class, true);
    this.deps.metrics.jobDuration.observe({ outcome: 'failed' }, seconds(started));
    const level = failure.permanent && failure.class === 'invalid_media' ? 'info' : 'error';
    log[level]({ failure: failure.class, reason, detail: failure.detail, attempts }, 'transcode job failed');
  }
}

function seconds(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
