// The local Kubernetes development setup (Tiltfile, k8s/kind-config.yaml, k8s/dev/) checked with the real tools:
// the Tiltfile is evaluated by tilt itself (`tilt alpha tiltfile-result`, pinned and built from Go like helm), its
// resources, image builds, live updates and dependencies are asserted, and every object it would deploy passes a
// server-side dry run against the harness's kube-apiserver. No Docker or kind is needed for any of this.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments, parse } from 'yaml';
import { ensureHelm, ensureTilt, startKubernetes, type KubernetesHandle } from '@kinora/testing';

const execFileAsync = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = ['gateway', 'user', 'video', 'transcoder', 'comment', 'like', 'subscription', 'recommendation', 'analytics', 'realtime', 'web'];
/** What each service's container runs (the web app's static server is in the gateway's package). */
const entryOf = (svc: string): string => (svc === 'web' ? 'apps/gateway/dist/web-main.js' : `apps/${svc}/dist/main.js`);

interface TiltManifest {
  Name: string;
  Labels?: Record<string, string> | null;
  ResourceDependencies?: string[] | null;
  ImageTargets?: Array<{
    selector: string;
    LiveUpdateSpec?: { stopPaths?: string[]; syncs?: Array<{ localPath: string; containerPath: string }> };
    BuildDetails?: { args?: string[]; Deps?: string[] };
  }> | null;
  DeployTarget?: { yaml?: string; portForwardTemplateSpec?: { forwards?: Array<{ localPort: number; containerPort: number }> } } | null;
  LocalTarget?: unknown;
}
interface TiltResult {
  Manifests: TiltManifest[];
  Error?: unknown;
}

let tilt: string;
let helmDir: string;
let work: string;
let kubeconfig: string;

/** A kubeconfig whose current context is the one the Tiltfile allows; nothing is contacted while evaluating. */
function writeKubeconfig(context: string): string {
  const file = join(work, `${context}.kubeconfig`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: ${context}, cluster: {server: "https://127.0.0.1:9"}}]`,
      `users: [{name: ${context}, user: {token: unused}}]`,
      `contexts: [{name: ${context}, context: {cluster: ${context}, user: ${context}}}]`,
      `current-context: ${context}`,
      '',
    ].join('\n'),
  );
  return file;
}

async function tiltfileResult(args: string[] = []): Promise<{ code: number; result?: TiltResult; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(tilt, ['alpha', 'tiltfile-result', '-f', join(root, 'Tiltfile'), ...(args.length ? ['--', ...args] : [])], {
      cwd: root,
      env: { ...process.env, PATH: `${helmDir}:${process.env['PATH'] ?? ''}`, KUBECONFIG: kubeconfig, TILT_DISABLE_ANALYTICS: '1', HOME: work },
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    return { code: 0, result: JSON.parse(stdout) as TiltResult, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stderr: `${e.stderr ?? ''}${e.stdout ?? ''}` };
  }
}

const byName = (r: TiltResult): Map<string, TiltManifest> => new Map(r.Manifests.map((m) => [m.Name, m]));

beforeAll(async () => {
  tilt = await ensureTilt();
  helmDir = dirname(process.env['KINORA_HELM'] ?? (await ensureHelm()));
  work = mkdtempSync(join(tmpdir(), 'kinora-tilt-'));
  kubeconfig = writeKubeconfig('kind-kinora');
}, 45 * 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the Tiltfile, evaluated by tilt', () => {
  let all: TiltResult;

  beforeAll(async () => {
    const r = await tiltfileResult();
    if (r.code !== 0 || !r.result) throw new Error(`tilt alpha tiltfile-result failed (${r.code}):\n${r.stderr}`);
    all = r.result;
  }, 180_000);

  test('one resource per service, the dependencies and the compile step, grouped by label', () => {
    const m = byName(all);
    for (const svc of SERVICES) expect(m.get(`kinora-${svc}`)).toBeDefined();
    for (const dep of ['postgres', 'kafka', 'redis', 'minio', 'minio-bucket']) expect(m.get(dep)?.Labels).toEqual({ dependencies: 'dependencies' });
    expect(m.get('compile')?.Labels).toEqual({ build: 'build' });
    expect(m.get('kinora-gateway')?.Labels).toEqual({ edge: 'edge' });
    expect(m.get('kinora-video')?.Labels).toEqual({ services: 'services' });
    // The chart's `helm test` Pod is not something to run in a development loop.
    expect([...m.keys()].filter((n) => /test/.test(n))).toEqual([]);
  });

  test('services wait for their dependencies, and for the user service that publishes the signing keys', () => {
    const m = byName(all);
    expect(m.get('kinora-user')?.ResourceDependencies).toEqual(['postgres', 'kafka', 'redis', 'minio-bucket', 'compile']);
    for (const svc of SERVICES.filter((s) => s !== 'user')) {
      expect(m.get(`kinora-${svc}`)?.ResourceDependencies).toEqual(['postgres', 'kafka', 'redis', 'minio-bucket', 'compile', 'kinora-user']);
    }
  });

  test('images come from the project script, with live updates of the build output only', () => {
    const m = byName(all);
    const gateway = m.get('kinora-gateway')!.ImageTargets!;
    expect(gateway).toHaveLength(1);
    expect(gateway[0]!.selector).toBe('kinora');
    expect(gateway[0]!.BuildDetails?.args?.join(' ')).toContain('node scripts/images.mjs --only kinora --dev --ref "$EXPECTED_REF" --kind-load kinora');
    expect(gateway[0]!.LiveUpdateSpec?.syncs).toEqual([
      { localPath: 'apps', containerPath: '/app/apps/' },
      { localPath: 'libs', containerPath: '/app/libs/' },
    ]);
    expect(gateway[0]!.LiveUpdateSpec?.stopPaths).toEqual(['package.json', 'package-lock.json']);
    const transcoder = m.get('kinora-transcoder')!.ImageTargets!;
    expect(transcoder[0]!.selector).toBe('kinora-transcoder');
    expect(transcoder[0]!.BuildDetails?.args?.join(' ')).toContain('--only kinora-transcoder');
  });

  test('each service runs one replica that restarts itself on synced changes, from the local images', () => {
    const m = byName(all);
    for (const svc of SERVICES) {
      const docs = parseAllDocuments(m.get(`kinora-${svc}`)!.DeployTarget!.yaml!).map((d) => d.toJS() as Record<string, any>);
      const deployment = docs.find((d) => d['kind'] === 'Deployment')!;
      expect(deployment.spec.replicas).toBe(1);
      const container = deployment.spec.template.spec.containers[0];
      expect(container.command).toEqual(['node', '--watch-path=/app/apps', '--watch-path=/app/libs', entryOf(svc)]);
      expect(container.image).toMatch(svc === 'transcoder' ? /^kinora-transcoder:/ : /^kinora:/);
      // Live updates write into the container; everything else of the chart's hardening stays.
      expect(container.securityContext.readOnlyRootFilesystem).toBe(false);
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    }
  });

  test('port forwards for the API and the dependencies', () => {
    const m = byName(all);
    const forwards = (name: string) => m.get(name)?.DeployTarget?.portForwardTemplateSpec?.forwards?.map((f) => `${f.localPort}:${f.containerPort}`);
    expect(forwards('kinora-gateway')).toEqual(['8080:8080']);
    expect(forwards('kinora-realtime')).toEqual(['8090:8080']);
    expect(forwards('postgres')).toEqual(['15432:5432']);
  });

  test('--services runs a subset: the others are not deployed, and the transcoder image is not built', async () => {
    const r = await tiltfileResult(['--services', 'gateway,user,video']);
    expect(r.code).toBe(0);
    const names = r.result!.Manifests.map((x) => x.Name).filter((n) => n.startsWith('kinora-'));
    expect(names.sort()).toEqual(['kinora-gateway', 'kinora-user', 'kinora-video']);
    const images = r.result!.Manifests.flatMap((x) => x.ImageTargets ?? []).map((t) => t.selector);
    expect(new Set(images)).toEqual(new Set(['kinora']));
  }, 180_000);

  test('an unknown service name fails with a clear message', async () => {
    const r = await tiltfileResult(['--services', 'gateway,nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown service \"nope\"");
  }, 180_000);

  describe('against a real kube-apiserver', () => {
    let k8s: KubernetesHandle | undefined;
    beforeAll(async () => {
      k8s = await startKubernetes();
    }, 45 * 60_000);
    afterAll(async () => {
      await k8s?.stop();
    }, 120_000);

    test('every object the Tiltfile deploys passes a server-side dry run', async () => {
      const yaml = all.Manifests.map((m) => m.DeployTarget?.yaml ?? '')
        .filter((y) => y.trim() !== '')
        .join('\n---\n');
      const objects = parseAllDocuments(yaml).filter((d) => d.toJS() != null);
      const kinds = new Set(objects.map((d) => (d.toJS() as { kind: string }).kind));
      for (const kind of ['Deployment', 'StatefulSet', 'Service', 'Secret', 'Job', 'Ingress', 'ServiceAccount']) expect(kinds).toContain(kind);
      const r = await k8s!.kubectl(['apply', '--dry-run=server', '--namespace', 'default', '-f', '-'], yaml);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n').filter((l) => /\(server dry run\)$/.test(l))).toHaveLength(objects.length);
    }, 120_000);
  });
});

describe('k8s/kind-config.yaml', () => {
  const config = parse(readFileSync(join(root, 'k8s', 'kind-config.yaml'), 'utf8')) as Record<string, any>;

  test('is a kind v1alpha4 Cluster named kinora (the Tiltfile allows only its context)', () => {
    expect(config['kind']).toBe('Cluster');
    expect(config['apiVersion']).toBe('kind.x-k8s.io/v1alpha4');
    expect(config['name']).toBe('kinora');
    expect(readFileSync(join(root, 'Tiltfile'), 'utf8')).toContain("allow_k8s_contexts(['kind-' + KIND_CLUSTER])");
  });

  test('is ingress-ready: the labelled node maps ports 80 and 443, on loopback only', () => {
    const ingressNodes = (config['nodes'] as any[]).filter((n) => n.labels?.['ingress-ready'] === 'true');
    expect(ingressNodes).toHaveLength(1);
    const ports = ingressNodes[0].extraPortMappings.map((p: any) => `${p.listenAddress}:${p.hostPort}->${p.containerPort}/${p.protocol}`);
    expect(ports).toEqual(['127.0.0.1:80->80/TCP', '127.0.0.1:443->443/TCP']);
    expect(config['networking'].apiServerAddress).toBe('127.0.0.1');
  });
});

describe('k8s/dev/secrets.mjs', () => {
  test('makes the development Secrets once and keeps them (mode 0600, never in the repository)', async () => {
    const run = async () => (await execFileAsync(process.execPath, [join(root, 'k8s', 'dev', 'secrets.mjs')], { cwd: root })).stdout;
    const first = await run();
    const second = await run();
    expect(second).toBe(first);
    const secrets = parseAllDocuments(first).map((d) => d.toJS() as { kind: string; metadata: { name: string }; stringData: Record<string, string> });
    expect(secrets.map((s) => `${s.kind}/${s.metadata.name}`)).toEqual(['Secret/kinora-dev', 'Secret/kinora-db-main', 'Secret/minio-credentials']);
    const password = secrets[0]!.stringData['postgres-password']!;
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(secrets[1]!.stringData['url']).toBe(`postgres://kinora:${password}@postgres:5432/kinora`);
    const kept = join(root, '.cache', 'dev-secrets.json');
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    const ignored = await execFileAsync('git', ['check-ignore', kept], { cwd: root }).then(
      () => true,
      () => false,
    );
    expect(ignored).toBe(true);
  });
});
