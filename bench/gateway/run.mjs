#!/usr/bin/env node
// `npm run bench:gateway`: bare Fastify hello-world vs an authenticated GET through the embedded gateway chain
// (JWT check + Redis rate limit with a budget never reached + circuit breaker), each server in its own process and
// autocannon in another, one after the other in the same run. Prints both rates, the ratio and p50/p99.
//
// Two measurements: (1) throughput at saturation with autocannon (BENCH_CONNECTIONS connections, as fast as each
// server goes); (2) latency at the same modest fixed rate for both (BENCH_LATENCY_RATE req/s, open loop, latency.mjs,
// µs resolution), where p99 shows what the chain adds per request rather than queueing.
// Goals: ratio >= 0.5, added p99 < 2 ms. On a shared machine, run it as root under `chrt -r 10` so other load does
// not decide the result.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startRedis } from '@kinora/testing';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const autocannonBin = join(root, 'node_modules', 'autocannon', 'autocannon.js');
const env = (name, def) => Number(process.env[name] ?? def);
const DURATION = env('BENCH_DURATION_SEC', 10);
const WARMUP = env('BENCH_WARMUP_SEC', 3);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const ROUNDS = env('BENCH_ROUNDS', 2);
const LATENCY_RATE = env('BENCH_LATENCY_RATE', 1000);
const LATENCY_ROUNDS = env('BENCH_LATENCY_ROUNDS', 3);

function startServer(mode, extraEnv) {
  const child = spawn(process.execPath, [join(here, 'server.mjs'), mode], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve({ child, ...JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

function stop(server) {
  return new Promise((resolve) => {
    server.child.removeAllListeners('exit');
    server.child.once('exit', resolve);
    server.child.kill('SIGTERM');
  });
}

function autocannon(url, { seconds, token, rate }) {
  const args = [autocannonBin, '-j', '-c', String(CONNECTIONS), '-d', String(seconds)];
  if (token) args.push('-H', `authorization=Bearer ${token}`);
  if (rate) args.push('-R', String(rate));
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const r = JSON.parse(out);
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) return reject(new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`));
      resolve({ rate: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total });
    });
  });
}

function latencyProbe(url, token) {
  const args = [join(here, 'latency.mjs'), url, String(LATENCY_RATE), String(DURATION)];
  if (token) args.push(token);
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

async function measure(mode, extraEnv, phase) {
  const server = await startServer(mode, extraEnv);
  const path = mode === 'bare' ? '/hello' : '/api/v1/users/me';
  const url = `http://127.0.0.1:${server.port}${path}`;
  try {
    await autocannon(url, { seconds: WARMUP, token: server.token });
    if (phase.latency) return await latencyProbe(url, server.token);
    return await autocannon(url, { seconds: DURATION, token: server.token });
  } finally {
    await stop(server);
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (n, d = 2) => n.toFixed(d);

const redis = await startRedis();
const gatewayEnv = { REDIS_URL: redis.url, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
try {
  console.log(`gateway benchmark: ${CONNECTIONS} connections, ${DURATION} s per run (+${WARMUP} s warm-up), ${ROUNDS} round(s), Node ${process.version}, LOG_LEVEL=${gatewayEnv.LOG_LEVEL}`);
  const sat = { bare: [], gateway: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of ['bare', 'gateway']) {
      const r = await measure(mode, mode === 'gateway' ? gatewayEnv : {}, {});
      sat[mode].push(r);
      console.log(`  saturated round ${i + 1} ${mode.padEnd(7)} ${fmt(r.rate, 0).padStart(7)} req/s  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms`);
    }
  }
  const rate = LATENCY_RATE;
  const bareRate = mean(sat.bare.map((r) => r.rate));
  const gwRate = mean(sat.gateway.map((r) => r.rate));
  // The open-loop tail moves with whatever else the two cores do at that moment, so the latency runs alternate
  // (bare, gateway, bare, …) and each side reports its median round.
  const lat = { bare: [], gateway: [] };
  for (let i = 0; i < LATENCY_ROUNDS; i++) {
    for (const mode of ['bare', 'gateway']) {
      const r = await measure(mode, mode === 'gateway' ? gatewayEnv : {}, { latency: true });
      lat[mode].push(r);
      console.log(`  latency round ${i + 1} ${mode.padEnd(7)} at ${rate} req/s  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fixed = Object.fromEntries(Object.entries(lat).map(([m, rs]) => [m, { p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) }]));
  // For the record: the same chain without the verified-token cache (jose on every request).
  const extra = {};
  if (process.env.BENCH_EXTRA !== 'off') {
    extra.noTokenCache = await measure('gateway', { ...gatewayEnv, BENCH_TOKEN_CACHE: 'off' }, {});
  }
  const ratio = gwRate / bareRate;
  const addedP99 = fixed.gateway.p99 - fixed.bare.p99;
  console.log('');
  console.log('| | bare Fastify hello | authenticated GET through the gateway chain |');
  console.log('|---|---|---|');
  console.log(`| rate at saturation (req/s) | ${fmt(bareRate, 0)} | ${fmt(gwRate, 0)} |`);
  console.log(`| p50 / p99 at saturation (ms) | ${fmt(mean(sat.bare.map((r) => r.p50)))} / ${fmt(mean(sat.bare.map((r) => r.p99)))} | ${fmt(mean(sat.gateway.map((r) => r.p50)))} / ${fmt(mean(sat.gateway.map((r) => r.p99)))} |`);
  console.log(`| p50 / p99 at ${rate} req/s, open loop, median of ${LATENCY_ROUNDS} rounds (ms) | ${fmt(fixed.bare.p50, 3)} / ${fmt(fixed.bare.p99, 3)} | ${fmt(fixed.gateway.p50, 3)} / ${fmt(fixed.gateway.p99, 3)} |`);
  if (extra.noTokenCache) {
    console.log(`| variant: no verified-token cache (jose every request) | | ${fmt(extra.noTokenCache.rate, 0)} req/s (ratio ${fmt(extra.noTokenCache.rate / bareRate)}), p50 / p99 ${fmt(extra.noTokenCache.p50)} / ${fmt(extra.noTokenCache.p99)} ms |`);
  }
  console.log('');
  console.log(`ratio ${fmt(ratio)} (goal >= 0.5): ${ratio >= 0.5 ? 'met' : 'NOT met'}`);
  console.log(`added p99 at ${rate} req/s ${fmt(addedP99, 3)} ms (goal < 2 ms): ${addedP99 < 2 ? 'met' : 'NOT met'}`);
} finally {
  await redis.stop();
}
