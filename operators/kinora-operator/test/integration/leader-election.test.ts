// Two operator instances against one control plane: one Lease, one leader; the other takes over when the leader
// stops (gracefully: it hands the lease back) and when a holder vanishes without a word (the lease expires).
// Also the health and metrics endpoints of a running instance.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, getFreePort, getTestEnv } from '@kinora/testing';
import { createInProcessEventBus } from '@kinora/events';
import { Operator } from '../../src/operator.js';
import type { CounterShardSet } from '../../src/api/v1alpha1/countershardset.types.js';
import { createNamespace, eventually, operatorDir, repoDir, startTestCluster, type TestCluster } from './cluster.js';

const NS = 'election';
let cluster: TestCluster;
let pool: pg.Pool;
const instances: Operator[] = [];

const LEASE = { apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespace: NS };
const CSS = { apiVersion: 'kinora.io/v1alpha1', plural: 'countershardsets', namespace: NS };
const DEP = { apiVersion: 'apps/v1', plural: 'deployments', namespace: NS };

function instance(identity: string, lease = 'kinora-operator', port?: number): Operator {
  const op = new Operator({
    client: cluster.client,
    namespace: NS,
    bus: createInProcessEventBus({ pool }),
    controllers: ['CounterShardSet'],
    leaderElection: { namespace: NS, name: lease, identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 },
    jobTemplate: { image: 'unused', command: ['true'], env: [] },
    ...(port !== undefined ? { port, host: '127.0.0.1' } : {}),
  });
  instances.push(op);
  return op;
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: getTestEnv().databaseUrl, max: 1 });
  cluster = await startTestCluster({ strimzi: true });
  await createNamespace(cluster.client, NS);
}, 600_000);

afterAll(async () => {
  for (const op of instances) await op.stop();
  await pool?.end();
  await cluster?.stop();
}, 60_000);

const holder = async (name = 'kinora-operator') => (await cluster.client.find<{ spec: { holderIdentity?: string; leaseTransitions?: number } }>({ ...LEASE, name }))?.spec;
const css = (name: string, replicas: number) => ({
  apiVersion: 'kinora.io/v1alpha1',
  kind: 'CounterShardSet',
  metadata: { name, namespace: NS },
  spec: { aggregator: { image: 'kinora/kinora:test', replicas }, topic: { name: `${name}.topic`, cluster: 'kinora-kafka', partitions: 6 } },
});

describe('leader election', () => {
  it('two instances elect one leader; the other takes over when it stops', async () => {
    const a = instance('op-a', 'kinora-operator', 0);
    const b = instance('op-b');
    await a.start();
    await eventually('op-a leads', async () => a.isLeader && (await holder())?.holderIdentity === 'op-a');
    await b.start();
    await a.whenRunning();
    // b stays a standby for as long as a renews.
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.isLeader).toBe(false);
    expect((await holder())!.holderIdentity).toBe('op-a');

    // Health and metrics of the leader.
    const base = `http://127.0.0.1:${a.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await cluster.client.create(CSS, css('one', 2));
    await eventually('Deployment of one', async () => (await cluster.client.find({ ...DEP, name: 'one-aggregator' })) !== undefined);
    await eventually('reconciles counted', async () => /kinora_operator_reconcile_total\{kind="CounterShardSet",result="success"\} [1-9]/.test(await (await fetch(`${base}/metrics`)).text()));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/kinora_operator_leader 1/);
    expect(metrics).toMatch(/kinora_operator_reconcile_duration_seconds_count\{kind="CounterShardSet"\} [1-9]/);
    expect(metrics).toMatch(/kinora_operator_workqueue_depth/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    const t0 = Date.now();
    await a.stop();
    expect(a.isLeader).toBe(false);
    await eventually('op-b leads', async () => b.isLeader && (await holder())?.holderIdentity === 'op-b', 10_000);
    // Released, not expired: the takeover is faster than the lease duration.
    expect(Date.now() - t0).toBeLessThan(3000);
    await b.whenRunning();
    // The new leader reconciles: a change made now reaches the Deployment.
    await cluster.client.mergePatch({ ...CSS, name: 'one' }, { spec: { aggregator: { replicas: 4 } } });
    await eventually('replicas 4 by op-b', async () => (await cluster.client.get<{ spec: { replicas: number } }>({ ...DEP, name: 'one-aggregator' })).spec.replicas === 4);
    await eventually('status of generation 2 by op-b', async () => (await cluster.client.get<CounterShardSet>({ ...CSS, name: 'one' })).status?.observedGeneration === 2);
    await b.stop();
  }, 60_000);

  it('waits out a lease whose holder vanished, then takes it', async () => {
    const renew = new Date().toISOString().replace('Z', '000Z');
    await cluster.client.create(LEASE, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'ghosted', namespace: NS },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 2, renewTime: renew, acquireTime: renew, leaseTransitions: 0 },
    });
    const c = instance('op-c', 'ghosted');
    const t0 = Date.now();
    await c.start();
    await new Promise((r) => setTimeout(r, 800));
    expect(c.isLeader).toBe(false);
    await eventually('op-c takes the expired lease', async () => c.isLeader, 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    const spec = await holder('ghosted');
    expect(spec).toMatchObject({ holderIdentity: 'op-c', leaseTransitions: 1 });
    await c.stop();
  }, 30_000);

  it('a leader whose lease was taken steps down: stops its controllers and reports the loss', async () => {
    let lost = 0;
    const d = new Operator({
      client: cluster.client,
      namespace: NS,
      bus: createInProcessEventBus({ pool }),
      controllers: ['CounterShardSet'],
      leaderElection: { namespace: NS, name: 'stolen', identity: 'op-d', leaseDurationMs: 3000, renewDeadlineMs: 1000, retryPeriodMs: 200 },
      jobTemplate: { image: 'unused', command: ['true'], env: [] },
      onLostLeadership: () => void lost++,
    });
    instances.push(d);
    await d.start();
    await d.whenRunning();
    // Someone else writes itself into the lease (as a split-brain or a manual takeover would).
    const lease = await cluster.client.get<{ metadata: Record<string, unknown>; spec: Record<string, unknown> }>({ ...LEASE, name: 'stolen' });
    await cluster.client.replace({ ...LEASE, name: 'stolen' }, { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: new Date().toISOString().replace('Z', '000Z'), leaseDurationSeconds: 60 } });
    await eventually('op-d steps down', async () => !d.isLeader && lost === 1, 10_000);
    // Its controllers are stopped: a new CounterShardSet gets no Deployment.
    await cluster.client.create(CSS, css('orphan', 1));
    await new Promise((r) => setTimeout(r, 1000));
    expect(await cluster.client.find({ ...DEP, name: 'orphan-aggregator' })).toBeUndefined();
    expect((await holder('stolen'))!.holderIdentity).toBe('intruder');
    await d.stop();
  }, 30_000);

  it('the operator process leads, serves /readyz, and on SIGTERM drains, hands the lease back and exits 0', async () => {
    const db = await createTestDatabase('operator_main');
    const port = await getFreePort();
    const child = spawn(process.execPath, [join(operatorDir, 'dist', 'main.js')], {
      cwd: repoDir,
      env: {
        PATH: process.env['PATH'],
        KUBECONFIG: cluster.k8s.kubeconfig,
        POD_NAME: 'op-main',
        POD_NAMESPACE: NS,
        LEADER_ELECTION_LEASE: 'main-lease',
        WATCH_NAMESPACE: NS,
        OPERATOR_PORT: String(port),
        OPERATOR_HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually('the process leads', async () => (await holder('main-lease'))?.holderIdentity?.startsWith('op-main-') === true, 20_000);
      await eventually('/readyz 200', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 10_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect((await holder('main-lease'))?.holderIdentity ?? null).toBeNull();
      expect(output).toMatch(/"msg":"released the leader lease"/);
      expect(output).toMatch(/"msg":"stopped"/);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n--- operator output ---\n${output}`);
    } finally {
      await db.drop();
    }
  }, 60_000);

  it('the operator process refuses an invalid configuration with one line naming the variable', async () => {
    const child = spawn(process.execPath, [join(operatorDir, 'dist', 'main.js')], { env: { PATH: process.env['PATH'], LEADER_ELECTION: 'sometimes' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err.trim()).toBe('Invalid configuration: LEADER_ELECTION must be true or false (got "sometimes")');
  }, 30_000);
});
