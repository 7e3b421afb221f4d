import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@kinora/config';
import { createLogger } from '@kinora/observability';
import { getFreePort, waitUntil } from '@kinora/testing';
import { buildWebServer, IMMUTABLE, REVALIDATE } from '../../src/index.js';

// The web app's own static server (the chart's `web` Deployment): the bundle with immutable hashed assets, the SPA
// fallback, the platform's paths left to the gateway (404 problems here), health for the probes; and its process
// entry (apps/gateway/dist/web-main.js), which refuses to start without WEB_ROOT.
const gatewayDir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kinora-web-server-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Kinora</title><div id="root"></div>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log("app")');
  writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  app = await buildWebServer(loadConfig({ WEB_ROOT: root, KINORA_DATA_DIR: join(root, '.data') }), { logger: createLogger({ level: 'silent' }) });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the web server (in process)', () => {
  it('serves hashed assets immutable and index.html revalidated, for / and every app path', async () => {
    const asset = await app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe(IMMUTABLE);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.body).toBe('console.log("app")');
    for (const path of ['/', '/studio', '/channel/0190c0de-0000-7000-8000-000000000000', '/feed/subscriptions?x=1']) {
      const page = await app.inject({ url: path });
      expect({ path, status: page.statusCode, cache: page.headers['cache-control'] }).toEqual({ path, status: 200, cache: REVALIDATE });
      expect(page.body).toContain('<div id="root">');
    }
    const other = await app.inject({ url: '/favicon.svg' });
    expect(other.headers['cache-control']).toBe('public, max-age=3600');
  });

  it('answers 404 problems for a missing asset and for the platform paths the ingress sends to the gateway', async () => {
    for (const path of ['/assets/old-chunk.js', '/missing.png', '/api/v1/videos', '/media/x/master.m3u8', '/socket.io/']) {
      const res = await app.inject({ url: path });
      expect({ path, status: res.statusCode }).toEqual({ path, status: 404 });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('has the probes the chart asks', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('refuses to build without WEB_ROOT, or with a folder that has no index.html', async () => {
    const logger = createLogger({ level: 'silent' });
    await expect(buildWebServer(loadConfig({ KINORA_DATA_DIR: join(root, '.data') }), { logger })).rejects.toThrow(/WEB_ROOT/);
    await expect(buildWebServer(loadConfig({ WEB_ROOT: join(root, 'assets'), KINORA_DATA_DIR: join(root, '.data') }), { logger })).rejects.toThrow(/no index\.html/);
  });
});

describe('the web server process (node apps/gateway/dist/web-main.js)', () => {
  const start = (env: Record<string, string>): ChildProcess =>
    spawn(process.execPath, [join(gatewayDir, 'dist/web-main.js')], { env: { PATH: process.env['PATH'] ?? '', KINORA_DATA_DIR: join(root, '.data'), LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

  it('serves the bundle on PORT and stops on SIGTERM', async () => {
    const port = await getFreePort();
    const child = start({ PORT: String(port), HOST: '127.0.0.1', WEB_ROOT: root });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitUntil('the web server serves', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true, { timeoutMs: 20_000, intervalMs: 100 });
      const page = await fetch(`http://127.0.0.1:${port}/studio`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      expect(out).toMatch(/web service ready/);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 30_000);

  it('exits 1 with a readable reason without WEB_ROOT', async () => {
    const child = start({ PORT: '0' });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(out).toMatch(/WEB_ROOT must name the built web app/);
  }, 30_000);
});
