import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES } from '@kinora/contracts';
import { buildApp, MediaSigner } from '../../src/index.js';
import { loadOrCreateSigningKey, SIGNING_KEY_FILE } from '../../src/services/signing-key.js';
import {
  eventsOf,
  fakeTranscode,
  PUBLIC_URL,
  silentLogger,
  startVideoTestEnv,
  testUsers,
  waitFor,
  type TestUser,
  type TestUsers,
  type VideoTestEnv,
} from './video-harness.js';

// The standalone video service (its own buildApp), tokens from a test signer, uploads stored in 64 KiB
// parts so that resuming crosses part boundaries.
const PART = 64 * 1024;
let env: VideoTestEnv;
let users: TestUsers;
let app: FastifyInstance;
let owner: TestUser;
let other: TestUser;

async function build(): Promise<FastifyInstance> {
  const a = await buildApp(env.config(), {
    database: env.database,
    logger: silentLogger,
    store: env.store,
    verifier: users.verifier,
    uploadPartSizeBytes: PART,
    channels: users.channels,
  });
  await a.ready();
  return a;
}

const tus = (user: TestUser | undefined, extra: Record<string, string> = {}) => ({ ...(user ? user.auth : {}), 'tus-resumable': '1.0.0', ...extra });
const meta = (videoId: string) => `videoId ${Buffer.from(videoId).toString('base64')},filename ${Buffer.from('clip.mp4').toString('base64')}`;

async function createVideo(user: TestUser, payload: Record<string, unknown> = { title: 'Upload me' }): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: user.auth, payload });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

async function createUpload(user: TestUser, videoId: string, length: number) {
  return app.inject({ method: 'POST', url: '/api/v1/uploads', headers: tus(user, { 'upload-length': String(length), 'upload-metadata': meta(videoId) }) });
}

async function patch(user: TestUser, videoId: string, offset: number, body: Buffer) {
  return app.inject({
    method: 'PATCH',
    url: `/api/v1/uploads/${videoId}`,
    headers: tus(user, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }),
    payload: body,
  });
}

async function head(user: TestUser, videoId: string) {
  return app.inject({ method: 'HEAD', url: `/api/v1/uploads/${videoId}`, headers: tus(user) });
}

async function readyVideo(user: TestUser, visibility: string) {
  const id = await createVideo(user, { title: `${visibility} media`, visibility });
  expect((await createUpload(user, id, 3)).statusCode).toBe(201);
  expect((await patch(user, id, 0, Buffer.from('abc'))).statusCode).toBe(204);
  const { segment } = await fakeTranscode(env, id);
  const video = await waitFor('ready', async () => {
    const v = (await app.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: user.auth })).json();
    return v.state === 'ready' && v;
  });
  return { id, video, segment };
}

const mediaPath = (url: string) => url.slice(PUBLIC_URL.length);

beforeAll(async () => {
  env = await startVideoTestEnv('video_uploads');
  users = await testUsers();
  app = await build();
  owner = await users.register('uploader');
  other = await users.register('intruder');
});

afterAll(async () => {
  await app?.close();
  await env?.close();
});

describe('tus uploads', () => {
  it('resumes an interrupted upload after a restart and ends in processing with VideoUploaded.v1', async () => {
    const videoId = await createVideo(owner);
    const file = randomBytes(5 * PART + 1234);
    const created = await createUpload(owner, videoId, file.length);
    expect(created.statusCode).toBe(201);
    expect(created.headers['location']).toBe(`${PUBLIC_URL}/api/v1/uploads/${videoId}`);
    expect(created.headers['tus-resumable']).toBe('1.0.0');
    expect((await head(owner, videoId)).headers['upload-offset']).toBe('0');

    // First PATCH over a real connection that breaks after 2.5 parts' worth of bytes.
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const sent = Math.floor(2.5 * PART);
    // The connection breaks once at least one part is stored (parts are at least PART bytes).
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'PATCH',
        path: `/api/v1/uploads/${videoId}`,
        headers: { ...tus(owner, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }), 'content-length': String(file.length) },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(file.subarray(0, sent), async () => {
        await waitFor('a part stored', async () => (await env.store.list(`upload-parts/${videoId}/`)).length >= 1);
        req.destroy();
        resolve();
      });
    });

    // The process restarts; what was stored survives.
    await waitFor('interrupted request done', async () => Number((await head(owner, videoId)).headers['upload-offset']) >= PART);
    await app.close();
    app = await build();
    const resumedAt = Number((await head(owner, videoId)).headers['upload-offset']);
    expect(resumedAt).toBeGreaterThanOrEqual(PART);
    expect(resumedAt).toBeLessThanOrEqual(sent);
    const h = await head(owner, videoId);
    expect(h.statusCode).toBe(200);
    expect(h.headers['upload-length']).toBe(String(file.length));
    expect(h.headers['cache-control']).toBe('no-store');

    // A wrong offset is a conflict; the right one finishes the upload.
    expect((await patch(owner, videoId, resumedAt + 1, file.subarray(resumedAt + 1))).statusCode).toBe(409);
    const done = await patch(owner, videoId, resumedAt, file.subarray(resumedAt));
    expect(done.statusCode).toBe(204);
    expect(done.headers['upload-offset']).toBe(String(file.length));

    const video = (await app.inject({ method: 'GET', url: `/api/v1/videos/${videoId}`, headers: owner.auth })).json();
    expect(video).toMatchObject({ state: 'processing', progress: 0 });
    const stored = await env.store.get(`uploads/${videoId}`);
    const chunks: Buffer[] = [];
    for await (const c of stored.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(file)).toBe(true);
    expect(await env.store.list(`upload-parts/${videoId}/`)).toEqual([]);
    const uploaded = await waitFor('VideoUploaded', async () => eventsOf(env, videoId).find((e) => e.type === EVENT_TYPES.videoUploaded));
    expect(uploaded.payload).toEqual({ videoId, sourceKey: `uploads/${videoId}`, sizeBytes: file.length, outputPrefix: `media/${videoId}/` });
    expect(uploaded.actor).toEqual({ type: 'user', id: owner.id });

    // Finished: no more bytes, no second creation.
    expect((await patch(owner, videoId, file.length, Buffer.alloc(0))).statusCode).toBe(409);
    expect((await createUpload(owner, videoId, 10)).statusCode).toBe(409);
    expect((await head(owner, videoId)).headers['upload-offset']).toBe(String(file.length));
  });

  it('takes creation-with-upload and a zero-length body in one request', async () => {
    const videoId = await createVideo(owner);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: tus(owner, { 'upload-length': '5', 'upload-metadata': meta(videoId), 'content-type': 'application/offset+octet-stream' }),
      payload: Buffer.from('hello'),
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['upload-offset']).toBe('5');
    expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${videoId}`, headers: owner.auth })).json().state).toBe('processing');
  });

  it('lets only the owner create, resume or inspect an upload', async () => {
    const videoId = await createVideo(owner);
    expect((await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: tus(undefined, { 'upload-length': '10', 'upload-metadata': meta(videoId) }) })).statusCode).toBe(401);
    // The video is not visible to others yet: 404, as if it did not exist.
    const refused = await createUpload(other, videoId, 10);
    expect(refused.statusCode).toBe(404);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect((await createUpload(owner, videoId, 10)).statusCode).toBe(201);
    expect((await patch(other, videoId, 0, Buffer.from('0123456789'))).statusCode).toBe(404);
    expect((await head(other, videoId)).statusCode).toBe(404);
    expect((await app.inject({ method: 'HEAD', url: `/api/v1/uploads/${videoId}`, headers: tus(undefined) })).statusCode).toBe(401);
    expect((await head(owner, videoId)).headers['upload-offset']).toBe('0');
  });

  it('answers 413 over the configured maximum, and for more bytes than declared', async () => {
    const videoId = await createVideo(owner);
    const tooBig = await createUpload(owner, videoId, 2 * 1024 * 1024 + 1);
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toMatchObject({ status: 413, code: 'UPLOAD_TOO_LARGE' });
    expect((await createUpload(owner, videoId, 2 * 1024 * 1024)).statusCode).toBe(201);
    const small = await createVideo(owner);
    expect((await createUpload(owner, small, 4)).statusCode).toBe(201);
    expect((await patch(owner, small, 0, Buffer.from('12345'))).statusCode).toBe(413);
  });

  it('refuses malformed tus requests with problems', async () => {
    const videoId = await createVideo(owner);
    const noMeta = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: tus(owner, { 'upload-length': '10' }) });
    expect(noMeta.statusCode).toBe(400);
    expect(noMeta.json().code).toBe('UPLOAD_METADATA_INVALID');
    const badMeta = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: tus(owner, { 'upload-length': '10', 'upload-metadata': 'videoId not-base64!!,,' }) });
    expect(badMeta.statusCode).toBe(400);
    const notUuid = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: tus(owner, { 'upload-length': '10', 'upload-metadata': `videoId ${Buffer.from('x').toString('base64')}` }) });
    expect(notUuid.statusCode).toBe(400);
    const unknown = await createUpload(owner, '01900000-0000-7000-8000-000000000000', 10);
    expect(unknown.statusCode).toBe(404);
    const noVersion = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...owner.auth, 'upload-length': '10', 'upload-metadata': meta(videoId) } });
    expect(noVersion.statusCode).toBe(412);
    const noLength = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: tus(owner, { 'upload-metadata': meta(videoId) }) });
    expect(noLength.statusCode).toBe(400);
    expect((await patch(owner, videoId, 0, Buffer.from('x'))).statusCode).toBe(404);
  });
});

describe('media playback', () => {
  let pub: Awaited<ReturnType<typeof readyVideo>>;
  beforeAll(async () => {
    pub = await readyVideo(owner, 'public');
  });

  it('serves public media with content types and cache lifetimes', async () => {
    expect(mediaPath(pub.video.streams.hls)).toBe(`/media/${pub.id}/master.m3u8`);
    expect(mediaPath(pub.video.storyboardUrl)).toBe(`/media/${pub.id}/storyboard.vtt`);
    const cases: [string, string, string][] = [
      ['master.m3u8', 'application/vnd.apple.mpegurl', 'public, max-age=10'],
      ['manifest.mpd', 'application/dash+xml', 'public, max-age=10'],
      ['360p/seg_00001.m4s', 'video/iso.segment', 'public, max-age=604800, immutable'],
      ['360p/init.mp4', 'video/mp4', 'public, max-age=604800, immutable'],
      ['poster.jpg', 'image/jpeg', 'public, max-age=604800, immutable'],
      ['storyboard.vtt', 'text/vtt', 'public, max-age=10'],
    ];
    for (const [file, type, cache] of cases) {
      const res = await app.inject({ method: 'GET', url: `/media/${pub.id}/${file}`, headers: { origin: 'https://player.example.org' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['cache-control']).toBe(cache);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['accept-ranges']).toBe('bytes');
    }
    expect((await app.inject({ method: 'GET', url: `/media/${pub.id}/nope.m4s` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/media/${pub.id}/../../uploads/${pub.id}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/media/not-a-video/master.m3u8` })).statusCode).toBe(404);
  });

  it('honours Range with 206 and the exact bytes, 416 when unsatisfiable', async () => {
    const url = `/media/${pub.id}/360p/seg_00001.m4s`;
    const size = pub.segment.length;
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=100-', 100, size - 1],
      ['bytes=-16', size - 16, size - 1],
      [`bytes=4000-${size + 500}`, 4000, size - 1],
    ] as const) {
      const res = await app.inject({ method: 'GET', url, headers: { range } });
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(res.rawPayload.equals(pub.segment.subarray(start, end + 1))).toBe(true);
    }
    const whole = await app.inject({ method: 'GET', url });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(pub.segment)).toBe(true);
    const unsatisfiable = await app.inject({ method: 'GET', url, headers: { range: `bytes=${size}-` } });
    expect(unsatisfiable.statusCode).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${size}`);
    // A HEAD tells the length without the body.
    const h = await app.inject({ method: 'HEAD', url, headers: { range: 'bytes=0-9' } });
    expect(h.statusCode).toBe(206);
    expect(h.headers['content-length']).toBe('10');
    // Revalidation.
    const etag = whole.headers['etag'] as string;
    expect((await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })).statusCode).toBe(304);
  });

  it('answers CORS preflights from any origin with Range allowed', async () => {
    const res = await app.inject({
      method: 'OPTIONS',
      url: `/media/${pub.id}/360p/seg_00001.m4s`,
      headers: { origin: 'https://cdn.example.net', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('range');
    const get = await app.inject({ method: 'GET', url: `/media/${pub.id}/master.m3u8`, headers: { origin: 'https://cdn.example.net' } });
    expect(String(get.headers['access-control-expose-headers'])).toMatch(/Content-Range/i);
    expect(String(get.headers['access-control-expose-headers'])).toMatch(/Content-Length/i);
  });

  it.each(['private', 'unlisted'])('signs the stream URLs of a %s video; tampered, expired or unsigned requests are refused', async (visibility) => {
    const { id, video, segment } = await readyVideo(owner, visibility);
    const hls = mediaPath(video.streams.hls);
    expect(hls).toMatch(new RegExp(`^/media/s/\\d+\\.[A-Za-z0-9_-]{43}/${id}/master\\.m3u8$`));
    expect(mediaPath(video.streams.dash)).toMatch(/\/manifest\.mpd$/);
    expect(mediaPath(video.thumbnailUrl)).toMatch(/^\/media\/s\//);
    // The storyboard index too: its sprites are relative to it, so they resolve under the same token.
    expect(mediaPath(video.storyboardUrl)).toBe(`${hls.slice(0, -'master.m3u8'.length)}storyboard.vtt`);
    expect((await app.inject({ method: 'GET', url: mediaPath(video.storyboardUrl) })).statusCode).toBe(200);
    const master = await app.inject({ method: 'GET', url: hls });
    expect(master.statusCode).toBe(200);
    // Relative URIs in the playlists resolve under the same token.
    const variant = new URL(master.body.trim().split('\n').pop()!, video.streams.hls);
    const playlist = await app.inject({ method: 'GET', url: mediaPath(variant.href) });
    expect(playlist.statusCode).toBe(200);
    const seg = new URL('seg_00001.m4s', variant);
    const ranged = await app.inject({ method: 'GET', url: mediaPath(seg.href), headers: { range: 'bytes=10-19' } });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.rawPayload.equals(segment.subarray(10, 20))).toBe(true);
    expect(ranged.headers['cache-control']).toBe('public, max-age=604800, immutable');

    const [, , , token] = hls.split('/');
    const [exp, sig] = token!.split('.');
    const flipped = sig!.slice(0, -2) + (sig!.endsWith('AA') ? 'BA' : 'AA');
    for (const bad of [
      hls.replace(token!, `${exp}.${flipped}`),
      hls.replace(token!, `${Number(exp) + 3600}.${sig}`),
      hls.replace(token!, 'garbage'),
      hls.replace(id, pub.id),
    ]) {
      const res = await app.inject({ method: 'GET', url: bad });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('MEDIA_URL_INVALID');
    }
    const key = await loadOrCreateSigningKey(env.dir);
    const expired = new MediaSigner(key).tokenFor(id, Math.floor(Date.now() / 1000) - 1);
    const old = await app.inject({ method: 'GET', url: hls.replace(token!, expired) });
    expect(old.statusCode).toBe(403);
    expect(old.json().code).toBe('MEDIA_URL_EXPIRED');
    // Without a signature, the media of a non-public video does not exist.
    expect((await app.inject({ method: 'GET', url: `/media/${id}/master.m3u8` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/media/${id}/360p/seg_00001.m4s` })).statusCode).toBe(404);
  });

  it('keeps the generated signing key out of the repository, readable by the owner only', async () => {
    const info = await stat(join(env.dir, SIGNING_KEY_FILE));
    expect(info.mode & 0o777).toBe(0o600);
  });
});
