// The benchmark's video ids: the uuid made of md5('kinora-bench-<n>'), computed the same way by the seed's SQL.
import { createHash } from 'node:crypto';

export function videoId(n) {
  const h = createHash('md5').update(`kinora-bench-${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const SEED_SQL = (count) => `
INSERT INTO videos.videos (id, owner_id, channel_id, channel_handle, channel_name, title, description, tags, visibility,
                           state, duration_sec, width, height, hls_key, dash_key, thumbnail_key, published_at, created_at)
SELECT md5('kinora-bench-' || n)::uuid, '01900000-0000-7000-8000-000000000001', '01900000-0000-7000-8000-000000000002',
       'bench', 'Bench channel', 'Video number ' || n, repeat('A description of the video. ', 8), ARRAY['bench', 'zipf'],
       'public', 'ready', 120, 1280, 720,
       'media/' || md5('kinora-bench-' || n)::uuid || '/master.m3u8', 'media/' || md5('kinora-bench-' || n)::uuid || '/manifest.mpd',
       'media/' || md5('kinora-bench-' || n)::uuid || '/poster.jpg', now() - n * interval '1 second', now() - n * interval '1 second'
FROM generate_series(1, ${count}) AS n`;

/** Paths of `GET /api/v1/videos/:id` drawn by Zipf (s = 1.0): rank r with probability ∝ 1/r, over `n` videos. */
export function zipfPaths(n) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 1; r <= n; r++) cdf[r - 1] = sum += 1 / r;
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  const paths = Array.from({ length: n }, (_, i) => `/api/v1/videos/${videoId(i + 1)}`);
  return () => {
    const u = Math.random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return paths[lo];
  };
}
