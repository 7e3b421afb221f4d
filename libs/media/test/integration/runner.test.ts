// The runner with real processes: progress events, errors with the stderr tail, cancellation (SIGTERM, then
// SIGKILL for a process that ignores it), and a transcode cancelled halfway that leaves no ffmpeg and no files.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FfmpegAbortError,
  FfmpegError,
  FfmpegNotFoundError,
  runFfmpeg,
  transcode,
  type FfmpegProgress,
  type MediaLogger,
} from '@kinora/media';
import { ensureFfmpeg } from '@kinora/testing';
import { source } from '../fixtures.js';

let scratch: string;

beforeAll(async () => {
  await ensureFfmpeg();
  scratch = await mkdtemp(join(tmpdir(), 'kinora-runner-'));
}, 900_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `needle` (to find an ffmpeg we did not spawn ourselves). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

function recordingLogger(): MediaLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (obj: object, msg?: string) => lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

describe('runFfmpeg', () => {
  it('reports typed progress and ends with progress=end', async () => {
    const events: FfmpegProgress[] = [];
    const logger = recordingLogger();
    const result = await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-f', 'null', '-'], {
      onProgress: (p) => events.push(p),
      logger,
    });
    const last = events.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.frame).toBe(75);
    expect(last.outTimeSec).toBeCloseTo(3, 1);
    expect(last.speed).toBeGreaterThan(0);
    expect(result.lastProgress).toEqual(last);
    expect(logger.lines.some((l) => l.startsWith('debug ffmpeg starting'))).toBe(true);
  });

  it('fails with the exit code and the last lines of stderr', async () => {
    const error = await runFfmpeg(['-i', join(scratch, 'missing.mp4'), '-f', 'null', '-']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    const e = error as FfmpegError;
    expect(e.exitCode).toBeGreaterThan(0);
    expect(e.stderrTail.join('\n')).toMatch(/No such file or directory/);
    expect(e.message).toMatch(/^ffmpeg exited with code \d+: .*No such file/);
  });

  it('keeps only the last N stderr lines', async () => {
    const fake = join(scratch, 'noisy.sh');
    await writeFile(fake, '#!/bin/sh\nfor i in $(seq 1 100); do echo "line $i" >&2; done\nexit 3\n');
    await chmod(fake, 0o755);
    const error = (await runFfmpeg([], { ffmpegPath: fake, stderrTailLines: 5 }).catch((e: unknown) => e)) as FfmpegError;
    expect(error.exitCode).toBe(3);
    expect(error.stderrTail).toEqual(['line 96', 'line 97', 'line 98', 'line 99', 'line 100']);
  });

  it('says how to install ffmpeg when it is missing', async () => {
    const error = await runFfmpeg([], { ffmpegPath: join(scratch, 'no-ffmpeg-here') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegNotFoundError);
    expect((error as Error).message).toMatch(/apt-get install/);
  });

  it('is cancelled by an AbortSignal: SIGTERM ends ffmpeg and the promise rejects with AbortError', async () => {
    const controller = new AbortController();
    let pid = 0;
    const started = performance.now();
    const run = runFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'null', '-'], {
      signal: controller.signal,
      onSpawn: (p) => (pid = p),
      onProgress: (p) => {
        if ((p.outTimeSec ?? 0) > 0.5) controller.abort(new Error('user cancelled'));
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegAbortError);
    expect((error as Error).name).toBe('AbortError');
    expect((error as Error).cause).toEqual(new Error('user cancelled'));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const stubborn = join(scratch, 'stubborn.sh');
    await writeFile(stubborn, "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.05; done\n");
    await chmod(stubborn, 0o755);
    const controller = new AbortController();
    let pid = 0;
    const run = runFfmpeg([], { ffmpegPath: stubborn, signal: controller.signal, killGraceMs: 300, onSpawn: (p) => (pid = p) });
    await new Promise((r) => setTimeout(r, 200));
    const aborted = performance.now();
    controller.abort();
    await expect(run).rejects.toBeInstanceOf(FfmpegAbortError);
    expect(performance.now() - aborted).toBeGreaterThanOrEqual(250);
    expect(alive(pid)).toBe(false);
  });

  it('does not start at all when the signal is already aborted', async () => {
    let spawned = false;
    const error = await runFfmpeg(['-version'], { signal: AbortSignal.abort(), onSpawn: () => (spawned = true) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegAbortError);
    expect(spawned).toBe(false);
  });
});

describe('transcode cancellation', () => {
  it('kills ffmpeg and empties the output directory', async () => {
    const input = await source('landscape1080');
    const outputDir = join(scratch, 'cancelled-transcode');
    const controller = new AbortController();
    let sawFfmpeg: number[] = [];
    let abortedAt = 0;
    const error = await transcode({
      input,
      outputDir,
      signal: controller.signal,
      onProgress: () => {
        if (abortedAt === 0) {
          abortedAt = performance.now();
          void processesMentioning(outputDir).then((pids) => {
            sawFfmpeg = pids;
            controller.abort();
          });
        }
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegAbortError);
    expect(performance.now() - abortedAt).toBeLessThan(8000);
    expect(sawFfmpeg.length).toBeGreaterThan(0);
    expect(await processesMentioning(outputDir)).toEqual([]);
    expect(await readdir(outputDir)).toEqual([]);
  }, 120_000);
});
