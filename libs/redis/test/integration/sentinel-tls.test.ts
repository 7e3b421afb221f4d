// Redis through Sentinel over TLS (REDIS_SENTINEL_TLS, REDIS_TLS_CA), against real processes: a primary, a replica
// and one Sentinel that clients reach on TLS ports only (startRedisSentinel({ tls: true }): certificates of a CA made
// for the run). The client is made from the configuration as a service parses it, speaks TLS to the Sentinel and to
// the primary it names, and follows a failover; without the CA, or without TLS, it does not get through.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { TLSSocket } from 'node:tls';
import type { Redis } from 'ioredis';
import { loadConfig } from '@kinora/config';
import { waitUntil, type RedisSentinelHandle } from '@kinora/testing';
import { createRedisClient, describeRedisTarget } from '../../src/index.js';
import { portOf, sentinelSuite, warnings } from './sentinel.support.js';

const suite = sentinelSuite({ masterName: 'kinora-tls', tls: true });
const clients = suite.clients;
let rs: RedisSentinelHandle;
beforeAll(() => {
  rs = suite.rs();
});

describe('a client configured with REDIS_SENTINEL_TLS and REDIS_TLS_CA', () => {
  let client: Redis;

  beforeAll(() => {
    const config = loadConfig({ REDIS_SENTINELS: rs.sentinelsEnv, REDIS_SENTINEL_MASTER: rs.masterName, REDIS_SENTINEL_TLS: 'true', REDIS_TLS_CA: rs.tls!.ca });
    expect(config.redis).toMatchObject({ mode: 'sentinel', tls: true, tlsCa: expect.stringContaining('-----BEGIN CERTIFICATE-----') });
    expect(describeRedisTarget(config.redis!)).toBe(`sentinel master "kinora-tls" via ${rs.sentinelsEnv} (TLS)`);
    client = createRedisClient(config.redis!, { name: 'sentinel-tls-test', maxRetriesPerRequest: 2, logger: warnings() });
    clients.push(client);
  });

  it('reads and writes on the primary the Sentinel names, over TLS', async () => {
    expect(await client.set('kinora:tls:a', '1')).toBe('OK');
    expect(await client.get('kinora:tls:a')).toBe('1');
    expect(client.stream).toBeInstanceOf(TLSSocket);
    expect((client.stream as TLSSocket).authorized).toBe(true);
    expect(client.stream.remotePort).toBe(rs.tls!.nodePorts[0]);
    expect(await rs.primaryPort()).toBe(rs.tls!.nodePorts[0]);
    expect(await portOf(client)).toBe(rs.nodes[0].port);
  });

  it('follows a failover to the promoted replica, over TLS again', async () => {
    const after = await rs.failover();
    expect(after).toBe(rs.tls!.nodePorts[1]);
    await waitUntil('the client on the new primary', async () => (await portOf(client).catch(() => 0)) === rs.nodes[1].port, { timeoutMs: 30_000, intervalMs: 100 });
    await waitUntil('SET succeeds on the new primary', async () => (await client.set('kinora:tls:b', '2').catch(() => null)) === 'OK', { timeoutMs: 20_000, intervalMs: 100 });
    expect(client.stream).toBeInstanceOf(TLSSocket);
    expect(client.stream.remotePort).toBe(rs.tls!.nodePorts[1]);
    expect(await client.get('kinora:tls:a')).toBe('1');
  }, 60_000);
});

it('does not get through without the CA: the servers are not trusted, and the failure is logged', async () => {
  const log = warnings();
  const config = loadConfig({ REDIS_SENTINELS: rs.sentinelsEnv, REDIS_SENTINEL_MASTER: rs.masterName, REDIS_SENTINEL_TLS: 'true' });
  const client = createRedisClient(config.redis!, { name: 'tls-no-ca', logger: log, commandTimeout: 1_000, sentinelRetryStrategy: () => 200 });
  clients.push(client);
  await expect(client.get('x')).rejects.toThrow(/timed out/i);
  // ioredis only says "Connection is closed."; the client's own handshake says why.
  await waitUntil('the TLS failure explained', async () => log.lines.some((l) => l.msg.includes('TLS with Sentinel')), { timeoutMs: 5_000 });
  const line = log.lines.find((l) => l.msg.includes('TLS with Sentinel'))!;
  expect(line.msg).toMatch(/^tls-no-ca Redis: TLS with Sentinel 127\.0\.0\.1:\d+ failed: .*(self[- ]signed certificate|unable to (get|verify)).* \(check REDIS_TLS_CA, and that the Sentinel listens for TLS on that port\)$/i);
});

it('does not get through without TLS: plain TCP to a TLS port gets no answer it can use', async () => {
  const log = warnings();
  const config = loadConfig({ REDIS_SENTINELS: rs.sentinelsEnv, REDIS_SENTINEL_MASTER: rs.masterName });
  const client = createRedisClient(config.redis!, { name: 'tls-plain', logger: log, commandTimeout: 1_000, sentinelRetryStrategy: () => 200 });
  clients.push(client);
  await expect(client.get('x')).rejects.toThrow(/timed out/i);
  await waitUntil('an error logged', async () => log.lines.length > 0, { timeoutMs: 5_000 });
});
