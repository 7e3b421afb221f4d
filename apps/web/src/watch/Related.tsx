import { useEffect, useState } from 'react';
import type { Video } from '@kinora/contracts';
import { api } from '../api.js';
import { ErrorMessage, Loading, VideoCard } from '../ui.js';

/** Up next: related videos (see `api.related`), with loading, empty and error states. */
export function Related({ video }: { video: Pick<Video, 'id' | 'channel'> }) {
  const [items, setItems] = useState<Video[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { id, channel } = video;
  useEffect(() => {
    let live = true;
    setItems(null);
    setError(null);
    api.related({ id, channel }).then(
      (v) => live && setItems(v),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id, channel.id]);
  return (
    <section className="related" aria-labelledby="related-heading">
      <h2 id="related-heading">Up next</h2>
      <ErrorMessage error={error} />
      {error ? null : items === null ? <Loading label="Loading related videos…" /> : items.length === 0 ? <p className="empty">No other videos yet.</p> : (
        <ul className="related-list">
          {items.map((v) => (
            <VideoCard key={v.id} video={v} />
          ))}
        </ul>
      )}
    </section>
  );
}
