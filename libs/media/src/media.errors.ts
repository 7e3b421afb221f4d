/**
 * Errors of this lib. The split matters to callers such as the transcoder worker:
 * - `InvalidMediaError`: the input itself is unusable. Permanent; report `reason` to the uploader, never retry.
 * - `FfmpegError`, `FfmpegNotFoundError`: the tool failed or is missing. Possibly transient; retry with backoff.
 * - `FfmpegAbortError`: the caller's AbortSignal fired.
 */

export type InvalidMediaCode =
  | 'EMPTY_FILE'
  | 'UNREADABLE'
  | 'NO_VIDEO_STREAM'
  | 'STILL_IMAGE'
  | 'UNDECODABLE_VIDEO'
  | 'INVALID_DURATION'
  | 'DURATION_TOO_LONG'
  | 'DIMENSIONS_OUT_OF_RANGE'
  | 'TRUNCATED';

export class InvalidMediaError extends Error {
  override readonly name = 'InvalidMediaError';
  /** A sentence meant for the person who uploaded the file (goes to `failureReason`). */
  readonly reason: string;

  constructor(
    readonly code: InvalidMediaCode,
    reason: string,
    /** Technical detail for logs (ffprobe's stderr, counts), never shown to users. */
    readonly detail?: string,
  ) {
    super(detail ? `${reason} (${detail})` : reason);
    this.reason = reason;
  }
}

export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';

  constructor(
    readonly tool: string,
    /** Exit code, or null when the process was ended by a signal. */
    readonly exitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
    /** The last lines ffmpeg wrote to stderr (oldest first). */
    readonly stderrTail: readonly string[],
  ) {
    const how = exitCode !== null ? `exited with code ${exitCode}` : `was killed by ${exitSignal ?? 'a signal'}`;
    const last = stderrTail.at(-1);
    super(`${tool} ${how}${last ? `: ${last}` : ''}`);
  }
}

export class FfmpegNotFoundError extends Error {
  override readonly name = 'FfmpegNotFoundError';

  constructor(readonly path: string) {
    super(
      `${path} was not found: install ffmpeg (Debian/Ubuntu: apt-get install -y --no-install-recommends ffmpeg) ` +
        `or pass its location (ffmpegPath / ffprobePath)`,
    );
  }
}

/** Thrown when the AbortSignal given to a run fires; `cause` is the signal's reason. */
export class FfmpegAbortError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';

  constructor(tool: string, options?: { cause?: unknown }) {
    super(`${tool} was cancelled`, options);
  }
}
