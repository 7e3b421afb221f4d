/** Delay after the `failures`-th consecutive failure: base · 2^(failures-1), capped at max (client-go's per-item limiter). */
export function exponentialDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 52);
  return Math.min(maxMs, baseMs * 2 ** exp);
}
