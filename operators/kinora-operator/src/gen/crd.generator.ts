import type { TSchema } from '@sinclair/typebox';
import { GROUP, VERSION, type KindDefinition } from '../api/v1alpha1/common.types.js';

/** The OpenAPI v3 keywords a structural CRD schema may carry; TypeBox's own markers (symbols, `$id`) are dropped. */
const KEPT = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'format',
  'default',
  'description',
  'additionalProperties',
  'nullable',
  'anyOf',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A TypeBox schema as an OpenAPI v3 schema the API server accepts (keys in a stable order). */
export function toOpenApi(schema: TSchema): Json {
  const out: Record<string, Json> = {};
  for (const key of Object.keys(schema).sort()) {
    if (!KEPT.has(key)) continue;
    const value = (schema as Record<string, unknown>)[key];
    if (key === 'properties') {
      const props: Record<string, Json> = {};
      for (const [name, sub] of Object.entries(value as Record<string, TSchema>)) props[name] = toOpenApi(sub);
      out[key] = props;
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = toOpenApi(value as TSchema);
    } else if (key === 'anyOf') {
      out[key] = (value as TSchema[]).map(toOpenApi);
    } else {
      out[key] = JSON.parse(JSON.stringify(value)) as Json;
    }
  }
  return out;
}

/** The CustomResourceDefinition of one kind: schema with validation, status subresource, printer columns. */
export function buildCrd(def: KindDefinition): Record<string, Json> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'kinora', 'app.kubernetes.io/component': 'operator' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: def.categories,
      },
      scope: def.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c }) as unknown as Json),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toOpenApi(def.spec),
                status: toOpenApi(def.status),
              },
            },
          },
        },
      ],
    },
  };
}
