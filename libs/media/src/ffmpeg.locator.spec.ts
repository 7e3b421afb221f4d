import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FfmpegUnavailableError, locateFfmpeg } from './ffmpeg.locator.js';

// Real executables only: the ffmpeg on the PATH, a path that does not exist, a file that is not executable, and a
// stand-in that answers `-version` like an old build but cannot encode.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kinora-locate-'));
  await writeFile(join(dir, 'old-ffmpeg'), '#!/bin/sh\n[ "$1" = -version ] && { echo "ffmpeg version 4.1 Copyright (c) 2000-2018"; exit 0; }\necho "Unrecognized option \'fps_mode\'." >&2\nexit 1\n');
  await chmod(join(dir, 'old-ffmpeg'), 0o755);
  await writeFile(join(dir, 'not-executable'), 'nothing');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('locateFfmpeg', () => {
  it('finds ffmpeg and ffprobe on the PATH and reports their version', async () => {
    const found = await locateFfmpeg();
    expect(found).toMatchObject({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe', source: 'PATH' });
    expect(found.version).toMatch(/^ffmpeg version \S+$/);
  });

  it('names the configured path and how to install ffmpeg when FFMPEG_PATH points at nothing', async () => {
    const err = await locateFfmpeg({ ffmpegPath: join(dir, 'missing/ffmpeg') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegUnavailableError);
    expect((err as Error).message).toBe(
      `ffmpeg not found at ${join(dir, 'missing/ffmpeg')} (FFMPEG_PATH): install it (Debian/Ubuntu: apt-get install -y --no-install-recommends ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH`,
    );
  });

  it('checks ffprobe too', async () => {
    const err = await locateFfmpeg({ ffprobePath: join(dir, 'missing/ffprobe') }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^ffprobe not found at .* \(FFPROBE_PATH\): install it/);
  });

  it('says when the configured file is not executable', async () => {
    const err = await locateFfmpeg({ ffmpegPath: join(dir, 'not-executable') }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/is not executable \(FFMPEG_PATH\)/);
  });

  it('refuses an ffmpeg that runs but cannot encode the ladder (too old: no -fps_mode)', async () => {
    const err = await locateFfmpeg({ ffmpegPath: join(dir, 'old-ffmpeg') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegUnavailableError);
    expect((err as Error).message).toMatch(/\(ffmpeg version 4\.1\) cannot encode the ladder .*Unrecognized option 'fps_mode'/);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });
});
