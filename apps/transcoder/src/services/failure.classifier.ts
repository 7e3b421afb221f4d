import { FfmpegAbortError, FfmpegError, FfmpegNotFoundError, InvalidMediaError } from '@kinora/media';
import { InvalidKeyError } from '@kinora/storage';

/** Label of the failures metric and value of `jobs.failure_class`. */
export type FailureClass =
  | 'invalid_media'
  | 'invalid_job'
  | 'source_missing'
  | 'storage'
  | 'ffmpeg'
  | 'ffmpeg_missing'
  | 'worker_lost'
  | 'internal';

export interface Failure {
  class: FailureClass;
  /** Permanent: retrying cannot help (the input itself is unusable); the job fails at once. */
  permanent: boolean;
  /** A sentence for the owner of the video (`TranscodeFailed.v1` reason → the video's `failureReason`). */
  reason: string;
  /** Technical detail for logs and `jobs.last_error`; never shown to users. */
  detail: string;
}

/** The source object is not in the store (yet: S3 listings can lag, so it is retried). */
export class SourceMissingError extends Error {
  override readonly name = 'SourceMissingError';

  constructor(readonly key: string) {
    super(`the source object ${key} does not exist`);
  }
}

/** A store operation failed (network, permissions, disk): transient. */
export class StorageOperationError extends Error {
  override readonly name = 'StorageOperationError';

  constructor(
    readonly operation: 'get' | 'put' | 'list' | 'delete',
    readonly key: string,
    cause: unknown,
  ) {
    super(`storage ${operation} ${key} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The lease of a running job was taken over by another worker (this one was too slow to heartbeat). */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';

  constructor(readonly videoId: string) {
    super(`the lease of job ${videoId} was lost`);
  }
}

/** The worker is shutting down: the running job is given back, not failed. */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';

  constructor() {
    super('the transcoder is shutting down');
  }
}

const REASONS: Record<Exclude<FailureClass, 'invalid_media'>, string> = {
  invalid_job: 'The video could not be processed because of an internal error',
  source_missing: 'The uploaded file could not be found; please upload the video again',
  storage: 'The video could not be processed: the media storage did not respond',
  ffmpeg: 'The video could not be converted: the encoder failed',
  ffmpeg_missing: 'The video could not be converted: no encoder is available',
  worker_lost: 'The video could not be processed: the transcoder stopped while working on it',
  internal: 'The video could not be processed because of an internal error',
};

/**
 * Decides what a job failure means. Invalid input (libs/media's `InvalidMediaError`) and impossible jobs (keys the
 * store refuses) are permanent; everything else (ffmpeg crashing, the store or the network failing) is transient
 * and retried with backoff.
 */
export function classifyFailure(error: unknown): Failure {
  const detail = describe(error);
  if (error instanceof InvalidMediaError) {
    return { class: 'invalid_media', permanent: true, reason: error.reason, detail };
  }
  if (error instanceof InvalidKeyError) return failure('invalid_job', true, detail);
  if (error instanceof SourceMissingError) return failure('source_missing', false, detail);
  if (error instanceof StorageOperationError) return failure('storage', false, detail);
  if (error instanceof FfmpegNotFoundError) return failure('ffmpeg_missing', false, detail);
  if (error instanceof FfmpegError || error instanceof FfmpegAbortError) return failure('ffmpeg', false, detail);
  return failure('internal', false, detail);
}

function failure(cls: Exclude<FailureClass, 'invalid_media'>, permanent: boolean, detail: string): Failure {
  return { class: cls, permanent, reason: REASONS[cls], detail };
}

/** The reason a job that failed for good carries: retried failures say how often they were tried. */
export function finalReason(failure: Failure, attempts: number): string {
  if (failure.permanent || attempts <= 1) return failure.reason;
  return `${failure.reason} (gave up after ${attempts} attempts)`;
}

/** The reason of a job whose worker died `attempts` times (a crash on this input, or an unlucky cluster). */
export function workerLostFailure(attempts: number): Failure {
  return {
    class: 'worker_lost',
    permanent: true,
    reason: `${REASONS.worker_lost} (gave up after ${attempts} attempts)`,
    detail: `the lease expired ${attempts} times`,
  };
}

export interface RetryBackoff {
  /** Delay after the first failed attempt (ms). */
  initialMs: number;
  /** Upper bound (ms). */
  maxMs: number;
}

/** Exponential backoff: `initialMs` after attempt 1, doubling per attempt, capped at `maxMs`. */
export function retryDelayMs(failedAttempts: number, { initialMs, maxMs }: RetryBackoff): number {
  if (failedAttempts < 1) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failedAttempts - 1, 30));
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let text = `${error.name}: ${error.message}`;
  if (error instanceof FfmpegError && error.stderrTail.length > 1) text += ` | ${error.stderrTail.slice(-5).join(' | ')}`;
  if (error instanceof InvalidMediaError && error.detail) text += ` | ${error.detail}`;
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}
