import { Type, type Static } from '@sinclair/typebox';
import { ConditionsSchema, SecretKeyRefSchema, type CustomResource, type KindDefinition } from './common.types.js';

export const DEFAULT_READ_SERVICES = ['video', 'comment', 'analytics'] as const;

// Optional with a default: an object's own default (`{}`) must be valid before the defaults inside it apply.
const Replicas = (def: number) => Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: def }));

export const RegionReplicaSpecSchema = Type.Object({
  region: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'region name (REGION of its processes)' }),
  image: Type.String({ minLength: 1, description: 'Kinora image' }),
  gateway: Type.Object({ replicas: Replicas(2) }, { default: {} }),
  readServices: Type.Object(
    {
      names: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]*$' }), { default: [...DEFAULT_READ_SERVICES], maxItems: 20 })),
      replicas: Replicas(2),
    },
    { default: {} },
  ),
  realtime: Type.Object({ replicas: Replicas(2) }, { default: {} }),
  database: Type.Object({
    replicaUrlSecret: SecretKeyRefSchema,
  }),
  redis: Type.Object({
    urlSecret: SecretKeyRefSchema,
  }),
  ingress: Type.Object({
    host: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
    className: Type.Optional(Type.String({ minLength: 1 })),
    tlsSecretName: Type.Optional(Type.String({ minLength: 1 })),
  }),
  maxReplicaLagSeconds: Type.Integer({ minimum: 0, default: 30, description: 'above this the region is Degraded' }),
});
export type RegionReplicaSpec = Static<typeof RegionReplicaSpecSchema>;

export const ComponentStatusSchema = Type.Object({
  name: Type.String(),
  replicas: Type.Integer({ minimum: 0 }),
  readyReplicas: Type.Integer({ minimum: 0 }),
  ready: Type.Boolean(),
});
export type ComponentStatus = Static<typeof ComponentStatusSchema>;

export const RegionReplicaStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  region: Type.Optional(Type.String()),
  ready: Type.Optional(Type.String({ description: 'components ready, e.g. 3/5' })),
  components: Type.Optional(Type.Array(ComponentStatusSchema)),
  replicaLagSeconds: Type.Optional(Type.Number({ minimum: 0, description: 'replay delay of the region\'s Postgres replica' })),
  url: Type.Optional(Type.String()),
  conditions: Type.Optional(ConditionsSchema),
});
export type RegionReplicaStatus = Static<typeof RegionReplicaStatusSchema>;

export type RegionReplica = CustomResource<RegionReplicaSpec, RegionReplicaStatus>;

export const RegionReplicaKind: KindDefinition = {
  kind: 'RegionReplica',
  plural: 'regionreplicas',
  singular: 'regionreplica',
  shortNames: ['rr'],
  categories: ['kinora'],
  scope: 'Namespaced',
  description: 'A region\'s read footprint (gateway, read services, realtime) bound to its Postgres replica and Redis.',
  spec: RegionReplicaSpecSchema,
  status: RegionReplicaStatusSchema,
  printerColumns: [
    { name: 'Region', type: 'string', jsonPath: '.spec.region' },
    { name: 'Host', type: 'string', jsonPath: '.spec.ingress.host' },
    { name: 'Ready', type: 'string', jsonPath: '.status.ready' },
    { name: 'Lag', type: 'number', jsonPath: '.status.replicaLagSeconds', description: 'replica lag in seconds' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
