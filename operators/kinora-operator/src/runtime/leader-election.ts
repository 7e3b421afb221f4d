import { isConflict, isNotFound, isAlreadyExists, type KubeClient } from './kube-client.js';
import type { Logger } from './logger.js';

export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name, shared by every instance of the operator. */
  name: string;
  /** This instance (pod name + a random suffix). */
  identity: string;
  /** A holder that has not renewed for this long loses the lease. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that cannot renew within this long steps down. Default 10 s. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go does it: a candidate takes the Lease when it
 * is free or its holder has not renewed within the lease duration (measured on this instance's clock since it last
 * saw the record change, so clocks of different machines are never compared); the leader renews every retry
 * period; updates carry the resourceVersion, so two candidates never both win. `release()` hands the lease back
 * at once on a graceful stop, so the next leader does not wait for it to expire.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { key: string; at: number } | undefined;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly callbacks: { onStartedLeading(): void | Promise<void>; onStoppedLeading(): void | Promise<void> },
    private readonly logger: Logger,
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get identity(): string {
    return this.opts.identity;
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.step();
      await this.running;
      if (!this.stopped) {
        this.timer = setTimeout(() => void tick(), this.retryPeriodMs);
      }
    };
    void tick();
  }

  private ref() {
    return { apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespace: this.opts.namespace, name: this.opts.name };
  }

  private async step(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election: lease update failed');
    }
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.logger.info({ identity: this.opts.identity, lease: this.opts.name }, 'became leader');
        await this.callbacks.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
      this.leading = false;
      this.logger.warn({ identity: this.opts.identity }, 'lost the leader lease');
      await this.callbacks.onStoppedLeading();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const lease = await this.client.find<Lease>(this.ref());
    const mine = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    if (!lease) {
      try {
        await this.client.create({ ...this.ref(), name: undefined }, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (err) {
        if (isAlreadyExists(err) || isConflict(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const recordKey = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}`;
    if (!this.observed || this.observed.key !== recordKey) this.observed = { key: recordKey, at: now.getTime() };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
    const heldByOther = holder !== '' && holder !== this.opts.identity;
    if (heldByOther && this.observed.at + duration > now.getTime()) return false;
    const takingOver = holder !== this.opts.identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        ...mine,
        acquireTime: takingOver ? microTime(now) : spec.acquireTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
      },
    };
    try {
      await this.client.replace(this.ref(), next);
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  /** Stops trying; a leader gives the lease back (empty holder), so another instance takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.find<Lease>(this.ref());
      if (lease && lease.spec.holderIdentity === this.opts.identity) {
        await this.client.replace(this.ref(), {
          ...lease,
          spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
        });
        this.logger.info({ identity: this.opts.identity }, 'released the leader lease');
      }
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release the lease; it expires on its own');
    }
  }
}
