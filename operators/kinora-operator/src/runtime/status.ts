import type { KubeClient } from './kube-client.js';

/** JSON with object keys sorted, to compare two statuses regardless of key order. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The one status write of a reconcile pass, on the status subresource; skipped when nothing changed (the write
 * would wake the informer, and the next pass would find nothing to do anyway). Fields that disappear are nulled.
 */
export async function patchStatus(
  client: KubeClient,
  ref: { apiVersion: string; plural: string; namespace?: string; name: string },
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  fieldManager: string,
): Promise<boolean> {
  if (stableJson(before ?? {}) === stableJson(after)) return false;
  const patch: Record<string, unknown> = { ...after };
  for (const k of Object.keys(before ?? {})) if (!(k in after) || after[k] === undefined) patch[k] = null;
  await client.mergePatch({ ...ref, subresource: 'status' }, { status: patch }, fieldManager);
  return true;
}
