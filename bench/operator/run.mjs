#!/usr/bin/env node
// `npm run bench:operator`: how fast the operator reconciles a burst of TranscodeJobs. 500 (BENCH_OBJECTS)
// TranscodeJobs are created against a real kube-apiserver (the harness's), and the clock stops when every one has
// been reconciled: status written (phase Planning, observedGeneration 1) and its plan Job created by server-side
// apply. Baseline in the same run, on the same API server and client: create + get of as many ConfigMaps (the
// bare cost of two API calls per object). Prints both, the ratio, and the operator's own reconcile metrics.
//
// Knobs: BENCH_OBJECTS (500), BENCH_CONCURRENCY (16 creates in flight), BENCH_WORKERS (4 reconcile workers).
// Needs the harness's Kubernetes binaries (built into .cache/k8s on first use).
import { performance } from 'node:perf_hooks';
import { startKubernetes } from '@kinora/testing';
import { KubeClient, Operator } from '@kinora/kinora-operator';
import { fileURLToPath } from 'node:url';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const crdDir = fileURLToPath(new URL('../../charts/kinora-operator/crds', import.meta.url));

async function pool(n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** The TranscodeJob controller never publishes in this run (nothing gets past Planning); a bus that says so if it did. */
const noBus = {
  ensureTopics: async () => {},
  publish: async () => { throw new Error('bench: unexpected publish'); },
  subscribe: async () => { throw new Error('bench: unexpected subscribe'); },
  close: async () => {},
};

const k8s = await startKubernetes();
let operator;
const client = await KubeClient.load(k8s.kubeconfig);
try {
  await k8s.applyCrds(crdDir);
  for (const ns of ['bench-baseline', 'bench-operator']) await client.create({ apiVersion: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

  // Baseline: create + get of N ConfigMaps.
  let t = performance.now();
  await pool(OBJECTS, async (i) => {
    const ref = { apiVersion: 'v1', plural: 'configmaps', namespace: 'bench-baseline' };
    await client.create(ref, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i) } });
    await client.get({ ...ref, name: `cm-${i}` });
  });
  const baselineMs = performance.now() - t;

  operator = new Operator({
    client,
    namespace: 'bench-operator',
    bus: noBus,
    controllers: ['TranscodeJob'],
    leaderElection: false,
    workers: WORKERS,
    jobTemplate: { image: 'kinora/transcoder:bench', command: ['node', 'apps/transcoder/dist/transcode-job.js'], env: [] },
  });
  await operator.start();

  t = performance.now();
  await pool(OBJECTS, async (i) => {
    await client.create({ apiVersion: 'kinora.io/v1alpha1', plural: 'transcodejobs', namespace: 'bench-operator' }, {
      apiVersion: 'kinora.io/v1alpha1',
      kind: 'TranscodeJob',
      metadata: { name: `tj-${i}` },
      spec: { videoId: `video-${i}`, source: { key: `uploads/video-${i}`, height: 1080 }, outputPrefix: `media/video-${i}/` },
    });
  });
  const createdMs = performance.now() - t;
  let reconciled = 0;
  let jobs = 0;
  for (;;) {
    const list = await client.list({ apiVersion: 'kinora.io/v1alpha1', plural: 'transcodejobs', namespace: 'bench-operator' });
    reconciled = list.items.filter((x) => x.status?.phase === 'Planning' && x.status.observedGeneration === 1).length;
    if (reconciled === OBJECTS) {
      jobs = (await client.list({ apiVersion: 'batch/v1', plural: 'jobs', namespace: 'bench-operator' })).items.length;
      if (jobs === OBJECTS) break;
    }
    if (performance.now() - t > 600_000) throw new Error(`bench: only ${reconciled}/${OBJECTS} reconciled after 10 min`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const operatorMs = performance.now() - t;
  const metrics = await operator.metrics.registry.getMetricsAsJSON();
  const total = metrics.find((m) => m.name === 'kinora_operator_reconcile_total')?.values.reduce((s, v) => s + v.value, 0) ?? 0;
  const durations = metrics.find((m) => m.name === 'kinora_operator_reconcile_duration_seconds')?.values ?? [];
  const sum = durations.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const count = durations.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;

  console.log(`operator bench: ${OBJECTS} objects, ${CONCURRENCY} creates in flight, ${WORKERS} workers`);
  console.log(`  baseline  create+get ${OBJECTS} ConfigMaps:            ${(baselineMs / 1000).toFixed(2)} s (${(OBJECTS / (baselineMs / 1000)).toFixed(0)} objects/s)`);
  console.log(`  operator  create ${OBJECTS} TranscodeJobs:             ${(createdMs / 1000).toFixed(2)} s`);
  console.log(`  operator  ... until all reconciled (status + plan Job): ${(operatorMs / 1000).toFixed(2)} s (${(OBJECTS / (operatorMs / 1000)).toFixed(0)} objects/s)`);
  console.log(`  ratio operator/baseline: ${(operatorMs / baselineMs).toFixed(2)}x`);
  console.log(`  reconcile passes: ${total} (${(total / OBJECTS).toFixed(2)} per object), mean pass ${count ? ((sum / count) * 1000).toFixed(1) : '?'} ms`);
} finally {
  await operator?.stop();
  client.close();
  await k8s.stop();
}
