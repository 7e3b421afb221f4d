import { commonErrors } from '@kinora/http';

/**
 * Opaque keyset cursors: base64url of a JSON array `[sortValue, id]` (the last item of the page). Ordering is by
 * `(sortValue, id)` descending, so a cursor stays valid while rows are added or removed.
 */
export type CursorValue = string | number;

export function encodeCursor(sortValue: CursorValue, id: string): string {
  return Buffer.from(JSON.stringify([sortValue, id]), 'utf8').toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decodes a cursor whose sort value has the given kind; anything else is a 400 VALIDATION_FAILED (`/query/cursor`). */
export function decodeCursor(cursor: string, kind: 'time' | 'number'): { sortValue: CursorValue; id: string } {
  const bad = () => commonErrors.VALIDATION_FAILED('The cursor is not one this list returned', [{ field: '/query/cursor', message: 'is invalid' }]);
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [sortValue, id] = parsed as unknown[];
  if (typeof id !== 'string' || !UUID.test(id)) throw bad();
  if (kind === 'time') {
    if (typeof sortValue !== 'string' || Number.isNaN(Date.parse(sortValue))) throw bad();
  } else if (typeof sortValue !== 'number' || !Number.isFinite(sortValue)) {
    throw bad();
  }
  return { sortValue: sortValue as CursorValue, id };
}
