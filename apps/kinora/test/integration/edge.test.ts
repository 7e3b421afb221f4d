import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Server as SocketServer } from 'socket.io';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, getFreePorts, waitUntil, type TestDatabase } from '@kinora/testing';
import { checkNginxConf, loadEdgeConfig, startEdge, writeRunFolder, type EdgeProcess } from '@kinora/edge';
// The edge's own test tooling (installs nginx when missing); the launcher's tests may reach into the apps they mount.
import { ensureNginx } from '../../../edge/test/ensure-nginx.js';
import { buildKinora } from '../../src/app.js';

// apps/edge's end-to-end test, kept with the launcher because it needs the whole platform (an app never imports
// another; only apps/kinora mounts the others).
// Real nginx (Debian package) in front of two real Kinora instances (buildKinora on one test database), each with a
// socket.io server attached. Every request the instances receive is recorded at the HTTP-server level, so the tests
// see exactly what crossed the edge.

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');

interface Received {
  instance: string;
  url: string;
  headers: IncomingHttpHeaders;
  upgrade: boolean;
}

interface Instance {
  name: string;
  port: number;
  app: FastifyInstance;
  io: SocketServer;
  /** engine.io session ids this instance handed out. */
  sessions: Set<string>;
}

let tdb: TestDatabase;
let database: Database;
let work: string;
let nginx: string;
const instances: Instance[] = [];
const received: Received[] = [];
const mediaHits = new Map<string, number>();
const slow = new Map<string, () => void>();
const edges: EdgeProcess[] = [];
const sockets: Socket[] = [];
let ports: { a: number; b: number; http: number; https: number; limits: number; failover: number; down: number; dead: number; main: number };
let edgeA: EdgeProcess;
let edgeC: EdgeProcess;
let cert: Buffer;

const byRequestId = (id: string) => received.filter((r) => r.headers['x-request-id'] === id);

async function startInstance(name: string, port: number): Promise<Instance> {
  const config = loadConfig({
    PUBLIC_URL: 'http://kinora.test',
    KINORA_DATA_DIR: join(work, `data-${name}`),
    LOG_LEVEL: 'silent',
    // The video service's /media/ route is replaced by a stub below that counts what reaches the origin.
    KINORA_SERVICES: 'gateway,user',
    RATE_LIMIT_GENERAL: 'off',
    RATE_LIMIT_AUTH: 'off',
    RATE_LIMIT_UPLOAD: 'off',
    // The edge is the only proxy these instances believe.
    TRUSTED_PROXIES: '127.0.0.1',
  });
  const app = await buildKinora(config, { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 } });
  app.get('/edge-test/echo', async (req) => ({ instance: name, ip: req.ip, headers: req.headers }));
  app.post('/edge-test/echo', async (req) => ({ instance: name, bytes: JSON.stringify(req.body ?? null).length }));
  app.get('/edge-test/slow', (req) => new Promise((resolve) => slow.set((req.query as { id: string }).id, () => resolve({ instance: name }))));
  app.get('/media/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    mediaHits.set(path, (mediaHits.get(path) ?? 0) + 1);
    if (path.startsWith('/media/private/')) return reply.header('cache-control', 'private, max-age=60').type('video/iso.segment').send(Buffer.alloc(1000, 1));
    if (path.endsWith('.m3u8')) {
      const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:4', '#EXT-X-MAP:URI="init.mp4"'];
      for (let i = 0; i < 20; i++) lines.push('#EXTINF:4.000,', `seg-${i}.m4s`);
      return reply.header('cache-control', 'no-cache').type('application/vnd.apple.mpegurl').send(`${lines.join('\n')}\n`);
    }
    return reply.header('cache-control', 'public, max-age=604800, immutable').type('video/iso.segment').send(Buffer.alloc(4096, 7));
  });
  const io = new SocketServer(app.server, { serveClient: false });
  const sessions = new Set<string>();
  io.engine.on('connection', (socket: { id: string }) => sessions.add(socket.id));
  io.on('connection', (socket) => socket.on('whoami', (ack: (n: string) => void) => ack(name)));
  // Prepended after socket.io wrapped the server's listeners, so it sees every request, socket.io's included.
  app.server.prependListener('request', (req, res) => {
    received.push({ instance: name, url: req.url ?? '', headers: req.headers, upgrade: false });
    res.setHeader('x-served-by', name);
  });
  app.server.on('upgrade', (req) => received.push({ instance: name, url: req.url ?? '', headers: req.headers, upgrade: true }));
  await app.listen({ port, host: '127.0.0.1' });
  return { name, port, app, io, sessions };
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json(): any;
}

function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer; localAddress?: string; ca?: Buffer } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false, localAddress: opts.localAddress, ...(opts.ca ? { ca: opts.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString()) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const edgeUrl = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;

function expectProblem(res: Res, status: number, code: string): any {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = res.json();
  expect(p).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), code }));
  expect(p.requestId).toBe(res.headers['x-request-id']);
  return p;
}

async function edge(name: string, env: Record<string, string>): Promise<EdgeProcess> {
  const config = loadEdgeConfig(
    {
      NGINX_BIN: nginx,
      EDGE_RUN_DIR: join(work, `edge-${name}`),
      EDGE_LISTEN_HOST: '127.0.0.1',
      EDGE_WORKER_PROCESSES: '1',
      EDGE_WORKER_CONNECTIONS: '1024',
      ...env,
    },
    work,
  );
  const e = await startEdge(config);
  edges.push(e);
  return e;
}

async function accessLog(e: EdgeProcess): Promise<any[]> {
  const text = await readFile(e.paths.accessLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

beforeAll(async () => {
  nginx = ensureNginx();
  work = await mkdtemp(join(tmpdir(), 'kinora-edge-'));
  // As root, nginx's workers run as `nobody` and must reach the run folders' cache and temp files.
  await chmod(work, 0o755);
  const [a, b, httpPort, httpsPort, limits, failover, down, dead, main] = await getFreePorts(9);
  ports = { a: a!, b: b!, http: httpPort!, https: httpsPort!, limits: limits!, failover: failover!, down: down!, dead: dead!, main: main! };

  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(work, 'edge.key'), '-out', join(work, 'edge.crt'),
  ], { stdio: 'pipe' });
  cert = await readFile(join(work, 'edge.crt'));
  await writeFile(join(work, 'regions.conf'), '# test ranges\n127.0.0.0/29 eu-test\n127.0.1.0/24 us-test;\n');

  tdb = await createTestDatabase('edge');
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl], poolMax: 10 });
  // One after the other: both run the same migrations at start.
  instances.push(await startInstance('gw-a', ports.a));
  instances.push(await startInstance('gw-b', ports.b));

  const upstreams = `127.0.0.1:${ports.a},127.0.0.1:${ports.b}`;
  [edgeA, , edgeC] = await Promise.all([
    edge('main', {
      EDGE_UPSTREAMS: upstreams,
      EDGE_HTTP_PORT: String(ports.http),
      EDGE_HTTPS_PORT: String(ports.https),
      EDGE_TLS_CERT: join(work, 'edge.crt'),
      EDGE_TLS_KEY: join(work, 'edge.key'),
      EDGE_REGIONS_FILE: join(work, 'regions.conf'),
      REGION: 'test-default',
      EDGE_RATE_LIMIT: '1000r/s',
      EDGE_RATE_BURST: '1000',
      EDGE_CONN_LIMIT: '1000',
      EDGE_CACHE_PLAYLIST_TTL: '1s',
    }),
    edge('limits', {
      EDGE_UPSTREAMS: `127.0.0.1:${ports.a}`,
      EDGE_HTTP_PORT: String(ports.limits),
      EDGE_RATE_LIMIT: '1r/m',
      EDGE_RATE_BURST: '2',
      EDGE_CONN_LIMIT: '1',
      EDGE_CONN_LIMIT_STATUS: '503',
    }),
    edge('failover', {
      EDGE_UPSTREAMS: `127.0.0.1:${ports.dead},127.0.0.1:${ports.a}`,
      EDGE_HTTP_PORT: String(ports.failover),
      EDGE_MAX_FAILS: '1',
      EDGE_FAIL_TIMEOUT: '30s',
    }),
    edge('down', { EDGE_UPSTREAMS: `127.0.0.1:${ports.dead}`, EDGE_HTTP_PORT: String(ports.down) }),
  ]);
}, 240_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(edges.map((e) => e.stop('fast')));
  for (const release of slow.values()) release();
  for (const i of instances) {
    i.io.disconnectSockets(true);
    i.io.engine.close();
    await i.app.close();
  }
  await database?.close();
  await tdb?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('load balancing', () => {
  it('spreads requests over both gateways (least_conn)', async () => {
    const served: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await request(edgeUrl(ports.http, '/healthz'));
      expect(res.status).toBe(200);
      served.push(String(res.headers['x-served-by']));
    }
    expect(served.filter((s) => s === 'gw-a').length).toBeGreaterThanOrEqual(5);
    expect(served.filter((s) => s === 'gw-b').length).toBeGreaterThanOrEqual(5);
  });

  it('routes around a dead gateway after one failure (passive health check)', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await request(edgeUrl(ports.failover, `/healthz?i=${i}`));
      expect(res.status).toBe(200);
      expect(res.headers['x-served-by']).toBe('gw-a');
    }
    const tried = (await accessLog(edgeC)).filter((l) => String(l.upstream).includes(`:${ports.dead}`));
    // Tried once (connection refused → next instance, same request), then left alone for fail_timeout.
    expect(tried).toHaveLength(1);
    expect(tried[0].upstream).toBe(`127.0.0.1:${ports.dead}, 127.0.0.1:${ports.a}`);
    expect(tried[0].status).toBe(200);
  });

  it('refuses to start a second nginx on a run folder in use', async () => {
    const config = loadEdgeConfig({ NGINX_BIN: nginx, EDGE_RUN_DIR: join(work, 'edge-down'), EDGE_HTTP_PORT: String(ports.main) }, work);
    await expect(startEdge(config)).rejects.toThrow(/^nginx \(pid \d+\) is already running from \S+edge-down: stop it/);
  });

  it('fails start-up in one line naming the setting when the port is taken', async () => {
    const config = loadEdgeConfig({ NGINX_BIN: nginx, EDGE_RUN_DIR: join(work, 'edge-busy'), EDGE_LISTEN_HOST: '127.0.0.1', EDGE_HTTP_PORT: String(ports.a) }, work);
    await expect(startEdge(config)).rejects.toThrow(/^127\.0\.0\.1:\d+ \(EDGE_HTTP_PORT\) is already in use$/);
  });

  it('answers 503 problem+json with Retry-After when no gateway answers', async () => {
    const res = await request(edgeUrl(ports.down, '/api/v1/users/me'));
    expectProblem(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
  });
});

describe('socket.io through the edge', () => {
  async function connect(opts: { sticky?: string; localAddress?: string }): Promise<{ sid: string; answers: string[] }> {
    const agent = new http.Agent(opts.localAddress ? { localAddress: opts.localAddress } : {});
    const socket = connectSocket(`http://127.0.0.1:${ports.http}`, {
      transports: ['polling', 'websocket'],
      upgrade: true,
      reconnection: false,
      forceNew: true,
      timeout: 5000,
      ...(opts.sticky ? { query: { sticky: opts.sticky } } : {}),
      // Polling requests go through the agent, the websocket through localAddress: both from the same address.
      ...({ agent, localAddress: opts.localAddress } as object),
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
    const engine = socket.io.engine;
    await waitUntil('websocket upgrade', async () => engine.transport.name === 'websocket', { timeoutMs: 5000, intervalMs: 10 });
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) answers.push(await socket.timeout(3000).emitWithAck('whoami'));
    const sid = engine.id;
    socket.disconnect();
    return { sid, answers };
  }

  function expectOneInstance(sid: string, answers: string[]): string {
    const owners = instances.filter((i) => i.sessions.has(sid)).map((i) => i.name);
    expect(owners).toHaveLength(1);
    const owner = owners[0]!;
    expect(new Set(answers)).toEqual(new Set([owner]));
    const withSid = received.filter((r) => r.url.startsWith('/socket.io/') && new URL(r.url, 'http://x').searchParams.get('sid') === sid);
    // Long-polling requests first, then the websocket upgrade: all of them on the instance that made the session.
    expect(withSid.filter((r) => !r.upgrade).length).toBeGreaterThanOrEqual(1);
    expect(withSid.filter((r) => r.upgrade)).toHaveLength(1);
    expect(new Set(withSid.map((r) => r.instance))).toEqual(new Set([owner]));
    return owner;
  }

  it('keeps each client on one instance from handshake through websocket upgrade, by client address', async () => {
    const owners: string[] = [];
    // 16 clients: with two instances, all on one by chance is a 1 in 32,768 event.
    for (let i = 0; i < 16; i++) {
      const { sid, answers } = await connect({ localAddress: `127.0.2.${10 + i}` });
      owners.push(expectOneInstance(sid, answers));
    }
    // Sticky is not "everything on one instance": different addresses land on both.
    expect(new Set(owners)).toEqual(new Set(['gw-a', 'gw-b']));
  });

  it('hashes the `sticky` query parameter instead, so clients behind one address spread', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => connect({ sticky: `tab-${randomUUID()}-${i}` })));
    const owners = results.map(({ sid, answers }) => expectOneInstance(sid, answers));
    expect(new Set(owners)).toEqual(new Set(['gw-a', 'gw-b']));
  });
});

describe('compression', () => {
  it('gzips JSON when the client accepts it, and only then', async () => {
    const id = `gzip-${randomUUID()}`;
    const zipped = await request(edgeUrl(ports.http, '/api/v1/openapi.json'), { headers: { 'accept-encoding': 'gzip', 'x-request-id': id } });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toMatch(/Accept-Encoding/i);
    const doc = JSON.parse(gunzipSync(zipped.body).toString());
    expect(doc.openapi).toBe('3.1.0');
    expect(zipped.body.length).toBeLessThan(gunzipSync(zipped.body).length / 2);
    // The gateway was not asked to compress: it happens once, at the edge.
    expect(byRequestId(id)[0]!.headers['accept-encoding']).toBeUndefined();

    const plain = await request(edgeUrl(ports.http, '/api/v1/openapi.json'));
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(plain.body.toString()).openapi).toBe('3.1.0');
  });
});

describe('edge limits', () => {
  it('answers 429 problem+json with Retry-After beyond rate + burst, per client address', async () => {
    const from = '127.0.3.1';
    for (let i = 0; i < 3; i++) expect((await request(edgeUrl(ports.limits, '/healthz'), { localAddress: from })).status).toBe(200);
    const id = `limited-${randomUUID()}`;
    const res = await request(edgeUrl(ports.limits, '/healthz'), { localAddress: from, headers: { 'x-request-id': id } });
    const p = expectProblem(res, 429, 'RATE_LIMITED');
    expect(p.type).toBe('docs/errors.md#rate-limited');
    expect(p.requestId).toBe(id);
    expect(p.instance).toBe('/healthz');
    expect(res.headers['retry-after']).toBe('60');
    expect(byRequestId(id)).toHaveLength(0); // never reached a gateway
    // Another client has its own budget.
    expect((await request(edgeUrl(ports.limits, '/healthz'), { localAddress: '127.0.3.2' })).status).toBe(200);
  });

  it('answers 503 problem+json when a client exceeds its concurrent requests', async () => {
    const from = '127.0.3.3';
    const id = randomUUID();
    const first = request(edgeUrl(ports.limits, `/edge-test/slow?id=${id}`), { localAddress: from });
    await waitUntil('slow request at the gateway', async () => slow.has(id), { timeoutMs: 5000, intervalMs: 10 });
    const second = await request(edgeUrl(ports.limits, '/healthz'), { localAddress: from });
    expectProblem(second, 503, 'SERVICE_UNAVAILABLE');
    expect(second.json().detail).toMatch(/Too many requests from this client/);
    expect(second.headers['retry-after']).toBe('1');
    slow.get(id)!();
    expect((await first).status).toBe(200);
  });

  it('refuses bodies over the limit with 413 problem+json before a gateway sees them', async () => {
    const id = `big-${randomUUID()}`;
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    const res = await request(edgeUrl(ports.http, '/edge-test/echo'), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'x-request-id': id },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(byRequestId(id)).toHaveLength(0);
  });

  it('answers requests nginx itself refuses as problem+json too (an undecodable URL, an over-long one)', async () => {
    expectProblem(await request(edgeUrl(ports.http, '/api/v1/comments/%00%ff/replies')), 400, 'BAD_REQUEST');
    expectProblem(await request(edgeUrl(ports.http, `/api/v1/videos/${'a'.repeat(20_000)}`)), 414, 'URI_TOO_LONG');
  });
});

describe('media cache (CDN tier)', () => {
  it('serves a segment from the cache on the second request, whoever asks', async () => {
    const seg = `/media/${randomUUID()}/720p/seg-1.m4s`;
    const first = await request(edgeUrl(ports.http, seg));
    expect(first.status).toBe(200);
    expect(first.headers['x-cache-status']).toBe('MISS');
    const second = await request(edgeUrl(ports.http, seg), { headers: { authorization: 'Bearer someone-else' } });
    expect(second.headers['x-cache-status']).toBe('HIT');
    expect(second.body.equals(first.body)).toBe(true);
    // Browsers keep the origin's own lifetime.
    expect(second.headers['cache-control']).toBe('public, max-age=604800, immutable');
    // A fresh request id, not the one cached with the first answer.
    expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    const range = await request(edgeUrl(ports.http, seg), { headers: { range: 'bytes=0-9' } });
    expect(range.status).toBe(206);
    expect(range.body).toHaveLength(10);
    expect(range.headers['x-cache-status']).toBe('HIT');
    expect(mediaHits.get(seg)).toBe(1);
  });

  it('caches playlists only briefly (1 s here) while segments stay', async () => {
    const dir = `/media/${randomUUID()}`;
    const playlist = `${dir}/720p/index.m3u8`;
    const seg = `${dir}/720p/seg-0.m4s`;
    expect((await request(edgeUrl(ports.http, playlist))).headers['x-cache-status']).toBe('MISS');
    expect((await request(edgeUrl(ports.http, seg))).headers['x-cache-status']).toBe('MISS');
    const hit = await request(edgeUrl(ports.http, playlist), { headers: { 'accept-encoding': 'gzip' } });
    expect(hit.headers['x-cache-status']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(hit.body).toString()).toMatch(/^#EXTM3U/);
    const cachedAt = Date.now();
    // nginx keeps times in whole seconds: a 1 s entry expires between 1 and 2 s after it was stored.
    const status = await waitUntil(
      'playlist expiry',
      async () => {
        const s = String((await request(edgeUrl(ports.http, playlist))).headers['x-cache-status']);
        return s === 'HIT' ? undefined : s;
      },
      { timeoutMs: 3000, intervalMs: 100 },
    );
    expect(status).toMatch(/^(EXPIRED|MISS)$/);
    expect(Date.now() - cachedAt).toBeGreaterThanOrEqual(900);
    expect((await request(edgeUrl(ports.http, seg))).headers['x-cache-status']).toBe('HIT');
    expect(mediaHits.get(playlist)).toBe(2);
    expect(mediaHits.get(seg)).toBe(1);
  });

  it('never stores a private answer', async () => {
    const seg = `/media/private/${randomUUID()}/seg-1.m4s`;
    for (let i = 0; i < 2; i++) {
      const res = await request(edgeUrl(ports.http, seg));
      expect(res.status).toBe(200);
      expect(res.headers['x-cache-status']).toBe('MISS');
    }
    expect(mediaHits.get(seg)).toBe(2);
  });
});

describe('forwarded headers and region routing', () => {
  const echo = async (localAddress: string, headers: Record<string, string> = {}) => {
    const res = await request(edgeUrl(ports.http, '/edge-test/echo'), { localAddress, headers });
    expect(res.status).toBe(200);
    return { res, body: res.json() as { instance: string; ip: string; headers: Record<string, string> } };
  };

  it('passes the region of a configured range and overwrites what the client claims', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { res, body } = await echo('127.0.0.2', {
      'x-kinora-region': 'evil',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-request-id': 'edge-test-req-1',
      traceparent,
    });
    expect(body.headers['x-kinora-region']).toBe('eu-test');
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.2');
    expect(body.ip).toBe('127.0.0.2'); // what the gateway's rate limits and logs use
    expect(body.headers['x-forwarded-proto']).toBe('http');
    expect(body.headers['x-request-id']).toBe('edge-test-req-1');
    expect(res.headers['x-request-id']).toBe('edge-test-req-1');
    expect(body.headers['traceparent']).toBe(traceparent);

    expect((await echo('127.0.1.5')).body.headers['x-kinora-region']).toBe('us-test');
    expect((await echo('127.0.0.100', { 'x-kinora-region': 'us-test' })).body.headers['x-kinora-region']).toBe('test-default');
  });

  it('generates a request id when the client sent none or an unusable one', async () => {
    for (const sent of [undefined, 'not a valid id!']) {
      const { res, body } = await echo('127.0.0.100', sent ? { 'x-request-id': sent } : {});
      expect(body.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(res.headers['x-request-id']).toBe(body.headers['x-request-id']);
    }
  });

  it('writes a JSON access log line with the request id, region and upstream', async () => {
    const id = `log-${randomUUID()}`;
    await echo('127.0.0.3', { 'x-request-id': id });
    const line = (await accessLog(edgeA)).find((l) => l.requestId === id);
    expect(line).toEqual(
      expect.objectContaining({ remoteAddr: '127.0.0.3', region: 'eu-test', method: 'GET', uri: '/edge-test/echo', status: 200, scheme: 'http' }),
    );
    expect([`127.0.0.1:${ports.a}`, `127.0.0.1:${ports.b}`]).toContain(line.upstream);
  });
});

describe('TLS termination', () => {
  it('serves HTTPS with the configured certificate and tells the gateway the scheme', async () => {
    const res = await request(`https://127.0.0.1:${ports.https}/edge-test/echo`, { ca: cert, localAddress: '127.0.1.9' });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.headers['x-forwarded-proto']).toBe('https');
    expect(body.headers['x-forwarded-port']).toBe(String(ports.https));
    expect(body.headers['x-kinora-region']).toBe('us-test');
    // A client that does not trust the certificate is refused: this is real TLS with that certificate.
    await expect(request(`https://127.0.0.1:${ports.https}/healthz`)).rejects.toThrow(/self[- ]signed/i);
  });
});

describe('configurations nginx accepts', () => {
  it.each([
    ['TLS only with redirect', { EDGE_HTTP_REDIRECT: 'true' }],
    ['HTTPS only', { EDGE_HTTP_PORT: 'off' }],
    ['limits off, 503 statuses', { EDGE_RATE_LIMIT: 'off', EDGE_MEDIA_RATE_LIMIT: 'off', EDGE_CONN_LIMIT: 'off', EDGE_RATE_LIMIT_STATUS: '503' }],
    ['IPv6, trusted proxies, worker user', { EDGE_LISTEN_HOST: '::1', EDGE_TRUSTED_PROXIES: '10.0.0.0/8,::1', EDGE_WORKER_USER: 'nobody:nogroup' }],
    ['separate realtime upstreams and hostnames', { EDGE_UPSTREAMS: 'localhost:8080', EDGE_REALTIME_UPSTREAMS: '127.0.0.1:8081,[::1]:8081' }],
  ])('%s', async (_name, env) => {
    const config = loadEdgeConfig(
      {
        NGINX_BIN: nginx,
        EDGE_RUN_DIR: join(work, 'variants'),
        EDGE_TLS_CERT: join(work, 'edge.crt'),
        EDGE_TLS_KEY: join(work, 'edge.key'),
        EDGE_REGIONS_FILE: join(root, 'apps/edge/config/regions.conf'),
        ...env,
      },
      work,
    );
    const file = join(work, 'variants', `${randomUUID()}.conf`);
    await writeRunFolder(config, file);
    await expect(checkNginxConf(config, file)).resolves.toBeUndefined();
  });

  it('reports what nginx rejects in one line', async () => {
    // Readable, so the loader accepts it, but not a certificate: only nginx can tell.
    const notACert = join(work, 'regions.conf');
    const config = loadEdgeConfig({ NGINX_BIN: nginx, EDGE_RUN_DIR: join(work, 'variants'), EDGE_TLS_CERT: notACert, EDGE_TLS_KEY: notACert }, work);
    const file = join(work, 'variants', 'bad.conf');
    await writeRunFolder(config, file);
    await expect(checkNginxConf(config, file)).rejects.toThrow(/^nginx rejected \S+: \[emerg\] cannot load certificate "[^"]+regions\.conf"[^\n]*$/);
  });
});

describe('entry point (npm run edge)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'apps/edge')], { stdio: 'pipe' });
  }, 120_000);

  function run(env: Record<string, string>) {
    const child = spawn(process.execPath, [join(root, 'apps/edge/dist/main.js')], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', NGINX_BIN: nginx, EDGE_LISTEN_HOST: '127.0.0.1', EDGE_WORKER_PROCESSES: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, out: () => out, err: () => err };
  }

  it('refuses bad configuration with one line naming the variable', async () => {
    const r = run({ EDGE_UPSTREAMS: 'gateway' });
    expect(await r.exited).toBe(1);
    expect(r.err()).toMatch(/^Invalid configuration: EDGE_UPSTREAMS must be a comma list of host:port[^\n]*\n$/);
  });

  it('renders, starts nginx in the foreground, proxies, reloads on SIGHUP and stops on SIGTERM', async () => {
    const regions = join(work, 'entry-regions.conf');
    await writeFile(regions, '127.0.0.0/29 before\n');
    const r = run({
      EDGE_UPSTREAMS: `127.0.0.1:${ports.b}`,
      EDGE_HTTP_PORT: String(ports.main),
      EDGE_RUN_DIR: join(work, 'edge-entry'),
      EDGE_REGIONS_FILE: regions,
    });
    await waitUntil('edge ready', async () => r.out().includes('edge is ready') || (r.child.exitCode !== null && Promise.reject(new Error(r.err()))), {
      timeoutMs: 15_000,
      intervalMs: 25,
    });
    const ready = JSON.parse(r.out().split('\n').find((l) => l.includes('edge is ready'))!);
    expect(ready).toEqual(expect.objectContaining({ listen: [`http://127.0.0.1:${ports.main}`], gateways: [`127.0.0.1:${ports.b}`] }));
    const res = await request(edgeUrl(ports.main, '/healthz'));
    expect(res.status).toBe(200);
    expect(res.headers['x-served-by']).toBe('gw-b');
    expect((await request(edgeUrl(ports.main, '/_edge/healthz'))).json()).toEqual({ status: 'ok' });
    const region = async () => (await request(edgeUrl(ports.main, '/edge-test/echo'), { localAddress: '127.0.0.2' })).json().headers['x-kinora-region'];
    expect(await region()).toBe('before');

    // A broken file is refused and the running configuration stays.
    await writeFile(regions, '127.0.0.0/29 after\n127.0.0.0/40 broken\n');
    r.child.kill('SIGHUP');
    await waitUntil('reload refused', async () => r.err().includes('reload refused'), { timeoutMs: 5000, intervalMs: 20 });
    expect(r.err()).toMatch(/EDGE_REGIONS_FILE/);
    expect(await region()).toBe('before');

    await writeFile(regions, '127.0.0.0/29 after\n');
    r.child.kill('SIGHUP');
    await waitUntil('new regions served', async () => (await region()) === 'after', { timeoutMs: 5000, intervalMs: 50 });
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    await expect(request(edgeUrl(ports.main, '/_edge/healthz'))).rejects.toThrow(/ECONNREFUSED/);
  });
});
