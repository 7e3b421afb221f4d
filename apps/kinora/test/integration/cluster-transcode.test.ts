// Issue #16, cluster mode end to end: the transcoder with TRANSCODE_RUNNER=kubernetes consumes a real
// VideoUploaded.v1 event for a real clip in a file:// store and creates a TranscodeJob (as its own ServiceAccount,
// through a kubeconfig holding that account's token); the Kinora operator (in process) runs it as batch/v1 Jobs that
// the local pod runner executes as processes of the BUILT transcoder Job entry; the operator publishes
// video.transcoded once. Failure paths on the way: API server unreachable, then 403 (no RoleBinding yet): the event
// is delivered again, not lost. A second delivery of the same upload creates no second TranscodeJob.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@kinora/config';
import { EVENT_TYPES, TOPICS, type TranscodeSucceededV1, type VideoUploadedV1 } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createInProcessEventBus, eventsMigrationsDir, toEventMessage, type EventEnvelope, type InProcessEventBus, type Subscription } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { createStore, type ObjectStore } from '@kinora/storage';
import { createTestDatabase, ensureFfmpeg, getFreePort, startKubernetes, waitUntil, type KubernetesHandle, type TestDatabase } from '@kinora/testing';
import { KubeClient, LocalPodRunner, Operator } from '@kinora/kinora-operator';
import { createTranscoderModule, KubernetesApiError, kubernetesRunner, TranscodeJobRepository, type ClusterRunner, type TranscoderModule } from '@kinora/transcoder';

const run = promisify(execFile);
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');
const NS = 'kinora-media';
const SA = 'kinora-transcoder';
const logger = createLogger({ level: 'silent' });
const TJ = { group: 'kinora.io', version: 'v1alpha1', plural: 'transcodejobs' };

interface TjObject {
  metadata: { name: string; uid: string };
  spec: { videoId: string; source: { key: string; sizeBytes?: number }; outputPrefix: string; maxAttempts: number; chunking?: { chunkSeconds: number } };
  status?: { phase?: string; lastFailure?: string; eventPublished?: boolean; result?: { hlsKey?: string; dashKey?: string; renditions?: Array<{ height: number }> } };
}

describe('cluster mode: transcoder → TranscodeJob → operator Jobs → video.transcoded', () => {
  let k8s: KubernetesHandle;
  let admin: KubeClient;
  let db: TestDatabase;
  let database: Database;
  let bus: InProcessEventBus;
  let store: ObjectStore;
  let dir: string;
  let operator: Operator;
  let runner: LocalPodRunner;
  const modules: TranscoderModule[] = [];
  const repos: TranscodeJobRepository[] = [];
  let observer: Subscription;
  const transcoded: EventEnvelope<TranscodeSucceededV1>[] = [];
  const errors: unknown[] = [];
  const outcomes: string[] = [];

  /** The transcoder module as a standalone one builds it from its configuration, its runner recorded. */
  function transcoder(kubeconfig: string): TranscoderModule {
    const config = loadConfig({
      TRANSCODE_RUNNER: 'kubernetes',
      TRANSCODE_NAMESPACE: NS,
      KUBECONFIG: kubeconfig,
      TRANSCODE_CHUNK_SEC: '4',
      TRANSCODE_MAX_ATTEMPTS: '1',
      KINORA_DATA_DIR: join(dir, 'data'),
    });
    const repo = TranscodeJobRepository.load({ kubeconfig: config.kubeconfig, namespace: config.transcodeNamespace, timeoutMs: 3_000 });
    repos.push(repo);
    const inner = kubernetesRunner(repo, config);
    const cluster: ClusterRunner = {
      namespace: inner.namespace,
      submit: async (upload) => {
        try {
          const r = await inner.submit(upload);
          outcomes.push(r.outcome);
          return r;
        } catch (err) {
          errors.push(err);
          throw err;
        }
      },
    };
    const mod = createTranscoderModule({ config, database, logger, bus, store, cluster });
    modules.push(mod);
    return mod;
  }

  async function kubeconfigFor(token: string, server: string): Promise<string> {
    const adminConfig = readFileSync(k8s.kubeconfig, 'utf8');
    const ca = /certificate-authority-data:\s*(\S+)/.exec(adminConfig)?.[1];
    const file = join(dir, `kubeconfig-${randomUUID().slice(0, 6)}`);
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: c`,
        `  cluster: {server: "${server}"${ca ? `, certificate-authority-data: "${ca}"` : ', insecure-skip-tls-verify: true'}}`,
        'users:',
        `- name: u`,
        `  user: {token: "${token}"}`,
        'contexts:',
        '- name: x',
        '  context: {cluster: c, user: u}',
        'current-context: x',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return file;
  }

  const listTjs = async (): Promise<TjObject[]> =>
    (await admin.request<{ items: TjObject[] }>('GET', `/apis/${TJ.group}/${TJ.version}/namespaces/${NS}/${TJ.plural}`)).items;

  function uploadEvent(upload: VideoUploadedV1) {
    return toEventMessage(createEvent({ type: EVENT_TYPES.videoUploaded, key: upload.videoId, actor: { type: 'user', id: randomUUID() }, payload: upload }));
  }

  beforeAll(async () => {
    // The Job steps run the built entry (the pod runner starts `node apps/transcoder/dist/transcode-job.js`).
    const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'apps/transcoder')], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
    await ensureFfmpeg();
    dir = mkdtempSync(join(tmpdir(), 'kinora-cluster-transcode-'));
    const [kube, testDb] = await Promise.all([startKubernetes({ controllerManager: true }), createTestDatabase('cluster_transcode')]);
    k8s = kube;
    db = testDb;
    await k8s.applyCrds(join(root, 'charts', 'kinora-operator', 'crds'));
    admin = await KubeClient.load(k8s.kubeconfig);
    await admin.create({ apiVersion: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await waitUntil('the default ServiceAccount', async () => (await admin.find({ apiVersion: 'v1', plural: 'serviceaccounts', namespace: NS, name: 'default' })) !== undefined, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    await admin.create({ apiVersion: 'v1', plural: 'serviceaccounts', namespace: NS }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } });

    database = new Database({ primaryUrl: db.url, poolMax: 8 });
    await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
    bus = createInProcessEventBus({ pool: database.primary, logger, heartbeatIntervalMs: 300, pollIntervalMs: 100, retryBackoff: { initialMs: 200, maxMs: 500 } });
    await bus.ensureTopics([
      { name: TOPICS.videoLifecycle, partitions: 1 },
      { name: `${TOPICS.videoLifecycle}.dlq`, partitions: 1 },
      { name: TOPICS.videoTranscoded, partitions: 1 },
    ]);
    observer = await bus.subscribe<EventEnvelope<TranscodeSucceededV1>>({
      group: 'test-observer',
      topics: [TOPICS.videoTranscoded],
      handler: async (batch) => void transcoded.push(...batch.messages.map((m) => m.value)),
    });
    mkdirSync(join(dir, 'store'), { recursive: true });
    store = createStore(`file://${join(dir, 'store')}`);

    operator = new Operator({
      client: admin,
      namespace: NS,
      bus,
      controllers: ['TranscodeJob'],
      leaderElection: false,
      jobTemplate: {
        image: 'kinora/kinora:test',
        command: ['node', 'apps/transcoder/dist/transcode-job.js'],
        env: [
          { name: 'STORAGE_URL', value: `file://${join(dir, 'store')}` },
          { name: 'KINORA_DATA_DIR', value: join(dir, 'data') },
          { name: 'LOG_LEVEL', value: 'warn' },
        ],
      },
    });
    await operator.start();
    runner = new LocalPodRunner({ client: admin, namespace: NS, cwd: root });
    await runner.start();
  }, 300_000);

  afterAll(async () => {
    for (const m of modules) await m.stop().catch(() => undefined);
    for (const r of repos) r.close();
    await observer?.close();
    await runner?.stop();
    await operator?.stop();
    await bus?.close();
    await store?.close();
    await database?.close();
    await db?.drop();
    admin?.close();
    await k8s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('retries the upload while the API server is unreachable or forbids, then creates one TranscodeJob that the operator runs to video.transcoded exactly once', async () => {
    const videoId = randomUUID();
    const upload: VideoUploadedV1 = { videoId, sourceKey: `uploads/${videoId}/source.mp4`, sizeBytes: 0, outputPrefix: `media/${videoId}/` };
    // 6 s, 426x240, keyframe every second, a tone: a 144p + 240p ladder in two 4 s chunks.
    const clip = join(dir, 'clip.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30:duration=6', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-shortest', clip]);
    const bytes = readFileSync(clip);
    upload.sizeBytes = bytes.length;
    await store.put(upload.sourceKey, bytes);

    // 1. Unreachable API server (a port nobody listens on): the batch fails and is delivered again.
    const deadPort = await getFreePort();
    const token = (
      await admin.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${NS}/serviceaccounts/${SA}/token`, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
      })
    ).status.token;
    const unreachable = transcoder(await kubeconfigFor(token, `https://127.0.0.1:${deadPort}`));
    await unreachable.start();
    const event = uploadEvent(upload);
    await bus.publish(TOPICS.videoLifecycle, [event]);
    await waitUntil('two failed attempts on the dead server', async () => errors.length >= 2, { timeoutMs: 20_000, intervalMs: 50 });
    expect(errors.every((e) => e instanceof KubernetesApiError && e.status === 0 && e.reason === 'Unreachable')).toBe(true);
    await unreachable.stop();
    expect(await listTjs()).toEqual([]);

    // 2. The real server, as the transcoder's ServiceAccount without a RoleBinding: 403, delivered again.
    errors.length = 0;
    const mod = transcoder(await kubeconfigFor(token, k8s.server));
    await mod.start();
    await waitUntil('a 403 from the API server', async () => errors.length >= 2, { timeoutMs: 20_000, intervalMs: 50 });
    expect(errors.every((e) => e instanceof KubernetesApiError && e.status === 403)).toBe(true);
    expect(await listTjs()).toEqual([]);

    // 3. The Role and RoleBinding the chart renders (create/get transcodejobs): the retried event gets through.
    await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'roles', namespace: NS }, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'kinora-transcoder', namespace: NS },
      rules: [{ apiGroups: ['kinora.io'], resources: ['transcodejobs'], verbs: ['create', 'get'] }],
    });
    await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespace: NS }, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kinora-transcoder', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kinora-transcoder' },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
    });
    await waitUntil('the TranscodeJob', async () => (await listTjs()).length === 1, { timeoutMs: 30_000, intervalMs: 100 });
    const [tj] = await listTjs();
    expect(tj!.metadata.name).toBe(`tj-${videoId}`);
    expect(tj!.spec).toMatchObject({ videoId, source: { key: upload.sourceKey, sizeBytes: bytes.length }, outputPrefix: upload.outputPrefix, maxAttempts: 1, chunking: { chunkSeconds: 4 } });

    // 4. The operator's Jobs transcode it; it publishes TranscodeSucceeded.v1 (the transcoder does not).
    const t0 = Date.now();
    await waitUntil(
      'the TranscodeJob to succeed',
      async () => {
        const s = (await listTjs())[0]!.status;
        if (s?.phase === 'Failed') throw new Error(`transcode failed: ${s.lastFailure}`);
        return s?.phase === 'Succeeded' && s.eventPublished === true;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    process.stderr.write(`transcoded through the operator in ${Date.now() - t0} ms\n`);
    await waitUntil('video.transcoded', async () => transcoded.some((e) => e.payload.videoId === videoId), { timeoutMs: 10_000, intervalMs: 50 });
    const done = (await listTjs())[0]!;
    const result = done.status!.result!;
    expect(existsSync(join(dir, 'store', result.hlsKey!))).toBe(true);
    expect(existsSync(join(dir, 'store', result.dashKey!))).toBe(true);
    expect(result.renditions!.map((r) => r.height).sort((a, b) => a - b)).toEqual([144, 240]);
    expect(readFileSync(join(dir, 'store', result.hlsKey!), 'utf8')).toMatch(/#EXT-X-STREAM-INF/);

    // 5. The same upload event again: AlreadyExists, no second TranscodeJob, no second outcome event.
    const created = outcomes.filter((o) => o === 'created').length;
    await bus.publish(TOPICS.videoLifecycle, [event]);
    await waitUntil('the repeated event handled', async () => outcomes.includes('exists'), { timeoutMs: 20_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(outcomes.filter((o) => o === 'created').length).toBe(created);
    expect(created).toBe(1);
    expect((await listTjs()).map((t) => t.metadata.uid)).toEqual([done.metadata.uid]);
    const mine = transcoded.filter((e) => e.payload.videoId === videoId);
    expect(mine.map((e) => e.type)).toEqual([EVENT_TYPES.transcodeSucceeded]);
  }, 240_000);
});
