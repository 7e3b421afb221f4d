import { isIPv4, isIPv6 } from 'node:net';

/** One line of the regions file: clients whose address is in `cidr` belong to `region`. */
export interface RegionRange {
  cidr: string;
  region: string;
}

/** Same rule as `REGION` in @kinora/config, so any region name the services accept can be mapped here. */
export const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Thrown for a bad line; `line` is 1-based. */
export class RegionFileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly text: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'RegionFileError';
  }
}

/**
 * Canonical `address/bits` for an IPv4 or IPv6 address with an optional prefix length (a bare address is a /32 or
 * /128), or undefined when it is not one. Only characters nginx's `geo` accepts can come out of here.
 */
export function normalizeCidr(value: string): string | undefined {
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const bitsText = slash === -1 ? undefined : value.slice(slash + 1);
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  if (max === 0) return undefined;
  if (bitsText === undefined) return `${address.toLowerCase()}/${max}`;
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > max) return undefined;
  return `${address.toLowerCase()}/${bits}`;
}

/**
 * Parses the regions file: one `<address>[/<bits>] <region>` per line (an optional trailing `;` is allowed, so
 * lines copied from an nginx `geo` block work), `#` starts a comment, blank lines are ignored. The same range twice
 * is an error (nginx would silently keep one of them).
 */
export function parseRegionFile(text: string): RegionRange[] {
  const out: RegionRange[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const content = raw.replace(/#.*$/, '').trim().replace(/;$/, '').trim();
    if (content === '') continue;
    const fields = content.split(/\s+/);
    if (fields.length !== 2) throw new RegionFileError(i + 1, 'expected "<address>[/<bits>] <region>"', raw.trim());
    const [rangeText, region] = fields as [string, string];
    const cidr = normalizeCidr(rangeText);
    if (!cidr) throw new RegionFileError(i + 1, 'not an IPv4/IPv6 address or CIDR range', rangeText);
    if (!REGION_NAME.test(region)) throw new RegionFileError(i + 1, 'region must be lower-case letters, digits and dashes', region);
    const previous = seen.get(cidr);
    if (previous !== undefined) throw new RegionFileError(i + 1, `range already mapped on line ${previous}`, rangeText);
    seen.set(cidr, i + 1);
    out.push({ cidr, region });
  }
  return out;
}
