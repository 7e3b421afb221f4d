// The worker embedded in a process, end to end with the real ffmpeg, PostgreSQL and the in-process bus: uploads
// announced as VideoUploaded.v1 come out as ladders in the store and TranscodeSucceeded.v1 / TranscodeFailed.v1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Registry } from 'prom-client';
import { EVENT_TYPES, TOPICS, type TranscodeSucceededV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventEnvelope } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';
import { createTranscoderModule, type TranscoderModule } from '../../src/index.js';
import { ensureFfmpeg } from '@kinora/testing';
import { BAD_INPUTS, source, SOURCES, type SourceName } from '../fixtures.js';
import { createHarness, FlakyStore, type Harness } from '../harness.js';
import { checkOutputs } from '../outputs.js';

let h: Harness;
let flaky: FlakyStore;
let registry: Registry;
let mod: TranscoderModule;
const ids = {
  landscape1080: randomUUID(),
  portrait720: randomUUID(),
  silent360: randomUUID(),
  uhd2160: randomUUID(),
  randomBytes: randomUUID(),
  png: randomUUID(),
  truncatedMp4: randomUUID(),
  flaky: randomUUID(),
  duplicate: randomUUID(),
};
let duplicateEvent: EventEnvelope;
let files: Record<SourceName | 'randomBytes' | 'png' | 'truncatedMp4', string>;

beforeAll(async () => {
  await ensureFfmpeg();
  files = {
    landscape1080: await source('landscape1080'),
    portrait720: await source('portrait720'),
    silent360: await source('silent360'),
    uhd2160: await source('uhd2160'),
    randomBytes: await BAD_INPUTS.randomBytes(),
    png: await BAD_INPUTS.png(),
    truncatedMp4: await BAD_INPUTS.truncatedMp4(),
  };
  h = await createHarness('transcoder');
  flaky = new FlakyStore(h.store);
  registry = new Registry();
  mod = createTranscoderModule({
    config: {
      transcodeConcurrency: 2,
      transcodePreset: 'veryfast',
      transcodeMaxAttempts: 3,
      transcodeLeaseMs: 10_000,
      transcodeWorkDir: h.workDir,
    },
    database: h.database,
    logger: h.logger,
    bus: h.bus,
    store: flaky,
    metrics: registry,
    tuning: { pollIntervalMs: 200, progressIntervalMs: 300, retryBackoff: { initialMs: 300, maxMs: 2_000 } },
  });
  await mod.start();

  // The first upload of this video fails: the store refuses its first output object once.
  flaky.failPuts(`media/${ids.flaky}/`, 1);
  // Bad inputs first (they fail in the probe, quickly), then the ladders; two jobs run at a time.
  for (const name of ['randomBytes', 'png', 'truncatedMp4'] as const) await h.upload(ids[name], files[name]);
  await h.upload(ids.flaky, files.silent360);
  duplicateEvent = await h.upload(ids.duplicate, files.silent360);
  // A redelivery of the same event, and the same upload announced again under a new event id.
  await h.publishLifecycle(duplicateEvent, ids.duplicate);
  await h.publishLifecycle({ ...duplicateEvent, id: randomUUID() }, ids.duplicate);
  for (const name of ['landscape1080', 'portrait720', 'silent360', 'uhd2160'] as const) await h.upload(ids[name], files[name]);
}, 120_000);

afterAll(async () => {
  await mod?.stop();
  await h?.close();
});

describe.each(['landscape1080', 'portrait720', 'silent360', 'uhd2160'] as const)('a %s upload', (name: SourceName) => {
  const spec = SOURCES[name];
  let payload: TranscodeSucceededV1;

  beforeAll(async () => {
    const final = await h.waitForFinal(ids[name], 240_000);
    expect(final.type).toBe('TranscodeSucceeded.v1');
    payload = final.payload as TranscodeSucceededV1;
  }, 250_000);

  it('ends in TranscodeSucceeded.v1 with the ladder up to the source, never above', () => {
    expect(payload.videoId).toBe(ids[name]);
    expect(`${payload.width}x${payload.height}`).toBe(`${spec.width}x${spec.height}`);
    expect(Math.abs(payload.durationSec - spec.durationSec)).toBeLessThan(0.5);
    expect(payload.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(spec.ladder);
    for (const r of payload.renditions) {
      expect(r.bandwidth).toBeGreaterThan(0);
      expect(r.codecs).toMatch(/^avc1\.[0-9a-f]{6}/);
      if (spec.audio) expect(r.codecs).toContain('mp4a.40.2');
      else expect(r.codecs).not.toContain('mp4a');
    }
    const prefix = `media/${ids[name]}/`;
    expect(payload).toMatchObject({
      hlsKey: `${prefix}master.m3u8`,
      dashKey: `${prefix}manifest.mpd`,
      thumbnailKey: `${prefix}poster.jpg`,
      storyboardVttKey: `${prefix}storyboard/index.vtt`,
    });
  });

  it('leaves exactly the outputs the HLS master and the MPD reference in the store', async () => {
    const check = await checkOutputs(h.store, `media/${ids[name]}/`, payload);
    expect(check.missing).toEqual([]);
    expect(check.hlsSizes).toEqual(spec.ladder);
    expect(check.dashSizes).toEqual(spec.ladder);
    // Nothing else: no temporary files, no second copy.
    expect(check.stored.filter((k) => !check.referenced.has(k))).toEqual([]);
    expect(check.stored.length).toBe(check.referenced.size);
  });

  it('records the job as succeeded after one attempt, with its timings', async () => {
    const job = await mod.jobs.get(ids[name]);
    expect(job).toMatchObject({ state: 'succeeded', attempts: 1, progress: 1, leaseOwner: null, failureReason: null });
    expect(job!.result).toEqual(payload);
    for (const t of [job!.downloadMs, job!.probeMs, job!.encodeMs, job!.uploadMs]) expect(t).toEqual(expect.any(Number));
    expect(job!.speed).toBeGreaterThan(0);
    expect(job!.finishedAt!.getTime()).toBeGreaterThanOrEqual(job!.startedAt!.getTime());
  });
});

describe('progress', () => {
  it('reports TranscodeProgress.v1 between 0 and 1, rising, throttled, before the final event', async () => {
    await h.waitForFinal(ids.landscape1080, 240_000);
    const events = h.eventsFor(ids.landscape1080);
    const progress = events.filter((e) => e.type === 'TranscodeProgress.v1').map((e) => (e.payload as { progress: number }).progress);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    for (const p of progress) expect(p > 0 && p < 1).toBe(true);
    for (let i = 1; i < progress.length; i++) expect(progress[i]! - progress[i - 1]!).toBeGreaterThanOrEqual(0.05 - 1e-9);
    expect(events.at(-1)!.type).toBe('TranscodeSucceeded.v1');
    expect(events.every((e) => e.actor.type === 'service' && e.actor.id === 'transcoder' && e.key === ids.landscape1080)).toBe(true);
  }, 250_000);
});

describe.each([
  ['randomBytes', /not a video that can be read/],
  ['png', /still image/],
  ['truncatedMp4', /not a video that can be read|incomplete/],
] as const)('an upload of %s', (name, reason) => {
  it('ends in TranscodeFailed.v1 at once, with a readable reason and attempts=1', async () => {
    const final = await h.waitForFinal(ids[name], 120_000);
    expect(final.type).toBe('TranscodeFailed.v1');
    expect(final.payload).toEqual({ videoId: ids[name], reason: expect.stringMatching(reason), attempts: 1 });
    const job = await mod.jobs.get(ids[name]);
    expect(job).toMatchObject({ state: 'failed', attempts: 1, failureClass: 'invalid_media', leaseOwner: null });
    expect(job!.failureReason).toBe((final.payload as { reason: string }).reason);
    expect(await h.store.list(`media/${ids[name]}/`)).toEqual([]);
    expect(h.eventsFor(ids[name]).filter((e) => e.type !== 'TranscodeProgress.v1')).toHaveLength(1);
  }, 130_000);
});

describe('failures and repeats', () => {
  it('retries a transient failure (the store refusing an upload) with backoff, then succeeds', async () => {
    const final = await h.waitForFinal(ids.flaky, 240_000);
    expect(final.type).toBe('TranscodeSucceeded.v1');
    expect(flaky.refused).toHaveLength(1);
    const job = await mod.jobs.get(ids.flaky);
    expect(job).toMatchObject({ state: 'succeeded', attempts: 2, failureClass: null });
    const check = await checkOutputs(h.store, `media/${ids.flaky}/`, final.payload as TranscodeSucceededV1);
    expect(check.missing).toEqual([]);
    expect(check.stored.length).toBe(check.referenced.size);
    expect(h.eventsFor(ids.flaky).filter((e) => e.type === 'TranscodeFailed.v1')).toEqual([]);
  }, 250_000);

  it('makes one job of duplicate VideoUploaded events (redelivery, or the same upload announced twice)', async () => {
    const final = await h.waitForFinal(ids.duplicate, 240_000);
    expect(final.type).toBe('TranscodeSucceeded.v1');
    // Give a second job, if there were one, the time to report.
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.eventsFor(ids.duplicate).filter((e) => e.type !== 'TranscodeProgress.v1')).toHaveLength(1);
    const job = await mod.jobs.get(ids.duplicate);
    expect(job).toMatchObject({ state: 'succeeded', attempts: 1, eventId: duplicateEvent.id });
    const { rows } = await h.database.primary.query(`SELECT count(*)::int AS n FROM transcoder.jobs WHERE video_id = $1`, [ids.duplicate]);
    expect(rows[0].n).toBe(1);
  }, 250_000);

  it('starts over when a different source is uploaded for the same video', async () => {
    await h.waitForFinal(ids.duplicate, 240_000);
    const before = h.eventsFor(ids.duplicate).length;
    const sourceKey = `uploads/${ids.duplicate}-second`;
    await h.store.put(sourceKey, createReadStream(files.png));
    const size = (await h.store.head(sourceKey))!.size;
    const event = createEvent({
      type: EVENT_TYPES.videoUploaded,
      key: ids.duplicate,
      actor: { type: 'service', id: 'video' },
      payload: { videoId: ids.duplicate, sourceKey, sizeBytes: size, outputPrefix: `media/${ids.duplicate}/` },
    });
    await h.bus.publish(TOPICS.videoLifecycle, [toEventMessage(event)]);
    await waitFor(() => h.eventsFor(ids.duplicate).slice(before).some((e) => e.type === 'TranscodeFailed.v1'), 60_000, 'the second upload to fail');
    const job = await mod.jobs.get(ids.duplicate);
    expect(job).toMatchObject({ state: 'failed', attempts: 1, sourceKey, eventId: event.id });
  }, 250_000);

  it('ignores other lifecycle events and sends malformed uploads to the DLQ without blocking the partition', async () => {
    const dlq: unknown[] = [];
    const sub = await h.bus.subscribe({
      group: `test-dlq-${randomUUID()}`,
      topics: [`${TOPICS.videoLifecycle}.dlq`],
      handler: async (batch) => {
        dlq.push(...batch.messages);
      },
    });
    try {
      const other = randomUUID();
      await h.publishLifecycle(
        createEvent({ type: EVENT_TYPES.videoChanged, key: other, actor: { type: 'service', id: 'video' }, payload: { videoId: other } }),
        other,
      );
      const bad = randomUUID();
      const malformed = createEvent({ type: EVENT_TYPES.videoUploaded, key: bad, actor: { type: 'service', id: 'video' }, payload: { videoId: bad } });
      await h.publishLifecycle(malformed, bad);
      const good = randomUUID();
      await h.upload(good, files.randomBytes);
      await h.waitForFinal(good, 60_000);
      await waitFor(() => dlq.length === 1, 10_000, 'the malformed event in the DLQ');
      expect(dlq[0]).toMatchObject({ key: bad, value: { id: malformed.id }, headers: { 'dlq-error': expect.stringContaining('sourceKey') } });
      expect(await mod.jobs.get(other)).toBeNull();
      expect(await mod.jobs.get(bad)).toBeNull();
    } finally {
      await sub.close();
    }
  }, 120_000);
});

describe('metrics', () => {
  it('exposes job durations, speed, failures by class and jobs by state', async () => {
    for (const id of Object.values(ids)) await h.waitForFinal(id, 240_000);
    const text = await registry.metrics();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? Number.NaN);
    expect(value(/^transcode_job_duration_seconds_count\{outcome="succeeded"\} (\d+)/m)).toBeGreaterThanOrEqual(6);
    expect(value(/^transcode_job_duration_seconds_count\{outcome="retried"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^transcode_speed_ratio_count (\d+)/m)).toBeGreaterThanOrEqual(6);
    expect(value(/^transcode_failures_total\{class="invalid_media",final="true"\} (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^transcode_failures_total\{class="storage",final="false"\} (\d+)/m)).toBe(1);
    expect(value(/^transcode_jobs\{state="succeeded"\} (\d+)/m)).toBeGreaterThanOrEqual(5);
    expect(value(/^transcode_jobs\{state="running"\} (\d+)/m)).toBe(0);
    expect(text).toMatch(/^transcode_stage_duration_seconds_count\{stage="encode"\} \d+/m);
    expect(mod.status()).toEqual({ started: true, running: [], problem: null });
  }, 250_000);

  it('logged no error besides the malformed event (no job crashed the worker)', () => {
    const errors = h.logs.filter((l) => (l['level'] as number) >= 50 && l['msg'] !== 'malformed VideoUploaded event sent to the DLQ');
    expect(errors).toEqual([]);
  });
});
