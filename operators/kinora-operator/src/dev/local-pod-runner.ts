import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Informer } from '../runtime/informer.js';
import { isAlreadyExists, isNotFound, resourcePath, type KubeClient, type KubeObject } from '../runtime/kube-client.js';
import { silentLogger, type Logger } from '../runtime/logger.js';

/**
 * DEV/TEST TOOL — a stand-in for a kubelet on a control plane that has none (the test harness runs etcd,
 * kube-apiserver and kube-controller-manager only, so Pods stay Pending forever).
 *
 * It watches Pods that match `labelSelector` (default: Pods of Jobs), binds each to a fake Node, runs its first
 * container's `command` + `args` as a local process with the Pod's environment (`value`s and `fieldRef`s of
 * metadata.name/namespace), then writes the Pod's status the way a kubelet would: Running, then Succeeded or Failed
 * with the exit code and the termination message (the file the container wrote at its `terminationMessagePath`,
 * redirected to a temp file through the `TERMINATION_MESSAGE_PATH` variable, or the tail of its output under
 * `FallbackToLogsOnError`). The real Job controller then completes or fails the Job. Images are ignored: the
 * command runs from `cwd` on this machine, so it must exist here (e.g. `node apps/transcoder/dist/...`).
 *
 * Pods matching `markReadySelector` (e.g. those of Deployments) are not run but reported Running and Ready, so
 * Deployments report ready replicas.
 */
export interface LocalPodRunnerOptions {
  client: KubeClient;
  /** One namespace, or all when unset. */
  namespace?: string;
  /** Default `batch.kubernetes.io/job-name`. */
  labelSelector?: string;
  /** Pods (another selector) that are only marked Running + Ready, never run. */
  markReadySelector?: string;
  /** Working folder of the processes. Default: the current one. */
  cwd?: string;
  /** Base environment of the processes (PATH and the like); the Pod's variables go on top. Default: this process's. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Rewrites a container's argv before it runs (e.g. to point at a local build). */
  mapCommand?: (argv: string[], pod: PodLike) => string[];
  nodeName?: string;
  logger?: Logger;
}

export interface PodLike extends KubeObject {
  metadata: KubeObject['metadata'] & { labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: {
    nodeName?: string;
    containers: {
      name: string;
      image?: string;
      command?: string[];
      args?: string[];
      env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      terminationMessagePath?: string;
      terminationMessagePolicy?: string;
    }[];
  };
  status?: { phase?: string };
}

const MAX_MESSAGE = 4096;

export class LocalPodRunner {
  private readonly informers: Informer<PodLike>[] = [];
  private readonly handled = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  /** Running processes by Pod uid: a Pod deleted while it runs (a Job's deadline, a Job deleted) is stopped. */
  private readonly running = new Map<string, ChildProcess>();
  private readonly tasks = new Set<Promise<void>>();
  private stopped = false;
  private readonly nodeName: string;
  private readonly logger: Logger;

  constructor(private readonly opts: LocalPodRunnerOptions) {
    this.nodeName = opts.nodeName ?? 'kinora-local-runner';
    this.logger = opts.logger ?? silentLogger;
  }

  /** How many Pods were run to completion (tests assert on it). */
  completed = 0;

  async start(): Promise<void> {
    try {
      await this.opts.client.create({ apiVersion: 'v1', plural: 'nodes' }, { apiVersion: 'v1', kind: 'Node', metadata: { name: this.nodeName, labels: { 'kinora.io/local-runner': 'true' } } });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const run = new Informer<PodLike>(this.opts.client, { apiVersion: 'v1', plural: 'pods', namespace: this.opts.namespace, labelSelector: this.opts.labelSelector ?? 'batch.kubernetes.io/job-name' }, this.logger);
    run.on((ev, pod) => {
      if (pod.metadata.deletionTimestamp || ev === 'delete') {
        // What a kubelet does for a Pod being deleted: stop its container.
        this.running.get(pod.metadata.uid ?? '')?.kill('SIGTERM');
        return;
      }
      this.consider(pod, 'run');
    });
    this.informers.push(run);
    if (this.opts.markReadySelector) {
      const ready = new Informer<PodLike>(this.opts.client, { apiVersion: 'v1', plural: 'pods', namespace: this.opts.namespace, labelSelector: this.opts.markReadySelector }, this.logger);
      ready.on((ev, pod) => {
        if (ev !== 'delete') this.consider(pod, 'ready');
      });
      this.informers.push(ready);
    }
    await Promise.all(this.informers.map((i) => i.start()));
  }

  private consider(pod: PodLike, mode: 'run' | 'ready'): void {
    if (this.stopped || pod.metadata.deletionTimestamp || pod.spec?.nodeName || (pod.status?.phase && pod.status.phase !== 'Pending')) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`;
    if (this.handled.has(key)) return;
    this.handled.add(key);
    const task = (mode === 'run' ? this.run(pod) : this.markReady(pod)).catch((err: unknown) =>
      this.logger.warn({ pod: key, err: err instanceof Error ? err.message : String(err) }, 'local pod runner: pod not handled'),
    );
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private podRef(pod: PodLike, subresource?: string) {
    return { apiVersion: 'v1', plural: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name, subresource };
  }

  private async bind(pod: PodLike): Promise<void> {
    await this.opts.client.create(this.podRef(pod, 'binding'), {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
    });
  }

  private containerStatus(pod: PodLike, state: Record<string, unknown>, ready: boolean) {
    const c = pod.spec!.containers[0]!;
    return [{ name: c.name, image: c.image ?? 'local', imageID: '', ready, started: ready || 'running' in state, restartCount: 0, state }];
  }

  private async markReady(pod: PodLike): Promise<void> {
    await this.bind(pod);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.opts.client.mergePatch(this.podRef(pod, 'status'), {
      status: {
        phase: 'Running',
        startTime: now,
        podIP: '127.0.0.1',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          { type: 'Ready', status: 'True', lastTransitionTime: now },
        ],
        containerStatuses: this.containerStatus(pod, { running: { startedAt: now } }, true),
      },
    });
  }

  private async run(pod: PodLike): Promise<void> {
    const c = pod.spec?.containers[0];
    if (!c) return;
    await this.bind(pod);
    const started = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.opts.client.mergePatch(this.podRef(pod, 'status'), {
      status: { phase: 'Running', startTime: started, containerStatuses: this.containerStatus(pod, { running: { startedAt: started } }, true) },
    });
    const dir = mkdtempSync(join(tmpdir(), 'kinora-pod-'));
    const messageFile = join(dir, 'termination-log');
    const env: NodeJS.ProcessEnv = this.opts.baseEnv ? { ...this.opts.baseEnv } : { ...process.env };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = pod.metadata.name;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = pod.metadata.namespace;
    }
    env.TERMINATION_MESSAGE_PATH = messageFile;
    let argv = [...(c.command ?? []), ...(c.args ?? [])];
    if (this.opts.mapCommand) argv = this.opts.mapCommand(argv, pod);
    const output: Buffer[] = [];
    let outputBytes = 0;
    const keep = (b: Buffer) => {
      output.push(b);
      outputBytes += b.length;
      while (outputBytes > 64 * 1024 && output.length > 1) outputBytes -= output.shift()!.length;
    };
    const exitCode = await new Promise<number>((resolve) => {
      if (argv.length === 0) return resolve(127);
      const child = spawn(argv[0]!, argv.slice(1), { cwd: this.opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.add(child);
      this.running.set(pod.metadata.uid ?? '', child);
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', (err) => {
        keep(Buffer.from(`cannot start ${argv[0]}: ${err.message}\n`));
        this.children.delete(child);
        resolve(127);
      });
      child.once('close', (code, signal) => {
        this.children.delete(child);
        this.running.delete(pod.metadata.uid ?? '');
        resolve(code ?? (signal ? 137 : 1));
      });
    });
    let message: string | undefined;
    try {
      message = readFileSync(messageFile, 'utf8').slice(0, MAX_MESSAGE);
    } catch {
      message = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
    if ((message === undefined || message === '') && exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError') {
      message = Buffer.concat(output).toString('utf8').split('\n').slice(-80).join('\n').slice(-2048);
    }
    const finished = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: started, finishedAt: finished, ...(message ? { message } : {}) };
    try {
      await this.opts.client.mergePatch(this.podRef(pod, 'status'), {
        status: { phase: exitCode === 0 ? 'Succeeded' : 'Failed', containerStatuses: this.containerStatus(pod, { terminated }, false) },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // A Pod being deleted is removed once its container stopped (the kubelet's last step).
    const current = await this.opts.client.find<PodLike>(this.podRef(pod));
    if (current?.metadata.deletionTimestamp) await this.opts.client.request('DELETE', resourcePath(this.podRef(pod)), { body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 } }).catch(() => undefined);
    this.completed++;
    this.logger.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, exitCode }, 'local pod finished');
  }

  /** Stops watching, ends running processes (SIGTERM), waits for their status writes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
    for (const c of this.children) c.kill('SIGTERM');
    await Promise.allSettled([...this.tasks]);
  }
}
