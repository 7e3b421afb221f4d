/** One rule of a (Cluster)Role. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const READ = ['get', 'list', 'watch'];

/**
 * What the controllers touch besides their own kinds; the chart's ClusterRole is generated from this list
 * (`npm run generate -w @kinora/kinora-operator`), so a controller that starts touching something new must add it
 * here, or it fails with 403 in the cluster.
 */
export const CONTROLLER_PERMISSIONS: readonly PolicyRule[] = [
  // TranscodeJob: Jobs per step, their Pods' termination messages, and Events.
  { apiGroups: ['batch'], resources: ['jobs'], verbs: WRITE },
  { apiGroups: [''], resources: ['pods'], verbs: READ },
  // CounterShardSet and RegionReplica: the Deployments, Services and Ingress they own.
  { apiGroups: ['apps'], resources: ['deployments'], verbs: WRITE },
  { apiGroups: [''], resources: ['services'], verbs: WRITE },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: WRITE },
  { apiGroups: ['kafka.strimzi.io'], resources: ['kafkatopics'], verbs: WRITE },
  // RegionReplica: the replica URL is read from a Secret to probe its lag.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  // Leader election.
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
];
