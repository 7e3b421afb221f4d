// The latency probes' open loop (bench/gateway and bench/read-path): one GET every `1000/rate` ms over a keep-alive
// pool, so requests rarely queue behind each other and p99 shows what the server spends per request, at µs
// resolution (autocannon reports whole milliseconds). 500 sequential requests warm up first; a non-200 counts as
// failed. Resolves to { total, count, failed, p50, p99 } (milliseconds).
import { Pool } from 'undici';

/** @param {{ origin: string, rate: number, seconds: number, nextPath: () => string, headers?: Record<string, string> }} o */
export async function openLoop({ origin, rate, seconds, nextPath, headers = {} }) {
  const pool = new Pool(origin, { connections: 16, pipelining: 1 });
  const total = Math.round(rate * seconds);
  const samples = [];
  let failed = 0;
  const one = async () => {
    const t0 = process.hrtime.bigint();
    try {
      const res = await pool.request({ method: 'GET', path: nextPath(), headers });
      await res.body.dump();
      if (res.statusCode !== 200) failed++;
      else samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    } catch {
      failed++;
    }
  };

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
  return { total: samples.length + failed, count: samples.length, failed, p50: q(0.5), p99: q(0.99) };
}
