import type { HTTPMethods } from 'fastify';
import type { RateLimitTierName } from '@kinora/http';

/** The subset of an OpenAPI 3.x document the gateway reads. */
export interface OpenApiDocument {
  openapi?: string;
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown>; parameters?: Record<string, unknown>; requestBodies?: Record<string, unknown> };
}

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: Record<string, unknown>;
}

interface OpenApiOperation {
  summary?: string;
  description?: string;
  tags?: string[];
  operationId?: string;
  deprecated?: boolean;
  security?: unknown[];
  parameters?: unknown[];
  requestBody?: { content?: Record<string, { schema?: unknown }>; required?: boolean; description?: string };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  [extension: `x-${string}`]: unknown;
}

/** A route of an upstream as the gateway registers it: same method, path and schemas, the proxy as handler. */
export interface DiscoveredRoute {
  method: HTTPMethods;
  /** Fastify path syntax (`/api/v1/channels/:channelId`). */
  url: string;
  schema: Record<string, unknown>;
  /** The tier the upstream declared with `x-kinora-rate-limit-tier`, if any. */
  tier?: RateLimitTierName;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
const TIERS: readonly string[] = ['general', 'auth', 'upload', 'none'];
export const TIER_EXTENSION = 'x-kinora-rate-limit-tier';

/** Replaces local `$ref`s with what they point at (the documents Kinora services generate are not recursive). */
function deref(doc: OpenApiDocument, value: unknown, depth = 0): unknown {
  if (depth > 64) throw new Error('OpenAPI document nests too deep (recursive $ref?)');
  if (Array.isArray(value)) return value.map((v) => deref(doc, v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (typeof obj['$ref'] === 'string') {
    const ref = obj['$ref'];
    if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref} is not supported`);
    let target: unknown = doc;
    for (const part of ref.slice(2).split('/')) {
      target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
    return deref(doc, target, depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = deref(doc, v, depth + 1);
  return out;
}

function objectSchema(params: OpenApiParameter[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const p of params) {
    properties[p.name] = { ...(p.schema ?? {}), ...(p.description && !p.schema?.['description'] ? { description: p.description } : {}) };
    if (p.required) required.push(p.name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

/** `/api/v1/channels/{channelId}` → `/api/v1/channels/:channelId` (and the swagger wildcard `{*}` → `*`). */
export function toFastifyPath(path: string): string {
  return path.replace(/\{\*\}/g, '*').replace(/\{([^}]+)\}/g, ':$1');
}

/**
 * Turns an upstream's OpenAPI document (generated from its TypeBox schemas) back into route definitions, so the
 * gateway validates params, query, headers and JSON bodies with the very schemas the service declares, and its own
 * generated document describes them the same way.
 */
export function routesFromOpenApi(raw: OpenApiDocument): DiscoveredRoute[] {
  const doc = raw;
  const routes: DiscoveredRoute[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const shared = (Array.isArray(item['parameters']) ? item['parameters'] : []) as unknown[];
    for (const m of METHODS) {
      const op = item[m] as OpenApiOperation | undefined;
      if (!op) continue;
      const params = [...shared, ...(op.parameters ?? [])].map((p) => deref(doc, p) as OpenApiParameter);
      const schema: Record<string, unknown> = {};
      for (const key of ['summary', 'description', 'tags', 'operationId', 'deprecated', 'security'] as const) {
        if (op[key] !== undefined) schema[key] = op[key];
      }
      for (const [k, v] of Object.entries(op)) if (k.startsWith('x-')) schema[k] = v;
      const byPlace = (place: OpenApiParameter['in']) => params.filter((p) => p.in === place);
      if (byPlace('path').length > 0) schema['params'] = objectSchema(byPlace('path'));
      if (byPlace('query').length > 0) schema['querystring'] = objectSchema(byPlace('query'));
      if (byPlace('header').length > 0) {
        schema['headers'] = objectSchema(byPlace('header').map((p) => ({ ...p, name: p.name.toLowerCase() })));
      }
      const json = op.requestBody?.content?.['application/json']?.schema;
      if (json !== undefined) schema['body'] = deref(doc, json);
      if (op.responses) {
        const response: Record<string, unknown> = {};
        for (const [status, r] of Object.entries(op.responses)) {
          const content = deref(doc, r.content ?? {}) as Record<string, { schema?: unknown }>;
          const types = Object.entries(content).filter(([, c]) => c.schema !== undefined);
          response[status] =
            types.length > 0
              ? { description: r.description ?? 'Default Response', content: Object.fromEntries(types.map(([ct, c]) => [ct, { schema: c.schema }])) }
              : { description: r.description ?? 'Default Response', type: 'null' };
        }
        schema['response'] = response;
      }
      const tier = op[TIER_EXTENSION];
      routes.push({
        method: m.toUpperCase() as HTTPMethods,
        url: toFastifyPath(path),
        schema,
        ...(typeof tier === 'string' && TIERS.includes(tier) ? { tier: tier as RateLimitTierName } : {}),
      });
    }
  }
  return routes;
}
