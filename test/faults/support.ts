// Shared pieces of the fault-injection suite (test/faults/*.test.ts): the cluster every file starts, the request
// helper, event production through the platform's EventBus, the counters as the database holds them, and the
// figures each scenario writes to .cache/test-artifacts/faults/<scenario>.json (docs/reliability.md quotes them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ANALYTICS_EVENT_TYPES, TOPICS } from '@kinora/contracts';
import { createEvent, createKafkaEventBus, toEventMessage, type KafkaEventBus } from '@kinora/events';
import { startCluster, type ClusterHandle, type ClusterOptions } from '@kinora/testing';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '../../.cache/test-artifacts/faults');

/**
 * Events of the consumer-kill scenario: `FAULTS_EVENTS` (`npm run test:faults` sets 1,000,000), else 100,000, the
 * figure that fits the budget of a whole `npm test`.
 */
export function faultEvents(): number {
  const raw = process.env['FAULTS_EVENTS'];
  if (raw === undefined || raw === '') return 100_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1_000) throw new Error(`FAULTS_EVENTS must be an integer of at least 1000 (got ${JSON.stringify(raw)})`);
  return n;
}

/** Prints a scenario's measured figures and writes them as JSON for docs/reliability.md. */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  const doc = { scenario, measuredAt: new Date().toISOString(), ...figures };
  writeFileSync(join(ARTIFACTS, `${scenario}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`[faults] ${scenario}: ${JSON.stringify(figures)}\n`);
}

/** What every fault cluster runs with: no rate limits unless a scenario sets them, fast flushes, short sessions. */
export const FAULT_ENV: Readonly<Record<string, string>> = {
  RATE_LIMIT_AUTH: 'off',
  RATE_LIMIT_GENERAL: 'off',
  RATE_LIMIT_UPLOAD: 'off',
  COUNTER_FLUSH_INTERVAL_MS: '500',
  // A SIGKILLed consumer's partitions move after 6 s (the broker's minimum) instead of 30 s.
  KAFKA_SESSION_TIMEOUT_MS: '6000',
};

export function startFaultCluster(options: ClusterOptions = {}): Promise<ClusterHandle> {
  return startCluster({
    logLevel: 'warn',
    readyTimeoutMs: 180_000,
    ...options,
    env: { ...FAULT_ENV, ...(options.env ?? {}) },
    edgeEnv: { EDGE_RATE_LIMIT: 'off', EDGE_MEDIA_RATE_LIMIT: 'off', EDGE_CONN_LIMIT: 'off', ...(options.edgeEnv ?? {}) },
  });
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
  ms: number;
}

/** One request; never throws on a network error (status 0), so a fault shows as an answer to count. */
export async function request(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body, headers: res.headers, ms: performance.now() - t0 };
  } catch (err) {
    return { status: 0, body: String(err), headers: new Headers(), ms: performance.now() - t0 };
  }
}

export interface Account {
  id: string;
  channelId: string;
  token: string;
  headers: Record<string, string>;
}

export async function register(base: string, name: string): Promise<Account> {
  const r = await request(base, '/api/v1/auth/register', { method: 'POST', body: { username: name, email: `${name}@example.com`, password: 'correct horse battery' } });
  if (r.status !== 201) throw new Error(`register ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.user.id, channelId: r.body.user.channelId, token: r.body.accessToken, headers: { authorization: `Bearer ${r.body.accessToken}` } };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A producer on the platform's EventBus (idempotent, acks=all), batching like a busy service. */
export function producerBus(cluster: ClusterHandle): KafkaEventBus {
  return createKafkaEventBus({ brokers: cluster.kafkaBrokers, clientId: 'kinora-faults', logger: silent, producer: { batchSize: 2_000, lingerMs: 2 } });
}

/** `n` view events (`VideoViewed.v1`, the analytics service's own type) for one video. */
export function viewEvents(videoId: string, n: number) {
  return Array.from({ length: n }, () =>
    toEventMessage(createEvent({ type: ANALYTICS_EVENT_TYPES.videoViewed, key: videoId, actor: { type: 'anonymous', id: null }, payload: { videoId, watchedSec: 1 } })),
  );
}

export const VIEWS_TOPIC = TOPICS.videoViews;

/** Views per video as the counters hold them (the sum of the shards), read on the primary. */
export async function countedViews(databaseUrl: string, videoIds: readonly string[]): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ video_id: string; views: string }>(
      'SELECT video_id, sum(views)::text AS views FROM analytics.video_counters WHERE video_id = ANY($1::uuid[]) GROUP BY video_id',
      [videoIds],
    );
    const out = new Map(videoIds.map((id) => [id, 0]));
    for (const r of rows) out.set(r.video_id, Number(r.views));
    return out;
  } finally {
    await client.end();
  }
}

export const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * Whether the counter group has counted the whole topic: the offsets it committed WITH the counters (analytics'
 * `consumer_offsets`, group `analytics.counters`) are the log ends of every partition.
 */
export async function counterGroupCaughtUp(databaseUrl: string, bus: KafkaEventBus, topic = VIEWS_TOPIC): Promise<boolean> {
  const ends = await bus.topicOffsets(topic);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ partition: number; next_offset: string | null }>(
      "SELECT partition, next_offset::text FROM analytics.consumer_offsets WHERE group_id = 'analytics.counters' AND topic = $1",
      [topic],
    );
    const at = new Map(rows.map((r) => [r.partition, r.next_offset === null ? 0 : Number(r.next_offset)]));
    return ends.every((e) => Number(e.high) === 0 || at.get(e.partition) === Number(e.high));
  } finally {
    await client.end();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

export interface Answered {
  total: number;
  within: number;
  byRoute: Record<string, { total: number; within: number }>;
}

/**
 * Requests the gateways answered with `status` (optionally of some `methods`), and how many of them within `le`
 * seconds, from their `http_request_duration_seconds` histograms (`le` must be one of its bucket bounds). This is
 * the gateways' own clock: on a loaded 2-core machine the test process's view adds its own scheduling delays.
 */
export function gatewayAnswers(cluster: ClusterHandle, status: number, le: string, methods?: readonly string[]): Promise<Answered> {
  return processAnswers(cluster, ['gateway-1', 'gateway-2'], status, le, methods);
}

/** The same figures from the histograms of any of the cluster's processes (`names` as `cluster.processes` keys them). */
export async function processAnswers(
  cluster: ClusterHandle,
  names: readonly string[],
  status: number,
  le: string,
  methods?: readonly string[],
): Promise<Answered> {
  let total = 0;
  let within = 0;
  const byRoute: Record<string, { total: number; within: number }> = {};
  for (const g of names) {
    const text = await (await fetch(`${cluster.processes.get(g)!.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.includes(`status_code="${status}"`)) continue;
      const method = /method="([^"]*)"/.exec(line)?.[1] ?? '';
      if (methods && !methods.includes(method)) continue;
      const key = `${method} ${/route="([^"]*)"/.exec(line)?.[1] ?? '?'}`;
      const r = (byRoute[key] ??= { total: 0, within: 0 });
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('http_request_duration_seconds_count{')) {
        total += value;
        r.total += value;
      } else if (line.startsWith('http_request_duration_seconds_bucket{') && line.includes(`le="${le}"`)) {
        within += value;
        r.within += value;
      }
    }
  }
  return { total, within, byRoute };
}

/** `gateway_upstream_failures_total` of both gateways, by `upstream reason`: what their breakers counted. */
export async function upstreamFailures(cluster: ClusterHandle): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of ['gateway-1', 'gateway-2']) {
    const text = await (await fetch(`${cluster.processes.get(g)!.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('gateway_upstream_failures_total{')) continue;
      const key = `${/upstream="([^"]*)"/.exec(line)?.[1] ?? '?'} ${/reason="([^"]*)"/.exec(line)?.[1] ?? '?'}`;
      out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return out;
}
