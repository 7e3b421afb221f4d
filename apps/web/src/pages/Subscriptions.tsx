import { useEffect, useState } from 'react';
import type { FeedVideo } from '@kinora/contracts';
import { useAuth } from '../auth.js';
import { Link } from '../router.js';
import { ErrorMessage, formatDuration, Loading } from '../ui.js';
import { studio } from '../studio/studioApi.js';

/** The subscriptions feed: ready public videos of the channels I subscribe to, newest first. */
export default function Subscriptions() {
  const { user, loading } = useAuth();
  const [videos, setVideos] = useState<FeedVideo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!user) return;
    let live = true;
    studio.subscriptionsFeed().then(
      (p) => live && setVideos(p.items),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [user?.id]);
  if (loading) return null;
  return (
    <section className="page">
      <div className="tabs" role="navigation" aria-label="Lists">
        <Link to="/">Home</Link>
        <Link to="/trending">Trending</Link>
        <Link to="/feed/subscriptions" aria-current="page">
          Subscriptions
        </Link>
      </div>
      <h1>Subscriptions</h1>
      {!user ? (
        <p>
          <Link to="/signin?next=/feed/subscriptions">Sign in</Link> to see the new videos of the channels you subscribe to.
        </p>
      ) : (
        <>
          <ErrorMessage error={error} />
          {!error && videos === null ? <Loading label="Loading your subscriptions…" /> : null}
          {videos && videos.length === 0 ? <p className="empty">Nothing here yet: subscribe to channels to see their new videos.</p> : null}
          {videos && videos.length > 0 ? (
            <ul className="grid" aria-label="Videos">
              {videos.map((v) => (
                <li key={v.id} className="card">
                  <Link to={`/watch/${v.id}`} className="card-link">
                    <div className="thumb">
                      <div className="thumb-empty" aria-hidden="true" />
                      {v.durationSec !== undefined ? <span className="duration">{formatDuration(v.durationSec)}</span> : null}
                    </div>
                    <span className="card-title">{v.title}</span>
                  </Link>
                  <span className="card-meta">
                    <Link to={`/channel/${v.channel.id}`}>{v.channel.name}</Link> · {new Date(v.publishedAt).toLocaleDateString()}
                  </span>
                </li>
              ))}
            </ul>
          ) : null}
        </>
      )}
    </section>
  );
}
