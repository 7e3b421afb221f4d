#!/usr/bin/env node
// `npm run bench:read-path`: GET /api/v1/videos/:id of the standalone video service with a warm cache (memory over
// Redis) against a bare Fastify hello, in one run, with the same load generator (autocannon, in its own process).
// 100,000 ready public videos are seeded with one INSERT … SELECT generate_series; requests pick a video by Zipf
// (s = 1.0) over them. Every id is read once first (the warm-up sweep), so the runs measure a warm cache.
// Prints per round req/s and p50/p99 at saturation (BENCH_CONNECTIONS), then p50/p99 at a fixed modest rate
// (BENCH_LATENCY_RATE, an open loop at µs resolution, latency.mjs: p99 shows the cost of a request rather than
// queueing), hit ratios per cache layer and
// database statements per 1,000 requests (pg_stat_statements on the primary and the replica).
// Goals: overall hit ratio >= 99 %, throughput >= 0.8 x bare Fastify, p99 < 5 ms.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres, startRedis, waitForReplica } from '@kinora/testing';
import { SEED_SQL } from './ids.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name, def) => Number(process.env[name] ?? def);
const VIDEOS = env('BENCH_VIDEOS', 100_000);
const DURATION = env('BENCH_DURATION_SEC', 10);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const ROUNDS = env('BENCH_ROUNDS', 2);
const LATENCY_RATE = env('BENCH_LATENCY_RATE', 1000);
// Node/V8 flags for all three servers alike, to measure runtime settings (e.g. BENCH_NODE_FLAGS=--max-semi-space-size=32);
// default none: the servers run as the platform's processes do.
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

function startServer(mode, extraEnv) {
  const profile = process.env.BENCH_PROFILE_DIR ? { BENCH_PROFILE_FILE: join(process.env.BENCH_PROFILE_DIR, `${mode}.cpuprofile`) } : {};
  const child = spawn(process.execPath, [...NODE_FLAGS, join(here, 'server.mjs'), mode], { env: { ...process.env, ...extraEnv, ...profile }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const lines = [];
  let waiter;
  rl.on('line', (raw) => {
    // The service logs (JSON, to stdout) interleave with the server's own lines: keep only those.
    let line;
    try {
      line = JSON.parse(raw);
    } catch {
      return;
    }
    if (!('port' in line) && !('stats' in line)) return;
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(line);
    } else lines.push(line);
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => (waiter = r)));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
    next().then((info) => resolve({ child, ...info, next }));
  });
}

function stop(server) {
  return new Promise((resolve) => {
    server.child.removeAllListeners('exit');
    server.child.once('exit', resolve);
    server.child.kill('SIGTERM');
  });
}

async function serverInfo(server) {
  server.child.kill('SIGUSR2');
  return server.next();
}
const cacheStats = async (server) => (await serverInfo(server)).stats;

function load(url, seconds, connections, kind, arg, rate) {
  const args = [join(here, 'load.mjs'), url, String(seconds), String(connections), kind, String(arg)];
  if (rate) args.push(String(rate));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      const r = JSON.parse(out);
      const bad = r.non2xx + r.errors + r.timeouts;
      // The warm-up only fills the cache: a request it lost is loaded later (and counted as a miss then).
      if (bad > 0 && kind !== 'sweep') return reject(new Error(`${url} ${kind}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`));
      resolve(r);
    });
  });
}

function latency(url, kind, arg) {
  const args = [join(here, 'latency.mjs'), url, String(LATENCY_RATE), String(DURATION), kind, String(arg)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`latency probe exited with ${code}`));
      const r = JSON.parse(out);
      if (r.failed > 0) return reject(new Error(`${url}: ${r.failed} failed requests`));
      resolve(r);
    });
  });
}

/** Statements run so far on the primary and the replica (pg_stat_statements), excluding these counting queries. */
async function statements(clients) {
  let total = 0;
  for (const c of clients) {
    const { rows } = await c.query(`SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'`);
    total += Number(rows[0].n);
  }
  return total;
}

const diff = (a, b) => {
  const out = {};
  for (const [cls, layers] of Object.entries(b.requests)) {
    out[cls] = {};
    for (const [layer, results] of Object.entries(layers)) {
      out[cls][layer] = {};
      for (const [r, n] of Object.entries(results)) out[cls][layer][r] = n - (a.requests[cls]?.[layer]?.[r] ?? 0);
    }
  }
  return out;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (n, d = 2) => n.toFixed(d);
const pct = (n) => `${fmt(100 * n, 2)} %`;

const [pgHandle, redis] = await Promise.all([startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } }), startRedis()]);
const servers = [];
const clients = [new pg.Client({ connectionString: pgHandle.url }), new pg.Client({ connectionString: pgHandle.replicaUrl })];
try {
  await clients[0].connect();
  await clients[0].query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  // The in-process layer sized to hold the catalogue (a warm cache: ~1.7 KB per row by its own estimate), unless
  // CACHE_MAX_ENTRIES / CACHE_MAX_MB say otherwise (the defaults, 50,000 entries and 64 MiB, hold ~38,000 rows).
  const cacheBounds = { CACHE_MAX_ENTRIES: process.env.CACHE_MAX_ENTRIES ?? String(Math.ceil(VIDEOS * 1.1)), CACHE_MAX_MB: process.env.CACHE_MAX_MB ?? String(Math.max(64, Math.ceil((VIDEOS * 2.2) / 1024))) };
  const videoServer = await startServer('video', { DATABASE_URL: pgHandle.url, DATABASE_REPLICA_URLS: pgHandle.replicaUrl, REDIS_URL: redis.url, ...cacheBounds });
  servers.push(videoServer);
  const bareServer = await startServer('bare', {});
  servers.push(bareServer);
  const baseServer = await startServer('base', {});
  servers.push(baseServer);
  const t0 = performance.now();
  await clients[0].query(SEED_SQL(VIDEOS));
  await clients[0].query('ANALYZE videos.videos');
  await waitForReplica(pgHandle.url, pgHandle.replicaUrl);
  await clients[1].connect();
  console.log(`read-path benchmark: ${VIDEOS} videos seeded in ${fmt((performance.now() - t0) / 1000, 1)} s; ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} round(s), Node ${process.version} ${NODE_FLAGS.join(' ') || '(default flags)'}; in-process cache: ${cacheBounds.CACHE_MAX_ENTRIES} entries, ${cacheBounds.CACHE_MAX_MB} MiB`);

  const target = {
    bare: { server: bareServer, kind: 'fixed', arg: '/hello' },
    base: { server: baseServer, kind: 'fixed', arg: '/hello' },
    video: { server: videoServer, kind: 'zipf', arg: VIDEOS },
  };
  const urlOf = (m) => `http://127.0.0.1:${target[m].server.port}`;
  const t1 = performance.now();
  const sweep = await load(urlOf('video'), 0, CONNECTIONS, 'sweep', VIDEOS);
  console.log(`  warm-up sweep: every id once, ${sweep.total} requests (${sweep.errors + sweep.non2xx} failed) in ${fmt((performance.now() - t1) / 1000, 1)} s (${fmt(sweep.rate, 0)} req/s, cold: loads from the database)`);
  for (const m of ['bare', 'base']) await load(urlOf(m), 2, CONNECTIONS, 'fixed', '/hello');

  const modes = ['bare', 'base', 'video'];
  // BENCH_PROFILE_DIR: each server writes <mode>.cpuprofile of the measured phase there.
  if (process.env.BENCH_PROFILE_DIR) for (const m of modes) target[m].server.child.kill('SIGHUP');
  const sat = { bare: [], base: [], video: [] };
  const cpu = { bare: [], base: [], video: [] };
  const gcPause = { bare: [], base: [], video: [] };
  const before = await cacheStats(videoServer);
  for (const c of clients) await c.query('SELECT pg_stat_statements_reset()');
  const stmts0 = await statements(clients);
  let videoRequests = 0;
  for (let i = 0; i < ROUNDS; i++) {
    for (const m of modes) {
      const i0 = await serverInfo(target[m].server);
      const r = await load(urlOf(m), DURATION, CONNECTIONS, target[m].kind, target[m].arg);
      const i1 = await serverInfo(target[m].server);
      const [c0, c1] = [i0.cpuUs, i1.cpuUs];
      sat[m].push(r);
      cpu[m].push((c1 - c0) / r.total);
      const pauseMs = (g) => Object.values(g).reduce((a, k) => a + k.ms, 0);
      gcPause[m].push({ us: (1000 * (pauseMs(i1.gc) - pauseMs(i0.gc))) / r.total, minor: i1.gc.minor.n - i0.gc.minor.n, major: i1.gc.major.n - i0.gc.major.n });
      if (m === 'video') videoRequests += r.total;
      console.log(`  saturated round ${i + 1} ${m.padEnd(5)} ${fmt(r.rate, 0).padStart(7)} req/s  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  ${fmt((c1 - c0) / r.total, 1)} µs CPU/request`);
    }
  }
  const lat = { bare: [], base: [], video: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const m of modes) {
      const r = await latency(urlOf(m), target[m].kind, target[m].arg);
      lat[m].push(r);
      if (m === 'video') videoRequests += r.total;
      console.log(`  latency round ${i + 1} ${m.padEnd(5)} at ${LATENCY_RATE} req/s, open loop  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms`);
    }
  }
  // pg_stat_statements counts a statement when it ends; give the last ones a moment.
  await new Promise((r) => setTimeout(r, 500));
  const stmts = (await statements(clients)) - stmts0;
  if (process.env.BENCH_TOP_STATEMENTS) {
    for (const [i, c] of clients.entries()) {
      const { rows } = await c.query(`SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 140) AS q FROM pg_stat_statements ORDER BY calls DESC LIMIT 8`);
      for (const r of rows) console.log(`  ${i === 0 ? 'primary' : 'replica'} ${String(r.calls).padStart(7)}  ${r.q}`);
    }
  }
  const after = await cacheStats(videoServer);
  const d = diff(before, after)['video'];
  const lookups = d.memory.hit + d.memory.miss + d.memory.stale;
  const memoryHits = d.memory.hit + d.memory.stale;
  const redisHits = d.redis.hit + d.redis.stale;
  const misses = lookups - memoryHits - redisHits;
  const rate = Object.fromEntries(modes.map((m) => [m, mean(sat[m].map((r) => r.rate))]));
  const ratio = rate.video / rate.bare;
  const hit = (memoryHits + redisHits) / lookups;
  const p = (m, k, set) => fmt(mean(set[m].map((r) => r[k])), set === lat ? 3 : 2);
  const videoP99 = mean(lat.video.map((r) => r.p99));
  console.log('');
  console.log(`| | bare Fastify hello | base app hello | GET /api/v1/videos/:id, warm cache, Zipf(1.0) over ${VIDEOS.toLocaleString('en')} videos |`);
  console.log('|---|---|---|---|');
  console.log(`| rate at saturation (req/s, ${CONNECTIONS} connections) | ${fmt(rate.bare, 0)} | ${fmt(rate.base, 0)} (${fmt(rate.base / rate.bare)}x) | ${fmt(rate.video, 0)} (${fmt(ratio)}x) |`);
  console.log(`| server CPU per request (µs) | ${fmt(mean(cpu.bare), 1)} | ${fmt(mean(cpu.base), 1)} | ${fmt(mean(cpu.video), 1)} |`);
  const g = (m) => `${fmt(mean(gcPause[m].map((x) => x.us)), 1)} (${gcPause[m].reduce((a, x) => a + x.minor, 0)} / ${gcPause[m].reduce((a, x) => a + x.major, 0)})`;
  console.log(`| of which GC pauses per request (µs; scavenges / full collections) | ${g('bare')} | ${g('base')} | ${g('video')} |`);
  console.log(`| p50 / p99 at saturation (ms) | ${p('bare', 'p50', sat)} / ${p('bare', 'p99', sat)} | ${p('base', 'p50', sat)} / ${p('base', 'p99', sat)} | ${p('video', 'p50', sat)} / ${p('video', 'p99', sat)} |`);
  console.log(`| p50 / p99 at ${LATENCY_RATE} req/s, open loop (ms) | ${p('bare', 'p50', lat)} / ${p('bare', 'p99', lat)} | ${p('base', 'p50', lat)} / ${p('base', 'p99', lat)} | ${p('video', 'p50', lat)} / ${fmt(videoP99, 3)} |`);
  console.log(`| cache lookups (video class) | | | ${lookups} |`);
  console.log(`| hit ratio: memory / Redis / overall | | | ${pct(memoryHits / lookups)} / ${pct(redisHits / lookups)} / ${pct(hit)} (${misses} loads) |`);
  const loads = Object.values(after.loads['video'] ?? {}).reduce((x, y) => x + y, 0) - Object.values(before.loads['video'] ?? {}).reduce((x, y) => x + y, 0);
  console.log(`| database reads per 1,000 requests: cache loads (incl. background refreshes) / all statements on primary + replica (incl. the in-process bus's and the outbox relay's polling) | | | ${fmt((1000 * loads) / videoRequests, 2)} / ${fmt((1000 * stmts) / videoRequests, 2)} |`);
  console.log('');
  console.log(`overall hit ratio ${pct(hit)} (goal >= 99 %): ${hit >= 0.99 ? 'met' : 'NOT met'}`);
  console.log(`throughput ratio ${fmt(ratio)} (goal >= 0.8): ${ratio >= 0.8 ? 'met' : 'NOT met'}`);
  console.log(`p99 at ${LATENCY_RATE} req/s ${fmt(videoP99)} ms (goal < 5 ms): ${videoP99 < 5 ? 'met' : 'NOT met'}`);
} finally {
  for (const s of servers) await stop(s);
  for (const c of clients) await c.end().catch(() => {});
  await Promise.allSettled([pgHandle.stop(), redis.stop()]);
}
