import type { ByteRange } from './object-store.js';
import { RangeNotSatisfiableError } from './storage.errors.js';

/**
 * Resolves a requested range against the object size: `end` is clamped to the last byte, a start at or past the
 * end is RangeNotSatisfiableError. Invalid numbers (negative, fractional, end < start) are a TypeError: the HTTP
 * layer must have rejected them before.
 */
export function resolveRange(key: string, range: ByteRange, size: number): { start: number; end: number } {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new TypeError(`invalid range start: ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) throw new TypeError(`invalid range end: ${end}`);
  if (start >= size) throw new RangeNotSatisfiableError(key, size);
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}
