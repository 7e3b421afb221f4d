import type { EventBus } from '@kinora/events';
import { createCounterShardSetController, type LagReader } from './controllers/countershardset.controller.js';
import { createRegionReplicaController } from './controllers/regionreplica.controller.js';
import { createTranscodeJobController } from './controllers/transcodejob.controller.js';
import { KafkaLagReader } from './reconcile/kafka-lag.reader.js';
import { PostgresLagProber, type LagProber } from './reconcile/replica-lag.prober.js';
import type { JobTemplate } from './reconcile/transcodejob.jobs.js';
import type { Controller } from './runtime/controller.js';
import { startHealthServer } from './runtime/health.server.js';
import type { Informer } from './runtime/informer.js';
import type { KubeClient } from './runtime/kube-client.js';
import { LeaderElector, type LeaderElectionOptions } from './runtime/leader-election.js';
import { silentLogger, type Logger } from './runtime/logger.js';
import { OperatorMetrics } from './runtime/metrics.js';

export const CONTROLLER_KINDS = ['TranscodeJob', 'CounterShardSet', 'RegionReplica'] as const;
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

export interface OperatorOptions {
  client: KubeClient;
  /** Watch one namespace; every namespace when unset. */
  namespace?: string;
  bus: EventBus;
  jobTemplate: JobTemplate;
  /** Exit codes of a step that fail a TranscodeJob at once (default 2, 3). */
  permanentExitCodes?: readonly number[];
  controllers?: readonly ControllerKind[];
  fieldManager?: string;
  /** Off (`false`) for a single instance; else the Lease that instances compete for. */
  leaderElection: LeaderElectionOptions | false;
  /** Port of /healthz, /readyz, /metrics; 0 picks a free one; unset: no server. */
  port?: number;
  host?: string;
  logger?: Logger;
  metrics?: OperatorMetrics;
  lagReader?: LagReader;
  lagProber?: LagProber;
  defaultBrokers?: string[];
  lagIntervalMs?: number;
  probeIntervalMs?: number;
  workers?: number;
  /** Called when a leader loses its lease (it has stopped its controllers); main exits so it restarts clean. */
  onLostLeadership?: () => void;
}

/**
 * The operator process: a health/metrics server, optional Lease leader election, and — while leading — the
 * controllers (informers synced before any worker runs). `stop()` is the graceful shutdown: controllers drain,
 * then the lease is handed back, then the server closes.
 */
export class Operator {
  readonly metrics: OperatorMetrics;
  private readonly logger: Logger;
  private elector: LeaderElector | undefined;
  private running: { controllers: Controller[]; informers: Informer[] } | undefined;
  private starting: Promise<void> | undefined;
  private synced = false;
  private server: { port: number; close(): Promise<void> } | undefined;
  private stopped = false;

  constructor(private readonly opts: OperatorOptions) {
    this.metrics = opts.metrics ?? new OperatorMetrics();
    this.logger = opts.logger ?? silentLogger;
  }

  get port(): number | undefined {
    return this.server?.port;
  }

  /** This instance runs the controllers (always, without leader election). */
  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.running !== undefined;
  }

  /** Ready: a standby waiting for the lease, or a leader whose informers have synced. */
  get ready(): boolean {
    if (this.stopped) return false;
    if (this.elector && !this.elector.isLeader) return true;
    return this.synced;
  }

  async start(): Promise<void> {
    if (this.opts.port !== undefined) this.server = await startHealthServer(this.opts.port, this.opts.host ?? '0.0.0.0', this.metrics, () => this.ready);
    if (this.opts.leaderElection === false) {
      await this.startControllers();
      return;
    }
    this.elector = new LeaderElector(
      this.opts.client,
      this.opts.leaderElection,
      {
        onStartedLeading: () => {
          this.metrics.leader.set(1);
          this.starting = this.startControllers().catch((err: unknown) => {
            this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'controllers failed to start');
            this.opts.onLostLeadership?.();
          });
        },
        onStoppedLeading: async () => {
          this.metrics.leader.set(0);
          await this.stopControllers();
          this.opts.onLostLeadership?.();
        },
      },
      this.logger,
    );
    this.elector.start();
  }

  /** Resolves once this instance leads and its controllers run (tests, and the benchmark). */
  async whenRunning(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.running && this.synced)) {
      if (Date.now() > deadline) throw new Error('the operator did not start its controllers in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async startControllers(): Promise<void> {
    const o = this.opts;
    const fieldManager = o.fieldManager ?? 'kinora-operator';
    const common = { client: o.client, namespace: o.namespace, fieldManager, metrics: this.metrics, logger: this.logger, workers: o.workers };
    const kinds = o.controllers ?? CONTROLLER_KINDS;
    const built: { controller: Controller; informers: Informer[] }[] = [];
    if (kinds.includes('TranscodeJob')) built.push(createTranscodeJobController({ ...common, bus: o.bus, jobTemplate: o.jobTemplate, permanentExitCodes: o.permanentExitCodes }));
    if (kinds.includes('CounterShardSet'))
      built.push(createCounterShardSetController({ ...common, lagReader: o.lagReader ?? new KafkaLagReader(), defaultBrokers: o.defaultBrokers ?? [], lagIntervalMs: o.lagIntervalMs }));
    if (kinds.includes('RegionReplica')) built.push(createRegionReplicaController({ ...common, lagProber: o.lagProber ?? new PostgresLagProber(), probeIntervalMs: o.probeIntervalMs }));
    const running = { controllers: built.map((b) => b.controller), informers: built.flatMap((b) => b.informers) };
    this.running = running;
    await Promise.all(running.informers.map((i) => i.start()));
    for (const c of running.controllers) c.start();
    this.synced = true;
    this.logger.info({ controllers: kinds, namespace: o.namespace ?? '(all)' }, 'controllers running');
  }

  private async stopControllers(): Promise<void> {
    await this.starting;
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    this.synced = false;
    await Promise.all(running.informers.map((i) => i.stop()));
    await Promise.all(running.controllers.map((c) => c.stop()));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopControllers();
    await this.elector?.stop();
    this.metrics.leader.set(0);
    await this.server?.close();
  }
}
