import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFreePort } from '@kinora/testing';
import { loadEdgeConfig } from '../src/config.js';
import { startEdge, type EdgeProcess } from '../src/launcher.js';
import { renderNginxConf } from '../src/render.js';
import { ensureNginx } from './ensure-nginx.js';

// Cluster mode's web app: the real nginx serves apps/web's build from disk (EDGE_WEB_ROOT) and proxies everything of
// the platform to the gateways, here a stand-in that records what reached it.
let work: string;
let web: string;
let gateway: Server;
let edge: EdgeProcess;
let base: string;
const proxied: string[] = [];
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body></body></html>';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { NGINX_BIN: ensureNginx(), EDGE_RUN_DIR: join(work, 'edge'), EDGE_LISTEN_HOST: '127.0.0.1', EDGE_WORKER_PROCESSES: '1', EDGE_WORKER_CONNECTIONS: '1024', ...extra };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kinora-edge-web-'));
  chmodSync(work, 0o755); // nginx workers (nobody) read the run folder and the web app
  web = join(work, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), INDEX);
  writeFileSync(join(web, 'assets/index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(2000))});`);
  writeFileSync(join(web, 'assets/index-abc123.css'), 'body{margin:0}');
  writeFileSync(join(web, 'robots.txt'), 'User-agent: *\n');
  gateway = createServer((req, res) => {
    proxied.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ from: 'gateway', url: req.url }));
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  const port = await getFreePort();
  base = `http://127.0.0.1:${port}`;
  const config = loadEdgeConfig(
    env({ EDGE_HTTP_PORT: String(port), EDGE_UPSTREAMS: `127.0.0.1:${(gateway.address() as AddressInfo).port}`, EDGE_WEB_ROOT: web, EDGE_RATE_LIMIT: 'off', EDGE_MEDIA_RATE_LIMIT: 'off' }),
    work,
  );
  edge = await startEdge(config);
}, 120_000);

afterAll(async () => {
  await edge?.stop('fast');
  await new Promise((r) => gateway?.close(r));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the edge serving the web app from disk (EDGE_WEB_ROOT)', () => {
  it('answers / and the app routes with index.html, revalidated', async () => {
    for (const path of ['/', '/watch/0190c0de-1', '/search?q=cats', '/upload']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control') }).toEqual({ path, status: 200, type: 'text/html', cache: 'no-cache' });
      expect(await res.text()).toBe(INDEX);
    }
    expect(proxied).toEqual([]);
  });

  it('serves hashed assets immutable, with their types, compressed', async () => {
    const js = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect(js.headers.get('x-request-id')).toBeTruthy();
    expect((await fetch(`${base}/assets/index-abc123.css`)).headers.get('content-type')).toBe('text/css');
    const robots = await fetch(`${base}/robots.txt`);
    expect(robots.status).toBe(200);
    expect(robots.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers a missing file with a 404 problem, never index.html', async () => {
    for (const path of ['/assets/index-old999.js', '/assets/nothing', '/favicon.ico', '/old.js']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 404, type: 'application/problem+json' });
      expect(await res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND', instance: path, requestId: res.headers.get('x-request-id') });
    }
    expect(proxied).toEqual([]);
  });

  it('proxies every platform path to the gateways, with or without a file extension', async () => {
    const paths = ['/api/v1/videos?sort=recent', '/api/v1/openapi.json', '/.well-known/jwks.json', '/healthz', '/readyz', '/metrics', '/uploads/x', '/internal/v1/x', '/api'];
    for (const path of paths) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(await res.json()).toEqual({ from: 'gateway', url: path });
    }
    expect(proxied).toEqual(paths);
  });

  it('refuses to start when its workers could not read the web app (nginx as root, workers as nobody)', async () => {
    if (process.getuid?.() !== 0) return; // without root nginx keeps its own user: nothing to check
    const hidden = mkdtempSync(join(tmpdir(), 'kinora-edge-hidden-')); // 0700
    try {
      mkdirSync(join(hidden, 'web'));
      writeFileSync(join(hidden, 'web/index.html'), INDEX);
      const config = loadEdgeConfig(env({ EDGE_RUN_DIR: join(work, 'edge-hidden'), EDGE_HTTP_PORT: String(await getFreePort()), EDGE_WEB_ROOT: join(hidden, 'web') }), work);
      await expect(startEdge(config)).rejects.toThrow(/cannot reach .*web.*EDGE_WEB_ROOT/);
    } finally {
      rmSync(hidden, { recursive: true, force: true });
    }
  });

  it('keeps the whole configuration as it was without EDGE_WEB_ROOT, and refuses a folder without index.html', () => {
    const without = renderNginxConf(loadEdgeConfig(env(), work));
    expect(without).not.toContain('root ');
    expect(without).not.toContain('@edge_404');
    expect(() => loadEdgeConfig(env({ EDGE_WEB_ROOT: join(work, 'edge') }), work)).toThrow(/EDGE_WEB_ROOT/);
    expect(loadEdgeConfig(env({ EDGE_WEB_ROOT: 'off' }), work).webRoot).toBeNull();
  });
});
