import { describe, expect, it } from '@jest/globals';
import Fastify from 'fastify';
import { cacheControlFor, etagMatches, httpCachePlugin, RenderedBodies, weakEtag } from './http-cache.plugin.js';

describe('etagMatches (weak comparison)', () => {
  const tag = weakEtag('{"a":1}');
  it.each([
    [tag, true],
    [tag.slice(2), true],
    [`"x", ${tag}`, true],
    ['*', true],
    ['"x"', false],
    ['', false],
    [undefined, false],
  ])('If-None-Match %p → %p', (header, expected) => {
    expect(etagMatches(header, tag)).toBe(expected);
  });

  it('differs for different bodies and is stable for the same body', () => {
    expect(weakEtag('a')).toBe(weakEtag(Buffer.from('a')));
    expect(weakEtag('a')).not.toBe(weakEtag('b'));
  });
});

describe('cacheControlFor', () => {
  it('public answers carry both lifetimes; user-dependent ones turn private with Authorization', () => {
    expect(cacheControlFor({ class: 'public', maxAgeSec: 5, sMaxAgeSec: 60 }, true)).toBe('public, max-age=5, s-maxage=60');
    expect(cacheControlFor({ class: 'public-unless-user' }, false)).toBe('public, max-age=0, s-maxage=60');
    expect(cacheControlFor({ class: 'public-unless-user' }, true)).toBe('private, max-age=0');
    expect(cacheControlFor({ class: 'private' }, false)).toBe('private, no-store');
  });
});

describe('httpCachePlugin', () => {
  async function app() {
    const a = Fastify();
    await a.register(httpCachePlugin);
    a.get('/private', { config: { httpCache: { class: 'private' } } }, async () => ({ me: 1 }));
    a.get('/own', { config: { httpCache: { class: 'public' } } }, async (_req, reply) => reply.header('cache-control', 'no-cache').send({ x: 1 }));
    a.get('/plain', async () => ({ x: 1 }));
    a.get('/video', { config: { httpCache: { class: 'public-unless-user' } } }, async (request) => {
      // As the auth plugin does behind the gateway: an identity without an Authorization header.
      if (request.headers['x-test-identity']) (request as unknown as { principal: object }).principal = { userId: 'u' };
      return { x: 1 };
    });
    a.get('/fail', { config: { httpCache: { class: 'public' } } }, async (_req, reply) => reply.code(404).send({ nope: true }));
    return a;
  }

  it('private answers get no-store and no ETag; signed-in answers (token or gateway identity) are private; own Cache-Control is kept; others are untouched', async () => {
    const a = await app();
    const priv = await a.inject('/private');
    expect(priv.headers['cache-control']).toBe('private, no-store');
    expect(priv.headers['etag']).toBeUndefined();
    expect((await a.inject('/own')).headers['cache-control']).toBe('no-cache');
    const plain = await a.inject('/plain');
    expect(plain.headers['cache-control']).toBeUndefined();
    expect(plain.headers['etag']).toBeUndefined();
    expect((await a.inject('/video')).headers['cache-control']).toBe('public, max-age=0, s-maxage=60');
    expect((await a.inject({ url: '/video', headers: { 'x-test-identity': '1' } })).headers['cache-control']).toBe('private, max-age=0');
    expect((await a.inject({ url: '/video', headers: { authorization: 'Bearer x' } })).headers['cache-control']).toBe('private, max-age=0');
    const fail = await a.inject('/fail');
    expect(fail.statusCode).toBe(404);
    expect(fail.headers['cache-control']).toBe('no-store');
    await a.close();
  });

  it('RenderedBodies serializes a shared object once, with the route schema, and its ETag answers 304s', async () => {
    const a = Fastify();
    await a.register(httpCachePlugin);
    const rendered = new RenderedBodies();
    const shared = { id: 'v1', title: 'Hello', secret: 'not in the schema' };
    let version = shared;
    let serialized = 0;
    a.get(
      '/thing',
      {
        config: { httpCache: { class: 'public' } },
        schema: { response: { 200: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' } } } } },
        preSerialization: async (_req, _reply, payload) => {
          serialized++;
          return payload;
        },
      },
      (_req, reply) => {
        rendered.send(reply, version);
      },
    );
    const first = await a.inject('/thing');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.json()).toEqual({ id: 'v1', title: 'Hello' }); // the response schema applied
    expect(first.headers['etag']).toBe(weakEtag(first.body));
    const again = await a.inject('/thing');
    expect(again.body).toBe(first.body);
    expect(again.headers['etag']).toBe(first.headers['etag']);
    expect(serialized).toBe(0); // a string body skips the hooks before serialization: the held body was sent
    const notModified = await a.inject({ url: '/thing', headers: { 'if-none-match': String(first.headers['etag']) } });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    // A new object (a new version) gets its own body and ETag.
    version = { ...shared, title: 'Changed' };
    const changed = await a.inject({ url: '/thing', headers: { 'if-none-match': String(first.headers['etag']) } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toEqual({ id: 'v1', title: 'Changed' });
    expect(changed.headers['etag']).not.toBe(first.headers['etag']);
    await a.close();
  });
});
