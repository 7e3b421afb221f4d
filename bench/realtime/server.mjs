// One realtime instance for `bench/realtime/run.mjs`: the real module (socket.io on Fastify, redis-streams adapter,
// presence in Redis) with a counts source the coordinator drives over IPC. Prints `{"port": N}` once listening.
import { loadConfig } from '@kinora/config';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { TokenVerifier } from '@kinora/auth';
import { buildApp } from '@kinora/realtime';

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
  verifier: new TokenVerifier({ issuer: config.publicUrl, audience: 'kinora-api', fetchJwks: async () => ({ keys: [] }) }),
  videos: async (id) => ({ id, ownerId: '00000000-0000-7000-8000-000000000000', visibility: 'public', state: 'ready', deleted: false }),
  counts: async (ids) => new Map(ids.map((id) => [id, counters.get(id) ?? { views: 0, likes: 0, dislikes: 0, comments: 0 }])),
  settings: { keyPrefix: `bench:rt:${process.pid}:`, maxRoomsPerSocket: 1 },
});
await app.listen({ port: 0, host: '127.0.0.1' });
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
console.log(JSON.stringify({ port: app.server.address().port }));

process.on('message', (msg) => {
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
    process.send({ id: msg.id, clients: rt.clients(), watching: rt.localWatchers.get(msg.videoId) ?? 0, heapUsed, sendLoops: sendLoops.splice(0), sendCpu: sendCpu.splice(0) });
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
