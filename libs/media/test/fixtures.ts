// Test sources generated with ffmpeg's lavfi (testsrc2 + sine), cached per machine in .cache/media-fixtures so that
// the suites (and later runs) share them. Each is written to a temporary name and renamed, so parallel workers
// never read a half-written file.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../.cache/media-fixtures');

export interface SourceSpec {
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  audio: boolean;
  /** Display rotation written into the track header (what phones do for portrait video). */
  rotate90?: boolean;
}

/** The sources of the integration suites. */
export const SOURCES = {
  /** 6 s 1080p landscape with stereo audio → 144p…1080p. */
  landscape1080: { width: 1920, height: 1080, fps: 30, durationSec: 6, audio: true },
  /** 6 s 720×1280 portrait with audio → 144p…720p (short side). */
  portrait720: { width: 720, height: 1280, fps: 25, durationSec: 6, audio: true },
  /** 4 s without audio → video-only renditions. */
  silent480: { width: 854, height: 480, fps: 24, durationSec: 4, audio: false },
  /** 2 s 2160p at 5 fps → all seven rungs, one short segment. */
  uhdLowFps: { width: 3840, height: 2160, fps: 5, durationSec: 2, audio: true },
  /** Coded 320×180 with a 90° display matrix: a phone's portrait video. */
  rotated: { width: 320, height: 180, fps: 25, durationSec: 2, audio: false, rotate90: true },
  /** Below the lowest rung. */
  tiny: { width: 100, height: 56, fps: 25, durationSec: 2, audio: true },
  /** The browser playback tests: 144p…480p (the old ladder split its audio between 360p and 480p), 6 s. */
  playback480: { width: 854, height: 480, fps: 30, durationSec: 6, audio: true },
} satisfies Record<string, SourceSpec>;

export type SourceName = keyof typeof SOURCES;

async function cached(name: string, make: (tmp: string) => Promise<void>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp${name.slice(name.lastIndexOf('.'))}`;
  try {
    await make(tmp);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}

function specName(spec: SourceSpec): string {
  return `src-${spec.width}x${spec.height}-${spec.fps}fps-${spec.durationSec}s-${spec.audio ? 'av' : 'v'}${spec.rotate90 ? '-rot90' : ''}.mp4`;
}

async function encode(spec: SourceSpec, out: string, faststart = false): Promise<void> {
  const args = [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}:duration=${spec.durationSec}`,
  ];
  if (spec.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${spec.durationSec}`);
  // Sources as cameras write them: long GOP, B-frames, yuv420p; fast to make.
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-pix_fmt', 'yuv420p');
  if (spec.audio) args.push('-c:a', 'aac', '-b:a', '96k', '-ac', '2');
  if (faststart) args.push('-movflags', '+faststart');
  args.push('-f', 'mp4', out);
  await run('ffmpeg', args);
  if (spec.rotate90) await writeFile(out, rotateTrackHeaders(await readFile(out)));
}

/**
 * Sets a 90° display matrix in every `tkhd` box. ffmpeg 5.1 has no option to write one (`-display_rotation` came
 * in 6.0, the `rotate` tag is ignored by its mp4 muxer), so the fixture is patched like a phone would write it.
 */
function rotateTrackHeaders(mp4: Buffer): Buffer {
  const out = Buffer.from(mp4);
  let found = 0;
  for (let i = out.indexOf('tkhd'); i >= 4; i = out.indexOf('tkhd', i + 4)) {
    const version = out[i + 4];
    const matrix = i + 4 + (version === 1 ? 52 : 40);
    [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000].forEach((v, n) => out.writeInt32BE(v, matrix + n * 4));
    found++;
  }
  if (found === 0) throw new Error('no tkhd box to rotate');
  return out;
}

export function source(name: SourceName): Promise<string> {
  const spec: SourceSpec = SOURCES[name];
  return cached(specName(spec), (tmp) => encode(spec, tmp));
}

/**
 * 3 s of video with 3.008 s of audio (141 AAC frames): the audio outlasts the video by a few ms, as AAC frame
 * rounding or a camera makes it. dash.js 5 stopped 0.5 s before the end of such a stream.
 */
export function audioLongerSource(): Promise<string> {
  return cached('src-640x360-30fps-3s-audio3.008s.mp4', async (tmp) => {
    await run('ffmpeg', [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=3',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3.008',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-f', 'mp4', tmp,
    ]);
  });
}

/**
 * The chunked path's hard case: 20 s at 29.97 fps (frame times are not whole milliseconds, segment boundaries fall
 * between frames), a camera's 48-frame GOP (keyframes every 1.6 s, mostly off the 4 s segment grid) and 44.1 kHz audio
 * (resampled to 48 kHz). 426×240: 144p and 240p.
 */
export function ntscSource(): Promise<string> {
  return cached('src-426x240-29.97fps-20s-gop48-av44k.mp4', async (tmp) => {
    await run('ffmpeg', [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30000/1001:duration=20',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=20',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '30', '-g', '48', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-f', 'mp4', tmp,
    ]);
  });
}

/** Files that are not usable videos, each for a different reason. */
export const BAD_INPUTS = {
  async randomBytes(): Promise<string> {
    // Noise from a fixed seed: truly random bytes now and then look like some raw stream to ffprobe (one CI run
    // read dimensions out of them), and a test input must not change from run to run.
    return cached('bad-noise-v1.bin', async (tmp) => writeFile(tmp, seededNoise('kinora bad input', 256 * 1024)));
  },
  async png(): Promise<string> {
    return cached('bad-image.png', (tmp) =>
      run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-update', '1', '-f', 'image2', '-c:v', 'png', tmp]).then(() => {}),
    );
  },
  /** An mp4 cut in half whose index (moov) was at the end: unreadable. */
  async truncatedMp4(): Promise<string> {
    const full = await source('landscape1080');
    return cached('bad-truncated.mp4', async (tmp) => {
      const bytes = await readFile(full);
      await writeFile(tmp, bytes.subarray(0, Math.floor(bytes.length / 2)));
    });
  },
  /** An mp4 cut in half whose index is at the front: the header promises 6 s, the data stops at 3. */
  async truncatedFaststartMp4(): Promise<string> {
    return cached('bad-truncated-faststart.mp4', async (tmp) => {
      const full = `${tmp}.full.mp4`;
      try {
        await encode(SOURCES.landscape1080, full, true);
        const bytes = await readFile(full);
        await writeFile(tmp, bytes.subarray(0, Math.floor(bytes.length / 2)));
      } finally {
        await rm(full, { force: true });
      }
    });
  },
  async audioOnly(): Promise<string> {
    return cached('bad-audio-only.m4a', (tmp) =>
      run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=2', '-c:a', 'aac', '-f', 'mp4', tmp]).then(() => {}),
    );
  },
  async empty(): Promise<string> {
    return cached('bad-empty.mp4', (tmp) => writeFile(tmp, Buffer.alloc(0)));
  },
};

/** Deterministic random-looking bytes: SHA-256 of the seed and a counter, block after block. */
function seededNoise(seed: string, size: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < size; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}
