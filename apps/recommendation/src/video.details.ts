import type { Video } from '@kinora/contracts';

/**
 * Where the list items' full `Video` (stats, thumbnail, description, channel) comes from: the video service owns
 * them. Embedded mode wires the video module in-process; a standalone process asks `VIDEO_SERVICE_URL`.
 */
export interface VideoDetails {
  /** The public view of these videos; an id missing from the map is unknown to it or could not be read. */
  videos(ids: string[]): Promise<Map<string, Video>>;
}

/** `GET <videoServiceUrl>/api/v1/videos/:id` for each id in parallel, bounded in time; failures are just missing. */
export function httpVideoDetails(baseUrl: string, timeoutMs = 2_000): VideoDetails {
  return {
    async videos(ids) {
      const found = await Promise.all(
        ids.map(async (id) => {
          try {
            const res = await fetch(`${baseUrl}/api/v1/videos/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(timeoutMs) });
            return res.ok ? ((await res.json()) as Video) : null;
          } catch {
            return null;
          }
        }),
      );
      return new Map(found.filter((v): v is Video => v !== null).map((v) => [v.id, v]));
    },
  };
}

/** In-process: one `get` per id (errors and not-found are missing). */
export function moduleVideoDetails(get: (id: string) => Promise<Video>): VideoDetails {
  return {
    async videos(ids) {
      const found = await Promise.all(ids.map((id) => get(id).catch(() => null)));
      return new Map(found.filter((v): v is Video => v !== null).map((v) => [v.id, v]));
    },
  };
}
