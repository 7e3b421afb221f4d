import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  ensureHelm,
  ensureKubectl,
  ensurePromtool,
  getTestKubernetes,
  HELM_VERSION,
  KUBERNETES_VERSION,
  pidAlive,
  startKubernetes,
  vendoredCrdsDir,
  type KubernetesHandle,
} from '@kinora/testing';

const execFileAsync = promisify(execFile);

/** Exit code and output of a command, without throwing on a non-zero exit. */
async function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function pidsOf(runDir: string): number[] {
  return readFileSync(join(runDir, 'pids'), 'utf8')
    .split('\n')
    .map(Number)
    .filter((pid) => pid > 0);
}

const work = mkdtempSync(join(tmpdir(), 'kinora-k8s-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('vendoredCrdsDir', () => {
  it('defaults to <repo>/../shared/vendor/crds', () => {
    expect(vendoredCrdsDir({})).toMatch(/\/shared\/vendor\/crds$/);
  });

  it('says clearly when the folder is missing', () => {
    expect(() => vendoredCrdsDir({ KINORA_CRDS_DIR: join(work, 'nope') })).toThrow(/vendored CRDs not found: .*nope \(from KINORA_CRDS_DIR\) does not exist/);
  });

  it('says clearly when the folder holds no YAML', () => {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    expect(() => vendoredCrdsDir({ KINORA_CRDS_DIR: empty })).toThrow(/holds no \*\.yaml file/);
  });
});

describe('kube-apiserver + etcd', () => {
  let k8s: KubernetesHandle;
  let runDir: string;

  beforeAll(async () => {
    // The first run on a machine builds etcd, kube-apiserver and kubectl from the Go module proxy (~6-8 min on 2 cores).
    k8s = await startKubernetes();
    runDir = dirname(dirname(k8s.kubeconfig)); // <tmp>/kinora-test-XXXXXX/kubernetes/kubeconfig
  }, 30 * 60_000);

  afterAll(async () => {
    await k8s?.stop();
  });

  it('serves the built-in namespaces to a kubectl of the same version', async () => {
    const ns = await k8s.kubectl(['get', 'ns', '-o', 'name']);
    expect(ns.stderr).toBe('');
    expect(ns.stdout).toContain('namespace/default');
    expect(ns.stdout).toContain('namespace/kube-system');
    const version = await k8s.kubectl(['version', '-o', 'json']);
    expect(version.code).toBe(0);
    const parsed = JSON.parse(version.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(parsed.clientVersion.gitVersion).toBe(KUBERNETES_VERSION);
    expect(parsed.serverVersion.gitVersion).toBe(KUBERNETES_VERSION);
    expect(k8s.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(runDir).toMatch(/\/kinora-test-[^/]+$/); // a harness run folder: stale-run cleanup covers it
  });

  it('accepts the vendored operator CRDs and reports them Established', async () => {
    await k8s.applyCrds(vendoredCrdsDir());
    const crds = await k8s.kubectl(['get', 'crd', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}']);
    expect(crds.code).toBe(0);
    for (const name of [
      'kafkas.kafka.strimzi.io',
      'kafkatopics.kafka.strimzi.io',
      'kafkanodepools.kafka.strimzi.io',
      'servicemonitors.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
      'clusters.postgresql.cnpg.io',
    ]) {
      expect(crds.stdout).toContain(`${name}=True`);
    }
    const versions = await k8s.kubectl(['get', 'crd', 'kafkatopics.kafka.strimzi.io', '-o', 'jsonpath={.spec.versions[?(@.served==true)].name}']);
    expect(versions.stdout.split(' ')).toContain('v1');
  });

  it('validates with --dry-run=server: a valid Deployment passes, an invalid one fails with the server message', async () => {
    const deployment = (selector: boolean) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
${selector ? '  selector: { matchLabels: { app: web } }\n' : ''}  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: nginx:1.27 }] }
`;
    const ok = await k8s.kubectl(['apply', '--dry-run=server', '-f', '-'], deployment(true));
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('deployment.apps/web created (server dry run)');
    const bad = await k8s.kubectl(['apply', '--dry-run=server', '-f', '-'], deployment(false));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.selector: Required value/);
    // Nothing was persisted by either.
    expect((await k8s.kubectl(['get', 'deploy', '-A', '-o', 'name'])).stdout).toBe('');
  });

  it('validates custom resources against their CRD schema (CRDs applied above)', async () => {
    const topic = (partitions: string) => `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: { name: video-uploaded, namespace: default, labels: { strimzi.io/cluster: kinora } }
spec: { partitions: ${partitions}, replicas: 1 }
`;
    const ok = await k8s.kubectl(['apply', '--dry-run=server', '-f', '-'], topic('3'));
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('kafkatopic.kafka.strimzi.io/video-uploaded created (server dry run)');
    const bad = await k8s.kubectl(['apply', '--dry-run=server', '-f', '-'], topic('"three"'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.partitions: Invalid value: "string": spec\.partitions in body must be of type integer/);
  });

  it('getTestKubernetes uses the cluster TEST_KUBECONFIG names', async () => {
    const given = await getTestKubernetes({ TEST_KUBECONFIG: k8s.kubeconfig });
    expect(given.server).toBe(k8s.server);
    expect(given.token).toBe(k8s.token);
    expect((await given.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}'])).stdout).toContain('system:masters');
    await given.stop(); // not ours: a no-op
    expect((await k8s.kubectl(['get', 'ns', 'default', '-o', 'name'])).stdout.trim()).toBe('namespace/default');
  });

  it('getTestKubernetes says which kubeconfig is missing', async () => {
    await expect(getTestKubernetes({ TEST_KUBECONFIG: join(work, 'missing-kubeconfig') })).rejects.toThrow(/TEST_KUBECONFIG: kubeconfig file .*missing-kubeconfig does not exist/);
  });

  it('applyCrds fails with kubectl’s message on a broken file', async () => {
    const dir = join(work, 'broken-crds');
    mkdirSync(dir);
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: nope }\nspec: {}\n');
    await expect(k8s.applyCrds(dir)).rejects.toThrow(/applyCrds: kubectl apply of .*broken-crds failed/);
    await expect(k8s.applyCrds(work)).rejects.toThrow(/applyCrds: no \*\.yaml file in/);
  });

  it('stop leaves no process behind', async () => {
    const pids = pidsOf(runDir);
    expect(pids.length).toBe(2); // etcd, kube-apiserver
    expect(pids.every(pidAlive)).toBe(true);
    await k8s.stop();
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  });
});

describe('with kube-controller-manager', () => {
  it('finishes a namespace deletion and stops all three processes', async () => {
    const k8s = await startKubernetes({ controllerManager: true });
    const runDir = dirname(dirname(k8s.kubeconfig));
    try {
      expect((await k8s.kubectl(['create', 'namespace', 'doomed'])).code).toBe(0);
      // Without the namespace controller this would stay Terminating forever.
      const deleted = await k8s.kubectl(['delete', 'namespace', 'doomed', '--wait=true', '--timeout=40s']);
      expect(deleted.stderr).toBe('');
      expect((await k8s.kubectl(['get', 'namespace', 'doomed'])).stderr).toContain('NotFound');
    } finally {
      const pids = pidsOf(runDir);
      expect(pids.length).toBe(3);
      await k8s.stop();
      expect(pids.filter(pidAlive)).toEqual([]);
    }
  }, 120_000);
});

describe('getTestKubernetes in a worker process', () => {
  const dist = join(process.cwd(), 'libs', 'testing', 'dist');

  /** A Node process that takes the worker's cluster, prints its kubeconfig, then exits or idles as told. */
  function worker(then: 'exit' | 'idle'): Promise<{ child: ChildProcess; kubeconfig: string }> {
    const script =
      `const m = await import(${JSON.stringify(join(dist, 'index.js'))});` +
      `const a = await m.getTestKubernetes({}); const b = await m.getTestKubernetes({});` +
      `if (a !== b) throw new Error('not reused');` +
      `console.log('KUBECONFIG=' + a.kubeconfig);` +
      (then === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolvePromise, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /KUBECONFIG=(\S+)/.exec(out);
        if (m) resolvePromise({ child, kubeconfig: m[1]! });
      });
      child.once('exit', (code) => {
        if (!/KUBECONFIG=/.test(out)) reject(new Error(`worker exited with ${code}: ${err}`));
      });
    });
  }

  it('starts one cluster lazily, reuses it, and stops it when the process exits', async () => {
    const { child, kubeconfig } = await worker('exit');
    const runDir = dirname(dirname(kubeconfig));
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(runDir)).toBe(false);
  });

  it('leaves nothing behind a worker killed outright once the next run cleans up', async () => {
    const { child, kubeconfig } = await worker('idle');
    const runDir = dirname(dirname(kubeconfig));
    const pids = pidsOf(runDir);
    expect(pids.length).toBe(2);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(pids.every(pidAlive)).toBe(true); // orphans of the killed worker
    const { cleanupStaleRunDirs } = (await import(join(dist, 'internal', 'run-dir.js'))) as { cleanupStaleRunDirs(): string[] };
    expect(cleanupStaleRunDirs()).toContain(runDir);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  });
});

describe('helm and promtool', () => {
  it('helm is the pinned v4 and renders a chart', async () => {
    const helm = await ensureHelm();
    const version = await run(helm, ['version', '--template', '{{.Version}}']);
    expect(version.stdout.trim()).toBe(HELM_VERSION);
    const chart = join(work, 'chart');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'values.yaml'), 'replicas: 2\n');
    writeFileSync(
      join(chart, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  replicas: {{ .Values.replicas | quote }}\n',
    );
    const rendered = await run(helm, ['template', 'demo', chart, '--set', 'replicas=3']);
    expect(rendered.stderr).toBe('');
    expect(rendered.stdout).toContain('name: demo-cm');
    expect(rendered.stdout).toContain('replicas: "3"');
  }, 20 * 60_000);

  it('promtool accepts a valid rules file and rejects a broken one', async () => {
    const promtool = await ensurePromtool();
    const good = join(work, 'good.rules.yaml');
    writeFileSync(good, 'groups:\n- name: kinora\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n');
    const bad = join(work, 'bad.rules.yaml');
    writeFileSync(bad, 'groups:\n- name: kinora\n  rules:\n  - alert: Down\n    expr: up ==\n');
    const ok = await run(promtool, ['check', 'rules', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('SUCCESS: 1 rules found');
    const ko = await run(promtool, ['check', 'rules', bad]);
    expect(ko.code).not.toBe(0);
    expect(ko.stderr + ko.stdout).toMatch(/FAILED|parse error/);
  }, 20 * 60_000);

  it('kubectl is the apiserver’s version', async () => {
    const kubectl = await ensureKubectl();
    const version = await run(kubectl, ['version', '--client', '-o', 'json']);
    expect((JSON.parse(version.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion).toBe(KUBERNETES_VERSION);
  });
});
