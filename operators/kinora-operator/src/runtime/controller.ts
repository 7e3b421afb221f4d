import type { KubeObject } from './kube-client.js';
import type { Informer } from './informer.js';
import type { Logger } from './logger.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

/** What a reconcile pass asks for next: nothing (level reached), or another pass after a delay. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface Reconciler {
  /** Level-triggered and idempotent: reads the current state of `namespace/name` and moves it one step toward the spec. */
  reconcile(key: string): Promise<ReconcileResult | void>;
}

export interface OwnedInformer {
  informer: Informer;
  /** The kind of the owner whose key an event on this object enqueues (via its controller ownerReference). */
  ownerKind: string;
}

export interface ControllerOptions {
  kind: string;
  primary: Informer;
  owned?: OwnedInformer[];
  /** Other events that should enqueue keys (e.g. a Pod's Job's owner); return the keys. */
  watches?: { informer: Informer; keysOf(obj: KubeObject): string[] }[];
  reconciler: Reconciler;
  /**
   * Skip updates of the primary object that leave `metadata.generation` unchanged (its status writes, mostly our
   * own): kubebuilder's GenerationChangedPredicate. Adds, deletes, and events of owned objects always enqueue.
   */
  generationChangedOnly?: boolean;
  workers?: number;
  queue?: WorkQueueOptions;
  metrics: OperatorMetrics;
  logger: Logger;
}

export const keyOf = (obj: { metadata: { namespace?: string; name: string } }): string =>
  obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * One kind's control loop: informer events → work queue (keyed by namespace/name, deduplicated, per-key
 * exponential backoff on errors) → N workers calling `reconcile(key)`. Events on owned objects enqueue their
 * controller owner, so a deleted or changed child is put back.
 */
export class Controller {
  readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];
  private running = false;
  private readonly depthTimer: NodeJS.Timeout;

  constructor(private readonly opts: ControllerOptions) {
    this.queue = new WorkQueue(opts.queue);
    const generations = new Map<string, number | undefined>();
    opts.primary.on((ev, obj) => {
      const key = keyOf(obj);
      const meta = obj.metadata as { generation?: number; deletionTimestamp?: string };
      if (ev === 'delete') generations.delete(key);
      else {
        const seen = generations.get(key);
        generations.set(key, meta.generation);
        if (opts.generationChangedOnly && ev === 'update' && seen !== undefined && seen === meta.generation && !meta.deletionTimestamp) return;
      }
      this.queue.add(key);
    });
    for (const owned of opts.owned ?? []) {
      owned.informer.on((_ev, obj) => {
        const meta = obj.metadata as { namespace?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
        for (const ref of meta.ownerReferences ?? []) {
          if (ref.controller && ref.kind === owned.ownerKind) this.queue.add(meta.namespace ? `${meta.namespace}/${ref.name}` : ref.name);
        }
      });
    }
    for (const w of opts.watches ?? []) w.informer.on((_ev, obj) => w.keysOf(obj).forEach((k) => this.queue.add(k)));
    this.depthTimer = setInterval(() => opts.metrics.queueDepth.set({ kind: opts.kind }, this.queue.length), 1000);
    this.depthTimer.unref();
  }

  get kind(): string {
    return this.opts.kind;
  }

  /** Starts the workers; the informers are started (and synced) by the manager before. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const n = this.opts.workers ?? 2;
    for (let i = 0; i < n; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    const { kind, metrics, logger, reconciler } = this.opts;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      metrics.queueDepth.set({ kind }, this.queue.length);
      const end = metrics.duration.startTimer({ kind });
      try {
        const result = (await reconciler.reconcile(key)) ?? {};
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          metrics.reconciles.inc({ kind, result: 'requeue' });
        } else {
          metrics.reconciles.inc({ kind, result: 'success' });
        }
      } catch (err) {
        metrics.reconciles.inc({ kind, result: 'error' });
        metrics.errors.inc({ kind });
        const delay = this.queue.addRateLimited(key);
        logger.warn({ kind, key, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'reconcile failed');
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  /** Graceful stop: no new keys, in-flight reconciles finish. */
  async stop(): Promise<void> {
    clearInterval(this.depthTimer);
    this.queue.shutDown();
    await this.queue.drained();
    await Promise.all(this.workers);
    this.workers = [];
    this.running = false;
  }
}
