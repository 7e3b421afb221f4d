// CounterShardSet and RegionReplica against a real control plane (kube-apiserver + kube-controller-manager with
// the Strimzi CRDs), real Kafka for consumer lag and the real streaming Postgres replica for replica lag. The local
// pod runner marks the Deployments' Pods Running and Ready (there is no kubelet), so readiness flows through the
// real ReplicaSet and Deployment controllers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { getTestEnv } from '@kinora/testing';
import { createInProcessEventBus } from '@kinora/events';
import pg from 'pg';
import { Operator } from '../../src/operator.js';
import { LocalPodRunner } from '../../src/dev/local-pod-runner.js';
import type { CounterShardSet } from '../../src/api/v1alpha1/countershardset.types.js';
import type { RegionReplica } from '../../src/api/v1alpha1/regionreplica.types.js';
import { createNamespace, eventually, startTestCluster, type TestCluster } from './cluster.js';

const NS = 'platform';
let cluster: TestCluster;
let operator: Operator;
let runner: LocalPodRunner;
let pool: pg.Pool;
let kafka: Kafka;
let brokers: string[];

const CSS = { apiVersion: 'kinora.io/v1alpha1', plural: 'countershardsets', namespace: NS };
const RR = { apiVersion: 'kinora.io/v1alpha1', plural: 'regionreplicas', namespace: NS };
const DEP = { apiVersion: 'apps/v1', plural: 'deployments', namespace: NS };

type Deployment = { metadata: { name: string; uid: string; ownerReferences?: { kind: string; controller?: boolean }[] }; spec: { replicas: number; template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } }; status?: { readyReplicas?: number } };

beforeAll(async () => {
  const env = getTestEnv();
  brokers = env.kafkaBrokers;
  kafka = new Kafka({ clientId: 'operator-test', brokers, logLevel: logLevel.NOTHING });
  pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });
  cluster = await startTestCluster({ strimzi: true });
  await createNamespace(cluster.client, NS);
  operator = new Operator({
    client: cluster.client,
    namespace: NS,
    // Not used by these two kinds; the TranscodeJob controller is off.
    bus: createInProcessEventBus({ pool }),
    controllers: ['CounterShardSet', 'RegionReplica'],
    leaderElection: false,
    jobTemplate: { image: 'unused', command: ['true'], env: [] },
    defaultBrokers: brokers,
    lagIntervalMs: 500,
    probeIntervalMs: 1000,
  });
  await operator.start();
  runner = new LocalPodRunner({ client: cluster.client, namespace: NS, markReadySelector: 'app.kubernetes.io/managed-by=kinora-operator' });
  await runner.start();
}, 600_000);

afterAll(async () => {
  await runner?.stop();
  await operator?.stop();
  await pool?.end();
  await cluster?.stop();
}, 60_000);

const envOf = (d: Deployment) => new Map(d.spec.template.spec.containers[0]!.env.map((e) => [e.name, e]));

const cssTopic = `counters-${randomUUID().slice(0, 8)}`;

describe('CounterShardSet', () => {
  const topic = cssTopic;
  const group = `aggregators-${randomUUID().slice(0, 8)}`;

  it('reconciles the aggregator Deployment and the KafkaTopic, and scales on consumer lag within the partitions', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `v${i}`, value: 'x' })) });
    await producer.disconnect();

    await cluster.client.create(CSS, {
      apiVersion: 'kinora.io/v1alpha1',
      kind: 'CounterShardSet',
      metadata: { name: 'counters', namespace: NS },
      spec: {
        aggregator: { image: 'kinora/kinora:test', replicas: 2, maxReplicas: 10 },
        topic: { name: topic, cluster: 'kinora-kafka', partitions: 3 },
        lag: { source: 'kafka', group, targetPerReplica: 5 },
      },
    });
    // 40 messages of lag ask for 8 aggregators; 3 partitions allow 3.
    const capped = await eventually('3 aggregators, partition-bound', async () => {
      const css = await cluster.client.get<CounterShardSet>({ ...CSS, name: 'counters' });
      return css.status?.replicas === 3 && css.status.consumerLag === 40 ? css : undefined;
    });
    expect(capped.spec.shards).toBe(100); // CRD default
    expect(capped.status!.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'PartitionBound' });
    const dep = await cluster.client.get<Deployment>({ ...DEP, name: 'counters-aggregator' });
    expect(dep.spec.replicas).toBe(3);
    expect(dep.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CounterShardSet', controller: true })]);
    expect(envOf(dep).get('COUNTER_SHARDS')).toEqual({ name: 'COUNTER_SHARDS', value: '100' });
    const kt = await cluster.client.get<{ metadata: { labels: Record<string, string> }; spec: { topicName: string; partitions: number } }>({ apiVersion: 'kafka.strimzi.io/v1', plural: 'kafkatopics', namespace: NS, name: `counters-${topic}` });
    expect(kt.spec).toMatchObject({ topicName: topic, partitions: 3 });
    expect(kt.metadata.labels['strimzi.io/cluster']).toBe('kinora-kafka');
    // Ready once the pods are (the local runner marks them Ready).
    await eventually('Ready', async () => {
      const css = await cluster.client.get<CounterShardSet>({ ...CSS, name: 'counters' });
      return css.status?.readyReplicas === 3 && css.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    });

    // More partitions: the topic grows first, then the aggregators follow the lag (8).
    await cluster.client.mergePatch({ ...CSS, name: 'counters' }, { spec: { topic: { partitions: 12 } } });
    await eventually('8 aggregators on 12 partitions', async () => {
      const css = await cluster.client.get<CounterShardSet>({ ...CSS, name: 'counters' });
      return css.status?.replicas === 8 && css.status.partitions === 12 && css.status.observedGeneration === css.metadata.generation;
    });
    expect((await cluster.client.get<Deployment>({ ...DEP, name: 'counters-aggregator' })).spec.replicas).toBe(8);

    // The group catches up: back to the floor.
    await admin.setOffsets({ groupId: group, topic, partitions: (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })) });
    await admin.disconnect();
    await eventually('back to 2 aggregators', async () => {
      const css = await cluster.client.get<CounterShardSet>({ ...CSS, name: 'counters' });
      return css.status?.replicas === 2 && css.status.consumerLag === 0;
    });
    // Partitions never shrink even if the spec asks for fewer.
    await cluster.client.mergePatch({ ...CSS, name: 'counters' }, { spec: { topic: { partitions: 4 } } });
    await eventually('partitions stay 12', async () => {
      const css = await cluster.client.get<CounterShardSet>({ ...CSS, name: 'counters' });
      return css.status?.observedGeneration === css.metadata.generation && css.status?.partitions === 12;
    });
  }, 90_000);

  it('recreates a deleted aggregator Deployment', async () => {
    const before = await cluster.client.get<Deployment>({ ...DEP, name: 'counters-aggregator' });
    await cluster.client.delete({ ...DEP, name: 'counters-aggregator' });
    const after = await eventually('a new Deployment', async () => {
      const d = await cluster.client.find<Deployment>({ ...DEP, name: 'counters-aggregator' });
      return d && d.metadata.uid !== before.metadata.uid ? d : undefined;
    });
    expect(after.spec.replicas).toBe(2);
  }, 60_000);

  it('reports an unreadable lag as Degraded and keeps the floor', async () => {
    await cluster.client.create(CSS, {
      apiVersion: 'kinora.io/v1alpha1',
      kind: 'CounterShardSet',
      metadata: { name: 'nolag', namespace: NS },
      spec: { aggregator: { image: 'kinora/kinora:test', replicas: 1 }, topic: { name: 'x.topic', cluster: 'kinora-kafka' }, lag: { source: 'kafka' } },
    });
    const css = await eventually('Degraded LagUnavailable', async () => {
      const c = await cluster.client.get<CounterShardSet>({ ...CSS, name: 'nolag' });
      return c.status?.conditions?.find((x) => x.type === 'Degraded' && x.reason === 'LagUnavailable') ? c : undefined;
    });
    expect(css.status!.conditions!.find((c) => c.type === 'Degraded')!.message).toMatch(/spec.lag.group is required/);
    expect(css.status!.replicas).toBe(1);
  }, 60_000);

});

describe('RegionReplica', () => {
  const secret = (name: string, data: Record<string, string>) =>
    cluster.client.create({ apiVersion: 'v1', plural: 'secrets', namespace: NS }, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, stringData: data });
  const region = (name: string, replicaSecret: string) => ({
    apiVersion: 'kinora.io/v1alpha1',
    kind: 'RegionReplica',
    metadata: { name, namespace: NS },
    spec: {
      region: 'eu-west',
      image: 'kinora/kinora:test',
      gateway: { replicas: 1 },
      readServices: { names: ['video', 'comment'], replicas: 1 },
      realtime: { replicas: 1 },
      database: { replicaUrlSecret: { name: replicaSecret, key: 'url' } },
      redis: { urlSecret: { name: 'eu-redis', key: 'url' } },
      ingress: { host: 'eu.kinora.test', className: 'nginx' },
    },
  });

  it('creates the region\'s Deployments, Services and Ingress bound to its replica, and reports readiness and replica lag', async () => {
    const env = getTestEnv();
    await secret('eu-db', { url: env.databaseReplicaUrl });
    await secret('eu-redis', { url: env.redisUrl });
    await cluster.client.create(RR, region('eu', 'eu-db'));
    const rr = await eventually('eu Ready', async () => {
      const r = await cluster.client.get<RegionReplica>({ ...RR, name: 'eu' });
      return r.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? r : undefined;
    }, 45_000);
    expect(rr.status).toMatchObject({ region: 'eu-west', ready: '4/4', url: 'http://eu.kinora.test', observedGeneration: 1 });
    expect(rr.status!.components!.map((c) => c.name)).toEqual(['gateway', 'video', 'comment', 'realtime']);
    expect(typeof rr.status!.replicaLagSeconds).toBe('number');
    expect(rr.status!.replicaLagSeconds!).toBeGreaterThanOrEqual(0);
    const gw = await cluster.client.get<Deployment>({ ...DEP, name: 'eu-gateway' });
    const env1 = envOf(gw);
    expect(env1.get('REGION')!.value).toBe('eu-west');
    expect(env1.get('DATABASE_REPLICA_URLS')!.valueFrom).toEqual({ secretKeyRef: { name: 'eu-db', key: 'url' } });
    expect(env1.get('REDIS_URL')!.valueFrom).toEqual({ secretKeyRef: { name: 'eu-redis', key: 'url' } });
    expect(env1.get('VIDEO_SERVICE_URL')!.value).toBe('http://eu-video:8080');
    const svc = await cluster.client.get<{ spec: { selector: Record<string, string> } }>({ apiVersion: 'v1', plural: 'services', namespace: NS, name: 'eu-realtime' });
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'kinora-realtime', 'app.kubernetes.io/instance': 'eu' });
    const ing = await cluster.client.get<{ spec: { ingressClassName: string; rules: { host: string; http: { paths: { path: string; backend: { service: { name: string } } }[] } }[] } }>({ apiVersion: 'networking.k8s.io/v1', plural: 'ingresses', namespace: NS, name: 'eu' });
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.rules[0]!.host).toBe('eu.kinora.test');
    expect(ing.spec.rules[0]!.http.paths.map((p) => `${p.path}->${p.backend.service.name}`)).toEqual(['/socket.io->eu-realtime', '/->eu-gateway']);
    const table = await cluster.k8s.kubectl(['get', 'regionreplicas', '-n', NS]);
    expect(table.stdout).toMatch(/eu\s+eu-west\s+eu\.kinora\.test\s+4\/4\s+/);
  }, 60_000);

  it('follows spec updates and recreates a deleted Deployment', async () => {
    await cluster.client.mergePatch({ ...RR, name: 'eu' }, { spec: { gateway: { replicas: 3 } } });
    await eventually('gateway scaled to 3', async () => (await cluster.client.get<Deployment>({ ...DEP, name: 'eu-gateway' })).spec.replicas === 3);
    await eventually('observedGeneration 2', async () => (await cluster.client.get<RegionReplica>({ ...RR, name: 'eu' })).status?.observedGeneration === 2);
    const before = await cluster.client.get<Deployment>({ ...DEP, name: 'eu-video' });
    await cluster.client.delete({ ...DEP, name: 'eu-video' });
    await eventually('eu-video recreated', async () => {
      const d = await cluster.client.find<Deployment>({ ...DEP, name: 'eu-video' });
      return d !== undefined && d.metadata.uid !== before.metadata.uid;
    });
  }, 60_000);

  it('is Degraded and not Ready when the replica cannot be probed', async () => {
    await cluster.client.create(RR, region('ap', 'missing-secret'));
    const rr = await eventually('ap Degraded', async () => {
      const r = await cluster.client.get<RegionReplica>({ ...RR, name: 'ap' });
      return r.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True') ? r : undefined;
    });
    expect(rr.status!.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ reason: 'LagProbeFailed', message: expect.stringMatching(/Secret missing-secret not found/) });
    expect(rr.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');
    expect(rr.status!.replicaLagSeconds).toBeUndefined();
  }, 60_000);

  it('deleting a RegionReplica garbage-collects its children', async () => {
    await cluster.client.delete({ ...RR, name: 'ap' });
    await eventually('ap children gone', async () => {
      const list = await cluster.client.list(DEP, { labelSelector: 'kinora.io/regionreplica=ap' });
      const ing = await cluster.client.find({ apiVersion: 'networking.k8s.io/v1', plural: 'ingresses', namespace: NS, name: 'ap' });
      return list.items.length === 0 && ing === undefined;
    }, 30_000);
  }, 60_000);
});

describe('garbage collection', () => {
  it('deleting the CounterShardSet garbage-collects its Deployment and KafkaTopic', async () => {
    await cluster.client.delete({ ...CSS, name: 'counters' });
    // The garbage collector learns of resource types added after it started (these CRDs, applied by this file) on its
    // next discovery pass, every 30 s, which is why this test runs last; in a real cluster they exist long before.
    await eventually('Deployment collected', async () => (await cluster.client.find({ ...DEP, name: 'counters-aggregator' })) === undefined, 70_000);
    await eventually('KafkaTopic collected', async () => (await cluster.client.find({ apiVersion: 'kafka.strimzi.io/v1', plural: 'kafkatopics', namespace: NS, name: `counters-${cssTopic}` })) === undefined, 70_000);
  }, 110_000);
});
