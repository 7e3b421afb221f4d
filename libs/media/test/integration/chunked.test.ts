// The chunked path in process on the hard case (29.97 fps, source keyframes off the segment grid, 44.1 kHz audio):
// the joined ladder has the single process's segment grid, keyframes, frames and audio bytes. The Job-pod path
// (separate processes over storage, playback in a browser) is apps/transcoder's chunked.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ChunkIndexError,
  ChunkOutputError,
  encodeAudio,
  encodeChunk,
  joinChunks,
  parseMediaPlaylist,
  planChunkedTranscode,
  transcode,
  type ChunkedPlan,
  type TranscodeManifest,
} from '@kinora/media';
import { ensureFfmpeg } from '@kinora/testing';
import { ntscSource } from '../fixtures.js';
import { fragmentTiming, keyframeTimes } from '../media-checks.js';

const run = promisify(execFile);
let dir: string;
let input: string;
let plan: ChunkedPlan;
let chunkDirs: string[];
let joined: TranscodeManifest;
let single: TranscodeManifest;
const seconds: Record<string, number> = {};

beforeAll(async () => {
  await ensureFfmpeg();
  input = await ntscSource();
  dir = await mkdtemp(join(tmpdir(), 'kinora-chunked-'));
  let t0 = performance.now();
  plan = await planChunkedTranscode({ input, targetChunkSec: 4, storyboard: false });
  chunkDirs = plan.chunks.map((c) => join(dir, `chunk-${c.index}`));
  await Promise.all([
    ...plan.chunks.map((c) => encodeChunk({ input, plan, index: c.index, outputDir: chunkDirs[c.index]! })),
    encodeAudio({ input, plan, outputDir: join(dir, 'audio') }),
  ]);
  joined = await joinChunks({ plan, chunkDirs, audioDir: join(dir, 'audio'), outputDir: join(dir, 'joined') });
  seconds['chunked'] = (performance.now() - t0) / 1000;
  t0 = performance.now();
  single = await transcode({ input, outputDir: join(dir, 'single'), storyboard: false });
  seconds['single'] = (performance.now() - t0) / 1000;
  process.stderr.write(`[chunked] ${plan.chunks.length} chunks in process: ${JSON.stringify(seconds)}\n`);
}, 240_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const out = (which: 'joined' | 'single', ...path: string[]) => join(dir, which, ...path);
const media = async (which: 'joined' | 'single', rendition: string) => parseMediaPlaylist(await readFile(out(which, rendition, 'index.m3u8'), 'utf8'));
async function whole(which: 'joined' | 'single', rendition: string): Promise<string> {
  const m = await media(which, rendition);
  const file = join(dir, `${which}-${rendition}.mp4`);
  await writeFile(file, Buffer.concat(await Promise.all([m.initUri!, ...m.segments.map((s) => s.uri)].map((u) => readFile(out(which, rendition, u))))));
  return file;
}

it('cuts on the 4 s grid, some chunks starting between source keyframes', () => {
  expect(plan.ladder.frameRate).toEqual({ num: 30000, den: 1001 });
  expect(plan.chunks.map((c) => c.startSec)).toEqual([0, 4, 8, 12, 16]);
  expect(plan.chunks.map((c) => c.startFrame)).toEqual([0, 120, 240, 360, 480]);
  expect(plan.chunks.some((c) => !c.onSourceKeyframe)).toBe(true);
});

it('joins into the single process files, segment durations and MPD', async () => {
  expect(joined.files.map((f) => f.path)).toEqual(single.files.map((f) => f.path));
  expect(joined.durationSec).toBe(single.durationSec);
  for (const name of [...single.renditions.map((r) => r.name), single.audio[0]!.name]) {
    expect((await media('joined', name)).segments.map((s) => s.durationSec)).toEqual((await media('single', name)).segments.map((s) => s.durationSec));
  }
  const timelines = (mpd: string) => mpd.match(/<SegmentTimeline>[\s\S]*?<\/SegmentTimeline>/g);
  expect(timelines(await readFile(out('joined', joined.dash), 'utf8'))).toEqual(timelines(await readFile(out('single', single.dash), 'utf8')));
});

it('has the single process keyframes, frames and per-segment timing on every rung', async () => {
  for (const { name } of single.renditions) {
    const [a, b] = await Promise.all([whole('joined', name), whole('single', name)]);
    expect(await keyframeTimes(a)).toEqual(await keyframeTimes(b));
    const pts = async (file: string) =>
      (await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', file])).stdout
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .sort((x, y) => x - y);
    const [pa, pb] = await Promise.all([pts(a), pts(b)]);
    expect(pa).toEqual(pb);
    // One frame per 1001/30000 s, none missing or repeated.
    expect(new Set(pa.slice(1).map((p, i) => p - pa[i]!)).size).toBe(1);
    const [ma, mb] = await Promise.all([media('joined', name), media('single', name)]);
    const [ia, ib] = await Promise.all([readFile(out('joined', name, ma.initUri!)), readFile(out('single', name, mb.initUri!))]);
    for (const [i, s] of ma.segments.entries()) {
      const ta = fragmentTiming(ia, await readFile(out('joined', name, s.uri)));
      const tb = fragmentTiming(ib, await readFile(out('single', name, mb.segments[i]!.uri)));
      expect([ta.decodeStartSec, ta.presentationStartSec]).toEqual([tb.decodeStartSec, tb.presentationStartSec]);
    }
  }
});

it('has byte-identical audio (resampled and ended once, over the whole source)', async () => {
  const name = single.audio[0]!.name;
  const m = await media('single', name);
  for (const uri of [m.initUri!, ...m.segments.map((s) => s.uri)]) {
    expect((await readFile(out('joined', name, uri))).equals(await readFile(out('single', name, uri)))).toBe(true);
  }
});

describe('failures', () => {
  it('refuses a chunk index outside the plan', async () => {
    await expect(encodeChunk({ input, plan, index: plan.chunks.length, outputDir: join(dir, 'bad') })).rejects.toBeInstanceOf(ChunkIndexError);
    await expect(encodeChunk({ input, plan, index: -1, outputDir: join(dir, 'bad') })).rejects.toBeInstanceOf(ChunkIndexError);
  });

  it('refuses to join with a chunk missing, a chunk with the wrong frame count, or without the audio', async () => {
    await expect(joinChunks({ plan, chunkDirs: chunkDirs.slice(1), audioDir: join(dir, 'audio'), outputDir: join(dir, 'j1') })).rejects.toThrow(
      /5 chunk\(s\), 4 given/,
    );
    // The last chunk in place of the second: same frame count (120), wrong place in the timeline.
    const swapped = [chunkDirs[0]!, chunkDirs[4]!, ...chunkDirs.slice(2, 4), chunkDirs[1]!];
    await expect(joinChunks({ plan, chunkDirs: swapped, audioDir: join(dir, 'audio'), outputDir: join(dir, 'j2') })).rejects.toThrow(
      /^chunk 1 starts at 16\.01\d* s, the plan says 4\.004000 s/,
    );
    // A chunk encoded from another plan (90 frames where this one says 120).
    const short = join(dir, 'short');
    const other: ChunkedPlan = { ...plan, chunks: plan.chunks.map((c) => (c.index === 1 ? { ...c, frameCount: 90 } : c)) };
    await encodeChunk({ input, plan: other, index: 1, outputDir: short });
    await expect(joinChunks({ plan, chunkDirs: [chunkDirs[0]!, short, ...chunkDirs.slice(2)], audioDir: join(dir, 'audio'), outputDir: join(dir, 'j5') })).rejects.toThrow(
      /^chunk 1 has 90 frames, the plan says 120/,
    );
    await expect(joinChunks({ plan, chunkDirs: [...chunkDirs.slice(0, 4), join(dir, 'nowhere')], audioDir: join(dir, 'audio'), outputDir: join(dir, 'j3') })).rejects.toThrow(
      /chunk 4 output is missing/,
    );
    await expect(joinChunks({ plan, chunkDirs, audioDir: null, outputDir: join(dir, 'j4') })).rejects.toThrow(/no audio output/);
  });
});
