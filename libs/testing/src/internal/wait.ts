import { HarnessError, type ServiceProcess } from './process.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Fail at once (with its log) when this process exits while we wait. */
  process?: ServiceProcess;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false`, the deadline passes, or the watched
 * process dies. A probe that throws counts as "not yet"; its last error is reported on timeout.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    if (options.process && !options.process.running) {
      throw new HarnessError(`${what}: ${options.process.name} ${options.process.describeExit()} before it was ready`, options.process.logFile);
    }
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new HarnessError(`${what}: not ready after ${options.timeoutMs} ms${reason}`, options.process?.logFile);
    }
    await sleep(interval);
  }
}
