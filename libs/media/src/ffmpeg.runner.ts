import { spawn } from 'node:child_process';
import { FfmpegAbortError, FfmpegError, FfmpegNotFoundError } from './media.errors.js';
import { noopLogger, type MediaLogger } from './logger.js';

/** One `-progress` block of ffmpeg, typed. Fields ffmpeg reports as `N/A` are null. */
export interface FfmpegProgress {
  frame: number | null;
  fps: number | null;
  /** Position reached in the output, in seconds. */
  outTimeSec: number | null;
  /** Encoding speed as a multiple of realtime (`1.95x` → 1.95). */
  speed: number | null;
  bitrateKbps: number | null;
  totalSizeBytes: number | null;
  dupFrames: number | null;
  dropFrames: number | null;
  /** True on the last block (`progress=end`). */
  done: boolean;
}

/**
 * Turns the `key=value` lines of `-progress pipe:1` into one event per block (each block ends with `progress=…`).
 * Feed it raw chunks; it keeps partial lines between calls.
 */
export class ProgressParser {
  private buffer = '';
  private fields = new Map<string, string>();

  push(chunk: string): FfmpegProgress[] {
    this.buffer += chunk;
    const events: FfmpegProgress[] = [];
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (key === 'progress') {
        events.push(toProgress(this.fields, value === 'end'));
        this.fields = new Map();
      } else {
        this.fields.set(key, value);
      }
    }
    return events;
  }
}

function toProgress(fields: ReadonlyMap<string, string>, done: boolean): FfmpegProgress {
  return {
    frame: int(fields.get('frame')),
    fps: num(fields.get('fps')),
    outTimeSec: outTime(fields),
    speed: num(fields.get('speed')?.replace(/x$/, '')),
    bitrateKbps: num(fields.get('bitrate')?.replace(/kbits\/s$/, '')),
    totalSizeBytes: int(fields.get('total_size')),
    dupFrames: int(fields.get('dup_frames')),
    dropFrames: int(fields.get('drop_frames')),
    done,
  };
}

function num(value: string | undefined): number | null {
  if (value === undefined || value === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function int(value: string | undefined): number | null {
  const n = num(value);
  return n === null ? null : Math.trunc(n);
}

/** `out_time_us` is exact; `out_time_ms` is (despite its name) microseconds too; `out_time` is HH:MM:SS.micro. */
function outTime(fields: ReadonlyMap<string, string>): number | null {
  const us = num(fields.get('out_time_us')) ?? num(fields.get('out_time_ms'));
  if (us !== null) return us >= 0 ? us / 1e6 : null;
  const hms = fields.get('out_time')?.match(/^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/);
  if (!hms) return null;
  return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]);
}

export interface ToolRunOptions {
  signal?: AbortSignal;
  logger?: MediaLogger;
  /** How many trailing stderr lines an error carries. Default 30. */
  stderrTailLines?: number;
  /** Time between SIGTERM and SIGKILL when cancelled. Default 5000 ms. */
  killGraceMs?: number;
  cwd?: string;
  /** Called with the child's pid once it is spawned (tests, metrics). */
  onSpawn?: (pid: number) => void;
}

export interface FfmpegRunOptions extends ToolRunOptions {
  /** Executable; default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  onProgress?: (progress: FfmpegProgress) => void;
  /** ffmpeg's `-loglevel`; default `warning` (errors and warnings end up in the stderr tail). */
  logLevel?: 'error' | 'warning' | 'info';
}

export interface ToolRunResult {
  stdout: string;
  stderrTail: string[];
  elapsedMs: number;
}

export interface FfmpegRunResult {
  stderrTail: string[];
  elapsedMs: number;
  /** The last progress block (null when ffmpeg reported none). */
  lastProgress: FfmpegProgress | null;
}

/**
 * Runs ffmpeg with `args` (inputs, filters, outputs; the runner adds the global flags `-hide_banner -nostdin
 * -nostats -progress pipe:1 -loglevel …`). Resolves when ffmpeg exits 0; rejects with `FfmpegError` (exit code +
 * stderr tail), `FfmpegNotFoundError`, or `FfmpegAbortError` when `signal` fires (SIGTERM, then SIGKILL after
 * `killGraceMs`).
 */
export async function runFfmpeg(args: readonly string[], options: FfmpegRunOptions = {}): Promise<FfmpegRunResult> {
  const parser = new ProgressParser();
  let lastProgress: FfmpegProgress | null = null;
  const fullArgs = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    options.logLevel ?? 'warning',
    '-progress',
    'pipe:1',
    ...args,
  ];
  const result = await runTool(options.ffmpegPath ?? 'ffmpeg', fullArgs, options, (chunk) => {
    for (const progress of parser.push(chunk)) {
      lastProgress = progress;
      options.onProgress?.(progress);
    }
  });
  return { stderrTail: result.stderrTail, elapsedMs: result.elapsedMs, lastProgress };
}

/**
 * Spawns one of the ffmpeg tools. stdout is collected (or streamed to `onStdout`), stderr is logged line by line at
 * debug and its tail kept for errors. Internal: `runFfmpeg` and `probe` are the public faces.
 */
export function runTool(
  path: string,
  args: readonly string[],
  options: ToolRunOptions,
  onStdout?: (chunk: string) => void,
): Promise<ToolRunResult> {
  const { signal, logger = noopLogger, stderrTailLines = 30, killGraceMs = 5000, cwd } = options;
  const tool = path.split('/').at(-1) ?? path;
  if (signal?.aborted) return Promise.reject(new FfmpegAbortError(tool, { cause: signal.reason }));

  return new Promise<ToolRunResult>((resolve, reject) => {
    const started = performance.now();
    logger.debug({ tool, args }, `${tool} starting`);
    const child = spawn(path, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const stderrTail: string[] = [];
    let stderrPartial = '';
    let stdout = '';
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const pushStderrLine = (raw: string) => {
      const line = raw.trimEnd();
      if (!line) return;
      logger.debug({ tool, line }, `${tool} stderr`);
      stderrTail.push(line);
      if (stderrTail.length > stderrTailLines) stderrTail.shift();
    };

    const onAbort = () => {
      if (aborted || child.exitCode !== null || child.signalCode !== null) return;
      aborted = true;
      logger.info({ tool, pid: child.pid }, `${tool} cancelled, sending SIGTERM`);
      child.kill('SIGTERM');
      killTimer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          logger.warn({ tool, pid: child.pid }, `${tool} ignored SIGTERM, sending SIGKILL`);
          child.kill('SIGKILL');
        }
      }, killGraceMs);
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (error) reject(error);
      else resolve({ stdout, stderrTail, elapsedMs: performance.now() - started });
    };

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (onStdout) onStdout(chunk);
      else stdout += chunk;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (stderrPartial + chunk).split(/\r?\n|\r/);
      stderrPartial = lines.pop() ?? '';
      for (const line of lines) pushStderrLine(line);
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      finish(error.code === 'ENOENT' ? new FfmpegNotFoundError(path) : error);
    });
    // 'close' (not 'exit') so that stdout and stderr are fully read before settling.
    child.on('close', (code, exitSignal) => {
      pushStderrLine(stderrPartial);
      stderrPartial = '';
      const elapsedMs = Math.round(performance.now() - started);
      if (aborted) {
        finish(new FfmpegAbortError(tool, { cause: signal?.reason }));
      } else if (code === 0) {
        logger.debug({ tool, elapsedMs }, `${tool} finished`);
        finish(null);
      } else {
        logger.debug({ tool, code, signal: exitSignal, elapsedMs }, `${tool} failed`);
        finish(new FfmpegError(tool, code, exitSignal, [...stderrTail]));
      }
    });
  });
}
