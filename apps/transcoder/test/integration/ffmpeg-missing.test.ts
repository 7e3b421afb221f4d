// Regression: on a machine without ffmpeg, uploads stayed `processing` forever and nobody was told. Now the worker
// says so in one line at start and fails each upload with a readable reason; a standalone worker (one of several)
// leaves the jobs to the others and is not ready.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TranscodeFailedV1 } from '@kinora/contracts';
import { loadConfig } from '@kinora/config';
import { createBaseApp } from '@kinora/observability';
import { buildApp, createTranscoderModule, type TranscoderModule } from '../../src/index.js';
import { BAD_INPUTS } from '../fixtures.js';
import { createHarness, type Harness } from '../harness.js';

let h: Harness;
let mod: TranscoderModule;
let missing: string;
const config = (workDir: string) => ({
  transcodeConcurrency: 1,
  transcodePreset: 'veryfast' as const,
  transcodeMaxAttempts: 3,
  transcodeLeaseMs: 10_000,
  transcodeWorkDir: workDir,
});

beforeAll(async () => {
  h = await createHarness('transcoder_noffmpeg');
  missing = join(h.workDir, 'no-such-dir/ffmpeg');
  mod = createTranscoderModule({
    config: { ...config(h.workDir), ffmpegPath: missing },
    database: h.database,
    logger: h.logger,
    bus: h.bus,
    store: h.store,
    tuning: { pollIntervalMs: 100 },
  });
  await mod.start();
}, 60_000);

afterAll(async () => {
  await mod?.stop();
  await h?.close();
});

describe('a worker without a usable ffmpeg', () => {
  it('says at start, in one line, what is missing and how to install it', () => {
    const lines = h.logs.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('transcoding is unavailable'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!['msg']).toBe(
      `transcoding is unavailable (uploads are marked failed): ffmpeg not found at ${missing} (FFMPEG_PATH): ` +
        'install it (Debian/Ubuntu: apt-get install -y --no-install-recommends ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH',
    );
    expect(mod.status().problem).toMatch(/^ffmpeg not found/);
  });

  it('marks an upload failed at once with a readable reason instead of leaving it processing', async () => {
    const videoId = randomUUID();
    await h.upload(videoId, await BAD_INPUTS.randomBytes());
    const final = await h.waitForFinal(videoId, 20_000);
    expect(final.type).toBe('TranscodeFailed.v1');
    expect((final.payload as TranscodeFailedV1).reason).toBe('Transcoding is unavailable: ffmpeg was not found on this server');
    const job = await mod.jobs.get(videoId);
    expect(job).toMatchObject({ state: 'failed', failureReason: 'Transcoding is unavailable: ffmpeg was not found on this server' });
  });

  it('embedded, keeps /readyz at 200 (the rest of the platform works) but names the problem as a warning', async () => {
    const app = await createBaseApp({ logger: h.logger, bodyLimitBytes: 1024 });
    await app.register(mod.plugin);
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().checks.transcoder).toEqual({ ok: true, warning: expect.stringMatching(/^degraded: ffmpeg not found at /) });
    await app.close(); // stops the module (its preClose hook)
  });
});

describe('a standalone worker without ffmpeg', () => {
  it('is not ready, names the problem, and leaves the jobs queued for a worker that has ffmpeg', async () => {
    const cfg = loadConfig({ TRANSCODE_WORK_DIR: h.workDir, FFMPEG_PATH: missing, LOG_LEVEL: 'silent' });
    const app = await buildApp(cfg, { database: h.database, logger: h.logger, bus: h.bus, store: h.store, tuning: { pollIntervalMs: 100 } });
    try {
      await app.ready();
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().detail).toBe('Not ready: transcoder');
      const videoId = randomUUID();
      await h.upload(videoId, await BAD_INPUTS.randomBytes());
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await h.database.primary.query('SELECT state FROM transcoder.jobs WHERE video_id = $1', [videoId])).rows[0]?.state).toBe('queued');
    } finally {
      await app.close();
    }
  }, 30_000);
});
