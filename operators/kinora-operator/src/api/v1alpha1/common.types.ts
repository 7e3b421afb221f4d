import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** The API group and version of every Kinora custom resource. */
export const GROUP = 'kinora.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A string limited to the given values (an OpenAPI `enum`, which structural CRD schemas accept; a TypeBox union of literals would be `anyOf`). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A map of strings (labels, annotations, env). */
export const StringMap = Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' } });

export const ConditionStatus = StringEnum(['True', 'False', 'Unknown'] as const);

/** metav1.Condition, as the conventions of the API describe it. */
export const ConditionSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 316 }),
  status: ConditionStatus,
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Condition = Static<typeof ConditionSchema>;

export const ConditionsSchema = Type.Unsafe<Condition[]>({
  type: 'array',
  items: ConditionSchema,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** The three conditions every Kinora resource reports. */
export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const SecretKeyRefSchema = Type.Object({
  name: Type.String({ minLength: 1, description: 'Secret in the namespace of the resource' }),
  key: Type.String({ minLength: 1 }),
});
export type SecretKeyRef = Static<typeof SecretKeyRefSchema>;

export { ResourceRequestsSchema, type ResourceRequests } from '@kinora/contracts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A custom resource of this operator: spec as written by users, status written only by the operator. */
export interface CustomResource<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** What the CRD generator needs to know about one kind. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: 'Namespaced';
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
  description: string;
}
