// Chunked transcoding the way Job pods run it: plan, every chunk, the audio and the join as separate processes of
// the built entry (dist/transcode-job.js) over a filesystem store, compared with the single-process ladder of the same
// source: same files, same segment grid, same frames (none duplicated or lost at the joins), continuous timelines,
// byte-identical audio, and it plays to the end in Chromium with hls.js and dash.js. Then the entry's failures.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { TranscodeSucceededV1 } from '@kinora/contracts';
import { ChunkIndexError, mediaContentType, parseMediaPlaylist, transcode, type TranscodeManifest } from '@kinora/media';
import { createLogger } from '@kinora/observability';
import { FsObjectStore } from '@kinora/storage';
import { ensureFfmpeg } from '@kinora/testing';
import { launchChromium, playInPage, startPlaybackServer, type Browser, type PlaybackServer } from '@kinora/testing/browser';
import { fragmentTiming } from '../../../../libs/media/test/media-checks.js';
import { chunkJob, planJob, type ChunkedDeps } from '../../src/index.js';
import { BAD_INPUTS, CHUNKED_SOURCE, chunkedSource } from '../fixtures.js';

const run = promisify(execFile);
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');
const entry = join(root, 'apps/transcoder/dist/transcode-job.js');
const FPS = CHUNKED_SOURCE.fps;
const FRAME = 1 / FPS;
const PRESET = 'veryfast';

let storeDir: string;
let workDir: string;
let singleDir: string;
let store: FsObjectStore;
let sourceFile: string;
const videoId = randomUUID();
const sourceKey = `uploads/${videoId}`;
const outputPrefix = `media/${videoId}/`;
let chunkedDir: string;
let single: TranscodeManifest;
let payload: TranscodeSucceededV1;
let chunkCount: number;
const timings: Record<string, number> = {};

interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function step(args: string[], env: Record<string, string> = {}): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        LOG_LEVEL: 'warn',
        KINORA_DATA_DIR: workDir,
        STORAGE_URL: pathToFileURL(storeDir).href,
        TRANSCODE_WORK_DIR: join(workDir, 'scratch'),
        TRANSCODE_CHUNK_SEC: '4',
        TRANSCODE_PRESET: PRESET,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(args: string[]): Promise<unknown> {
  const r = await step(args);
  if (r.code !== 0) throw new Error(`transcode-job ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!);
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round(performance.now() - t0) / 1000;
  }
}

beforeAll(async () => {
  await ensureFfmpeg();
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'apps/transcoder')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  sourceFile = await chunkedSource();
  storeDir = await mkdtemp(join(tmpdir(), 'kinora-chunked-store-'));
  workDir = await mkdtemp(join(tmpdir(), 'kinora-chunked-work-'));
  singleDir = join(workDir, 'single');
  store = new FsObjectStore(storeDir, { fsync: false });
  await store.put(sourceKey, await readFile(sourceFile));
  const ids = ['--video', videoId, '--source', sourceKey];

  await timed('total chunked', async () => {
    const plan = (await timed('plan', () => ok(['plan', ...ids]))) as { chunks: number };
    chunkCount = plan.chunks;
    // The chunks and the audio at once, as the Jobs' pods would run.
    await timed('chunks + audio (parallel)', () =>
      Promise.all([
        ...Array.from({ length: chunkCount }, (_, i) =>
          ok(['chunk', ...ids, '--index', String(i)]).then((r) => expect(r).toEqual({ index: i, frames: expect.any(Number) })),
        ),
        ok(['audio', ...ids]).then((r) => expect(r).toEqual({ audio: true })),
      ]),
    );
    payload = (await timed('join', () => ok(['join', ...ids, '--output', outputPrefix]))) as TranscodeSucceededV1;
  });
  chunkedDir = join(storeDir, ...outputPrefix.split('/'));
  single = await timed('single process', () => transcode({ input: sourceFile, outputDir: singleDir, preset: PRESET }));
  process.stderr.write(`[chunked] ${chunkCount} chunks; seconds: ${JSON.stringify(timings)}\n`);
}, 300_000);

afterAll(async () => {
  await store?.close();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function listRelative(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
    .sort();
}

const playlist = async (dir: string, rendition: string) => parseMediaPlaylist(await readFile(join(dir, rendition, 'index.m3u8'), 'utf8'));
const videoNames = () => single.renditions.map((r) => r.name);

/** Presentation times of every video frame of a rendition (init + segments, read as one file), ascending. */
async function framePts(dir: string, rendition: string): Promise<number[]> {
  const media = await playlist(dir, rendition);
  const whole = join(workDir, `${randomUUID()}.mp4`);
  await writeFile(whole, Buffer.concat(await Promise.all([media.initUri!, ...media.segments.map((s) => s.uri)].map((u) => readFile(join(dir, rendition, u))))));
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', whole], { maxBuffer: 16 << 20 });
  await rm(whole);
  return stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
}

describe('chunked transcode through the Job entry', () => {
  it('plans at least three chunks for the 16 s clip with a 4 s target, and joins into the same renditions', () => {
    expect(chunkCount).toBeGreaterThanOrEqual(3);
    expect(payload.videoId).toBe(videoId);
    expect(payload.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['256x144', '426x240', '640x360']);
    expect(payload.renditions.map((r) => r.height)).toEqual(single.renditions.map((r) => r.height));
    expect(payload.renditions.map((r) => r.codecs)).toEqual(single.renditions.map((r) => r.codecs));
    expect(payload.hlsKey).toBe(`${outputPrefix}master.m3u8`);
    expect(payload.durationSec).toBeCloseTo(single.durationSec, 6);
  });

  it('writes exactly the files of the single-process path, and removes its work objects', async () => {
    expect(await listRelative(chunkedDir)).toEqual(single.files.map((f) => f.path));
    expect(await store.list(`${sourceKey}.chunks/`)).toEqual([]);
    expect(await store.head(sourceKey)).not.toBeNull();
  });

  it('has the same segment grid: segment count and durations per rendition (± one frame), total duration', async () => {
    for (const name of [...videoNames(), 'audio_128k']) {
      const a = await playlist(chunkedDir, name);
      const b = await playlist(singleDir, name);
      expect({ name, count: a.segments.length }).toEqual({ name, count: b.segments.length });
      a.segments.forEach((s, i) => expect(Math.abs(s.durationSec - b.segments[i]!.durationSec)).toBeLessThanOrEqual(FRAME + 1e-6));
      const total = (p: typeof a) => p.segments.reduce((n, s) => n + s.durationSec, 0);
      expect(Math.abs(total(a) - total(b))).toBeLessThanOrEqual(FRAME + 1e-6);
      expect(a.targetDurationSec).toBe(b.targetDurationSec);
    }
    const durations = (mpd: string) => [...mpd.matchAll(/<S (?:t="\d+" )?d="(\d+)"(?: r="(\d+)")?\/>/g)].map((m) => `${m[1]}x${Number(m[2] ?? 0) + 1}`);
    const [mpdA, mpdB] = await Promise.all([readFile(join(chunkedDir, 'manifest.mpd'), 'utf8'), readFile(join(singleDir, 'manifest.mpd'), 'utf8')]);
    expect(durations(mpdA)).toEqual(durations(mpdB));
    expect(mpdA.match(/mediaPresentationDuration="[^"]+"/)![0]).toBe(mpdB.match(/mediaPresentationDuration="[^"]+"/)![0]);
  });

  it('has continuous timelines: every segment starts (tfdt and first presented frame) where the previous ones end, as in the single path', async () => {
    for (const name of videoNames()) {
      const a = await playlist(chunkedDir, name);
      const b = await playlist(singleDir, name);
      const initA = await readFile(join(chunkedDir, name, a.initUri!));
      const initB = await readFile(join(singleDir, name, b.initUri!));
      let elapsed = 0;
      for (const [i, s] of a.segments.entries()) {
        const ta = fragmentTiming(initA, await readFile(join(chunkedDir, name, s.uri)));
        const tb = fragmentTiming(initB, await readFile(join(singleDir, name, b.segments[i]!.uri)));
        expect({ name, i, tfdt: ta.decodeStartSec, first: ta.presentationStartSec, trun: ta.trunVersion }).toEqual({
          name,
          i,
          tfdt: tb.decodeStartSec,
          first: tb.presentationStartSec,
          trun: tb.trunVersion,
        });
        expect(Math.abs(ta.presentationStartSec - elapsed)).toBeLessThan(1e-6);
        elapsed += s.durationSec;
      }
      // Starts at 0 like the single path (see libs/media "Start times").
      expect(fragmentTiming(initA, await readFile(join(chunkedDir, name, a.segments[0]!.uri))).edits).toEqual(
        fragmentTiming(initB, await readFile(join(singleDir, name, b.segments[0]!.uri))).edits,
      );
    }
  });

  it('has the same frames in every rendition: same count, one per 1/fps, none duplicated or missing at the joins', async () => {
    for (const name of videoNames()) {
      const [a, b] = await Promise.all([framePts(chunkedDir, name), framePts(singleDir, name)]);
      expect({ name, frames: a.length }).toEqual({ name, frames: b.length });
      expect(a.length).toBe(CHUNKED_SOURCE.durationSec * FPS);
      const steps = a.slice(1).map((t, i) => Math.round((t - a[i]!) * FPS * 1000) / 1000);
      expect(new Set(steps)).toEqual(new Set([1]));
      expect(a.map((t) => t - a[0]!)).toEqual(b.map((t) => t - b[0]!));
    }
  });

  it('shows the same picture as the single path on every frame (a frame lost or repeated at a join would shift the rest)', async () => {
    const top = videoNames().at(-1)!;
    const whole = async (dir: string) => {
      const media = await playlist(dir, top);
      const file = join(workDir, `${randomUUID()}.mp4`);
      await writeFile(file, Buffer.concat(await Promise.all([media.initUri!, ...media.segments.map((s) => s.uri)].map((u) => readFile(join(dir, top, u))))));
      return file;
    };
    const [a, b] = await Promise.all([whole(chunkedDir), whole(singleDir)]);
    const psnr = async (shift: number) => {
      const stats = join(workDir, `${randomUUID()}.psnr`);
      await run('ffmpeg', ['-v', 'error', '-i', a, '-i', b, '-lavfi', `[0:v]trim=start_frame=${shift},setpts=N[a];[1:v]setpts=N[b];[a][b]psnr=stats_file=${stats}`, '-f', 'null', '-']);
      const values = (await readFile(stats, 'utf8')).split('\n').filter(Boolean).map((l) => l.match(/psnr_avg:(\S+)/)![1]!).map((v) => (v === 'inf' ? 100 : Number(v)));
      return values.sort((x, y) => x - y);
    };
    const aligned = await psnr(0);
    expect(aligned).toHaveLength(CHUNKED_SOURCE.durationSec * FPS);
    expect(aligned[0]).toBeGreaterThan(30);
    // The measure tells a one-frame shift apart: most shifted frames fall well below.
    const shifted = await psnr(1);
    expect(shifted[Math.floor(shifted.length / 2)]).toBeLessThan(30);
  });

  it('encodes the audio once: its segments are byte for byte those of the single path', async () => {
    const a = await playlist(chunkedDir, 'audio_128k');
    for (const uri of [a.initUri!, ...a.segments.map((s) => s.uri)]) {
      const [x, y] = await Promise.all([readFile(join(chunkedDir, 'audio_128k', uri)), readFile(join(singleDir, 'audio_128k', uri))]);
      expect({ uri, same: x.equals(y) }).toEqual({ uri, same: true });
    }
  });
});

describe('playback of the joined ladder in Chromium', () => {
  let server: PlaybackServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startPlaybackServer({ mediaRoot: chunkedDir, contentType: mediaContentType });
    browser = await launchChromium();
    await browser.page.goto(`${server.origin}/`);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(['hls', 'dash'] as const)('%s plays the top rendition to the end', async (player) => {
    const levels = single.renditions.length;
    const result = await playInPage(browser.page, {
      player,
      src: `/media/${player === 'hls' ? 'master.m3u8' : 'manifest.mpd'}`,
      level: levels - 1,
      rate: 2,
      timeoutMs: 30_000,
    });
    await browser.page.evaluate(() => (globalThis as unknown as { kinoraStop(): void }).kinoraStop());
    if (!result.ended || result.errors.length > 0 || result.stalls.length > 0) {
      process.stderr.write(`[chunked playback] ${player}: ${JSON.stringify({ ...result, log: undefined })}\n  ${result.log.join('\n  ')}\n`);
    }
    expect(result.errors).toEqual([]);
    expect(result.stalls).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    expect(result.timedOut).toBe(false);
    expect(result.ended).toBe(true);
    expect(result.duration).toBeCloseTo(CHUNKED_SOURCE.durationSec, 0);
    expect(result.currentTime).toBeGreaterThanOrEqual(result.duration - 0.5);
    expect(result.frameHeights).toEqual([CHUNKED_SOURCE.height]);
  }, 60_000);
});

describe('the Job entry fails with an exit code and one line', () => {
  const expectOneLine = (r: StepResult, code: number, stepName: string, pattern: RegExp) => {
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^transcode-job ${stepName}: `));
    expect(lines[0]).toMatch(pattern);
  };

  it('exits 2 on a wrong command line', async () => {
    expectOneLine(await step([]), 2, 'transcode-job', /expected one step/);
    expectOneLine(await step(['encode', '--video', 'x', '--source', 'uploads/x']), 2, 'encode', /expected one step .*got encode/);
    expectOneLine(await step(['chunk', '--video', 'x', '--source', 'uploads/x']), 2, 'chunk', /needs --index/);
    expectOneLine(await step(['chunk', '--video', 'x', '--source', 'uploads/x', '--index', '-1']), 2, 'chunk', /--index/);
    expectOneLine(await step(['join', '--video', 'x', '--source', 'uploads/x']), 2, 'join', /needs --output/);
    expectOneLine(await step(['plan', '--video', 'x']), 2, 'plan', /--source <key> is required/);
    expectOneLine(await step(['plan', '--video', 'x', '--source', 'uploads/x', '--bogus']), 2, 'plan', /bogus/);
  });

  it('exits 4 when the source, the plan or an earlier step output is missing', async () => {
    const id = randomUUID();
    const ids = ['--video', id, '--source', `uploads/${id}`];
    expectOneLine(await step(['plan', ...ids]), 4, 'plan', new RegExp(`uploads/${id} does not exist`));
    expectOneLine(await step(['chunk', ...ids, '--index', '0']), 4, 'chunk', /no chunk plan .* run the plan step first/);
    expectOneLine(await step(['audio', ...ids]), 4, 'audio', /run the plan step first/);
    await store.put(`uploads/${id}`, await readFile(sourceFile));
    await ok(['plan', ...ids]);
    expectOneLine(await step(['join', ...ids, '--output', `media/${id}/`]), 4, 'join', /chunk 0 has no output .* run its chunk step first/);
    await store.deletePrefix(`uploads/${id}`);
  });

  it('exits 2 for a chunk index the plan does not have', async () => {
    const id = randomUUID();
    const ids = ['--video', id, '--source', `uploads/${id}`];
    await store.put(`uploads/${id}`, await readFile(sourceFile));
    expect(await ok(['plan', ...ids])).toEqual({ chunks: chunkCount });
    expectOneLine(await step(['chunk', ...ids, '--index', String(chunkCount)]), 2, 'chunk', new RegExp(`chunk index ${chunkCount} is out of range: the plan has ${chunkCount} chunk`));
    await store.deletePrefix(`uploads/${id}`);
  });

  it('exits 3 with the reason for the uploader when the source is not a video', async () => {
    const id = randomUUID();
    await store.put(`uploads/${id}`, await readFile(await BAD_INPUTS.png()));
    expectOneLine(await step(['plan', '--video', id, '--source', `uploads/${id}`]), 3, 'plan', /still image/);
    expect(await store.list(`uploads/${id}.chunks/`)).toEqual([]);
  });

  it('exits 1 on a transient failure (no ffmpeg where FFMPEG_PATH says), its last line the reason', async () => {
    const id = randomUUID();
    const ids = ['--video', id, '--source', `uploads/${id}`];
    await store.put(`uploads/${id}`, await readFile(sourceFile));
    await ok(['plan', ...ids]);
    const r = await step(['chunk', ...ids, '--index', '0'], { FFMPEG_PATH: join(workDir, 'no-ffmpeg') });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^transcode-job chunk: .*ffmpeg/);
    expect(await store.list(`uploads/${id}.chunks/chunk-0/`)).toEqual([]);
  });

  it('runs the same steps in process (a launcher without a kubelet): a bad index is a ChunkIndexError', async () => {
    const id = randomUUID();
    const scratch = join(workDir, 'in-process');
    await mkdir(scratch, { recursive: true });
    const local = join(scratch, 'source.mp4');
    await copyFile(sourceFile, local);
    await store.put(`uploads/${id}`, await readFile(local));
    const deps: ChunkedDeps = { store, logger: createLogger({ level: 'silent' }), workDir: scratch, preset: PRESET, chunkSec: 4 };
    const ref = { videoId: id, sourceKey: `uploads/${id}` };
    const plan = await planJob(deps, ref);
    expect(plan.chunks).toHaveLength(chunkCount);
    await expect(chunkJob(deps, ref, plan.chunks.length)).rejects.toBeInstanceOf(ChunkIndexError);
  });
});
