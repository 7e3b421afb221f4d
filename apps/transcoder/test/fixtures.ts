// Sources of the transcoder suites, generated with ffmpeg's lavfi (testsrc2 + sine) and cached per machine in
// .cache/media-fixtures (written to a temporary name, then renamed: parallel Jest workers never read half a file).
// Short and at low frame rates: the ladder's cost is per frame and per rung, and CI has 2 cores.
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
  /** Expected renditions, `WxH`, ascending. */
  ladder: string[];
}

export const SOURCES = {
  landscape1080: {
    width: 1920,
    height: 1080,
    fps: 15,
    durationSec: 4,
    audio: true,
    ladder: ['256x144', '426x240', '640x360', '854x480', '1280x720', '1920x1080'],
  },
  portrait720: { width: 720, height: 1280, fps: 15, durationSec: 3, audio: true, ladder: ['144x256', '240x426', '360x640', '480x854', '720x1280'] },
  silent360: { width: 640, height: 360, fps: 15, durationSec: 3, audio: false, ladder: ['256x144', '426x240', '640x360'] },
  uhd2160: {
    width: 3840,
    height: 2160,
    fps: 5,
    durationSec: 2,
    audio: true,
    ladder: ['256x144', '426x240', '640x360', '854x480', '1280x720', '1920x1080', '3840x2160'],
  },
} satisfies Record<string, SourceSpec>;
export type SourceName = keyof typeof SOURCES;

async function cached(name: string, make: (tmp: string) => Promise<void>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `transcoder-${name}`);
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

export function source(name: SourceName): Promise<string> {
  const s: SourceSpec = SOURCES[name];
  return cached(`${s.width}x${s.height}-${s.fps}fps-${s.durationSec}s-${s.audio ? 'av' : 'v'}.mp4`, async (tmp) => {
    const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=${s.fps}:duration=${s.durationSec}`];
    if (s.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${s.durationSec}`);
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-pix_fmt', 'yuv420p');
    if (s.audio) args.push('-c:a', 'aac', '-b:a', '96k', '-ac', '2');
    args.push('-f', 'mp4', tmp);
    await run('ffmpeg', args);
  });
}

/**
 * The chunked-transcoding suite's source: 16 s of 640×360 at 30 fps (144p, 240p, 360p) with stereo audio, keyframes
 * every 2 s as a camera writes them (closed GOPs with B-frames), so a 4 s chunk target cuts it in four.
 */
export const CHUNKED_SOURCE = { width: 640, height: 360, fps: 30, durationSec: 16, keyframeSec: 2 } as const;

export function chunkedSource(): Promise<string> {
  const s = CHUNKED_SOURCE;
  return cached(`${s.width}x${s.height}-${s.fps}fps-${s.durationSec}s-gop${s.keyframeSec}-av.mp4`, async (tmp) => {
    const gop = String(s.fps * s.keyframeSec);
    await run('ffmpeg', [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=${s.fps}:duration=${s.durationSec}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${s.durationSec}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '30', '-pix_fmt', 'yuv420p', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-f', 'mp4', tmp,
    ]);
  });
}

/** Files that are not usable videos. */
export const BAD_INPUTS = {
  // Noise from a fixed seed: truly random bytes now and then look like a raw stream to ffprobe.
  randomBytes: () => cached('noise-v1.bin', (tmp) => writeFile(tmp, seededNoise('kinora transcoder bad input', 128 * 1024))),
  png: () =>
    cached('image.png', async (tmp) => {
      await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-update', '1', '-f', 'image2', '-c:v', 'png', tmp]);
    }),
  /** The first half of an mp4 whose index (moov) is at the end: unreadable. */
  truncatedMp4: async () => {
    const full = await source('portrait720');
    return cached('truncated.mp4', async (tmp) => {
      const bytes = await readFile(full);
      await writeFile(tmp, bytes.subarray(0, Math.floor(bytes.length / 2)));
    });
  },
};

/** Deterministic random-looking bytes: SHA-256 of the seed and a counter, block after block. */
function seededNoise(seed: string, size: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < size; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}
