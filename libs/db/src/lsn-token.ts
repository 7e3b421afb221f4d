import { parseLsn } from './replica-lag.js';

/** The request and response header that carries a client's read-your-writes positions (see docs/adr). */
export const LSN_HEADER = 'kinora-lsn';

/** Longest header value read (a few databases × `name=XXXXXXXX/XXXXXXXX`); longer values are ignored. */
const MAX_HEADER_LENGTH = 512;
const PART = /^([a-z][a-z0-9_-]{0,31})=([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})$/;

/** `X/Y` from a 64-bit WAL position. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * Parses a `Kinora-Lsn` value, `users=0/16B3748,videos=0/3000060`: the WAL position a client has seen written per
 * database. Client input: malformed parts (and whole values that are too long) are ignored, never an error.
 */
export function parseLsnToken(value: string | readonly string[] | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const text = Array.isArray(value) ? value.join(',') : (value as string | undefined);
  if (!text || text.length > MAX_HEADER_LENGTH) return out;
  for (const raw of text.split(',')) {
    const m = PART.exec(raw.trim());
    if (!m) continue;
    const lsn = parseLsn(m[2]!);
    const prev = out.get(m[1]!);
    if (prev === undefined || lsn > prev) out.set(m[1]!, lsn);
  }
  return out;
}

/** The header value for `positions` (sorted by name, so equal tokens are equal strings). */
export function formatLsnToken(positions: ReadonlyMap<string, bigint>): string {
  return [...positions.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, lsn]) => `${name}=${formatLsn(lsn)}`)
    .join(',');
}
