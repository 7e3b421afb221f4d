import { useEffect, useState } from 'react';
import type { Video } from '@kinora/contracts';
import { api } from '../api.js';
import { useAuth } from '../auth.js';
import { Link } from '../router.js';
import { ErrorMessage, Loading, VideoCard } from '../ui.js';

type Mode = 'home' | 'trending' | 'search';

const TITLES: Record<Mode, string> = { home: 'Home', trending: 'Trending', search: 'Search results' };

/** Home (personalised when signed in, popular otherwise), trending, and search results: one grid of videos. */
export function Home({ mode, q = '' }: { mode: Mode; q?: string }) {
  const { user } = useAuth();
  const [videos, setVideos] = useState<Video[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    setVideos(null);
    setError(null);
    const load = mode === 'search' ? api.search(q) : mode === 'trending' ? api.videos('trending') : api.homeFeed();
    load.then(
      (page) => live && setVideos(page.items),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [mode, q, user?.id]);
  return (
    <section className="page">
      <div className="tabs" role="navigation" aria-label="Lists">
        <Link to="/" aria-current={mode === 'home' ? 'page' : undefined}>
          Home
        </Link>
        <Link to="/trending" aria-current={mode === 'trending' ? 'page' : undefined}>
          Trending
        </Link>
        {user ? <Link to="/feed/subscriptions">Subscriptions</Link> : null}
      </div>
      <h1>{mode === 'search' ? `Results for “${q}”` : TITLES[mode]}</h1>
      <ErrorMessage error={error} />
      {!error && videos === null ? <Loading label="Loading videos…" /> : null}
      {videos && videos.length === 0 ? (
        <p className="empty">{mode === 'search' ? 'No video matches your search.' : 'No videos yet. Be the first to upload one!'}</p>
      ) : null}
      {videos && videos.length > 0 ? (
        <ul className="grid" aria-label="Videos">
          {videos.map((v) => (
            <VideoCard key={v.id} video={v} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}
