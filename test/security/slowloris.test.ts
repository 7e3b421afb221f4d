import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEdgeConfig, startEdge, type EdgeProcess } from '@kinora/edge';
import { getFreePort } from '@kinora/testing';
import { ensureNginx } from '../../apps/edge/test/ensure-nginx.js';
import { startPlatform, type Platform } from './support.js';

// Slowloris against the nginx edge in front of the platform: raw sockets on loopback that send their headers (or
// body) a trickle at a time. The attackers connect from 127.0.0.2/127.0.0.3, the legitimate client from 127.0.0.1
// (the edge's limits are per client address).
const HEADER_TIMEOUT_SEC = 4;
const BODY_TIMEOUT_SEC = 4;
const CONN_LIMIT = 50;

let platform: Platform;
let edge: EdgeProcess;
let work: string;
let port: number;
let base: string;
const sockets: Socket[] = [];
const timers: NodeJS.Timeout[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kinora-sec-slowloris-'));
  chmodSync(work, 0o755); // nginx workers (nobody) use the run folder
  platform = await startPlatform('kinora_sec_slowloris');
  port = await getFreePort();
  base = `http://127.0.0.1:${port}`;
  const config = loadEdgeConfig(
    {
      NGINX_BIN: ensureNginx(),
      EDGE_RUN_DIR: join(work, 'edge'),
      EDGE_LISTEN_HOST: '127.0.0.1',
      EDGE_HTTP_PORT: String(port),
      EDGE_UPSTREAMS: new URL(platform.url).host,
      EDGE_WORKER_PROCESSES: '1',
      EDGE_WORKER_CONNECTIONS: '2048',
      EDGE_RATE_LIMIT: 'off',
      EDGE_CONN_LIMIT: String(CONN_LIMIT),
      EDGE_CLIENT_HEADER_TIMEOUT: `${HEADER_TIMEOUT_SEC}s`,
      EDGE_CLIENT_BODY_TIMEOUT: `${BODY_TIMEOUT_SEC}s`,
    },
    work,
  );
  edge = await startEdge(config);
}, 240_000);

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  await edge?.stop('fast');
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Slow {
  socket: Socket;
  opened: number;
  closedAt?: number;
  received: string;
}

/** Opens `count` connections from `from` that write `first`, then `trickle` every second, never finishing. */
async function openSlow(count: number, from: string, first: string, trickle: string): Promise<Slow[]> {
  const all = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Slow>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port, localAddress: from });
          const slow: Slow = { socket, opened: Date.now(), received: '' };
          socket.once('connect', () => {
            socket.write(first);
            resolve(slow);
          });
          socket.once('error', reject);
          socket.on('data', (d) => (slow.received += d.toString()));
          socket.on('close', () => (slow.closedAt = Date.now()));
          sockets.push(socket);
        }),
    ),
  );
  const timer = setInterval(() => {
    for (const s of all) if (s.closedAt === undefined && !s.socket.destroyed) s.socket.write(trickle);
  }, 1000);
  timers.push(timer);
  for (const s of all) s.socket.on('error', () => undefined); // writes after the edge closed: expected
  return all;
}

/** Normal requests from 127.0.0.1 while the attack runs: every one answered, quickly. */
async function normalRequests(n: number): Promise<Array<{ status: number; ms: number }>> {
  const out: Array<{ status: number; ms: number }> = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(`${base}${i % 2 ? '/api/v1/videos' : '/healthz'}`);
    await res.arrayBuffer();
    out.push({ status: res.status, ms: Math.round(performance.now() - t) });
  }
  return out;
}

async function waitClosed(conns: Slow[], withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (conns.some((c) => c.closedAt === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}

describe('slowloris against the nginx edge', () => {
  it('slow-header connections do not stop normal requests and are closed after the header timeout, trickle or not', async () => {
    const attack = await openSlow(600, '127.0.0.2', 'GET /api/v1/videos HTTP/1.1\r\nHost: kinora\r\n', 'X-Slow: 1\r\n');
    await new Promise((r) => setTimeout(r, 1000));
    const answers = await normalRequests(20);
    expect(answers.filter((a) => a.status !== 200 || a.ms > 3000)).toEqual([]);
    expect(attack.filter((c) => c.closedAt !== undefined).length).toBeLessThan(attack.length); // still holding: the attack is on
    await waitClosed(attack, (HEADER_TIMEOUT_SEC + 6) * 1000);
    const open = attack.filter((c) => c.closedAt === undefined);
    expect(open.length).toBe(0);
    // Closed by the header timeout (not earlier): they had kept sending header lines all along.
    const lifetimes = attack.map((c) => c.closedAt! - c.opened);
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(HEADER_TIMEOUT_SEC * 1000 - 500);
    // Nothing reached the platform: no answer but nginx's own (or none).
    expect(attack.filter((c) => /x-kinora|"items"/i.test(c.received))).toEqual([]);
    expect((await normalRequests(4)).every((a) => a.status === 200)).toBe(true);
  }, 60_000);

  it('slow-body connections are capped per client address, leave others served, and are closed when they stall', async () => {
    const head = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: kinora\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{';
    const attack = await openSlow(CONN_LIMIT + 30, '127.0.0.3', head, '');
    await new Promise((r) => setTimeout(r, 1500));
    // Beyond the per-address limit, the edge answers 429 at once instead of holding a connection.
    const refused = attack.filter((c) => c.received.startsWith('HTTP/1.1 429'));
    expect(refused.length).toBeGreaterThanOrEqual(30);
    expect(refused[0]!.received).toMatch(/application\/problem\+json/);
    const answers = await normalRequests(20);
    expect(answers.filter((a) => a.status !== 200 || a.ms > 3000)).toEqual([]);
    // The stalled bodies: closed after the body timeout (408 or a plain close), never proxied half-read.
    await waitClosed(attack, (BODY_TIMEOUT_SEC + 6) * 1000);
    expect(attack.filter((c) => c.closedAt === undefined).length).toBe(0);
    expect(attack.filter((c) => /^HTTP\/1\.1 (2\d\d|5\d\d)/.test(c.received))).toEqual([]);
  }, 60_000);
});
