// Latency probe of the read-path benchmark (its own process): an open loop of one request every `1000/rate` ms over a
// keep-alive pool, so requests rarely queue behind each other and p99 shows what the server spends per request, at
// µs resolution (autocannon reports whole milliseconds). Paths as load.mjs draws them.
// Usage: node latency.mjs <base url> <rate/s> <seconds> zipf|fixed <count or path>
import { Pool } from 'undici';
import { zipfPaths } from './ids.mjs';

const [base, rateArg, secondsArg, kind, arg] = process.argv.slice(2);
const pool = new Pool(base, { connections: 16, pipelining: 1 });
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));
const nextPath = kind === 'zipf' ? zipfPaths(Number(arg)) : () => arg;
const samples = [];
let failed = 0;

async function one() {
  const t0 = process.hrtime.bigint();
  try {
    const res = await pool.request({ method: 'GET', path: nextPath() });
    await res.body.dump();
    if (res.statusCode !== 200) failed++;
    else samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  } catch {
    failed++;
  }
}

// Warm up the connections and the server's code paths.
for (let i = 0; i < 500; i++) await one();
samples.length = 0;

const started = performance.now();
const inflight = [];
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  inflight.push(one());
}
await Promise.all(inflight);
await pool.close();
samples.sort((a, b) => a - b);
const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
process.stdout.write(`${JSON.stringify({ total: samples.length + failed, count: samples.length, failed, p50: q(0.5), p99: q(0.99) })}\n`);
