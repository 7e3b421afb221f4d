// One HTTP server of the read-path benchmark, in its own process: `node server.mjs bare|base|video`.
// Prints one JSON line {port} once it listens; on SIGUSR2 prints the cache's counts, the CPU time used so far and the
// garbage collector's pauses so far ({stats, cpuUs, gc}). Imports the built
// workspace packages (dist/).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';

const mode = process.argv[2];

async function bare() {
  const app = Fastify({ logger: false });
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: app.server.address().port };
}

// The base app alone (request ids, problems, metrics histogram, HTTP caching) with the same hello: what every
// Kinora process costs per request before any route work, for splitting the cost in the report.
async function base() {
  const { createBaseApp, createLogger } = await import('@kinora/observability');
  const app = await createBaseApp({ logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'bench' }), bodyLimitBytes: 1 << 20 });
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: app.server.address().port };
}

// The standalone video service as `npm start` would run it (base app: request ids, problems, metrics, HTTP
// caching; the counters view; the cache over Redis; early answers of held public videos), on the benchmark's database.
async function video() {
  const [{ loadConfig }, { Database }, { buildApp }, { createLogger }, { TokenVerifier }, { FsObjectStore }, { LayeredCache }] = await Promise.all([
    import('@kinora/config'),
    import('@kinora/db'),
    import('@kinora/video'),
    import('@kinora/observability'),
    import('@kinora/auth'),
    import('@kinora/storage'),
    import('@kinora/cache'),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'kinora-bench-read-'));
  const config = loadConfig({
    PUBLIC_URL: 'http://bench.kinora.test',
    KINORA_DATA_DIR: dir,
    KINORA_SERVICES: 'video',
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_REPLICA_URLS: process.env.DATABASE_REPLICA_URLS,
    REDIS_URL: process.env.REDIS_URL,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...(process.env.CACHE_MAX_ENTRIES ? { CACHE_MAX_ENTRIES: process.env.CACHE_MAX_ENTRIES } : {}),
    ...(process.env.CACHE_MAX_MB ? { CACHE_MAX_MB: process.env.CACHE_MAX_MB } : {}),
    CACHE_KEY_PREFIX: `kinora:bench:${process.pid}`,
  });
  const logger = createLogger({ level: config.logLevel, name: 'bench' });
  // BENCH_NO_DB_CONTEXT=1, a diagnostic only: requests run without the read-your-writes context (no
  // AsyncLocalStorage, so Node 20 never turns on its async hooks), to measure what the context costs per request.
  // Reads then ignore Kinora-Lsn tokens: never a setting for a server that takes writes.
  if (process.env.BENCH_NO_DB_CONTEXT === '1') Database.prototype.runInContext = (fn) => fn();
  const database = new Database({ primaryUrl: config.databaseUrl, replicaUrls: config.databaseReplicaUrls, poolMax: config.databasePoolMax });
  const cache = new LayeredCache({ redis: config.redis, prefix: config.cache.keyPrefix, maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxBytes, logger });
  const app = await buildApp(config, {
    database,
    logger,
    store: new FsObjectStore(join(dir, 'media'), { fsync: false }),
    verifier: new TokenVerifier({ issuer: config.publicUrl, audience: 'kinora', fetchJwks: async () => ({ keys: [] }), cooldownMs: 0 }),
    channels: { channelOf: async () => null },
    cache,
    // BENCH_NO_EARLY=1: every request through the route (no early answers before routing), to measure what they buy.
    ...(process.env.BENCH_NO_EARLY === '1' ? { earlyReads: false } : {}),
  });
  app.addHook('onClose', async () => {
    await cache.close();
    await database.close();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await cache.ready();
  return { app, port: app.server.address().port, cache };
}

const server = mode === 'bare' ? await bare() : mode === 'base' ? await base() : mode === 'video' ? await video() : null;
if (!server) {
  process.stderr.write('usage: server.mjs bare|base|video\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on('SIGTERM', () => {
  server.app.close().finally(() => process.exit(0));
});
// Garbage collection pauses (ms) and their count, by kind, for the report's GC row.
const { PerformanceObserver, constants: perf } = await import('node:perf_hooks');
const gcKinds = { [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor', [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major', [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
const gc = { minor: { n: 0, ms: 0 }, major: { n: 0, ms: 0 }, incremental: { n: 0, ms: 0 }, weak: { n: 0, ms: 0 } };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const g = gc[gcKinds[e.detail?.kind] ?? 'major'];
    g.n++;
    g.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ stats: server.cache?.stats() ?? null, cpuUs: user + system, gc: structuredClone(gc) })}\n`);
});
// BENCH_PROFILE_FILE: SIGHUP starts a CPU profile of this server, SIGTERM writes it there (profiles of the
// measured phase only, without start-up and the warm-up sweep).
if (process.env.BENCH_PROFILE_FILE) {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  let started = false;
  // BENCH_PROFILE_KIND=heap: a sampling heap profile of what is still alive at the end instead (objects collected by
  // scavenges or full collections left out): what a request leaves behind for the garbage collector to copy.
  const heap = process.env.BENCH_PROFILE_KIND === 'heap';
  process.on('SIGHUP', () => {
    if (started) return;
    started = true;
    if (heap) void session.post('HeapProfiler.enable').then(() => session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: false, includeObjectsCollectedByMinorGC: false }));
    else void session.post('Profiler.enable').then(() => session.post('Profiler.start'));
  });
  process.removeAllListeners('SIGTERM');
  process.on('SIGTERM', async () => {
    if (started) {
      const { profile } = await session.post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
      await writeFile(process.env.BENCH_PROFILE_FILE.replace(/\.cpuprofile$/, heap ? '.heapprofile' : '.cpuprofile'), JSON.stringify(profile));
    }
    await server.app.close();
    process.exit(0);
  });
}
