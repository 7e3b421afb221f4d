// TranscodeJob against a real control plane: the operator creates the plan, chunk and join Jobs, the real Job
// controller (kube-controller-manager) tracks them, and the local pod runner (src/dev/local-pod-runner.ts) plays
// the kubelet, running each Pod's command — here the fake step of test/fixtures — as a local process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, getTestEnv, type TestDatabase } from '@kinora/testing';
import { createInProcessEventBus, eventsMigrationsDir, type ConsumedMessage, type EventBus, type EventEnvelope, type Subscription } from '@kinora/events';
import { runMigrations } from '@kinora/db';
import { TOPICS } from '@kinora/contracts';
import { Operator } from '../../src/operator.js';
import { LocalPodRunner } from '../../src/dev/local-pod-runner.js';
import type { TranscodeJob } from '../../src/api/v1alpha1/transcodejob.types.js';
import { LABEL_OWNER_UID } from '../../src/reconcile/transcodejob.jobs.js';
import { createNamespace, eventually, operatorDir, repoDir, startTestCluster, type TestCluster } from './cluster.js';

const NS = 'transcode';
let cluster: TestCluster;
let operator: Operator;
let runner: LocalPodRunner;
let db: TestDatabase;
let pool: pg.Pool;
let bus: EventBus;
let subscription: Subscription;
const events: ConsumedMessage<EventEnvelope<Record<string, unknown>>>[] = [];

const TJ = { apiVersion: 'kinora.io/v1alpha1', plural: 'transcodejobs', namespace: NS };

beforeAll(async () => {
  getTestEnv();
  db = await createTestDatabase('operator');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await runMigrations(pool, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool, pollIntervalMs: 100 });
  subscription = await bus.subscribe<EventEnvelope<Record<string, unknown>>>({
    group: 'operator-test',
    topics: [TOPICS.videoTranscoded],
    fromBeginning: true,
    handler: async (batch) => void events.push(...batch.messages),
  });
  cluster = await startTestCluster();
  await createNamespace(cluster.client, NS);
  operator = new Operator({
    client: cluster.client,
    namespace: NS,
    bus,
    controllers: ['TranscodeJob'],
    leaderElection: false,
    // The default command's shape (`sh -c 'exec node <entry> "$@" > $TERMINATION_MESSAGE_PATH'`), on the fake entry.
    jobTemplate: {
      image: 'kinora/transcoder:test',
      command: ['sh', '-c', `exec node ${join(operatorDir, 'test/fixtures/fake-transcode-step.mjs')} "$@" > "$TERMINATION_MESSAGE_PATH"`, 'transcode-job'],
      env: [{ name: 'FAKE_CHUNKS', value: '3' }],
    },
  });
  await operator.start();
  runner = new LocalPodRunner({ client: cluster.client, namespace: NS, cwd: repoDir });
  await runner.start();
}, 600_000);

afterAll(async () => {
  await runner?.stop();
  await operator?.stop();
  await subscription?.close();
  await bus?.close();
  await pool?.end();
  await db?.drop();
  await cluster?.stop();
}, 60_000);

function transcodeJob(name: string, videoId: string, extra: Partial<TranscodeJob['spec']> = {}) {
  return {
    apiVersion: 'kinora.io/v1alpha1',
    kind: 'TranscodeJob',
    metadata: { name, namespace: NS },
    spec: { videoId, source: { key: `uploads/${videoId}`, height: 720 }, outputPrefix: `media/${videoId}/`, chunking: { chunkSeconds: 10, maxParallel: 2 }, ...extra },
  };
}

const getTj = (name: string) => cluster.client.get<TranscodeJob>({ ...TJ, name });
const jobsOf = async (uid: string) =>
  (await cluster.client.list<{ metadata: { name: string; labels: Record<string, string>; ownerReferences?: { uid: string; controller?: boolean }[] }; spec: { template: { spec: { containers: { resources: unknown; args: string[] }[] } } } }>({ apiVersion: 'batch/v1', plural: 'jobs', namespace: NS }, { labelSelector: `${LABEL_OWNER_UID}=${uid}` })).items;
const eventsFor = (videoId: string) => events.filter((e) => e.key === videoId);

describe('TranscodeJob', () => {
  it('runs plan, parallel chunks and join as Jobs, reports progress and publishes video.transcoded', async () => {
    await cluster.client.create(TJ, transcodeJob('ok-1', 'ok-1'));
    const done = await eventually('ok-1 Succeeded', async () => {
      const tj = await getTj('ok-1');
      return tj.status?.phase === 'Succeeded' && tj.status.eventPublished ? tj : undefined;
    }, 60_000);
    // Defaults from the CRD schema.
    expect(done.spec).toMatchObject({ maxAttempts: 3, backoffSeconds: 10, ttlSecondsAfterFinished: 600, stepTimeoutSeconds: 7200 });
    expect(done.status).toMatchObject({ phase: 'Succeeded', progress: 100, attempts: 1, chunks: { total: 3, succeeded: 3, done: [0, 1, 2] }, audioDone: true, observedGeneration: 1 });
    expect(done.status!.result).toMatchObject({ hlsKey: 'media/ok-1/master.m3u8' });
    expect(done.status!.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'Progressing=False', 'Degraded=False']);
    const jobs = await jobsOf(done.metadata.uid!);
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual(['ok-1-a1-audio', 'ok-1-a1-chunk-0', 'ok-1-a1-chunk-1', 'ok-1-a1-chunk-2', 'ok-1-a1-join', 'ok-1-a1-plan']);
    for (const j of jobs) expect(j.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: done.metadata.uid, controller: true })]);
    const chunk = jobs.find((j) => j.metadata.name === 'ok-1-a1-chunk-1')!;
    expect(chunk.spec.template.spec.containers[0]!.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } });
    expect(chunk.spec.template.spec.containers[0]!.args.slice(-9)).toEqual(['chunk', '--video', 'ok-1', '--source', 'uploads/ok-1', '--work', `work/ok-1/${done.metadata.uid}/a1/`, '--index', '1']);
    const published = await eventually('the TranscodeSucceeded event', async () => (eventsFor('ok-1').length > 0 ? eventsFor('ok-1') : undefined));
    expect(published).toHaveLength(1);
    expect(published[0]!.value).toMatchObject({ type: 'TranscodeSucceeded.v1', key: 'ok-1', actor: { type: 'service', id: 'kinora-operator' }, payload: { videoId: 'ok-1', hlsKey: 'media/ok-1/master.m3u8', height: 720 } });
    // kubectl get shows the printer columns.
    const table = await cluster.k8s.kubectl(['get', 'transcodejobs', '-n', NS, 'ok-1']);
    expect(table.stdout).toMatch(/^NAME\s+VIDEO\s+PHASE\s+PROGRESS\s+ATTEMPTS\s+AGE/);
    expect(table.stdout).toMatch(/ok-1\s+ok-1\s+Succeeded\s+100\s+1\s+/);
  }, 90_000);

  it('retries a failed attempt with backoff and succeeds on the next one', async () => {
    await cluster.client.create(TJ, transcodeJob('retry-1', 'fail-once-1', { backoffSeconds: 1 }));
    const seenRetrying = await eventually('retry-1 Retrying', async () => {
      const tj = await getTj('retry-1');
      return tj.status?.phase === 'Retrying' || (tj.status?.attempts ?? 0) >= 2 ? tj : undefined;
    }, 60_000);
    expect(seenRetrying.status!.lastFailure).toMatch(/chunk 0 of attempt 1 failed \(exit 1\): .*simulated encoder crash/s);
    const done = await eventually('retry-1 Succeeded', async () => {
      const tj = await getTj('retry-1');
      return tj.status?.phase === 'Succeeded' ? tj : undefined;
    }, 60_000);
    expect(done.status!.attempts).toBe(2);
    const names = (await jobsOf(done.metadata.uid!)).map((j) => j.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['retry-1-a1-plan', 'retry-1-a2-plan', 'retry-1-a2-join']));
  }, 90_000);

  it('marks a TranscodeJob Failed after maxAttempts and publishes TranscodeFailed', async () => {
    await cluster.client.create(TJ, transcodeJob('fail-1', 'fail-always-1', { maxAttempts: 2, backoffSeconds: 1 }));
    const failed = await eventually('fail-1 Failed', async () => {
      const tj = await getTj('fail-1');
      return tj.status?.phase === 'Failed' && tj.status.eventPublished ? tj : undefined;
    }, 60_000);
    expect(failed.status!.attempts).toBe(2);
    expect(failed.status!.lastFailure).toMatch(/chunk 1 of attempt 2 failed \(exit 1\): .*simulated encoder crash on chunk 1, attempt 2/s);
    expect(failed.status!.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'AttemptsExhausted' });
    const published = await eventually('the TranscodeFailed event', async () => (eventsFor('fail-always-1').length > 0 ? eventsFor('fail-always-1') : undefined));
    expect(published[0]!.value).toMatchObject({ type: 'TranscodeFailed.v1', payload: { videoId: 'fail-always-1', attempts: 2 } });
    // What `kubectl describe` shows.
    // (recorded right after the status write that the wait above saw)
    const evs = await eventually('the TranscodeFailed Event', async () => {
      const list = (await cluster.client.list<{ reason: string; type: string; message: string; involvedObject: { name: string } }>({ apiVersion: 'v1', plural: 'events', namespace: NS })).items.filter((e) => e.involvedObject.name === 'fail-1');
      return list.some((e) => e.reason === 'TranscodeFailed') ? list : undefined;
    }, 10_000);
    expect(evs.map((e) => e.reason)).toEqual(expect.arrayContaining(['AttemptStarted', 'Planned', 'AttemptFailed', 'TranscodeFailed']));
    expect(evs.find((e) => e.reason === 'TranscodeFailed')).toMatchObject({ type: 'Warning', message: expect.stringMatching(/chunk 1 of attempt 2 failed/) });
    // No third attempt.
    expect((await jobsOf(failed.metadata.uid!)).some((j) => j.metadata.labels['kinora.io/attempt'] === '3')).toBe(false);
  }, 90_000);

  it('fails at once, without retries, when the step exits with a permanent code (not a usable video)', async () => {
    await cluster.client.create(TJ, transcodeJob('invalid-1', 'invalid-1', { maxAttempts: 3, backoffSeconds: 1 }));
    const failed = await eventually('invalid-1 Failed', async () => {
      const tj = await getTj('invalid-1');
      return tj.status?.phase === 'Failed' && tj.status.eventPublished ? tj : undefined;
    }, 60_000);
    expect(failed.status!.attempts).toBe(1);
    expect(failed.status!.lastFailure).toMatch(/plan step of attempt 1 failed \(exit 3, not retried\): .*the source has no video stream/s);
    const published = await eventually('the TranscodeFailed event', async () => (eventsFor('invalid-1').length > 0 ? eventsFor('invalid-1') : undefined));
    expect(published[0]!.value).toMatchObject({ type: 'TranscodeFailed.v1', payload: { videoId: 'invalid-1', attempts: 1 } });
  }, 90_000);

  it('fails a step that runs past stepTimeoutSeconds (the Job controller\'s deadline), and with it the attempt', async () => {
    await cluster.client.create(TJ, transcodeJob('slow-1', 'slow-1', { maxAttempts: 1, stepTimeoutSeconds: 10 }));
    const failed = await eventually('slow-1 Failed', async () => {
      const tj = await getTj('slow-1');
      return tj.status?.phase === 'Failed' ? tj : undefined;
    }, 40_000);
    expect(failed.status!.lastFailure).toMatch(/plan step of attempt 1 failed.*DeadlineExceeded/s);
  }, 60_000);

  it('fails an attempt whose plan step reports no chunk count', async () => {
    await cluster.client.create(TJ, transcodeJob('noplan-1', 'no-plan-1', { maxAttempts: 1 }));
    const failed = await eventually('noplan-1 Failed', async () => {
      const tj = await getTj('noplan-1');
      return tj.status?.phase === 'Failed' ? tj : undefined;
    }, 60_000);
    expect(failed.status!.lastFailure).toMatch(/plan step reported no chunk count/);
  }, 90_000);

  it('cleans finished Jobs after their TTL without running the steps again', async () => {
    await cluster.client.create(TJ, transcodeJob('ttl-1', 'ok-ttl', { ttlSecondsAfterFinished: 1 }));
    const done = await eventually('ttl-1 Succeeded', async () => {
      const tj = await getTj('ttl-1');
      return tj.status?.phase === 'Succeeded' ? tj : undefined;
    }, 60_000);
    await eventually('the Jobs of ttl-1 removed by the TTL controller', async () => (await jobsOf(done.metadata.uid!)).length === 0, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await jobsOf(done.metadata.uid!)).toEqual([]);
    expect((await getTj('ttl-1')).status).toMatchObject({ phase: 'Succeeded', attempts: 1 });
  }, 90_000);

  it('follows spec updates (observedGeneration) and garbage-collects its Jobs on delete', async () => {
    await cluster.client.create(TJ, transcodeJob('upd-1', 'ok-upd'));
    const done = await eventually('upd-1 Succeeded', async () => {
      const tj = await getTj('upd-1');
      return tj.status?.phase === 'Succeeded' ? tj : undefined;
    }, 60_000);
    await cluster.client.mergePatch({ ...TJ, name: 'upd-1' }, { spec: { maxAttempts: 5 } });
    await eventually('observedGeneration 2', async () => (await getTj('upd-1')).status?.observedGeneration === 2);
    expect((await jobsOf(done.metadata.uid!)).length).toBe(6);
    await cluster.client.delete({ ...TJ, name: 'upd-1' });
    await eventually('Jobs of upd-1 collected', async () => (await jobsOf(done.metadata.uid!)).length === 0, 30_000);
  }, 90_000);
});
