// The operator chart: lint, render, strict values schema, README table, the generated RBAC and CRDs as shipped,
// and a server-side dry run of everything (CRDs first) on the harness's real kube-apiserver.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureHelm, startKubernetes, vendoredCrdsDir } from '@kinora/testing';
import { chartsDir, parseManifests, run, runOk, type Manifest } from './helm.js';

const chartDir = join(chartsDir, 'kinora-operator');
const single = ['-f', join(chartDir, 'ci', 'single-values.yaml')];
let helm: string;

const render = (extra: string[] = [], ns = 'kinora') => runOk(helm, ['template', 'kinora-operator', chartDir, '--namespace', ns, ...extra]);

beforeAll(async () => {
  helm = process.env['KINORA_HELM'] ?? (await ensureHelm());
  await runOk(helm, ['dependency', 'build', chartDir]);
}, 600_000);

describe('kinora-operator chart', () => {
  test('passes helm lint --strict with the defaults and the single-instance profile', async () => {
    for (const extra of [[], single]) {
      const r = await run(helm, ['lint', '--strict', chartDir, ...extra]);
      expect(r.code === 0 ? '' : r.stdout + r.stderr).toBe('');
    }
  });

  test('renders the operator with its ServiceAccount, generated ClusterRole and binding', async () => {
    const objects = parseManifests(await render());
    expect(objects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service', 'ServiceAccount']);
    const role = objects.find((o) => o.kind === 'ClusterRole') as Manifest & { rules: unknown };
    expect(role.rules).toEqual(parse(readFileSync(join(chartDir, 'files', 'clusterrole-rules.yaml'), 'utf8')));
    const dep = objects.find((o) => o.kind === 'Deployment')!;
    expect(dep.spec.replicas).toBe(2);
    const c = dep.spec.template.spec.containers[0];
    const env = new Map<string, { value?: string }>(c.env.map((e: { name: string }) => [e.name, e]));
    expect(env.get('LEADER_ELECTION')!.value).toBe('true');
    expect(env.get('OPERATOR_CONTROLLERS')!.value).toBe('TranscodeJob,CounterShardSet,RegionReplica');
    expect(JSON.parse(env.get('TRANSCODE_COMMAND')!.value!)).toEqual(['node', 'apps/transcoder/dist/transcode-job.js']);
    expect(env.get('TRANSCODE_PERMANENT_EXIT_CODES')!.value).toBe('2,3');
    expect(env.get('KAFKA_BROKERS')!.value).toBe('kinora-kafka-bootstrap.kinora.svc:9092');
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(Object.keys(dep.spec.selector.matchLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
    const sa = objects.find((o) => o.kind === 'ServiceAccount')!;
    expect(dep.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
  });

  test('the single profile adds the ServiceMonitor and the dashboard, and runs one namespace without election', async () => {
    const objects = parseManifests(await render(single));
    expect(objects.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(1);
    const dash = objects.find((o) => o.kind === 'ConfigMap')!;
    expect(dash.metadata.labels!['grafana_dashboard']).toBe('1');
    const board = JSON.parse(dash.data!['kinora-operator.json']!) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };
    expect(board.panels[0]).toMatchObject({ type: 'row', title: 'Kinora operator' });
    const exprs = board.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
    for (const m of ['kinora_operator_reconcile_total', 'kinora_operator_reconcile_errors_total', 'kinora_operator_workqueue_depth', 'kinora_operator_reconcile_duration_seconds_bucket']) expect(exprs).toContain(m);
    const env = new Map<string, unknown>(objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].env.map((e: { name: string }) => [e.name, e]));
    expect(env.get('WATCH_NAMESPACE')).toEqual({ name: 'WATCH_NAMESPACE', value: 'kinora' });
    expect(env.get('LEADER_ELECTION')).toEqual({ name: 'LEADER_ELECTION', value: 'false' });
    expect(env.get('DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'kinora-operator-db', key: 'url' } } });
    expect(env.has('KAFKA_BROKERS')).toBe(false);
  });

  test('refuses unknown keys, bad values and unsafe combinations', async () => {
    const typo = await run(helm, ['template', 'x', chartDir, '--set', 'replicas=2']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/replicas/);
    expect((await run(helm, ['template', 'x', chartDir, '--set', 'controllers={Nope}'])).code).not.toBe(0);
    const twoLeaders = await run(helm, ['template', 'x', chartDir, '--set', 'leaderElection.enabled=false']);
    expect(twoLeaders.code).not.toBe(0);
    expect(twoLeaders.stderr).toMatch(/replicaCount > 1 needs leaderElection.enabled/);
    const noBus = await run(helm, ['template', 'x', chartDir, '--set', 'kafkaBrokers=null']);
    expect(noBus.code).not.toBe(0);
    expect(noBus.stderr).toMatch(/set kafkaBrokers or databaseUrlSecret/);
  });

  test('ships the generated CRDs in crds/', async () => {
    const crds = parseManifests(await render(['--include-crds'])).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(['countershardsets.kinora.io', 'regionreplicas.kinora.io', 'transcodejobs.kinora.io']);
    expect(readdirSync(join(chartDir, 'crds')).sort()).toEqual(['kinora.io_countershardsets.yaml', 'kinora.io_regionreplicas.yaml', 'kinora.io_transcodejobs.yaml']);
  });

  test('the README values table is current', async () => {
    const r = await run(process.execPath, [join(chartsDir, 'scripts', 'readme-table.mjs'), '--check', chartDir]);
    expect(r.code === 0 ? '' : r.stdout + r.stderr).toBe('');
  });
});

describe('kinora-operator chart on a real API server', () => {
  let k8s: Awaited<ReturnType<typeof startKubernetes>> | undefined;
  beforeAll(async () => {
    k8s = await startKubernetes();
    await k8s.applyCrds(vendoredCrdsDir());
  }, 600_000);
  afterAll(async () => {
    await k8s?.stop();
  }, 60_000);

  test.each([
    ['default', [] as string[]],
    ['single', single],
  ])('the %s profile passes a server-side dry run, CRDs applied for real first', async (_name, extra) => {
    await k8s!.applyCrds(join(chartDir, 'crds'));
    const ns = `op-${_name}`;
    expect((await k8s!.kubectl(['create', 'namespace', ns])).code).toBe(0);
    const manifest = await render(extra, ns);
    const objects = parseManifests(manifest);
    const r = await k8s!.kubectl(['apply', '--dry-run=server', '--namespace', ns, '-f', '-'], manifest);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter((l) => /\(server dry run\)$/.test(l))).toHaveLength(objects.length);
  }, 120_000);
});
