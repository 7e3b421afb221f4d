// Every metric the chart's alert rules (charts/kinora/files/prometheus-rules.yaml) and Grafana dashboards
// (charts/kinora/files/dashboards/*.json) query is one the platform really exports: the all-in-one app runs
// in-process with every service (as in embedded-chain.test.ts), serves a request of each route class, and its
// `/metrics` is scraped. A rule naming a metric nobody exports would never fire; a panel would stay empty.
// The PromQL reader (`metricNames`) and its unit tests live in libs/testing (promql.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, dashboardQueries, exportedNames, metricNames, type TestDatabase } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

const rulesFile = fileURLToPath(new URL('../../../../charts/kinora/files/prometheus-rules.yaml', import.meta.url));
const dashboardsDir = fileURLToPath(new URL('../../../../charts/kinora/files/dashboards/', import.meta.url));

describe('the alert rules and dashboards query only exported metrics', () => {
  let tdb: TestDatabase;
  let database: Database;
  let app: FastifyInstance;
  let scraped = '';

  beforeAll(async () => {
    tdb = await createTestDatabase('kinora_alert_metrics');
    database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl] });
    const config = loadConfig({ PUBLIC_URL: 'http://kinora.test' });
    app = await buildKinora(config, { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 } });
    await app.ready();
    // One request per route class the rules tell apart: API (ok and an error answer), uploads, media.
    for (const url of ['/api/v1/videos', '/api/v1/users/me', '/api/v1/uploads/none', '/media/none/master.m3u8']) {
      await app.inject({ method: 'GET', url });
    }
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    scraped = res.body;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await database?.close();
    await tdb?.drop();
  });

  const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);

  it('reads the rule file', () => {
    expect(rules.length).toBeGreaterThanOrEqual(9);
  });

  it('the request histogram has samples for each route class', () => {
    expect(scraped).toMatch(/^http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/videos"/m);
    expect(scraped).toMatch(/^http_request_duration_seconds_count\{[^}]*status_code="\d+"/m);
    expect(scraped).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/media\//m);
  });

  it('a name the services do not export is caught (a postgres_exporter metric, a pool metric nobody defines)', () => {
    const exported = exportedNames(scraped);
    expect(exported.has('gateway_circuit_breaker_state')).toBe(true);
    expect(scraped).toMatch(/^gateway_circuit_breaker_state\{upstream="[a-z]+"\} 0$/m);
    const invented = metricNames('max(pg_stat_replication_replay_lag) > 5 or sum(kinora_db_pool_exhausted_total) > 0');
    expect(invented.filter((n) => !exported.has(n))).toEqual(['kinora_db_pool_exhausted_total', 'pg_stat_replication_replay_lag']);
  });

  it('the database metrics the rules read have samples: both pools and the replica', () => {
    const replica = `127.0.0.1:${new URL(tdb.replicaUrl).port}`;
    for (const pool of ['primary', 'replica']) {
      expect(scraped).toMatch(new RegExp(`^kinora_db_pool_connections\\{pool="${pool}",state="busy"\\} \\d+$`, 'm'));
      expect(scraped).toMatch(new RegExp(`^kinora_db_pool_max_connections\\{pool="${pool}"\\} 10$`, 'm'));
      expect(scraped).toMatch(new RegExp(`^kinora_db_pool_waiting_requests\\{pool="${pool}"\\} 0$`, 'm'));
    }
    expect(scraped).toMatch(new RegExp(`^kinora_db_replica_lag_seconds\\{replica="${replica}"\\} [0-9.e+-]+$`, 'm'));
    expect(scraped).toMatch(new RegExp(`^kinora_db_replica_lag_bytes\\{replica="${replica}"\\} \\d+$`, 'm'));
    // Registered once although every service module of the process shares the registry.
    expect(scraped.match(/^# TYPE kinora_db_pool_connections gauge$/gm)).toHaveLength(1);
  });

  it.each(rules.map((r) => [r.alert, r.expr] as const))('%s names only metrics /metrics exports', (_alert, expr) => {
    const names = metricNames(expr);
    expect(names.length).toBeGreaterThan(0);
    const exported = exportedNames(scraped);
    expect(names.filter((n) => !exported.has(n))).toEqual([]);
  });

  const dashboards = readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(dashboardsDir + f, 'utf8')) as Parameters<typeof dashboardQueries>[0]);

  it('reads the dashboards', () => {
    expect(dashboards.length).toBeGreaterThanOrEqual(8);
  });

  it.each(dashboards.map((d) => [d.title!, d] as const))('dashboard %s: every panel and variable query names only metrics /metrics exports', (_title, dashboard) => {
    const exported = exportedNames(scraped);
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(0);
    const unknown = queries.flatMap((q) => {
      const names = metricNames(q.expr);
      // A query that names no metric at all (a constant, a typo swallowed by the reader) is as wrong as a missing one.
      if (names.length === 0) return [`${q.where}: no metric in ${q.expr}`];
      return names.filter((n) => !exported.has(n)).map((n) => `${q.where}: ${n}`);
    });
    expect(unknown).toEqual([]);
  });
});
