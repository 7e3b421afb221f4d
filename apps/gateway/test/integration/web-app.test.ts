import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@kinora/config';
import { createBaseApp } from '@kinora/observability';
import { gatewayPlugin } from '../../src/gateway.plugin.js';
import { IMMUTABLE, REVALIDATE, webAppPlugin } from '../../src/web/web-app.plugin.js';
import { captureLogs, ISSUER, makeKeys } from './helpers.js';

// The web app at `/` in embedded mode: static files of a Vite build beside the API, SPA fallback for app routes,
// nothing of the platform's own paths shadowed. Counted by no rate limit (the general budget is 3 here).
let app: FastifyInstance;
let base: string;
let dir: string;
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kinora-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets/index-abc123.js'), 'console.log("app");');
  writeFileSync(join(dir, 'assets/index-abc123.css'), 'body{margin:0}');
  writeFileSync(join(dir, 'robots.txt'), 'User-agent: *\n');
  writeFileSync(join(tmpdir(), 'kinora-web-secret.txt'), 'outside');
  const keys = await makeKeys();
  const config = loadConfig({ PUBLIC_URL: ISSUER, RATE_LIMIT_GENERAL: '3/1m' });
  app = await createBaseApp({ logger: captureLogs('warn').logger, bodyLimitBytes: config.bodyLimitBytes, openapi: { title: 't', version: '1', publicUrl: ISSUER } });
  await app.register(gatewayPlugin, { config, verifier: keys.verifier(), webRoot: dir });
  await app.register(async (svc) => {
    svc.get('/api/v1/videos', async () => ({ items: [], nextCursor: null }));
    svc.get('/api/v1/videos/:id/comments', async () => ({ items: [], nextCursor: null }));
    svc.get('/.well-known/jwks.json', async () => ({ keys: [] }));
    svc.get('/media/:file', async () => 'segment');
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(tmpdir(), 'kinora-web-secret.txt'), { force: true });
});

describe('the web app served by the gateway', () => {
  it('answers / with index.html, revalidated on every visit', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe(REVALIDATE);
    expect(await res.text()).toBe(INDEX);
  });

  it('serves hashed assets with their type, immutable for a year', async () => {
    const js = await fetch(`${base}/assets/index-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe(IMMUTABLE);
    expect(IMMUTABLE).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log("app");');
    const css = await fetch(`${base}/assets/index-abc123.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const head = await fetch(`${base}/assets/index-abc123.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log("app");'.length));
    // Other top-level files are not hashed: cached briefly only.
    const robots = await fetch(`${base}/robots.txt`);
    expect(robots.status).toBe(200);
    expect(robots.headers.get('cache-control')).not.toContain('immutable');
  });

  it('answers the app routes (client-side routing) with index.html, query strings included', async () => {
    for (const path of ['/watch/0190c0de-1234', '/search?q=cats', '/upload', '/signin']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers.get('cache-control')).toBe(REVALIDATE);
      expect(await res.text()).toBe(INDEX);
    }
  });

  it('gives a missing asset a 404 problem, never index.html', async () => {
    for (const path of ['/assets/index-old999.js', '/assets/nothing', '/favicon.ico', '/missing.js']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 404, type: expect.stringMatching(/^application\/problem\+json/) });
      expect(res.headers.get('cache-control')).toBeNull();
    }
  });

  it('leaves the API and the platform paths untouched: routes answer, unknown ones stay 404 problems', async () => {
    const list = await fetch(`${base}/api/v1/videos`);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ items: [], nextCursor: null });
    expect((await fetch(`${base}/.well-known/jwks.json`)).status).toBe(200);
    expect(await (await fetch(`${base}/media/seg1.m4s`)).text()).toBe('segment');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    for (const path of ['/api/v1/nothing-here', '/api', '/.well-known/nothing', '/media', '/socket.io/x', '/metricsx/../metrics/x', '/internal/v1/x']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 404, type: expect.stringMatching(/^application\/problem\+json/) });
    }
  });

  it('keeps the 414 problem of an over-long path parameter under the API (the router falls back to the catch-all)', async () => {
    const res = await fetch(`${base}/api/v1/videos/${'a'.repeat(300)}/comments`);
    expect(res.status).toBe(414);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 414, code: 'URI_TOO_LONG' });
    // An app route with a long segment is still the app.
    expect((await fetch(`${base}/watch/${'a'.repeat(300)}`)).status).toBe(200);
  });

  it('never serves a file outside its folder', async () => {
    for (const path of ['/../kinora-web-secret.txt', '/%2e%2e/kinora-web-secret.txt', '/assets/%2e%2e/%2e%2e/kinora-web-secret.txt', '/%00index.html']) {
      const res = await fetch(`${base}${path}`);
      expect(await res.text()).not.toContain('outside');
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });

  it('is not counted by the rate limits (a page load is many files), the API still is', async () => {
    for (let i = 0; i < 6; i++) expect((await fetch(`${base}/assets/index-abc123.js`)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/api/v1/videos`)).status);
    expect(statuses).toContain(429);
  });

  it('refuses to start on a folder without index.html (a checkout that was never built)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kinora-web-empty-'));
    const other = await createBaseApp({ logger: captureLogs('warn').logger, bodyLimitBytes: 1024, openapi: { title: 't', version: '1', publicUrl: ISSUER } });
    try {
      await expect(other.register(webAppPlugin, { root: empty }).ready()).rejects.toThrow(/has no index.html/);
    } finally {
      await other.close().catch(() => undefined);
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
