// Redis through Sentinel, against real processes: a primary, a replica and one Sentinel (startRedisSentinel). The
// client is made from the configuration as a service parses it (REDIS_SENTINELS, REDIS_SENTINEL_MASTER), finds the
// primary through the Sentinel, and after a failover (asked for, or the primary stopped) writes to the new one.
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { loadConfig } from '@kinora/config';
import { waitUntil, type RedisSentinelHandle } from '@kinora/testing';
import { createRedisClient, describeRedisTarget } from '../../src/index.js';
import { portOf, sentinelSuite, warnings } from './sentinel.support.js';

const suite = sentinelSuite({ masterName: 'kinora-test' });
const clients = suite.clients;
let rs: RedisSentinelHandle;
beforeAll(() => {
  rs = suite.rs();
});

/** Writes until one succeeds (a failover in progress answers with errors for a moment). */
async function writeSoon(client: Redis, key: string, value: string): Promise<void> {
  await waitUntil(`SET ${key} succeeds`, async () => (await client.set(key, value).catch(() => null)) === 'OK', { timeoutMs: 20_000, intervalMs: 100 });
}

describe('a client configured with REDIS_SENTINELS', () => {
  let client: Redis;

  beforeAll(() => {
    const config = loadConfig({ REDIS_SENTINELS: rs.sentinelsEnv, REDIS_SENTINEL_MASTER: rs.masterName });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      tls: false,
      sentinels: rs.sentinels,
      masterName: 'kinora-test',
      username: undefined,
      password: undefined,
      sentinelUsername: undefined,
      sentinelPassword: undefined,
    });
    expect(describeRedisTarget(config.redis!)).toBe(`sentinel master "kinora-test" via ${rs.sentinelsEnv}`);
    client = createRedisClient(config.redis!, { name: 'sentinel-test', maxRetriesPerRequest: 2, logger: warnings() });
    clients.push(client);
  });

  it('reads and writes on the primary the Sentinel names', async () => {
    expect(await client.set('kinora:sentinel:a', '1')).toBe('OK');
    expect(await client.get('kinora:sentinel:a')).toBe('1');
    expect(await portOf(client)).toBe(await rs.primaryPort());
    expect(await portOf(client)).toBe(rs.nodes[0].port);
  });

  it('follows SENTINEL FAILOVER to the promoted replica, and writes succeed there', async () => {
    const before = await rs.primaryPort();
    const after = await rs.failover();
    expect(after).not.toBe(before);
    expect(after).toBe(rs.nodes[1].port);
    // The client hears the Sentinel's +switch-master and reconnects (the old primary takes writes until the
    // Sentinel turns it into a replica: a moment of split brain that Redis replication accepts).
    await waitUntil('the client on the new primary', async () => (await portOf(client).catch(() => 0)) === after, { timeoutMs: 20_000, intervalMs: 100 });
    await writeSoon(client, 'kinora:sentinel:b', '2');
    expect(await portOf(client)).toBe(after);
    // The data written before the failover was replicated.
    expect(await client.get('kinora:sentinel:a')).toBe('1');
  }, 60_000);

  it('follows an automatic failover when the primary is stopped', async () => {
    const before = await rs.primaryPort();
    const node = rs.nodes.find((n) => n.port === before)!;
    // The old primary must be a replica in sync before it can be promoted back.
    const other = rs.nodes.find((n) => n.port !== before)!;
    await waitUntil('the other node replicates', async () => {
      const c = createRedisClient(`redis://127.0.0.1:${other.port}`, { name: 'probe', lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        return /master_link_status:up/.test(await c.info('replication'));
      } finally {
        c.disconnect();
      }
    }, { timeoutMs: 30_000, intervalMs: 200 });
    await node.stop();
    try {
      const after = await rs.waitForNewPrimary(before);
      expect(after).toBe(other.port);
      // Generous: on a loaded machine the client's reconnects (asking the Sentinels each time) back off to 2 s apart.
      await waitUntil('the client on the new primary', async () => (await portOf(client).catch(() => 0)) === after, { timeoutMs: 45_000, intervalMs: 100 });
      await writeSoon(client, 'kinora:sentinel:c', '3');
      expect(await portOf(client)).toBe(after);
      expect(await client.get('kinora:sentinel:b')).toBe('2');
    } finally {
      await node.start();
    }
  }, 120_000);
});

it('a wrong master name is reported as such, and commands fail instead of hanging', async () => {
  const log = warnings();
  const config = loadConfig({ REDIS_SENTINELS: rs.sentinelsEnv, REDIS_SENTINEL_MASTER: 'no-such-master' });
  const client = createRedisClient(config.redis!, { name: 'wrong-master', logger: log, commandTimeout: 1_000, sentinelRetryStrategy: () => 200 });
  clients.push(client);
  await expect(client.get('x')).rejects.toThrow(/timed out/i);
  expect(log.lines).toContainEqual({
    obj: { sentinel: `127.0.0.1:${rs.sentinels[0]!.port}`, masterName: 'no-such-master', redis: 'kinora-wrong-master' },
    msg: `wrong-master Redis: Sentinel 127.0.0.1:${rs.sentinels[0]!.port} does not know a master named "no-such-master" (check REDIS_SENTINEL_MASTER)`,
  });
});

it('unreachable Sentinels are logged as connection errors', async () => {
  const log = warnings();
  const client = createRedisClient(
    { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 1 }], masterName: 'kinora-test' },
    { name: 'no-sentinel', logger: log, commandTimeout: 500, sentinelRetryStrategy: () => 100 },
  );
  clients.push(client);
  await expect(client.get('x')).rejects.toThrow(/timed out/i);
  await waitUntil('an error logged', async () => log.lines.length > 0, { timeoutMs: 5_000 });
  expect(log.lines.map((l) => l.msg)).toContain('no-sentinel Redis connection error');
});
