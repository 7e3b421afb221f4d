import { API_VERSION } from '../api/v1alpha1/common.types.js';
import type { RegionReplica, RegionReplicaStatus } from '../api/v1alpha1/regionreplica.types.js';
import { componentDeployment, componentName, componentService, componentStatus, regionComponents, regionIngress } from '../reconcile/regionreplica.desired.js';
import type { LagProber } from '../reconcile/replica-lag.prober.js';
import { setStandardConditions } from '../runtime/conditions.js';
import { Controller, splitKey, type ReconcileResult, type Reconciler } from '../runtime/controller.js';
import { Informer } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { Logger } from '../runtime/logger.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { patchStatus } from '../runtime/status.js';

export interface RegionReplicaOptions {
  client: KubeClient;
  namespace?: string;
  fieldManager: string;
  metrics: OperatorMetrics;
  logger: Logger;
  lagProber: LagProber;
  /** How often the replica lag is probed again. Default 30 s. */
  probeIntervalMs?: number;
  workers?: number;
}

const PLURAL = 'regionreplicas';

/**
 * RegionReplica → a Deployment + Service per component (gateway, read services, realtime) bound to the region's
 * replica and Redis, and an Ingress for its host. Status: each component's readiness (from its Deployment) and
 * the replica's lag (probed with the URL from the Secret the spec names).
 */
export class RegionReplicaReconciler implements Reconciler {
  constructor(
    private readonly opts: RegionReplicaOptions,
    private readonly cache: { regions: Informer; deployments: Informer },
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const rr = this.cache.regions.get(namespace, name) as unknown as RegionReplica | undefined;
    if (!rr || rr.metadata.deletionTimestamp) return;
    const { client, fieldManager } = this.opts;
    const components = regionComponents(rr);
    for (const c of components) {
      await client.apply({ apiVersion: 'apps/v1', plural: 'deployments', namespace, name: componentName(rr, c.name) }, componentDeployment(rr, c, components), fieldManager);
      await client.apply({ apiVersion: 'v1', plural: 'services', namespace, name: componentName(rr, c.name) }, componentService(rr, c), fieldManager);
    }
    const ingress = regionIngress(rr, components) as { metadata: { name: string } };
    await client.apply({ apiVersion: 'networking.k8s.io/v1', plural: 'ingresses', namespace, name: ingress.metadata.name }, ingress, fieldManager);

    const statuses = components.map((c) => componentStatus(c.name, c.replicas, this.cache.deployments.get(namespace, componentName(rr, c.name)) as never));
    const readyCount = statuses.filter((s) => s.ready).length;

    let lag: number | undefined;
    let lagError: string | undefined;
    try {
      const ref = rr.spec.database.replicaUrlSecret;
      const secret = await client.find<{ data?: Record<string, string> }>({ apiVersion: 'v1', plural: 'secrets', namespace, name: ref.name });
      if (!secret) throw new Error(`Secret ${ref.name} not found`);
      const encoded = secret.data?.[ref.key];
      if (!encoded) throw new Error(`Secret ${ref.name} has no key ${ref.key}`);
      const url = Buffer.from(encoded, 'base64').toString('utf8').split(',')[0]!.trim();
      lag = await this.opts.lagProber.probe(url);
    } catch (err) {
      lagError = `replica lag probe failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    const maxLag = rr.spec.maxReplicaLagSeconds ?? 30;
    const lagging = lag !== undefined && lag > maxLag;
    const allReady = readyCount === components.length;
    const status: RegionReplicaStatus = {
      observedGeneration: rr.metadata.generation,
      region: rr.spec.region,
      ready: `${readyCount}/${components.length}`,
      components: statuses,
      ...(lag !== undefined ? { replicaLagSeconds: lag } : {}),
      url: `${rr.spec.ingress.tlsSecretName ? 'https' : 'http'}://${rr.spec.ingress.host}`,
      conditions: setStandardConditions(
        rr.status?.conditions,
        {
          ready:
            allReady && !lagging && !lagError
              ? [true, 'RegionReady', `all ${components.length} components ready, replica lag ${lag}s`]
              : [false, !allReady ? 'ComponentsNotReady' : 'ReplicaNotHealthy', !allReady ? `not ready: ${statuses.filter((s) => !s.ready).map((s) => s.name).join(', ')}` : (lagError ?? `replica lag ${lag}s > ${maxLag}s`)],
          progressing: !allReady ? [true, 'RollingOut', `${readyCount}/${components.length} components ready`] : [false, 'Stable', ''],
          degraded: lagError ? [true, 'LagProbeFailed', lagError] : lagging ? [true, 'ReplicaLagging', `replica lag ${lag}s exceeds ${maxLag}s`] : [false, 'AsExpected', ''],
        },
        rr.metadata.generation,
        new Date(),
      ),
    };
    await patchStatus(client, { apiVersion: API_VERSION, plural: PLURAL, namespace, name }, rr.status as Record<string, unknown> | undefined, status as Record<string, unknown>, fieldManager);
    return { requeueAfterMs: this.opts.probeIntervalMs ?? 30_000 };
  }
}

export function createRegionReplicaController(opts: RegionReplicaOptions): { controller: Controller; informers: Informer[] } {
  const log = opts.logger.child({ controller: 'RegionReplica' });
  const regions = new Informer(opts.client, { apiVersion: API_VERSION, plural: PLURAL, namespace: opts.namespace }, log);
  const deployments = new Informer(opts.client, { apiVersion: 'apps/v1', plural: 'deployments', namespace: opts.namespace, labelSelector: 'kinora.io/regionreplica' }, log);
  const services = new Informer(opts.client, { apiVersion: 'v1', plural: 'services', namespace: opts.namespace, labelSelector: 'kinora.io/regionreplica' }, log);
  const ingresses = new Informer(opts.client, { apiVersion: 'networking.k8s.io/v1', plural: 'ingresses', namespace: opts.namespace, labelSelector: 'kinora.io/regionreplica' }, log);
  const reconciler = new RegionReplicaReconciler(opts, { regions, deployments });
  const controller = new Controller({
    kind: 'RegionReplica',
    primary: regions,
    owned: [deployments, services, ingresses].map((informer) => ({ informer, ownerKind: 'RegionReplica' })),
    reconciler,
    workers: opts.workers,
    metrics: opts.metrics,
    logger: log,
  });
  return { controller, informers: [regions, deployments, services, ingresses] };
}
