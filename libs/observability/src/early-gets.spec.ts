import { afterEach, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { weakEtag, type HeldBody } from '@kinora/http';
import { createBaseApp } from './base-app.js';
import { createLogger } from './logger.js';

// A route and its early twin over the same held bodies, on a base app listening on loopback (early answers happen
// in the HTTP server, so `inject` never sees them).
const held = new Map<string, HeldBody>();
function hold(id: string, value: unknown): HeldBody {
  const body = JSON.stringify(value);
  const h = { body, etag: weakEtag(body), bytes: Buffer.byteLength(body) };
  held.set(id, h);
  return h;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  held.clear();
});

async function start(opts: { level?: string; lines?: Record<string, unknown>[]; preClose?: () => void } = {}) {
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) opts.lines?.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  app = await createBaseApp({ logger: createLogger({ level: opts.level ?? 'warn', name: 't', destination }), bodyLimitBytes: 1024 });
  let routed = 0;
  app.addHook('onRequest', (_req, _reply, done) => {
    routed++;
    done();
  });
  app.get('/things/:id', { config: { httpCache: { class: 'public-unless-user', sMaxAgeSec: 30 } } }, (request, reply) => {
    const h = held.get((request.params as { id: string }).id);
    if (!h) return reply.code(404).send({ missing: true });
    return reply.header('etag', h.etag).type('application/json; charset=utf-8').send(h.body);
  });
  app.earlyGets!.add({
    prefix: '/things/',
    route: '/things/:id',
    cacheControl: 'public, max-age=0, s-maxage=30',
    vary: 'Authorization',
    read: (id) => held.get(id),
  });
  app.earlyGets!.passOn('Authorization');
  if (opts.preClose) {
    const preClose = opts.preClose;
    app.addHook('preClose', (done) => {
      preClose();
      done();
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { base, routed: () => routed };
}

const comparable = (h: Headers) => Object.fromEntries([...h].filter(([k]) => k !== 'date' && k !== 'x-request-id'));

describe('early GETs of the base app', () => {
  it('answer a held resource before routing with what the route answers, and count it in the route histogram', async () => {
    const { base, routed } = await start();
    const h = hold('a1', { id: 'a1', title: 'Première' });
    const early = await fetch(`${base}/things/a1`);
    expect(routed()).toBe(0);
    // The same request through the route: a header the early path leaves alone (passOn) sends it there.
    app!.earlyGets!.passOn('x-test-route');
    const routedRes = await fetch(`${base}/things/a1`, { headers: { 'x-test-route': '1' } });
    expect(routed()).toBe(1);
    expect(early.status).toBe(200);
    expect(await early.text()).toBe(h.body);
    expect(await routedRes.text()).toBe(h.body);
    expect(comparable(early.headers)).toEqual(comparable(routedRes.headers));
    expect(early.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(early.headers.get('content-length')).toBe(String(h.bytes));

    const notModified = await fetch(`${base}/things/a1`, { headers: { 'if-none-match': `"x", ${h.etag}` } });
    const routed304 = await fetch(`${base}/things/a1`, { headers: { 'if-none-match': h.etag, 'x-test-route': '1' } });
    expect(routed()).toBe(2);
    expect(notModified.status).toBe(304);
    expect(routed304.status).toBe(304);
    expect(comparable(notModified.headers)).toEqual(comparable(routed304.headers));
    expect((await fetch(`${base}/things/a1`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    expect(routed()).toBe(2);

    // A sane client request id is echoed, as by the route.
    expect((await fetch(`${base}/things/a1`, { headers: { 'x-request-id': 'req-42' } })).headers.get('x-request-id')).toBe('req-42');
    const metrics = (await app!.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status_code="200"\} 4$/m);
    expect(metrics).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status_code="304"\} 2$/m);
  });

  it('leave everything else to the route: other methods, queries, other paths, declared headers, resources not held', async () => {
    const { base, routed } = await start();
    hold('a1', { id: 'a1' });
    const cases: [string, RequestInit, number][] = [
      ['/things/a1', { method: 'HEAD' }, 200],
      ['/things/a1?x=1', {}, 200],
      ['/things/a1/', {}, 200],
      ['/things/a%31', {}, 200],
      ['/things/', {}, 404],
      ['/things/missing', {}, 404],
      ['/things/a1', { headers: { authorization: 'Bearer x' } }, 200],
      ['/things/a1', { method: 'POST' }, 404],
    ];
    for (const [path, init, status] of cases) {
      const before = routed();
      const res = await fetch(`${base}${path}`, init);
      expect([path, init.method ?? 'GET', res.status]).toEqual([path, init.method ?? 'GET', status]);
      expect(routed()).toBe(before + 1);
    }
  });

  it('leave requests to Fastify while per-request logs are on, so that they are written', async () => {
    const lines: Record<string, unknown>[] = [];
    const { base, routed } = await start({ level: 'info', lines });
    hold('a1', { id: 'a1' });
    expect((await fetch(`${base}/things/a1`, { headers: { 'x-request-id': 'req-logged' } })).status).toBe(200);
    expect(routed()).toBe(1);
    await app!.close();
    expect(lines.filter((l) => l['reqId'] === 'req-logged').map((l) => l['msg'])).toEqual(['incoming request', 'request completed']);
  });

  it('keep the server settings Fastify gives its own server, and stop answering once the app closes', async () => {
    const written: unknown[] = [];
    const res = { writeHead: (status: number) => written.push(status), end: () => written.push('end') };
    const req = { method: 'GET', url: '/things/a1', headers: {} };
    let whileClosing: boolean | undefined;
    await start({ preClose: () => (whileClosing = app!.earlyGets!.answer(req as never, res as never)) });
    expect(app!.server.keepAliveTimeout).toBe(72_000);
    hold('a1', { id: 'a1' });
    expect(app!.earlyGets!.answer(req as never, res as never)).toBe(true);
    expect(written).toEqual([200, 'end']);
    // From the start of the close on, Fastify answers (503 to whatever still arrives on an open connection).
    await app!.close();
    app = undefined;
    expect(whileClosing).toBe(false);
    expect(written).toEqual([200, 'end']);
  });

  it('cannot be registered in an app that refused them (the gateway), nor refused once registered', async () => {
    await start();
    const early = app!.earlyGets!;
    expect(() => early.refuse('rate limits')).toThrow(/early GETs are registered \(\/things\/:id\)/);
    const other = await createBaseApp({ logger: createLogger({ level: 'silent' }), bodyLimitBytes: 1024 });
    other.earlyGets!.refuse('the gateway runs on every request');
    expect(() => other.earlyGets!.add({ prefix: '/x/', route: '/x/:id', cacheControl: 'public', read: () => undefined })).toThrow(/the gateway runs on every request/);
    expect(() => app!.earlyGets!.add({ prefix: 'x/', route: '/x/:id', cacheControl: 'public', read: () => undefined })).toThrow(/starts and ends/);
    await other.close();
  });
});
