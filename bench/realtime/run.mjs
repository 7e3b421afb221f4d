#!/usr/bin/env node
// `npm run bench:realtime`: ONE realtime instance (its own process, Redis adapter on) and load generators in
// separate processes (each far below the 20,000 descriptors a process may open here) that hold BENCH_CONNECTIONS
// socket.io connections. BENCH_WATCHERS of them watch one video; the rest watch BENCH_OTHER_VIDEOS other videos.
// Then BENCH_ROUNDS counter updates of the watched video, 1.2 s apart (the once-per-second rule), each timed from
// the change in the counts source to its arrival at every watcher. Prints connections held, server memory per
// connection, the p50/p99/max fan-out delay and the server's CPU per watcher of one push.
// Baseline in the same run (BENCH_BASELINE=0 skips it): bare socket.io 4.8 (no adapter, no auth, no counts service)
// with the same clients, rooms and payload. Goals: >= 20,000 connections, p99 < 250 ms.
// Clients that fail to connect are reported with their reason, address and step times; BENCH_TRACE_CLOSES=1 also
// has the server log the first Engine.IO connections that close, with what they had received.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPostgres, startRedis } from '@kinora/testing';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name, def) => Number(process.env[name] ?? def);
const CONNECTIONS = env('BENCH_CONNECTIONS', 19_900);
const WATCHERS = env('BENCH_WATCHERS', 10_000);
const GENERATORS = env('BENCH_GENERATORS', 4);
const ROUNDS = env('BENCH_ROUNDS', 20);
const OTHER_VIDEOS = env('BENCH_OTHER_VIDEOS', 100);
const CONCURRENCY = env('BENCH_CONNECT_CONCURRENCY', 50);
const BASELINE = env('BENCH_BASELINE', 1) !== 0;
// Worker processes of the ONE realtime instance (REALTIME_WORKERS: one port, sticky sessions, one process per core).
const WORKERS = env('BENCH_WORKERS', 1);
// Niceness of the load generators (0–19): they stand for clients on other machines, so by default they yield the
// CPU to the server under test. An arrival is timed when a generator reads it, so a generator that runs later can
// only make the measured delays longer, never shorter.
const GENERATOR_NICE = env('BENCH_GENERATOR_NICE', 10);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const fdsOf = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const fdLimitOf = (pid) => /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1];
const mib = (b) => (b / 1048576).toFixed(1);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

let seq = 0;
function call(child, msg) {
  const id = ++seq;
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.id === id) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send({ ...msg, id });
  });
}

function waitFor(child, type) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.type === type) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
  });
}

async function stopChild(child, graceful) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  if (graceful && child.connected) graceful(child);
  else child.kill('SIGTERM');
  await exited;
}

/** One full measurement against one server (`server.mjs` or the bare baseline). */
async function measure(label, script, serverEnv) {
  const videoId = `${randomUUID().slice(0, -4)}ffff`;
  const server = fork(join(here, script), [], { execArgv: [...(process.env.BENCH_SERVER_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_SERVER_PROF] : []), ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)], env: { ...process.env, ...serverEnv }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const generators = [];
  try {
    const { port } = await new Promise((resolve, reject) => {
      const lines = createInterface({ input: server.stdout });
      lines.on('line', (line) => {
        if (line.startsWith('{"port"')) resolve(JSON.parse(line));
        else process.stderr.write(`server: ${line}\n`);
      });
      server.once('exit', (code) => reject(new Error(`${label} server exited with ${code}`)));
    });
    await sleep(500);
    const idle = await call(server, { cmd: 'stats', videoId });
    // The instance's processes: one, or a primary and its workers (BENCH_WORKERS).
    const pids = idle.pids ?? [server.pid];
    const rssBefore = pids.reduce((a, p) => a + rssOf(p), 0);
    const heapBefore = idle.heapUsed;

    const started = Date.now();
    const per = Math.ceil(CONNECTIONS / GENERATORS);
    const watchersPer = Math.ceil(WATCHERS / GENERATORS);
    for (let g = 0; g < GENERATORS; g++) {
      const count = Math.min(per, CONNECTIONS - g * per);
      const args = { url: `http://127.0.0.1:${port}`, count, watchers: Math.min(watchersPer, WATCHERS - g * watchersPer, count), videoId, otherVideos: OTHER_VIDEOS, offset: g * per, concurrency: CONCURRENCY };
      const generator = fork(join(here, 'load.mjs'), [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      if (GENERATOR_NICE > 0) setPriority(generator.pid, GENERATOR_NICE);
      generators.push(generator);
    }
    const progress = new Map();
    generators.forEach((g, i) => g.on('message', (m) => m.type === 'progress' && progress.set(i, m)));
    const ticker = setInterval(() => {
      const held = [...progress.values()].reduce((a, p) => a + p.connected, 0);
      process.stdout.write(`\r  connecting: ${held} held after ${((Date.now() - started) / 1000).toFixed(0)} s   `);
    }, 5000);
    const opened = await Promise.all(generators.map((g) => waitFor(g, 'opened')));
    clearInterval(ticker);
    const held = opened.reduce((a, o) => a + o.connected, 0);
    const failed = opened.reduce((a, o) => a + o.failed, 0);
    const reasons = {};
    for (const o of opened) for (const [r, n] of Object.entries(o.reasons ?? {})) reasons[r] = (reasons[r] ?? 0) + n;
    if (failed > 0) {
      console.log(`\n[${label}] failed to connect: ${JSON.stringify(reasons)}`);
      for (const o of opened) for (const f of o.failures ?? []) console.log(`  ${JSON.stringify(f)}`);
    }
    const connectSec = (Date.now() - started) / 1000;
    await sleep(2500); // let the counts polls settle (watching changes) before measuring
    const stats = await call(server, { cmd: 'stats', videoId });
    const rssAfter = pids.reduce((a, p) => a + rssOf(p), 0);
    const fdsPer = pids.map(fdsOf);
    const fds = fdsPer.reduce((a, b) => a + b, 0);
    console.log(`\r[${label}] connections held: ${stats.clients} (${held} joined, ${failed} failed) in ${connectSec.toFixed(1)} s; ${stats.watching} watch the video; server holds ${fds} descriptors${pids.length > 1 ? ` in ${pids.length} processes (${fdsPer.join(' + ')})` : ''} (limit ${fdLimitOf(server.pid)} per process)`);
    const perConn = (rssAfter - rssBefore) / stats.clients / 1024;
    const heapPer = stats.heapUsed !== null && heapBefore !== null ? (stats.heapUsed - heapBefore) / stats.clients / 1024 : NaN;
    console.log(`[${label}] server memory: RSS ${mib(rssBefore)} → ${mib(rssAfter)} MiB = ${perConn.toFixed(1)} KiB per connection (heap ${heapPer.toFixed(1)} KiB)`);

    const t0s = new Map();
    for (let r = 0; r < ROUNDS; r++) {
      const { t0, views } = await call(server, { cmd: 'bump', videoId });
      t0s.set(views, t0);
      await sleep(1200);
    }
    await sleep(1000);
    const replies = await Promise.all(generators.map((g) => (g.send({ type: 'arrivals' }), waitFor(g, 'arrivals'))));
    const delays = [];
    const perRound = [];
    for (const [views, t0] of t0s) {
      const ds = replies.flatMap((r) => (r.arrivals[views] ?? []).map((at) => at - t0)).sort((a, b) => a - b);
      if (ds.length) perRound.push(pct(ds, 99));
      delays.push(...ds);
    }
    delays.sort((a, b) => a - b);
    console.log(`[${label}] p99 of each update in order (ms): ${perRound.map((x) => x.toFixed(0)).join(' ')}`);
    perRound.sort((a, b) => a - b);
    const { sendLoops, sendCpu } = await call(server, { cmd: 'stats', videoId });
    const loops = [...sendLoops].sort((a, b) => a - b);
    const cpu = [...sendCpu].sort((a, b) => a - b);
    const result = {
      label,
      held: stats.clients,
      failed,
      connectSec,
      fds,
      processes: pids.length,
      perConnKiB: perConn,
      heapPerConnKiB: heapPer,
      watchers: stats.watching,
      delivered: delays.length,
      expected: ROUNDS * stats.watching,
      p50: pct(delays, 50),
      p99: pct(delays, 99),
      max: delays.at(-1),
      roundP99: { best: perRound[0], median: pct(perRound, 50), worst: perRound.at(-1) },
      loopWallMs: pct(loops, 50),
      loopCpuMs: pct(cpu, 50),
      cpuPerWatcherUs: (pct(cpu, 50) * 1000) / stats.watching,
      load: load(),
    };
    console.log(`[${label}] fan-out to ${result.watchers} watchers × ${ROUNDS} updates: ${result.delivered}/${result.expected} delivered`);
    console.log(`[${label}] delay update → arrival: p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms; p99 per update best ${result.roundP99.best.toFixed(1)} / median ${result.roundP99.median.toFixed(1)} / worst ${result.roundP99.worst.toFixed(1)} ms`);
    console.log(`[${label}] server send loop per push: wall ${result.loopWallMs.toFixed(1)} ms, CPU ${result.loopCpuMs.toFixed(1)} ms = ${result.cpuPerWatcherUs.toFixed(1)} µs per watcher; load average ${result.load}`);
    return result;
  } finally {
    await Promise.all(generators.map((g) => stopChild(g, (c) => c.send({ type: 'close' }))));
    await stopChild(server);
  }
}

console.log(`realtime benchmark: ${CONNECTIONS} connections from ${GENERATORS} processes, instance of ${WORKERS} worker process(es), client ${process.env.BENCH_CLIENT ?? 'raw'} (nice ${GENERATOR_NICE}), ${WATCHERS} watchers of one video, ${ROUNDS} updates, Node ${process.version}, load average ${load()}`);
const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
try {
  const kinora = await measure(WORKERS > 1 ? `realtime, ${WORKERS} workers` : 'realtime', 'server.mjs', { REDIS_URL: redis.url, DATABASE_URL: pg.url, BENCH_WORKERS: String(WORKERS) });
  let bare;
  if (BASELINE) bare = await measure('bare socket.io', 'bare-server.mjs', {});
  console.log('');
  console.log(`connections held: ${kinora.held} (goal 20,000: ${kinora.held >= 20000 ? 'met' : `NOT met: the process limit is ${fdLimitOf(process.pid)} descriptors and the server needs ${kinora.fds - kinora.held} of its own${kinora.processes === 1 ? '; BENCH_WORKERS=2 spreads them over two processes' : ''}`})`);
  console.log(`memory per connection: ${kinora.perConnKiB.toFixed(1)} KiB RSS${bare ? ` (bare socket.io ${bare.perConnKiB.toFixed(1)} KiB, ratio ${(kinora.perConnKiB / bare.perConnKiB).toFixed(2)})` : ''}`);
  console.log(`fan-out p50/p99: ${kinora.p50.toFixed(1)} / ${kinora.p99.toFixed(1)} ms${bare ? ` (bare socket.io ${bare.p50.toFixed(1)} / ${bare.p99.toFixed(1)} ms, p99 ratio ${(kinora.p99 / bare.p99).toFixed(2)})` : ''}; goal p99 < 250 ms: ${kinora.p99 < 250 ? 'met' : 'NOT met'}`);
  console.log(`server CPU per watcher and push: ${kinora.cpuPerWatcherUs.toFixed(1)} µs${bare ? ` (bare socket.io ${bare.cpuPerWatcherUs.toFixed(1)} µs)` : ''}`);
  console.log(`RESULT ${JSON.stringify({ kinora, bare })}`);
} finally {
  await Promise.all([redis.stop(), pg.stop()]);
}
