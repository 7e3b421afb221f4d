// One realtime instance for `bench/realtime/run.mjs`: the real module (socket.io on Fastify, redis-streams adapter,
// presence in Redis) with a counts source the coordinator drives over IPC. Prints `{"port": N}` once listening.
import { loadConfig } from '@kinora/config';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { ACCESS_TOKEN_AUDIENCE, TokenVerifier } from '@kinora/auth';
import cluster from 'node:cluster';
import { buildApp, isRealtimeWorker, joinPrimary, runPrimary } from '@kinora/realtime';

// BENCH_WORKERS > 1: one instance of that many worker processes on one port (REALTIME_WORKERS), this process being
// its primary; the coordinator's commands are relayed to every worker and their answers combined.
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
if (WORKERS > 1 && cluster.isPrimary) {
  const { port } = await runPrimary({ workers: WORKERS, port: 0, host: '127.0.0.1', shutdownGraceMs: 2000, logger: createLogger({ level: 'warn', name: 'realtime-bench' }) });
  console.log(JSON.stringify({ port }));
  const workers = () => Object.values(cluster.workers);
  let seq = 0;
  const ask = (w, msg) =>
    new Promise((resolve) => {
      const id = `w${++seq}`;
      const on = (m) => {
        if (m?.id === id) {
          w.off('message', on);
          resolve(m);
        }
      };
      w.on('message', on);
      w.send({ ...msg, id });
    });
  process.on('message', async (msg) => {
    if (msg.cmd === 'bump') {
      // One counter change that every worker learns about at once (in the service: from the bus and Redis).
      const t0 = performance.timeOrigin + performance.now();
      const replies = await Promise.all(workers().map((w) => ask(w, msg)));
      process.send({ id: msg.id, t0, views: replies[0].views });
    } else if (msg.cmd === 'stats') {
      const replies = await Promise.all(workers().map((w) => ask(w, msg)));
      const sum = (k) => replies.reduce((a, r) => (a === null || r[k] === null ? null : a + r[k]), 0);
      const n = Math.min(...replies.map((r) => r.sendLoops.length));
      process.send({
        id: msg.id,
        clients: sum('clients'),
        watching: sum('watching'),
        heapUsed: sum('heapUsed'),
        pids: [process.pid, ...workers().map((w) => w.process.pid)],
        // Per push: the workers send in parallel; wall = the slowest, CPU = all of them.
        sendLoops: Array.from({ length: n }, (_, i) => Math.max(...replies.map((r) => r.sendLoops[i]))),
        sendCpu: Array.from({ length: n }, (_, i) => replies.reduce((a, r) => a + r.sendCpu[i], 0)),
      });
    }
  });
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
} else {

const config = loadConfig({ PUBLIC_URL: 'http://kinora.bench', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', REDIS_URL: process.env.REDIS_URL });
const logger = createLogger({ level: config.logLevel, name: 'realtime-bench' });
const database = new Database({ primaryUrl: process.env.DATABASE_URL, poolMax: 4 });
await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
const bus = createInProcessEventBus({ pool: database.primary, logger });
const counters = new Map();
const app = await buildApp(config, {
  database,
  logger,
  bus,
  // Anonymous watchers only: the verifier is never asked.
  verifier: new TokenVerifier({ issuer: config.publicUrl, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: async () => ({ keys: [] }) }),
  videos: async (id) => ({ id, ownerId: '00000000-0000-7000-8000-000000000000', visibility: 'public', state: 'ready', deleted: false }),
  counts: async (ids) => new Map(ids.map((id) => [id, counters.get(id) ?? { views: 0, likes: 0, dislikes: 0, comments: 0 }])),
  settings: { keyPrefix: `bench:rt:${process.pid}:`, maxRoomsPerSocket: 1 },
});
const worker = isRealtimeWorker();
if (worker) await app.ready();
else await app.listen({ port: 0, host: '127.0.0.1' });
const rt = app.realtime.server();
await rt.waitAdapter();
// How long the synchronous send loop of one push takes on the server (the rest of the delay is the network and the
// clients' own event loops).
const sendLoops = [];
const push = rt.pushCounts.bind(rt);
const sendCpu = [];
rt.pushCounts = (counts) => {
  const t = performance.now();
  const cpu = process.cpuUsage();
  push(counts);
  if (counts.videoId === watched) {
    sendLoops.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    sendCpu.push((used.user + used.system) / 1000);
  }
};
let watched = '';
// BENCH_TRACE_CLOSES=1: Engine.IO connections that close before the measuring ends, with what they had received.
if (process.env.BENCH_TRACE_CLOSES === '1') {
  let logged = 0;
  rt.io.engine.on('connection', (s) => {
    const t0 = performance.now();
    const packets = [];
    s.on('packet', (p) => packets.length < 5 && packets.push(`${p.type}:${String(p.data ?? '').slice(0, 20)}@${Math.round(performance.now() - t0)}`));
    s.on('close', (reason, description) => {
      if (logged++ < 20) console.error(`[server ${process.pid}] engine.io ${s.id} closed after ${Math.round(performance.now() - t0)} ms: ${reason} ${description?.message ?? ''}; received ${packets.join(' ') || 'nothing'}; remote ${s.request?.socket?.remotePort ?? s.remoteAddress}`);
    });
  });
}
if (worker) joinPrimary(rt.io, app.metrics);
else console.log(JSON.stringify({ port: app.server.address().port }));

// BENCH_HEAP_PROFILE=prefix: a sampling heap profile of what survives young-generation collections during the
// pushes (from the first update to the final stats), written to <prefix>.<pid>.heapprofile; BENCH_HEAP_ALL=1
// samples every allocation instead (what the process allocates, collected or not).
let heapSession = null;
const heapProfile = process.env.BENCH_HEAP_PROFILE;
const heapPost = (method, params) => new Promise((resolve, reject) => heapSession.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
process.on('message', async (msg) => {
  if (heapProfile && msg.cmd === 'bump' && !heapSession) {
    const { Session } = await import('node:inspector');
    heapSession = new Session();
    heapSession.connect();
    await heapPost('HeapProfiler.enable');
    await heapPost('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMinorGC: process.env.BENCH_HEAP_ALL === '1', includeObjectsCollectedByMajorGC: true });
  }
  if (heapSession && msg.cmd === 'stats') {
    const { profile } = await heapPost('HeapProfiler.stopSampling');
    (await import('node:fs')).writeFileSync(`${heapProfile}.${process.pid}.heapprofile`, JSON.stringify(profile));
    heapSession.disconnect();
    heapSession = null;
  }
  if (msg.cmd === 'bump') {
    watched = msg.videoId;
    // The counter change: a new value in the source and the notification that it changed. `t0` is taken on the
    // same clock the load generators use (performance.timeOrigin + performance.now()).
    const c = counters.get(msg.videoId) ?? { views: 0, likes: 0, dislikes: 0, comments: 0 };
    const next = { ...c, views: c.views + 1 };
    counters.set(msg.videoId, next);
    const t0 = performance.timeOrigin + performance.now();
    app.realtime.countsChanged([msg.videoId]);
    process.send({ id: msg.id, t0, views: next.views });
  } else if (msg.cmd === 'stats') {
    let heapUsed = null;
    try {
      heapUsed = process.memoryUsage().heapUsed;
    } catch {
      // at the descriptor ceiling even this needs a file descriptor
    }
    process.send({ id: msg.id, clients: rt.clients(), watching: rt.localWatchers.get(msg.videoId) ?? 0, heapUsed, pids: [process.pid], sendLoops: sendLoops.splice(0), sendCpu: sendCpu.splice(0) });
  }
});

const stop = async () => {
  await app.close();
  await bus.close();
  await database.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
}
