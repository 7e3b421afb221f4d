import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitUntil, type ClusterHandle } from '@kinora/testing';
import { gatewayAnswers, percentile, processAnswers, recordFigures, register, request, round, startFaultCluster, upstreamFailures, type Account, type Answer } from './support.js';

// The PostgreSQL primary stopped under traffic, on the `npm run cluster` topology with its own primary + streaming
// replica: reads keep answering from the replica (>= 99% successes), writes are refused at once with 503 problems
// (>= 99% in < 100 ms at the gateways, none waiting on the dead primary), and both recover when the primary is
// back. Its own file: it needs libs/db to route reads to replicas and fail writes fast while the primary is down.

let cluster: ClusterHandle;
let owner: Account;
let fan: Account;
let videoId: string;

beforeAll(async () => {
  cluster = await startFaultCluster();
  owner = await register(cluster.url, `pg_${Date.now().toString(36)}`);
  const created = await request(cluster.url, '/api/v1/videos', { method: 'POST', headers: owner.headers, body: { title: 'Primary outage' } });
  // With its body: a refusal here says which part refused (the gateway's token check, the service, its channel lookup).
  expect({ status: created.status, body: created.status === 201 ? undefined : created.body }).toEqual({ status: 201, body: undefined });
  videoId = created.body.id;
  fan = await register(cluster.url, `pgfan_${Date.now().toString(36)}`);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

// Reads of the user and video services and writes of the video and subscription services;
// the first write (a new video) is the one the recovery check waits for.
const READ_ROUTES = ['GET /api/v1/channels/:id', 'GET /api/v1/videos/:id', 'GET /api/v1/users/me'] as const;
const reads = (): Array<Promise<Answer>> => [
  request(cluster.url, `/api/v1/channels/${owner.channelId}`),
  request(cluster.url, `/api/v1/videos/${videoId}`, { headers: owner.headers }),
  request(cluster.url, '/api/v1/users/me', { headers: owner.headers }),
];

const writes = (i: number): Array<Promise<Answer>> => [
  request(cluster.url, '/api/v1/videos', { method: 'POST', headers: owner.headers, body: { title: `during ${i}` } }),
  request(cluster.url, `/api/v1/videos/${videoId}`, { method: 'PATCH', headers: owner.headers, body: { title: `Primary outage ${i}` } }),
  request(cluster.url, `/api/v1/channels/${owner.channelId}/subscription`, { method: i % 2 === 0 ? 'PUT' : 'DELETE', headers: fan.headers }),
];

const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

// The video service's breaker used to open in some runs (84-96% read successes): the user service refused bearer
// tokens with 401 once its signing-key cache expired (the keys were read on the primary only), and the video
// service turned the failed channel lookup of POST /videos into a 503 without Retry-After, which the gateways
// counted against it (issue #19). The gateways now log every answer their breakers count, with its detail, and
// the scenario checks that they counted none during the outage (a breaker opening needs 5 in a row: rarer).
describe('PostgreSQL primary stopped', () => {
  it('reads keep >= 99% success from the replica, writes get 503 problems (>= 99% in < 100 ms, all in < 1 s), both recover', async () => {
    await waitUntil('reads and writes answer with the primary up', async () => (await Promise.all(reads())).every((a) => a.status === 200) && (await Promise.all(writes(0))).every((a) => a.status < 300), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const pg = cluster.infra.postgres;
    const failuresBefore = await upstreamFailures(cluster);
    await pg.stopPrimary('SIGKILL');
    const t0 = performance.now();

    // A short settling moment is allowed for pools to notice (the first failed connection attempt); after that the
    // figures are strict.
    const readAnswers: Answer[] = [];
    const writeAnswers: Answer[] = [];
    // Snapshots of the histograms (taken while no request is in flight): the gateways' within 100 ms and within 1 s,
    // the writing services' within 100 ms.
    const snapshot = async () => ({
      fast: await gatewayAnswers(cluster, 503, '0.1', WRITE_METHODS),
      bounded: await gatewayAnswers(cluster, 503, '1', WRITE_METHODS),
      services: await processAnswers(cluster, ['video', 'subscription'], 503, '0.1', WRITE_METHODS),
    });
    let start: Awaited<ReturnType<typeof snapshot>> | undefined;
    for (let i = 0; performance.now() - t0 < 15_000; i++) {
      readAnswers.push(...(await Promise.all(reads())));
      if (performance.now() - t0 > 3_000) {
        start ??= await snapshot();
        writeAnswers.push(...(await Promise.all(writes(i))));
      }
    }
    const end = await snapshot();
    const before = start!.fast;
    const after = end.fast;
    // What the gateways counted against a service during the outage (a 5xx without Retry-After, a timeout, an
    // unreachable service): nothing, or a breaker may open and refuse the reads the services still answer.
    const failuresAfter = await upstreamFailures(cluster);
    const counted = Object.fromEntries(
      Object.entries(failuresAfter)
        .map(([k, v]) => [k, v - (failuresBefore[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
    const readOk = readAnswers.filter((a) => a.status === 200).length / readAnswers.length;
    const statuses = (answers: Answer[]) => answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a.status]: (m[a.status] ?? 0) + 1 }), {});
    const outage = {
      reads: readAnswers.length,
      readSuccessPercent: round(readOk * 100, 2),
      readStatuses: statuses(readAnswers),
      // Which of the three read routes failed, and what the first failure of each said.
      readStatusesByRoute: Object.fromEntries(
        READ_ROUTES.map((route, i) => [route, statuses(readAnswers.filter((_, j) => j % READ_ROUTES.length === i))]),
      ),
      firstReadFailures: READ_ROUTES.flatMap((route, i) => {
        const failed = readAnswers.find((a, j) => j % READ_ROUTES.length === i && a.status !== 200);
        return failed ? [{ route, status: failed.status, detail: failed.body?.detail ?? failed.body }] : [];
      }),
      writes: writeAnswers.length,
      writeStatuses: statuses(writeAnswers),
      write503WithinGateway100Ms: `${after.within - before.within}/${after.total - before.total}`,
      write503WithinGateway1s: `${end.bounded.within - start!.bounded.within}/${end.bounded.total - start!.bounded.total}`,
      // The services' own clock: where the refusal is made (the gateways add forwarding and their own scheduling).
      write503WithinService100Ms: `${end.services.within - start!.services.within}/${end.services.total - start!.services.total}`,
      // Per write route, where one was slower than 100 ms at the gateway: which one to look at.
      write503WithinGateway100MsByRoute: Object.fromEntries(
        Object.entries(after.byRoute).map(([route, a]) => {
          const b = before.byRoute[route] ?? { total: 0, within: 0 };
          return [route, `${a.within - b.within}/${a.total - b.total}`];
        }),
      ),
      upstreamFailuresCounted: counted,
      writeP50Ms: round(percentile(writeAnswers.map((a) => a.ms), 50)),
      writeMaxMs: round(Math.max(...writeAnswers.map((a) => a.ms))),
    };
    // Written before the assertions: a failing run leaves its figures too.
    recordFigures('postgres-primary', outage);
    expect(readOk).toBeGreaterThanOrEqual(0.99);
    expect(counted).toEqual({});
    expect(writeAnswers.filter((a) => a.status !== 503).map((a) => ({ status: a.status, body: a.body }))).toEqual([]);
    expect(writeAnswers.every((a) => a.headers.get('content-type')?.startsWith('application/problem+json'))).toBe(true);
    // Refused writes answered by a gateway within 100 ms (its own request-duration histogram): at least 99% of them,
    // and every one within 1 s, so none waited on the dead primary (a connection attempt gives up after 10 s). Not
    // every one within 100 ms: under load averages of 11-45 on 2 cores a starved gateway process takes longer to
    // forward and relay a few while the service answered in milliseconds (docs/reliability.md, Known gaps). As the
    // test process sees it through the edge, the median within 100 ms too.
    expect(after.total - before.total).toBe(writeAnswers.length);
    expect(end.bounded.within - start!.bounded.within).toBe(writeAnswers.length);
    expect(after.within - before.within).toBeGreaterThanOrEqual(Math.ceil(writeAnswers.length * 0.99));
    const writeMs = writeAnswers.map((a) => a.ms);
    expect(percentile(writeMs, 50)).toBeLessThan(100);

    const r0 = performance.now();
    await pg.startPrimary();
    await waitUntil(
      'writes succeed again',
      async () => {
        const [c] = await Promise.all(writes(10_000));
        return c!.status === 201;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const writesBackMs = performance.now() - r0;
    for (const a of await Promise.all(reads())) expect(a.status).toBe(200);
    recordFigures('postgres-primary', { ...outage, writesBackAfterRestartSeconds: round(writesBackMs / 1000, 2) });
  }, 300_000);
});
