import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  FfmpegUnavailableError,
  locateFfmpeg,
  probe,
  type FfmpegLocation,
  transcode,
  type MediaLogger,
  type ProbeResult,
  type TranscodeManifest,
  type TranscodeOptions,
} from '@kinora/media';
import { InvalidKeyError, ObjectNotFoundError, type ObjectStore } from '@kinora/storage';
import { SourceMissingError, StorageOperationError } from '../services/failure.classifier.js';
import type { UploadStep } from '../services/output.plan.js';

export interface MediaRepositoryOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Objects uploaded at once. Default 4. */
  uploadConcurrency?: number;
}

/**
 * The transcoder's I/O on media: the object store (source download, output upload, clean-up) and ffmpeg (through
 * libs/media). Store failures come out as `StorageOperationError` / `SourceMissingError` so that the worker can
 * tell them from bad input.
 */
export class MediaRepository {
  private readonly uploadConcurrency: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly logger: MediaLogger,
    private readonly options: MediaRepositoryOptions = {},
  ) {
    this.uploadConcurrency = Math.max(1, options.uploadConcurrency ?? 4);
  }

  /** The ffmpeg/ffprobe found by the last `checkTools()` (null before, or when none is usable). */
  located: FfmpegLocation | null = null;

  /** Null when ffmpeg and ffprobe run and can encode the ladder; else one line saying what is wrong. */
  async checkTools(): Promise<string | null> {
    try {
      this.located = await locateFfmpeg({ ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath });
      return null;
    } catch (error) {
      this.located = null;
      if (error instanceof FfmpegUnavailableError) return error.message;
      return `ffmpeg could not be checked: ${(error as Error).message}`;
    }
  }

  /** Copies the source object to `dest`; returns its size. */
  async download(key: string, dest: string, signal: AbortSignal): Promise<number> {
    let body;
    try {
      body = (await this.store.get(key)).body;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw new SourceMissingError(key);
      if (error instanceof InvalidKeyError) throw error;
      throw new StorageOperationError('get', key, error);
    }
    try {
      const out = createWriteStream(dest);
      await pipeline(body, out, { signal });
      return out.bytesWritten;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new StorageOperationError('get', key, error);
    }
  }

  probe(file: string, signal: AbortSignal): Promise<ProbeResult> {
    // countPackets: a file whose header promises more frames than it holds (a cut-off upload) is caught here.
    return probe(file, { countPackets: true, signal, logger: this.logger, ffprobePath: this.options.ffprobePath });
  }

  transcode(options: Omit<TranscodeOptions, 'logger' | 'ffmpegPath' | 'ffprobePath'>): Promise<TranscodeManifest> {
    return transcode({ ...options, logger: this.logger, ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath });
  }

  /**
   * Uploads the files of `dir` stage by stage (a few objects at a time within a stage). On the first failure no
   * further object is started, and the call settles only once the puts in flight have ended (the caller deletes
   * `dir` next).
   */
  async upload(
    dir: string,
    stages: readonly (readonly UploadStep[])[],
    signal: AbortSignal,
    onUploaded?: (done: number, total: number) => void,
  ): Promise<void> {
    const total = stages.reduce((n, s) => n + s.length, 0);
    let done = 0;
    for (const stage of stages) {
      let next = 0;
      let failure: { error: unknown } | undefined;
      const worker = async () => {
        while (next < stage.length && !failure) {
          if (signal.aborted) {
            failure ??= { error: signal.reason };
            return;
          }
          const step = stage[next++]!;
          const body = createReadStream(join(dir, step.path));
          // An adapter that fails before reading the body must not leave an unhandled stream error behind.
          body.on('error', () => {});
          try {
            await this.store.put(step.key, body, { contentType: step.contentType });
            onUploaded?.(++done, total);
          } catch (error) {
            body.destroy();
            failure ??= { error: error instanceof InvalidKeyError ? error : new StorageOperationError('put', step.key, error) };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.uploadConcurrency, stage.length) }, worker));
      if (failure) throw failure.error;
    }
  }

  /** Deletes the objects under `prefix` that are not in `keep`; returns them. */
  async removeStale(prefix: string, keep: ReadonlySet<string>): Promise<string[]> {
    let existing: string[];
    try {
      existing = (await this.store.list(prefix)).map((o) => o.key);
    } catch (error) {
      throw new StorageOperationError('list', prefix, error);
    }
    const stale = existing.filter((k) => !keep.has(k));
    for (const key of stale) {
      try {
        await this.store.delete(key);
      } catch (error) {
        throw new StorageOperationError('delete', key, error);
      }
    }
    return stale;
  }
}
