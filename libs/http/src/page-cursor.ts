import { commonErrors } from './errors.js';

/** Opaque page cursors: base64url JSON of the last item's sort key, tagged with the order it belongs to. */
export function encodeCursor(kind: string, key: unknown[]): string {
  return Buffer.from(JSON.stringify({ k: kind, v: key })).toString('base64url');
}

/** The key of a cursor made by {@link encodeCursor} for `kind`; a 400 for anything else. */
export function decodeCursor(kind: string, cursor: string, check: (key: unknown[]) => boolean): unknown[] {
  let parsed: { k?: unknown; v?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown; v?: unknown };
  } catch {
    parsed = {};
  }
  if (parsed?.k !== kind || !Array.isArray(parsed.v) || !check(parsed.v)) {
    throw commonErrors.VALIDATION_FAILED('The cursor is invalid (use the nextCursor of a previous page of the same list)', [
      { field: '/query/cursor', message: 'is invalid' },
    ]);
  }
  return parsed.v;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
