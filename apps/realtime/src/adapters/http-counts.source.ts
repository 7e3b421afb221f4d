import type { CountsSource, VideoCounters } from '../ports.js';

/**
 * Counters read from the public video API (`GET /api/v1/videos/:id` → `stats`) of the video service or the gateway,
 * for a standalone realtime process that has no analytics in-process. Videos that answer anything but 200 are
 * left out (zeros). Bounded: `concurrency` requests at once, each `timeoutMs`.
 */
export function httpCountsSource(baseUrl: string, opts: { concurrency?: number; timeoutMs?: number } = {}): CountsSource {
  const concurrency = opts.concurrency ?? 16;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  return async (videoIds) => {
    const out = new Map<string, VideoCounters>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < videoIds.length) {
        const id = videoIds[next++]!;
        try {
          const res = await fetch(new URL(`/api/v1/videos/${encodeURIComponent(id)}`, baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
          if (res.status !== 200) {
            await res.body?.cancel();
            continue;
          }
          const stats = ((await res.json()) as { stats?: Partial<VideoCounters> }).stats;
          if (stats) out.set(id, { views: stats.views ?? 0, likes: stats.likes ?? 0, dislikes: stats.dislikes ?? 0, comments: stats.comments ?? 0 });
        } catch {
          // this video's counters stay as they were
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, videoIds.length) }, worker));
    return out;
  };
}
