export interface BackoffOptions {
  /** Delay after the first failure. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
}

/** Exponential backoff: initialMs after the first failure, doubling per further failure, capped at maxMs. */
export function backoffDelayMs(failures: number, { initialMs, maxMs }: BackoffOptions): number {
  if (failures < 1) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
}
