// Shared by the Sentinel suites (plain and TLS): a harness per file, its clients closed after, a logger that keeps
// what the client warns about, and the port a client is on.
import { afterAll, beforeAll } from '@jest/globals';
import type { Redis } from 'ioredis';
import { startRedisSentinel, type RedisSentinelHandle, type StartRedisSentinelOptions } from '@kinora/testing';

/** Starts a primary, a replica and a Sentinel for the file; `clients` pushed here are disconnected before it stops. */
export function sentinelSuite(options: StartRedisSentinelOptions): { rs: () => RedisSentinelHandle; clients: Redis[] } {
  let rs: RedisSentinelHandle | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    rs = await startRedisSentinel(options);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await rs?.stop();
  });
  return { rs: () => rs!, clients };
}

export function warnings(): { lines: Array<{ obj: object; msg: string }>; warn(obj: object, msg: string): void } {
  const lines: Array<{ obj: object; msg: string }> = [];
  return { lines, warn: (obj, msg) => lines.push({ obj, msg }) };
}

/** The (plain) port of the server a client is connected to: INFO's tcp_port. */
export async function portOf(client: Redis): Promise<number> {
  return Number(/tcp_port:(\d+)/.exec(await client.info('server'))![1]);
}
