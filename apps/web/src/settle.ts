/**
 * What is not urgent (the notifications menu's live connection) waits while a page's critical path runs: the watch
 * page's player has the network and the CPU to itself until its first frame (or until playback could not start).
 * The watch page says so with {@link markPageSettled}; every other page is settled at once.
 */
const EVENT = 'kinora:page-settled';
let settledPath: string | null = null;

/** Paths whose first paint waits for media. */
const holdsUntilSettled = (path: string): boolean => path.startsWith('/watch/');

/** The current page reached what it waited for (the watch page: its first frame). */
export function markPageSettled(): void {
  settledPath = location.pathname;
  window.dispatchEvent(new Event(EVENT));
}

/**
 * Runs `fn` once the current page settled (at once on pages that do not wait), at the latest after `maxWaitMs`.
 * Returns a function that cancels it.
 */
export function afterPageSettled(fn: () => void, maxWaitMs = 15_000): () => void {
  if (!holdsUntilSettled(location.pathname) || settledPath === location.pathname) {
    fn();
    return () => {};
  }
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cancel();
    fn();
  };
  const timer = setTimeout(run, maxWaitMs);
  window.addEventListener(EVENT, run);
  const cancel = () => {
    clearTimeout(timer);
    window.removeEventListener(EVENT, run);
  };
  return () => {
    done = true;
    cancel();
  };
}
