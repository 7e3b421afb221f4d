import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { handedOverWhole } from '@kinora/realtime';

// The primary of a multi-worker instance reads the first chunk of each connection (to find the worker of its
// Engine.IO session) and hands the descriptor to that worker. Bytes that arrive before the worker has taken the
// connection must reach it too: here the worker is blocked while a request arrives in two parts, the second one
// while the hand-over waits. The primary's copy of the descriptor stays open until the worker acknowledges it, and
// what Node reads from it then is thrown away: without `routeInPrimary` stopping the reads this test gets no answer.

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');
const fixture = join(root, 'apps/realtime/test/fixtures/handover.mjs');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const instances: ChildProcess[] = [];

/** Starts the fixture instance (its primary and `workers` workers); resolves with its port. */
async function startInstance(workers: number, env: Record<string, string> = {}): Promise<number> {
  let output = '';
  const proc = spawn(process.execPath, [fixture], { cwd: root, env: { PATH: process.env.PATH ?? '', WORKERS: String(workers), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  instances.push(proc);
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /listening (\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`the primary exited (${code}): ${output}`)));
  });
}

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'apps/realtime')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
}, 180_000);

afterAll(async () => {
  for (const proc of instances) {
    if (proc.exitCode !== null) continue;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
});

/** Sends `parts` on one connection, `gapMs` apart; resolves with what the server answered once it closes (or once `enough`). */
function exchange(port: number, parts: string[], gapMs: number, timeoutMs: number, enough: (got: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('data', (d) => {
      got += d.toString();
      if (enough(got)) done();
    });
    s.on('close', done);
    s.on('error', done);
    s.once('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0) await sleep(gapMs);
        s.write(p);
      }
    });
  });
}

describe('connection hand-over to a worker', () => {
  let port = 0;
  beforeAll(async () => {
    port = await startInstance(1);
  }, 30_000);

  it('delivers the bytes that arrive while the worker has not taken the connection yet', async () => {
    for (let round = 0; round < 3; round++) {
      // The worker answers, then cannot take anything for 700 ms.
      const blocked = await exchange(port, ['GET /block?ms=700 HTTP/1.1\r\nHost: x\r\n\r\n'], 0, 5_000, (got) => got.endsWith('blocking'));
      expect(blocked).toMatch(/^HTTP\/1\.1 200[\s\S]*blocking$/);
      // A polling handshake whose header arrives in two parts, the second while the hand-over is pending.
      const t0 = Date.now();
      const answer = await exchange(port, ['GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n', 'Accept: */*\r\n\r\n'], 200, 5_000);
      // The worker was still blocked when the second part arrived (else this test would not test the window).
      expect(Date.now() - t0).toBeGreaterThan(400);
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      expect(answer).toContain('0{"sid":"');
    }
  }, 60_000);

  it('keeps the requests with a body in the primary (forwarded in chunks), as before', async () => {
    const body = 'x'.repeat(10);
    const answer = await exchange(port, [`POST /socket.io/?EIO=4&transport=polling&sid=unknown HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, body], 100, 5_000);
    // Engine.IO refuses the unknown session: what matters is that the whole request reached a worker and got an answer.
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
  }, 30_000);
});

describe('metrics of a multi-worker instance', () => {
  let port = 0;
  beforeAll(async () => {
    port = await startInstance(2);
  }, 30_000);

  it('answers GET /metrics in the primary with the workers summed', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^fixture_workers 2$/m);
    expect(text.match(/^fixture_worker_pid\{pid="\d+"\} 1$/gm)).toHaveLength(2);
    // Other requests still reach a worker.
    const handshake = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toContain('0{"sid":"');
  }, 30_000);
});

describe('metrics when a worker does not answer', () => {
  it('answers 503 with a plain reason, not a hung scrape', async () => {
    const port = await startInstance(1, { NO_METRICS: '1' });
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^metrics unavailable: /);
  }, 30_000);
});

describe('handedOverWhole', () => {
  it('is true for requests without a body and false when a body is announced (as @socket.io/sticky decides)', () => {
    expect(handedOverWhole(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe(true);
    expect(handedOverWhole(Buffer.from('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nUpgrade: websocket\r\n'))).toBe(true);
    expect(handedOverWhole(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc'))).toBe(false);
    expect(handedOverWhole(Buffer.from('POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n'))).toBe(false);
    // Only the header section counts.
    expect(handedOverWhole(Buffer.from('GET / HTTP/1.1\r\n\r\ncontent-length: 3'))).toBe(true);
  });
});
