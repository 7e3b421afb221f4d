import type { ComponentStatus, RegionReplica } from '../api/v1alpha1/regionreplica.types.js';
import { DEFAULT_READ_SERVICES } from '../api/v1alpha1/regionreplica.types.js';
import { CONTAINER_SECURITY, POD_SECURITY, childLabels, dnsLabel, ownerRef, selectorLabels } from './owner.js';

export interface RegionComponent {
  /** gateway, realtime, or a read service (video, comment, ...) */
  name: string;
  replicas: number;
  /** Served by the region's Ingress: gateway at /, realtime at /socket.io */
  ingressPath?: string;
}

/** The components of a region: the gateway, each read service, and realtime. */
export function regionComponents(rr: RegionReplica): RegionComponent[] {
  const s = rr.spec;
  const reads = s.readServices?.names ?? [...DEFAULT_READ_SERVICES];
  return [
    { name: 'gateway', replicas: s.gateway?.replicas ?? 2, ingressPath: '/' },
    ...reads.map((name) => ({ name, replicas: s.readServices?.replicas ?? 2 })),
    { name: 'realtime', replicas: s.realtime?.replicas ?? 2, ingressPath: '/socket.io' },
  ];
}

export const componentName = (rr: RegionReplica, component: string): string => dnsLabel(`${rr.metadata.name}-${component}`);

/** The environment that binds a region's processes to its replica and Redis (secrets stay in Secrets). */
export function regionEnv(rr: RegionReplica, component: string, components: RegionComponent[]): unknown[] {
  const s = rr.spec;
  const env: unknown[] = [
    { name: 'KINORA_SERVICES', value: component },
    { name: 'REGION', value: s.region },
    { name: 'PUBLIC_URL', value: `https://${s.ingress.host}` },
    { name: 'DATABASE_REPLICA_URLS', valueFrom: { secretKeyRef: { name: s.database.replicaUrlSecret.name, key: s.database.replicaUrlSecret.key } } },
    { name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: s.redis.urlSecret.name, key: s.redis.urlSecret.key } } },
  ];
  if (component === 'gateway') {
    // The gateway calls this region's read services.
    for (const c of components) {
      if (c.name === 'gateway') continue;
      env.push({ name: `${c.name.toUpperCase().replace(/-/g, '_')}_SERVICE_URL`, value: `http://${componentName(rr, c.name)}:8080` });
    }
  }
  return env;
}

export function componentDeployment(rr: RegionReplica, c: RegionComponent, components: RegionComponent[]): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: componentName(rr, c.name), namespace: rr.metadata.namespace, labels: { ...childLabels(rr, c.name), 'kinora.io/region': rr.spec.region }, ownerReferences: [ownerRef(rr)] },
    spec: {
      replicas: c.replicas,
      selector: { matchLabels: selectorLabels(rr, c.name) },
      template: {
        metadata: { labels: { ...childLabels(rr, c.name), 'kinora.io/region': rr.spec.region } },
        spec: {
          securityContext: POD_SECURITY,
          enableServiceLinks: false,
          containers: [
            {
              name: c.name,
              image: rr.spec.image,
              command: ['node', `apps/${c.name}/dist/main.js`],
              env: regionEnv(rr, c.name, components),
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
              securityContext: CONTAINER_SECURITY,
            },
          ],
        },
      },
    },
  };
}

export function componentService(rr: RegionReplica, c: RegionComponent): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: componentName(rr, c.name), namespace: rr.metadata.namespace, labels: childLabels(rr, c.name), ownerReferences: [ownerRef(rr)] },
    spec: { selector: selectorLabels(rr, c.name), ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] },
  };
}

export function regionIngress(rr: RegionReplica, components: RegionComponent[]): Record<string, unknown> {
  const ing = rr.spec.ingress;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: dnsLabel(rr.metadata.name), namespace: rr.metadata.namespace, labels: childLabels(rr, 'ingress'), ownerReferences: [ownerRef(rr)] },
    spec: {
      ...(ing.className ? { ingressClassName: ing.className } : {}),
      ...(ing.tlsSecretName ? { tls: [{ hosts: [ing.host], secretName: ing.tlsSecretName }] } : {}),
      rules: [
        {
          host: ing.host,
          http: {
            paths: components
              .filter((c) => c.ingressPath)
              .sort((a, b) => b.ingressPath!.length - a.ingressPath!.length)
              .map((c) => ({ path: c.ingressPath, pathType: 'Prefix', backend: { service: { name: componentName(rr, c.name), port: { name: 'http' } } } })),
          },
        },
      ],
    },
  };
}

/** A component is ready when as many replicas are ready as it asks for (a Deployment's own status). */
export function componentStatus(name: string, wanted: number, deployment: { status?: { readyReplicas?: number }; spec?: { replicas?: number } } | undefined): ComponentStatus {
  const ready = deployment?.status?.readyReplicas ?? 0;
  return { name, replicas: wanted, readyReplicas: ready, ready: deployment !== undefined && ready >= wanted };
}

/** The probe run against the region's replica: seconds of replay delay, 0 when it has replayed all it received. */
export const REPLICA_LAG_SQL = `SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))
END::float8 AS lag, pg_is_in_recovery() AS replica`;
