import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createBaseApp } from './base-app.js';
import { createLogger } from './logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level, name: 't', destination }), lines };
}

describe('request loggers (built on first use)', () => {
  it('write nothing at disabled levels and write enabled levels with the request id and trace id', async () => {
    const { logger, lines } = capture('warn');
    const app = await createBaseApp({ logger, bodyLimitBytes: 1024 });
    app.get('/quiet', async (request) => {
      request.log.info('not written');
      request.log.debug({ a: 1 }, 'not written either');
      return { ok: true };
    });
    app.get('/loud', async (request) => {
      request.log.warn({ detail: 42 }, 'written');
      request.log.child({ part: 'child' }).error('from a child');
      return { level: request.log.level };
    });
    const quiet = await app.inject({ url: '/quiet', headers: { 'x-request-id': 'req-quiet' } });
    expect(quiet.statusCode).toBe(200);
    const loud = await app.inject({
      url: '/loud',
      headers: { 'x-request-id': 'req-loud', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(loud.json()).toEqual({ level: 'warn' });
    await app.close();
    expect(lines.filter((l) => l['reqId'] === 'req-quiet')).toEqual([]);
    const mine = lines.filter((l) => l['reqId'] === 'req-loud');
    expect(mine).toEqual([
      expect.objectContaining({ level: 40, msg: 'written', detail: 42, traceId: '0af7651916cd43dd8448eb211c80319c', service: 't' }),
      expect.objectContaining({ level: 50, msg: 'from a child', part: 'child', traceId: '0af7651916cd43dd8448eb211c80319c' }),
    ]);
  });

  it('follow a route log level and Fastify request logging at info', async () => {
    const { logger, lines } = capture('info');
    const app = await createBaseApp({ logger, bodyLimitBytes: 1024 });
    app.get('/silenced', { logLevel: 'error' }, async (request) => {
      request.log.warn('below the route level');
      return { ok: true };
    });
    app.get('/normal', async () => ({ ok: true }));
    await app.inject({ url: '/silenced', headers: { 'x-request-id': 'req-silenced' } });
    await app.inject({ url: '/normal', headers: { 'x-request-id': 'req-normal' } });
    await app.close();
    expect(lines.filter((l) => l['reqId'] === 'req-silenced')).toEqual([]);
    expect(lines.filter((l) => l['reqId'] === 'req-normal').map((l) => l['msg'])).toEqual(['incoming request', 'request completed']);
  });
});
