// The process's connection registry against a real Redis of its own (startRedis): the connections it opens are
// counted with CLIENT LIST, by the names the factory gives them (kinora-<profile>).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startRedis, waitUntil, type RedisHandle, redisConnectionNames } from '@kinora/testing';
import { RedisConnections } from '../../src/index.js';

let server: RedisHandle;
let admin: Redis;

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
}, 120_000);

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

/** Connection names on the server, `kinora-*` only (the admin client has none). */
const names = (): Promise<string[]> => redisConnectionNames(admin, 'kinora-');

async function expectNames(expected: string[]): Promise<void> {
  await waitUntil(`connections ${expected.join(',')}`, async () => JSON.stringify(await names()) === JSON.stringify([...expected].sort()), { timeoutMs: 5_000, intervalMs: 20 });
}

async function ready(client: Redis): Promise<void> {
  await waitUntil('client ready', async () => client.status === 'ready', { timeoutMs: 5_000, intervalMs: 10 });
}

describe('RedisConnections', () => {
  it('hands out one client per target and profile, and closes it when its last user does', async () => {
    const connections = new RedisConnections();
    const a = connections.acquire(server.url, 'fail-fast', { user: 'a' });
    const b = connections.acquire(server.url, 'fail-fast', { user: 'b' });
    await ready(a);
    expect(await a.set('k:shared', '1')).toBe('OK');
    expect(await b.get('k:shared')).toBe('1');
    await expectNames(['kinora-fail-fast']);
    expect(connections.stats()).toEqual([{ profile: 'fail-fast', target: server.url.replace(/\/$/, ''), users: ['a', 'b'] }]);

    await a.quit();
    // b still holds it: the connection stays, and b's commands still go through.
    await expectNames(['kinora-fail-fast']);
    expect(await b.get('k:shared')).toBe('1');
    expect(connections.size).toBe(1);

    // Releasing twice does not take someone else's reference.
    const c = connections.acquire(server.url, 'fail-fast', { user: 'c' });
    await a.quit();
    expect(connections.size).toBe(1);
    b.disconnect();
    expect(connections.size).toBe(1);
    expect(await c.get('k:shared')).toBe('1');
    await c.quit();
    expect(connections.size).toBe(0);
    await expectNames([]);
  });

  it('gives different profiles and different targets their own clients', async () => {
    const connections = new RedisConnections();
    const other = await startRedis();
    try {
      const fast = connections.acquire(server.url, 'fail-fast', { user: 'a' });
      const queued = connections.acquire(server.url, 'queued', { user: 'b' });
      const sub = connections.acquire(server.url, 'subscriber', { user: 'c' });
      const elsewhere = connections.acquire(other.url, 'fail-fast', { user: 'd' });
      await Promise.all([fast, queued, sub, elsewhere].map(ready));
      expect(connections.size).toBe(4);
      await expectNames(['kinora-fail-fast', 'kinora-queued', 'kinora-subscriber']);
      await elsewhere.set('k:where', 'other');
      expect(await fast.get('k:where')).toBeNull();
      await Promise.all([fast, queued, sub, elsewhere].map((c) => c.quit()));
      expect(connections.size).toBe(0);
      await expectNames([]);
    } finally {
      await other.stop();
    }
  });

  it('opens a dedicated connection for every blocking user, also for duplicate()', async () => {
    const connections = new RedisConnections();
    const r1 = connections.acquire(server.url, 'blocking', { user: 'reader' });
    const r2 = connections.acquire(server.url, 'blocking', { user: 'reader' });
    const writer = connections.acquire(server.url, 'queued', { user: 'writer' });
    const dup = writer.duplicate();
    await Promise.all([r1, r2, writer, dup].map(ready));
    await expectNames(['kinora-blocking-reader', 'kinora-blocking-reader', 'kinora-blocking-writer-dup', 'kinora-queued']);
    // One blocked reader does not hold up another, nor the shared client.
    const stream = `k:stream:${Date.now()}`;
    const blocked = r1.xread('BLOCK', 2_000, 'STREAMS', stream, '$');
    const started = Date.now();
    expect(await writer.ping()).toBe('PONG');
    expect(await r2.ping()).toBe('PONG');
    expect(Date.now() - started).toBeLessThan(1_000);
    await writer.xadd(stream, '*', 'f', 'v');
    const got = (await blocked) as Array<[string, Array<[string, string[]]>]>;
    expect(got[0]![1][0]![1]).toEqual(['f', 'v']);
    for (const c of [r1, r2, writer, dup]) c.disconnect();
    expect(connections.size).toBe(0);
    await expectNames([]);
  });

  it('shares a subscriber: each user hears its own channels, and its channels and listeners leave with it', async () => {
    const connections = new RedisConnections();
    const one = connections.acquire(server.url, 'subscriber', { user: 'one' });
    const two = connections.acquire(server.url, 'subscriber', { user: 'two' });
    const pub = connections.acquire(server.url, 'fail-fast', { user: 'pub' });
    const heardOne: string[] = [];
    const heardTwo: string[] = [];
    one.on('message', (ch: string, m: string) => ch === 'k:ch1' && heardOne.push(m));
    two.on('message', (ch: string, m: string) => (ch === 'k:ch2' || ch === 'k:both') && heardTwo.push(m));
    await one.subscribe('k:ch1', 'k:both');
    await two.subscribe('k:ch2', 'k:both');
    await ready(pub);
    await expectNames(['kinora-fail-fast', 'kinora-subscriber']);
    await pub.publish('k:ch1', 'a');
    await pub.publish('k:ch2', 'b');
    await waitUntil('both heard', async () => heardOne.length === 1 && heardTwo.length === 1, { timeoutMs: 2_000, intervalMs: 10 });
    expect(heardOne).toEqual(['a']);
    expect(heardTwo).toEqual(['b']);

    await two.quit();
    // Its own channel is unsubscribed; the one `one` also holds stays; its listener is gone.
    expect(await pub.publish('k:ch2', 'c')).toBe(0);
    expect(await pub.publish('k:both', 'd')).toBe(1);
    expect(await pub.publish('k:ch1', 'e')).toBe(1);
    await waitUntil('one heard e', async () => heardOne.includes('e'), { timeoutMs: 2_000, intervalMs: 10 });
    expect(heardTwo).toEqual(['b']);
    await one.quit();
    await pub.quit();
    await expectNames([]);
  });

  it('fail-fast: commands fail at once while Redis is away, each user with its own timeout, and it comes back', async () => {
    const own = await startRedis();
    const connections = new RedisConnections();
    const warnings: string[] = [];
    try {
      const quick = connections.acquire(own.url, 'fail-fast', { user: 'quick', commandTimeoutMs: 50, logger: { warn: (_o, msg) => warnings.push(msg) } });
      const patient = connections.acquire(own.url, 'fail-fast', { user: 'patient', commandTimeoutMs: 600 });
      await ready(quick);
      // The client itself waits as long as its most patient user; the quick one's commands are cut at 50 ms.
      expect(quick.options.commandTimeout).toBe(600);
      const slow = "local t = redis.call('time'); local s = t[1] * 1000000 + t[2]; repeat t = redis.call('time') until t[1] * 1000000 + t[2] - s > 300000; return 1";
      let started = Date.now();
      await expect(quick.eval(slow, 0)).rejects.toThrow('Command timed out');
      expect(Date.now() - started).toBeLessThan(250);
      await waitUntil('the script ran out', async () => (await patient.ping().catch(() => null)) === 'PONG', { timeoutMs: 3_000, intervalMs: 20 });
      started = Date.now();
      expect(await patient.eval(slow, 0)).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);

      await own.stop();
      started = Date.now();
      await expect(quick.get('k')).rejects.toThrow();
      await expect(patient.get('k')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(200);
      await waitUntil('the outage logged', async () => warnings.some((m) => m.includes('fail-fast Redis connection error')), { timeoutMs: 3_000, intervalMs: 20 });

      await own.start();
      await waitUntil('back', async () => (await quick.set('k', 'v').catch(() => null)) === 'OK', { timeoutMs: 10_000, intervalMs: 50 });
      expect(await patient.get('k')).toBe('v');

      // The patient user leaves: the client's own timeout drops to what the remaining user asked for.
      await patient.quit();
      expect(quick.options.commandTimeout).toBe(50);
      await quick.quit();
      expect(connections.size).toBe(0);
    } finally {
      await own.stop();
    }
  });

  it('the last release while Redis is away ends the client (no more reconnects); a released handle adds no listeners', async () => {
    const own = await startRedis();
    const connections = new RedisConnections();
    try {
      const a = connections.acquire(own.url, 'subscriber', { user: 'a' });
      const b = connections.acquire(own.url, 'subscriber', { user: 'b' });
      await ready(a);
      await own.stop();
      await waitUntil('the client noticed', async () => a.status !== 'ready', { timeoutMs: 3_000, intervalMs: 10 });
      const before = a.listenerCount('message');
      await a.quit();
      // Listeners through a released handle are not added to the shared client.
      a.on('message', () => undefined);
      expect(b.listenerCount('message')).toBe(before);
      expect(b.status).not.toBe('end');
      b.disconnect();
      expect(connections.size).toBe(0);
      // A new acquisition after the last release gets a new client; the released one never comes back.
      await own.start();
      const c = connections.acquire(own.url, 'subscriber', { user: 'c' });
      await ready(c);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(b.status).not.toBe('ready');
      const probe = new Redis(own.url, { maxRetriesPerRequest: 1 });
      try {
        const list = (await probe.client('LIST')) as string;
        expect(list.split('\n').filter((l) => l.includes('name=kinora-subscriber'))).toHaveLength(1);
      } finally {
        probe.disconnect();
      }
      await c.quit();
    } finally {
      await own.stop();
    }
  });
});
