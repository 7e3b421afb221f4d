import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureFfmpeg } from '@kinora/testing';
import { client, createAndUpload, expectProblemShape, makeClip, register, startPlatform, tusMetadata, waitForFinalState, type Account, type Platform } from './support.js';

// Hostile uploads against the platform as `npm start` runs it: each ends `failed` with a readable reason or is
// refused with a problem, bounded by limits, and nothing else of the uploader is lost.
let platform: Platform;
let api: ReturnType<typeof client>;
let alice: Account;
let work: string;
let goodVideo: string;
const MAX_DURATION_SEC = 60;

beforeAll(async () => {
  await ensureFfmpeg();
  work = mkdtempSync(join(tmpdir(), 'kinora-sec-uploads-'));
  makeClip(join(work, 'good.mp4'), ['-f', 'lavfi', '-i', 'testsrc2=size=192x108:rate=25', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
  platform = await startPlatform('kinora_sec_uploads', { TRANSCODE_MAX_DURATION_SEC: String(MAX_DURATION_SEC), BODY_LIMIT_BYTES: String(1024 * 1024) });
  api = client(platform.url);
  alice = await register(platform.url, 'alice');
  goodVideo = await createAndUpload(platform.url, alice, readFileSync(join(work, 'good.mp4')), {}, 'the good one');
  expect((await waitForFinalState(platform.url, alice, goodVideo)).state).toBe('ready');
}, 240_000);

afterAll(async () => {
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A failure reason written for the uploader: a sentence, no paths, commands, stack frames or SQL. */
function expectReadableReason(reason: unknown): void {
  expect(typeof reason).toBe('string');
  expect((reason as string).length).toBeGreaterThan(10);
  expect(reason).not.toMatch(/\/tmp\/|\/var\/|ffprobe|ffmpeg|Error:|\bat \S+:\d+|SELECT|undefined|\[object/i);
}

async function uploadAndWait(bytes: Buffer, metadata: Record<string, string | Buffer> = {}): Promise<any> {
  const id = await createAndUpload(platform.url, alice, bytes, metadata);
  return waitForFinalState(platform.url, alice, id, 60_000);
}

async function aliceLostNothing(): Promise<void> {
  const good = await api(`/api/v1/videos/${goodVideo}`, { token: alice.token });
  expect({ status: good.status, state: good.body.state }).toEqual({ status: 200, state: 'ready' });
  const master = await fetch(new URL(good.body.streams.hls, platform.url));
  expect(master.status).toBe(200);
  expect((await api('/api/v1/users/me', { token: alice.token })).status).toBe(200);
}

describe('upload attacks', () => {
  it('a file that is not a video ends failed with a readable reason; nothing else is lost', async () => {
    const text = await uploadAndWait(Buffer.from('#!/bin/sh\necho this is not a video\n'.repeat(200)));
    expect(text.state).toBe('failed');
    expectReadableReason(text.failureReason);
    makeClip(join(work, 'still.png'), ['-f', 'lavfi', '-i', 'color=red:size=64x64', '-frames:v', '1']);
    const png = await uploadAndWait(readFileSync(join(work, 'still.png')));
    expect(png.state).toBe('failed');
    expectReadableReason(png.failureReason);
    await aliceLostNothing();
  }, 120_000);

  it('a header claiming 100000x100000 pixels is refused at the probe, before anything is decoded', async () => {
    // A YUV4MPEG2 header is plain text: it promises frames of 100000x100000 (15 GB each) that are not there.
    const crafted = Buffer.concat([Buffer.from('YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'), Buffer.alloc(4096, 0x80)]);
    const started = Date.now();
    const v = await uploadAndWait(crafted);
    expect(v.state).toBe('failed');
    expectReadableReason(v.failureReason);
    // ffprobe either reports the promised size (refused by the side limit) or cannot read a frame that large.
    expect(v.failureReason).toMatch(/100000.100000 pixels|not a video that can be read/);
    expect(Date.now() - started).toBeLessThan(30_000);
    // A real, decodable file just over the largest side (8192): refused the same way.
    makeClip(join(work, 'wide.mkv'), ['-f', 'lavfi', '-i', 'color=black:size=8200x16:rate=2', '-t', '2', '-c:v', 'ffv1']);
    const wide = await uploadAndWait(readFileSync(join(work, 'wide.mkv')));
    expect(wide.state).toBe('failed');
    expect(wide.failureReason).toMatch(/8200.16 pixels/);
    await aliceLostNothing();
  }, 120_000);

  it('a tiny, highly compressible video promising more than the duration limit is refused before decoding', async () => {
    // 10 minutes of a black 32x32 picture at 1 fps: a few kB that would decode to far more than the limit allows.
    makeClip(join(work, 'long.mp4'), ['-f', 'lavfi', '-i', 'color=black:size=32x32:rate=1', '-t', '600', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
    const bytes = readFileSync(join(work, 'long.mp4'));
    expect(bytes.length).toBeLessThan(200_000);
    const v = await uploadAndWait(bytes);
    expect(v.state).toBe('failed');
    expectReadableReason(v.failureReason);
    expect(v.failureReason).toMatch(/long; the limit is/);
    await aliceLostNothing();
  }, 120_000);

  it('compressed request bodies are never inflated: a gzip bomb is refused with a problem, at once', async () => {
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024, 0x20), { level: 9 }); // 256 MiB of spaces, ~250 kB
    const started = Date.now();
    const res = await fetch(`${platform.url}/api/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    const text = await res.text();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(text).not.toMatch(/stack|\bat \S+:\d+/);
    expect(Date.now() - started).toBeLessThan(10_000);
    // An uncompressed body over the JSON limit: 413.
    const big = await api('/api/v1/videos', { method: 'POST', token: alice.token, body: { title: 't', description: 'x'.repeat(2 * 1024 * 1024) } });
    expectProblemShape(big, 413);
    await aliceLostNothing();
  }, 60_000);

  it('a tus upload cannot grow past its declared length or the configured maximum', async () => {
    const created = await api('/api/v1/videos', { method: 'POST', token: alice.token, body: { title: 'bounded' } });
    const videoId = created.body.id as string;
    const auth = { authorization: `Bearer ${alice.token}`, 'tus-resumable': '1.0.0' };
    const tooBig = await fetch(`${platform.url}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...auth, 'upload-length': String(64 * 1024 ** 4), 'upload-metadata': tusMetadata({ videoId }) },
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const ok = await fetch(`${platform.url}/api/v1/uploads`, { method: 'POST', headers: { ...auth, 'upload-length': '1000', 'upload-metadata': tusMetadata({ videoId }) } });
    expect(ok.status).toBe(201);
    const over = await fetch(new URL(ok.headers.get('location')!, platform.url), {
      method: 'PATCH',
      headers: { ...auth, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: Buffer.alloc(1_000_000, 0),
    });
    expect(over.status).toBeGreaterThanOrEqual(400);
    expect(over.status).toBeLessThan(500);
    await over.text();
    const head = await fetch(new URL(ok.headers.get('location')!, platform.url), { method: 'HEAD', headers: auth });
    expect(Number(head.headers.get('upload-offset') ?? '0')).toBeLessThanOrEqual(1000);
  }, 60_000);

  it('path-like names in tus metadata never reach the filesystem outside the storage folder', async () => {
    const marker = `kinora-sec-escape-${process.pid}`;
    const escapes = [`../../../../../../tmp/${marker}`, `/tmp/${marker}`, `..\\..\\${marker}`, `${marker}\u0001.mp4`, `./${marker}/../../x`];
    const passwdBefore = statSync('/etc/passwd').mtimeMs;
    for (const name of escapes) {
      const id = await createAndUpload(platform.url, alice, readFileSync(join(work, 'good.mp4')), { filename: name, filetype: '../../video/mp4', [`name`]: name });
      const v = await waitForFinalState(platform.url, alice, id, 60_000);
      expect(v.state).toBe('ready');
    }
    // A NUL in a metadata value (PostgreSQL cannot store it): a 400 problem, not a 500 from inside tus (regression).
    const nulVideo = (await api('/api/v1/videos', { method: 'POST', token: alice.token, body: { title: 'nul name' } })).body.id as string;
    const nul = await fetch(`${platform.url}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': tusMetadata({ videoId: nulVideo, filename: `${marker}\0.mp4` }) },
    });
    expect(nul.status).toBe(400);
    expect(((await nul.json()) as { type: string }).type).toMatch(/#upload-metadata-invalid$/);
    expect((await api(`/api/v1/videos/${nulVideo}`, { token: alice.token })).body.state).toBe('awaiting_upload');
    // A path in place of the videoId is refused before tus sees it.
    const created = await api('/api/v1/videos', { method: 'POST', token: alice.token, body: { title: 'path id' } });
    for (const videoId of ['../../etc/passwd', `/tmp/${marker}`, `${created.body.id}/../../x`, `${created.body.id}\0`]) {
      const r = await fetch(`${platform.url}/api/v1/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': tusMetadata({ videoId }) },
      });
      expect({ videoId, status: r.status }).toEqual({ videoId, status: 400 });
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    // tus resource paths with traversal are not routes.
    for (const path of ['/api/v1/uploads/..%2F..%2Fetc%2Fpasswd', '/api/v1/uploads/%2e%2e/%2e%2e/etc/passwd']) {
      const r = await fetch(`${platform.url}${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${alice.token}`, 'tus-resumable': '1.0.0' } });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    expect(existsSync(resolve(platform.embedded.dataDir, '..', marker))).toBe(false);
    expect(statSync('/etc/passwd').mtimeMs).toBe(passwdBefore);
    // Every file the platform wrote is inside its data folder and named by ids, never by the metadata.
    const written: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else written.push(relative(platform.embedded.dataDir, p));
      }
    };
    walk(join(platform.embedded.dataDir, 'media'));
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((f) => f.startsWith('..') || f.includes(marker) || f.includes('\0'))).toEqual([]);
  }, 180_000);
});
