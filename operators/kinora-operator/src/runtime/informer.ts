import { makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { resourcePath, type KubeClient, type KubeObject, type ResourceRef } from './kube-client.js';
import type { Logger } from './logger.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions {
  apiVersion: string;
  plural: string;
  /** One namespace, or every namespace when unset. */
  namespace?: string;
  labelSelector?: string;
  /** Delay before the list+watch is started again after an error. Default 1 s. */
  restartDelayMs?: number;
}

/**
 * A list+watch cache of one resource (client-node's informer), restarted after errors, with a `synced` promise
 * (the first list is in the cache) and lookups by namespace/name.
 */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly inner;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly handlers: ((event: InformerEvent, obj: T) => void)[] = [];

  constructor(
    client: KubeClient,
    private readonly opts: InformerOptions,
    private readonly logger: Logger,
  ) {
    const ref: ResourceRef = { apiVersion: opts.apiVersion, plural: opts.plural, namespace: opts.namespace };
    const path = resourcePath(ref);
    const list = async () => {
      const res = await client.list<T>(ref, { labelSelector: opts.labelSelector });
      return res as unknown as { apiVersion: string; kind: string; metadata: { resourceVersion?: string }; items: KubernetesObject[] };
    };
    this.inner = makeInformer<KubernetesObject>(client.kubeConfig, path, list as never, opts.labelSelector);
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.inner.on(ev, (obj) => {
        for (const h of this.handlers) h(ev, obj as unknown as T);
      });
    }
    this.inner.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.logger.warn({ err: String(err), resource: opts.plural }, 'watch failed; restarting');
      this.restartTimer = setTimeout(() => void this.startInner(), opts.restartDelayMs ?? 1000);
      this.restartTimer.unref();
    });
  }

  on(handler: (event: InformerEvent, obj: T) => void): void {
    this.handlers.push(handler);
  }

  /** Resolves once the first list is in the cache (handlers have seen an `add` for each object). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.startInner(true);
  }

  private async startInner(throwOnError = false): Promise<void> {
    if (this.stopped) return;
    try {
      await this.inner.start();
    } catch (err) {
      if (throwOnError) throw err;
      this.logger.warn({ err: String(err), resource: this.opts.plural }, 'list failed; retrying');
      this.restartTimer = setTimeout(() => void this.startInner(), this.opts.restartDelayMs ?? 1000);
      this.restartTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.inner.stop();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.inner.get(name, namespace) as unknown as T | undefined;
  }

  list(namespace?: string): T[] {
    return this.inner.list(namespace) as unknown as T[];
  }
}
