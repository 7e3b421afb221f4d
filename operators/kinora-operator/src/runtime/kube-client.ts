import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** A failed call to the API server: the HTTP status and the `Status` object it answered with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.name = 'ApiError';
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.status === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.status === 409 && err.reason === 'AlreadyExists';

export interface ResourceRef {
  /** `v1`, `apps/v1`, `kinora.io/v1alpha1` */
  apiVersion: string;
  /** lower-case plural, e.g. `deployments` */
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1/namespaces/ns/pods/name/status` and the like. */
export function resourcePath(ref: ResourceRef): string {
  const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  let path = base;
  if (ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${ref.plural}`;
  if (ref.name) path += `/${encodeURIComponent(ref.name)}`;
  if (ref.subresource) path += `/${ref.subresource}`;
  return path;
}

export interface RequestInit {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/**
 * A small REST client for the API server on top of @kubernetes/client-node's KubeConfig (TLS material and
 * credentials): every verb the controllers use, including server-side apply and the status subresource, over one
 * keep-alive agent. The library's typed clients are not used because apply and status patches of custom resources
 * need the raw content types anyway.
 */
export class KubeClient {
  private constructor(
    readonly kubeConfig: KubeConfig,
    private readonly server: URL,
    private readonly options: RequestOptions,
  ) {}

  static async fromKubeConfig(kc: KubeConfig, maxSockets = 32): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    const opts: RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    opts.agent = new Agent({ keepAlive: true, maxSockets, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized });
    return new KubeClient(kc, new URL(cluster.server), opts);
  }

  /** A kubeconfig file, or in a Pod the service account (`loadFromDefault`). */
  static async load(kubeconfigPath?: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return KubeClient.fromKubeConfig(kc);
  }

  close(): void {
    (this.options.agent as Agent).destroy();
  }

  request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = init.body === undefined ? undefined : Buffer.from(typeof init.body === 'string' ? init.body : JSON.stringify(init.body));
    const headers: Record<string, string | number> = { ...(this.options.headers as Record<string, string>), accept: 'application/json' };
    if (payload) {
      headers['content-type'] = init.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        { ...this.options, method, headers, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve((text ? JSON.parse(text) : undefined) as T);
              return;
            }
            let reason = res.statusMessage ?? 'Error';
            let message = text;
            try {
              const s = JSON.parse(text) as { reason?: string; message?: string };
              reason = s.reason ?? reason;
              message = s.message ?? text;
            } catch {
              // not a Status object: keep the raw text
            }
            reject(new ApiError(status, reason, message, method, url.pathname));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T = KubeObject>(ref: ResourceRef): Promise<T> {
    return this.request<T>('GET', resourcePath(ref));
  }

  /** The object, or undefined on 404. */
  async find<T = KubeObject>(ref: ResourceRef): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  list<T = KubeObject>(ref: ResourceRef, query: RequestInit['query'] = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', resourcePath(ref), { query });
  }

  create<T = KubeObject>(ref: ResourceRef, body: unknown): Promise<T> {
    return this.request<T>('POST', resourcePath(ref), { body });
  }

  replace<T = KubeObject>(ref: ResourceRef, body: unknown): Promise<T> {
    return this.request<T>('PUT', resourcePath(ref), { body });
  }

  /**
   * Server-side apply: the object as this field manager wants it. Fields it stops naming are removed when no other
   * manager owns them; `force` takes fields over from other managers (a controller is the authority on its children).
   */
  apply<T = KubeObject>(ref: ResourceRef, body: unknown, fieldManager: string, force = true): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref), {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: force ? 'true' : undefined },
    });
  }

  /** RFC 7386 JSON merge patch (status of custom resources, annotations). */
  mergePatch<T = KubeObject>(ref: ResourceRef, patch: unknown, fieldManager?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref), { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  /** RFC 6902 JSON patch (e.g. removing one finalizer with a `test` of the list first). */
  jsonPatch<T = KubeObject>(ref: ResourceRef, ops: unknown[]): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref), { body: ops, contentType: 'application/json-patch+json' });
  }

  async delete(ref: ResourceRef, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<boolean> {
    try {
      await this.request('DELETE', resourcePath(ref), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
