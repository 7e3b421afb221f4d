#!/usr/bin/env node
// `npm run cluster`: the platform as it runs in Kubernetes, on this machine: every service its own process (two
// gateways, two realtime instances, two analytics consumers in one group) on real Kafka, Redis and a PostgreSQL
// primary + streaming replica, with the nginx edge in front. Builds what changed, prints the URL, and stops
// everything cleanly on Ctrl-C (SIGINT) or SIGTERM. Data lives in a temp folder and is gone after the stop.
// Environment: PORT (the edge, default 8080), PUBLIC_URL (default http://localhost:$PORT), LOG_LEVEL; any other
// variable of the README's table (RATE_LIMIT_*, COUNTER_FLUSH_INTERVAL_MS, …) is passed to every service.
// KINORA_KEEP_LOGS: keep the processes' logs after the stop (or a failed start) in that folder; `1` picks a new
// one under the temp folder. Unset, they go with the data.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { buildWeb } from './build-web.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('build failed: see the TypeScript errors above');
  process.exit(build.status ?? 1);
}

if (buildWeb().status !== 0) {
  console.error('the web app did not build: see the errors above');
  process.exit(1);
}
// The edge serves the web app from disk, as the CDN tier does in the cluster. Its workers (nobody) read the files,
// so they get a copy in a folder anyone can enter (a checkout under /root cannot be).
const webRoot = mkdtempSync(join(tmpdir(), 'kinora-cluster-web-'));
chmodSync(webRoot, 0o755);
cpSync(join(root, 'apps/web/dist'), webRoot, { recursive: true });
process.on('exit', () => rmSync(webRoot, { recursive: true, force: true }));

const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`Invalid configuration: PORT must be an integer between 1 and 65535 (got ${JSON.stringify(process.env.PORT)})`);
  process.exit(1);
}
// Variables of the platform that the caller set are handed to every service (except what the cluster decides).
const decided = new Set(['PORT', 'HOST', 'DATABASE_URL', 'DATABASE_REPLICA_URLS', 'REDIS_URL', 'KAFKA_BROKERS', 'STORAGE_URL', 'KINORA_DATA_DIR', 'PUBLIC_URL']);
const passed = Object.fromEntries(
  Object.entries(process.env).filter(([k, v]) => v !== undefined && !decided.has(k) && /^(RATE_LIMIT_|COUNTER_|UPSTREAM_|BREAKER_|TRANSCODE_|ACCESS_TOKEN_|REFRESH_TOKEN_|ANALYTICS_RETENTION|KAFKA_SESSION_TIMEOUT_MS|CORS_ORIGINS|OTEL_)/.test(k)),
);

const keepLogsSetting = process.env.KINORA_KEEP_LOGS?.trim();
const keepLogsIn = !keepLogsSetting || keepLogsSetting === '0' || keepLogsSetting === 'false'
  ? undefined
  : keepLogsSetting === '1' || keepLogsSetting === 'true'
    ? join(tmpdir(), `kinora-cluster-logs-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    : resolve(keepLogsSetting);

const { startCluster, spawnInOwnProcessGroups } = await import(pathToFileURL(join(root, 'libs/testing/dist/index.js')).href);
// Ctrl-C in a terminal signals the whole foreground process group: Kafka, Redis and PostgreSQL would stop at the same
// moment as the services draining on them. In groups of their own they get only the ordered stop below.
spawnInOwnProcessGroups();
const log = (msg) => console.log(`[cluster] ${msg}`);
let cluster;
let stopping = false;
const stop = async (code) => {
  if (stopping) return;
  stopping = true;
  log('stopping (edge, gateways, services, then kafka, redis, postgres)…');
  await cluster?.stop().catch((err) => console.error(err));
  log(keepLogsIn ? `stopped; the logs are kept in ${keepLogsIn}` : 'stopped');
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// A closed terminal: its processes in other groups would not hear of it.
process.on('SIGHUP', () => void stop(0));
try {
  cluster = await startCluster({
    port,
    publicUrl: process.env.PUBLIC_URL ?? `http://localhost:${port}`,
    logLevel: process.env.LOG_LEVEL ?? 'info',
    env: passed,
    edgeEnv: { EDGE_WEB_ROOT: webRoot },
    onProgress: log,
    ...(keepLogsIn ? { keepLogsIn } : {}),
  });
} catch (err) {
  console.error(`[cluster] start-up failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
if (stopping) await new Promise(() => {});
log(`processes: ${[...cluster.processes.values()].map((p) => `${p.name} :${p.port}`).join(', ')}`);
log(`logs: ${join(cluster.runDir, 'logs')}${keepLogsIn ? ` (kept in ${keepLogsIn} after the stop)` : ' (removed at the stop; KINORA_KEEP_LOGS=1 keeps them)'}`);
log(`Kinora (cluster mode) is ready at ${process.env.PUBLIC_URL ?? `http://localhost:${port}`} — Ctrl-C stops everything`);
