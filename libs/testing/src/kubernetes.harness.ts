import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureKubernetesBinaries, ensureKubectl, KUBERNETES_VERSION } from './go-binaries.js';
import { getFreePorts } from './internal/ports.js';
import { HarnessError, spawnService, type ServiceProcess } from './internal/process.js';
import { createRunDir, killRunDirProcessesSync, registerPid, removeRunDir, subDir } from './internal/run-dir.js';
import { waitUntil } from './internal/wait.js';
import { repoRoot } from './internal/workspace.js';

const execFileAsync = promisify(execFile);

/** The variable that points tests at an existing cluster (a kubeconfig file) instead of a harness one. */
export const TEST_KUBECONFIG = 'TEST_KUBECONFIG';

export interface StartKubernetesOptions {
  /** Also run kube-controller-manager (namespace deletion, garbage collection, Deployment → ReplicaSet). Default false. */
  controllerManager?: boolean;
  /** Folder for data, certificates, kubeconfig and logs; default: a new temp folder that `stop()` removes. */
  runDir?: string;
  /** How long start may take once the binaries are built (ms). Default 60 s. */
  timeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubernetesHandle {
  /** Path of a kubeconfig file (cluster CA = the apiserver's self-signed certificate, static admin token). */
  kubeconfig: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Bearer token of a `system:masters` user. */
  token: string;
  /** Runs kubectl (same version as the apiserver) against this cluster; never throws on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** `kubectl apply --server-side` of every `*.yaml` in `dir`, then waits until each CRD is Established. */
  applyCrds(dir: string): Promise<void>;
  /** Stops the processes (controller manager, apiserver, etcd) and removes the temp folder the harness made. */
  stop(): Promise<void>;
}

/**
 * The vendored CustomResourceDefinitions of the operators Kinora targets (Strimzi, Prometheus Operator,
 * CloudNativePG): `$KINORA_CRDS_DIR`, or `<repo>/../shared/vendor/crds`. They are never copied into the repo.
 */
export function vendoredCrdsDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.KINORA_CRDS_DIR ? resolve(env.KINORA_CRDS_DIR) : resolve(repoRoot(), '..', 'shared', 'vendor', 'crds');
  const source = env.KINORA_CRDS_DIR ? 'KINORA_CRDS_DIR' : 'the default location <repo>/../shared/vendor/crds';
  if (!existsSync(dir)) {
    throw new HarnessError(
      `vendored CRDs not found: ${dir} (from ${source}) does not exist. Point KINORA_CRDS_DIR at a folder holding the ` +
        `operators' CRD YAML files (Strimzi, Prometheus Operator, CloudNativePG; see docs/testing.md).`,
    );
  }
  if (!readdirSync(dir).some((name) => name.endsWith('.yaml'))) {
    throw new HarnessError(`vendored CRDs not found: ${dir} (from ${source}) holds no *.yaml file`);
  }
  return dir;
}

/** Runs kubectl with a kubeconfig; the result carries the exit code instead of throwing. */
export function runKubectl(kubectl: string, kubeconfig: string, args: string[], input?: string, timeoutMs = 120_000): Promise<KubectlResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: kubeconfig } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new HarnessError(`cannot run ${kubectl}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (signal ? `\n[harness] kubectl killed by ${signal}` : '');
      resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    child.stdin.on('error', () => undefined); // kubectl may exit before reading its input
    child.stdin.end(input ?? '');
  });
}

function kubeconfigYaml(server: string, caFile: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: kinora-test
  cluster:
    server: ${server}
    certificate-authority: ${caFile}
users:
- name: kinora-admin
  user:
    token: ${token}
contexts:
- name: kinora-test
  context:
    cluster: kinora-test
    user: kinora-admin
    namespace: default
current-context: kinora-test
`;
}

/** GET on the apiserver with the token, trusting only its own certificate; resolves the status and body. */
function apiGet(server: string, path: string, token: string, ca: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `${server}${path}`,
      { headers: { authorization: `Bearer ${token}` }, ca, rejectUnauthorized: ca !== undefined, timeout: 2_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function makeHandle(fields: { kubeconfig: string; server: string; token: string; kubectl: string }, stop: () => Promise<void>): KubernetesHandle {
  const { kubeconfig, kubectl } = fields;
  const run = (args: string[], input?: string) => runKubectl(kubectl, kubeconfig, args, input);
  return {
    kubeconfig,
    server: fields.server,
    token: fields.token,
    kubectl: run,
    async applyCrds(dir: string) {
      const files = readdirSync(dir)
        .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
        .sort()
        .map((name) => join(dir, name));
      if (files.length === 0) throw new HarnessError(`applyCrds: no *.yaml file in ${dir}`);
      const args = ['apply', '--server-side', '--force-conflicts', '-o', 'name'];
      for (const file of files) args.push('-f', file);
      const applied = await run(args);
      if (applied.code !== 0) throw new HarnessError(`applyCrds: kubectl apply of ${dir} failed (exit ${applied.code}):\n${applied.stderr}${applied.stdout}`);
      const crds = applied.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith('customresourcedefinition'));
      if (crds.length === 0) return;
      const waited = await run(['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
      if (waited.code !== 0) throw new HarnessError(`applyCrds: CRDs of ${dir} not Established:\n${waited.stderr}${waited.stdout}`);
    },
    stop,
  };
}

/**
 * Starts etcd and kube-apiserver (and optionally kube-controller-manager) on free loopback ports. The binaries
 * are built from the Go module proxy on first use and cached (see docs/testing.md). Authentication: a static
 * token of a `system:masters` user; authorization: RBAC.
 */
export function startKubernetes(options: StartKubernetesOptions = {}): Promise<KubernetesHandle> {
  return start(options, false);
}

async function start(options: StartKubernetesOptions, unref: boolean): Promise<KubernetesHandle> {
  const bins = await ensureKubernetesBinaries({ controllerManager: options.controllerManager === true });
  const ownsRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? createRunDir();
  const dir = subDir(runDir, 'kubernetes');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const processes: ServiceProcess[] = [];
  const stopAll = async () => {
    // Reverse order: the controller manager and the apiserver talk to what was started before them.
    for (const p of [...processes].reverse()) await p.stop('SIGTERM', 10_000);
  };
  try {
    const [etcdPort, etcdPeerPort, apiPort, kcmPort] = (await getFreePorts(4)) as [number, number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = spawnService({
      name: 'etcd',
      command: bins.etcd,
      args: [
        '--name=kinora',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=kinora=http://127.0.0.1:${etcdPeerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      logFile: join(dir, 'etcd.log'),
      cwd: dir,
    });
    processes.push(etcd);
    registerPid(runDir, etcd.pid);

    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(dir, 'sa.key');
    const saPub = join(dir, 'sa.pub');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const token = randomBytes(24).toString('hex');
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, `${token},kinora-admin,uid-kinora-admin,"system:masters"\n`, { mode: 0o600 });
    const certDir = join(dir, 'certs');
    const server = `https://127.0.0.1:${apiPort}`;

    await waitUntil(
      'etcd',
      async () => {
        const res = await fetch(`${etcdUrl}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      { timeoutMs, intervalMs: 50, process: etcd },
    );

    const apiserver = spawnService({
      name: `kube-apiserver ${KUBERNETES_VERSION}`,
      command: bins.kubeApiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--token-auth-file=${tokens}`,
        '--authorization-mode=RBAC',
        // The default reconciler would write a 127.0.0.1 Endpoints object for `kubernetes`, which validation rejects.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ],
      logFile: join(dir, 'kube-apiserver.log'),
      cwd: dir,
    });
    processes.push(apiserver);
    registerPid(runDir, apiserver.pid);

    const caFile = join(certDir, 'apiserver.crt');
    await waitUntil(
      `kube-apiserver on port ${apiPort}`,
      async () => {
        if (!existsSync(caFile)) return false;
        const res = await apiGet(server, '/readyz', token, readFileSync(caFile, 'utf8'));
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 100, process: apiserver },
    );
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, caFile, token), { mode: 0o600 });

    if (options.controllerManager) {
      const kcm = spawnService({
        name: `kube-controller-manager ${KUBERNETES_VERSION}`,
        command: bins.kubeControllerManager,
        args: [
          `--kubeconfig=${kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          '--leader-elect=false',
          `--service-account-private-key-file=${saKey}`,
          `--root-ca-file=${caFile}`,
          '--use-service-account-credentials=false',
          // No cloud, no nodes: the node IPAM and lifecycle controllers have nothing to do.
          '--controllers=*,-nodeipam,-nodelifecycle',
        ],
        logFile: join(dir, 'kube-controller-manager.log'),
        cwd: dir,
      });
      processes.push(kcm);
      registerPid(runDir, kcm.pid);
      await waitUntil(
        `kube-controller-manager on port ${kcmPort}`,
        async () => (await apiGet(`https://127.0.0.1:${kcmPort}`, '/healthz', token, undefined)).status === 200,
        { timeoutMs, intervalMs: 100, process: kcm },
      );
    }

    if (unref) for (const p of processes) p.unref();
    let stopped = false;
    return makeHandle({ kubeconfig, server, token, kubectl: bins.kubectl }, async () => {
      if (stopped) return;
      stopped = true;
      await stopAll();
      if (ownsRunDir) removeRunDir(runDir);
    });
  } catch (err) {
    for (const p of processes) p.killNow('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    throw err;
  }
}

/** A handle on an existing cluster given by a kubeconfig file (server and token read with kubectl). */
export async function connectKubernetes(kubeconfig: string): Promise<KubernetesHandle> {
  if (!existsSync(kubeconfig)) throw new HarnessError(`${TEST_KUBECONFIG}: kubeconfig file ${kubeconfig} does not exist`);
  const kubectl = await ensureKubectl();
  const view = async (path: string) =>
    (await execFileAsync(kubectl, ['--kubeconfig', kubeconfig, 'config', 'view', '--minify', '--raw', '-o', `jsonpath=${path}`])).stdout.trim();
  const server = await view('{.clusters[0].cluster.server}');
  const token = await view('{.users[0].user.token}');
  // Not ours to stop.
  return makeHandle({ kubeconfig, server, token, kubectl }, async () => undefined);
}

let shared: Promise<KubernetesHandle> | undefined;

/**
 * The Kubernetes cluster of this Jest worker: the one `TEST_KUBECONFIG` names, or else one started on first call
 * (etcd + kube-apiserver, no controller manager) and reused by every later call in the same process. It is
 * stopped when the process exits; a worker killed outright leaves a run folder that the next run's global setup
 * cleans up. Suites that never call it never build or start anything.
 */
export function getTestKubernetes(env: NodeJS.ProcessEnv = process.env): Promise<KubernetesHandle> {
  const given = env[TEST_KUBECONFIG];
  if (given) return connectKubernetes(resolve(given));
  if (!shared) {
    const runDir = createRunDir();
    process.once('exit', () => {
      // Synchronous: the exit hook of process.ts has already SIGKILLed our processes; this reaps what is left.
      killRunDirProcessesSync(runDir, 2_000);
      removeRunDir(runDir);
    });
    shared = start({ runDir }, true).catch((err: unknown) => {
      shared = undefined;
      throw err;
    });
  }
  return shared;
}
