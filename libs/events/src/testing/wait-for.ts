/**
 * Polls `predicate` until it returns true; fails after `timeoutMs` with a message naming what was awaited and,
 * when `describe` is a function, the state at the time (e.g. what was received so far).
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  describe: string | (() => string) = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${typeof describe === 'function' ? describe() : describe}`);
    }
    await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
