import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import {
  TRANSCODE_JOB_API_VERSION,
  TRANSCODE_JOB_KIND,
  TRANSCODE_JOB_PLURAL,
  transcodeJobName,
  type TranscodeJobSpecInput,
} from '@kinora/contracts';

/** Where a Pod finds its own namespace (the service-account volume). */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The API server answered an error, or could not be reached (`status` 0). */
export class KubernetesApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubernetesApiError';
  }
}

export interface TranscodeJobClientOptions {
  /** A kubeconfig file (tests, development); unset: in-cluster (KUBERNETES_SERVICE_HOST/PORT, the service-account token and CA). */
  kubeconfig?: string | undefined;
  /** Unset: the Pod's own namespace, from {@link SERVICE_ACCOUNT_NAMESPACE_FILE}. */
  namespace?: string | undefined;
  /** Per-request timeout (ms). Default 10000. */
  timeoutMs?: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Creates `kinora.io/v1alpha1` TranscodeJobs (the kubernetes runner): one per video, named from its id, so a
 * redelivered upload event answers `AlreadyExists` and creates nothing. Credentials come from
 * @kubernetes/client-node's KubeConfig, applied per request (a projected service-account token rotates).
 */
export class TranscodeJobRepository {
  private agent: Agent | undefined;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly server: URL,
    readonly namespace: string,
    private readonly timeoutMs: number,
  ) {}

  static load(opts: TranscodeJobClientOptions): TranscodeJobRepository {
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromCluster();
    const cluster = kc.getCurrentCluster();
    let server: URL | undefined;
    try {
      server = cluster?.server ? new URL(cluster.server) : undefined;
    } catch {
      server = undefined;
    }
    // Outside a Pod, loadFromCluster yields `https://undefined:undefined`.
    if (!server || server.hostname === 'undefined') {
      throw new Error('TRANSCODE_RUNNER=kubernetes finds no Kubernetes API server: set KUBECONFIG, or run in a Pod (KUBERNETES_SERVICE_HOST/PORT)');
    }
    let namespace = opts.namespace;
    if (namespace === undefined) {
      try {
        namespace = readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim();
      } catch {
        throw new Error(`TRANSCODE_NAMESPACE is unset and ${SERVICE_ACCOUNT_NAMESPACE_FILE} cannot be read: set TRANSCODE_NAMESPACE`);
      }
    }
    return new TranscodeJobRepository(kc, server, namespace, opts.timeoutMs ?? 10_000);
  }

  /** The name the TranscodeJob of this video has. */
  static nameOf(videoId: string): string {
    return transcodeJobName(videoId, sha256);
  }

  /** Creates the video's TranscodeJob; `exists` when it is there already (the event was delivered before). */
  async create(spec: TranscodeJobSpecInput, labels: Record<string, string> = {}): Promise<{ name: string; outcome: 'created' | 'exists' }> {
    const name = TranscodeJobRepository.nameOf(spec.videoId);
    const body = {
      apiVersion: TRANSCODE_JOB_API_VERSION,
      kind: TRANSCODE_JOB_KIND,
      metadata: { name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'kinora-transcoder', ...labels } },
      spec,
    };
    const [group, version] = TRANSCODE_JOB_API_VERSION.split('/') as [string, string];
    try {
      await this.call('POST', `/apis/${group}/${version}/namespaces/${encodeURIComponent(this.namespace)}/${TRANSCODE_JOB_PLURAL}`, body);
      return { name, outcome: 'created' };
    } catch (err) {
      if (err instanceof KubernetesApiError && err.status === 409 && err.reason === 'AlreadyExists') return { name, outcome: 'exists' };
      throw err;
    }
  }

  close(): void {
    this.agent?.destroy();
  }

  private async call(method: string, path: string, body: unknown): Promise<unknown> {
    const opts: RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    this.agent ??= new Agent({ keepAlive: true, maxSockets: 4, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized });
    const payload = Buffer.from(JSON.stringify(body));
    const headers = { ...(opts.headers as Record<string, string>), accept: 'application/json', 'content-type': 'application/json', 'content-length': payload.length };
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      const req = request(url, { ...opts, agent: this.agent, method, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new KubernetesApiError(0, 'Unreachable', `${method} ${url.href}: ${err.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: { reason?: string; message?: string } | undefined;
          try {
            parsed = text ? (JSON.parse(text) as { reason?: string; message?: string }) : undefined;
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) resolve(parsed);
          else reject(new KubernetesApiError(status, parsed?.reason ?? 'Unknown', `${method} ${url.pathname}: ${status} ${parsed?.reason ?? ''}: ${parsed?.message ?? text.slice(0, 500)}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(new KubernetesApiError(0, 'Unreachable', `${method} ${url.href}: ${err.message}`)));
      req.end(payload);
    });
  }
}
