import { INTERNAL_COUNTERS_PATH, type ChannelCountersV1, type VideoCountersV1 } from '@kinora/contracts';
import { UpstreamPolicy, type BreakerTransition } from '@kinora/resilience';
import type { CountersLoader } from './counters.view.js';

export interface HttpCountersLoaderOptions {
  /** Per-request deadline (ms). Default 2000. */
  timeoutMs?: number;
  /** Consecutive failures that open the breaker, and how long it stays open before a probe. Defaults 5 and 10 s. */
  breakerFailures?: number;
  halfOpenAfterMs?: number;
  /** Ids per request (the API takes at most 100). */
  chunkSize?: number;
  onBreakerChange?: (t: BreakerTransition) => void;
}

/**
 * Loads totals from analytics' internal API (`GET /internal/v1/counters/videos?ids=…`) behind a circuit breaker:
 * when analytics is down, calls fail at once instead of each waiting for its deadline, and a {@link CountersView}
 * serves what it last knew.
 */
export function httpCountersLoader(baseUrl: string, opts: HttpCountersLoaderOptions = {}): CountersLoader & { policy: UpstreamPolicy } {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const policy = new UpstreamPolicy({
    name: 'analytics',
    timeouts: { read: timeoutMs, write: timeoutMs, upload: timeoutMs },
    retries: 1,
    breakerFailures: opts.breakerFailures ?? 5,
    halfOpenAfterMs: opts.halfOpenAfterMs ?? 10_000,
    maxConcurrency: 32,
    maxQueue: 256,
    ...(opts.onBreakerChange ? { onStateChange: opts.onBreakerChange } : {}),
  });
  const size = Math.min(100, opts.chunkSize ?? 100);
  const base = baseUrl.replace(/\/+$/, '');

  async function get<T>(kind: 'videos' | 'channels', ids: readonly string[]): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < ids.length; i += size) {
      const chunk = ids.slice(i, i + size);
      const items = await policy.execute(
        'read',
        async ({ signal }) => {
          const res = await fetch(`${base}${INTERNAL_COUNTERS_PATH}/${kind}?ids=${chunk.map(encodeURIComponent).join(',')}`, { signal, headers: { accept: 'application/json' } });
          if (res.status !== 200) {
            await res.body?.cancel();
            throw new Error(`analytics answered ${res.status} to GET ${INTERNAL_COUNTERS_PATH}/${kind}`);
          }
          const body = (await res.json()) as { items?: unknown };
          if (!Array.isArray(body.items)) throw new Error(`analytics answered ${INTERNAL_COUNTERS_PATH}/${kind} without items`);
          return body.items as T[];
        },
        { idempotent: true },
      );
      out.push(...items);
    }
    return out;
  }

  return {
    policy,
    videos: (ids) => get<VideoCountersV1>('videos', ids),
    channels: (ids) => get<ChannelCountersV1>('channels', ids),
  };
}
