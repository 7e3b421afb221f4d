import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { markPageSettled } from '../settle.js';
import type { Comment, Video } from '@kinora/contracts';
import { api, ApiError } from '../api.js';
import { useAuth } from '../auth.js';
import { Player } from '../Player.js';
import { Link } from '../router.js';
import { ErrorMessage, formatCount, Loading } from '../ui.js';
import { initialCounts, pushed, rated, reverted, shownCounts, type Counts, type CountsState, type Rating } from '../watch/counts.js';
import { useVideoSocket } from '../watch/realtime.js';

const CommentsPanel = lazy(() => import('../watch/panels.js').then((m) => ({ default: m.CommentsPanel })));
const SidePanel = lazy(() => import('../watch/panels.js').then((m) => ({ default: m.SidePanel })));
/**
 * The panels and the live connection start shortly after the player settles (first frame, or playback could not
 * start): the player has the network and the CPU to itself until then. PANELS_DELAY_MS is the backstop.
 */
const PANELS_DELAY_MS = 15_000;
const PANELS_AFTER_FRAME_MS = 300;

function viewerId(): string {
  let id = localStorage.getItem('kinora.viewerId');
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem('kinora.viewerId', id);
  }
  return id;
}

/** Subscribe / Unsubscribe for a channel; hidden on the viewer's own channel, a sign-in prompt when signed out. */
function SubscribeButton({ channelId, channelName }: { channelId: string; channelName: string }) {
  const { user } = useAuth();
  const [subscribed, setSubscribed] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setSubscribed(null);
    if (!user || user.channelId === channelId) return;
    let live = true;
    api.subscription(channelId).then(
      (s) => live && setSubscribed(s.subscribed),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [user, channelId]);
  if (user && user.channelId === channelId) return null;
  if (!user) {
    return (
      <Link to="/signin" className="button subscribe">
        Sign in to subscribe
      </Link>
    );
  }
  const toggle = async () => {
    const next = !subscribed;
    setBusy(true);
    setError(null);
    try {
      await api.setSubscribed(channelId, next);
      setSubscribed(next);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="subscribe-wrap">
      <button type="button" className="subscribe" aria-pressed={subscribed === true} disabled={busy || subscribed === null} onClick={() => void toggle()} aria-label={`${subscribed ? 'Unsubscribe from' : 'Subscribe to'} ${channelName}`}>
        {subscribed ? 'Subscribed' : 'Subscribe'}
      </button>
      <ErrorMessage error={error} />
    </span>
  );
}

export default function Watch({ id }: { id: string }) {
  const { user } = useAuth();
  const [video, setVideo] = useState<Video | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [counts, setCounts] = useState<CountsState | null>(null);
  const [rating, setRating] = useState<Rating>('none');
  const [rateError, setRateError] = useState<unknown>(null);
  const viewed = useRef(false);
  const [panels, setPanels] = useState(false);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setVideo(null);
    setError(null);
    setCounts(null);
    viewed.current = false;
    const panelsTimer = setTimeout(() => setPanels(true), PANELS_DELAY_MS);
    const load = () =>
      api.video(id).then(
        (v) => {
          if (!live) return;
          setVideo(v);
          setCounts((c) => c ?? initialCounts({ ...v.stats }));
          // Nothing to play (yet): the page has no first frame to wait for.
          if (v.state !== 'ready') markPageSettled();
          // The owner sees an unfinished video: follow its processing until it is ready.
          if (v.state === 'processing' || v.state === 'awaiting_upload') timer = setTimeout(load, 1500);
        },
        (err: unknown) => {
          if (!live) return;
          setError(err);
          markPageSettled();
        },
      );
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
      clearTimeout(panelsTimer);
    };
  }, [id]);

  useEffect(() => {
    if (!user) return setRating('none');
    api.rating(id).then((r) => setRating(r.value), () => undefined);
  }, [id, user]);

  const socket = useVideoSocket(id, video?.state === 'ready' && panels, user?.id ?? '', (c) => {
    const next: Counts = { views: c.views, likes: c.likes, dislikes: c.dislikes, comments: c.comments, watching: c.watching };
    setCounts((s) => (s ? pushed(s, next, Date.now()) : initialCounts(next)));
  });
  const subscribeComments = useCallback(
    (onComment: (c: Comment) => void) => {
      if (!socket) return () => undefined;
      const h = (e: { videoId: string; comment: Comment }) => e.videoId === id && onComment(e.comment);
      socket.on('comment:new', h);
      return () => void socket.off('comment:new', h);
    },
    [socket, id],
  );

  const rate = async (value: Rating) => {
    const next = rating === value ? 'none' : value;
    const before = rating;
    setRateError(null);
    setRating(next);
    // Shown at once and kept over older pushes until a push reflects it (watch/counts.ts).
    setCounts((s) => s && rated(s, before, next, Date.now()));
    try {
      await api.rate(id, next);
    } catch (err) {
      setRating(before);
      setCounts((s) => s && reverted(s, before, next, Date.now()));
      setRateError(err);
    }
  };

  if (error) {
    return (
      <section className="page">
        <h1>{error instanceof ApiError && error.status === 404 ? 'Video not found' : 'Could not load the video'}</h1>
        <ErrorMessage error={error} />
        <Link to="/">Back to the home page</Link>
      </section>
    );
  }
  if (!video) return <Loading label="Loading video…" />;
  const c: Counts = counts ? shownCounts(counts) : video.stats;
  const ready = video.state === 'ready' && video.streams?.hls;
  return (
    <section className="page watch">
      <div className="watch-main">
        {ready ? (
          <Player
            src={video.streams!.hls}
            dash={video.streams!.dash}
            storyboard={video.storyboardUrl}
            poster={video.thumbnailUrl}
            title={video.title}
            onSettled={() => {
              markPageSettled();
              setTimeout(() => setPanels(true), PANELS_AFTER_FRAME_MS);
            }}
            onPlaying={() => {
              if (viewed.current) return;
              viewed.current = true;
              void api.view(id, viewerId()).catch(() => undefined);
            }}
          />
        ) : video.state === 'failed' ? (
          <p className="error" role="alert">
            Processing failed: {video.failureReason ?? 'the file is not a video we can play.'}
          </p>
        ) : (
          <div className="processing">
            <p role="status">{video.state === 'awaiting_upload' ? 'Waiting for the upload…' : 'Processing…'}</p>
            <progress max={1} value={video.progress ?? 0} aria-label="Processing progress" />
          </div>
        )}
        <h1 className="video-title">{video.title}</h1>
        <div className="video-meta">
          <Link to={`/channel/${video.channel.id}`} className="channel">
            {video.channel.name}
          </Link>
          <SubscribeButton channelId={video.channel.id} channelName={video.channel.name} />
          <span data-testid="views">
            {formatCount(c.views)} {c.views === 1 ? 'view' : 'views'}
          </span>
          {c.watching ? <span>{c.watching} watching</span> : null}
          <span className="rating" role="group" aria-label="Rate this video">
            <button type="button" aria-pressed={rating === 'like'} onClick={() => void (user ? rate('like') : setRateError(new Error('Sign in to like videos.')))}>
              Like <span data-testid="likes">{formatCount(c.likes)}</span>
              <span className="visually-hidden"> likes</span>
            </button>
            <button type="button" aria-pressed={rating === 'dislike'} onClick={() => void (user ? rate('dislike') : setRateError(new Error('Sign in to rate videos.')))}>
              Dislike <span data-testid="dislikes">{formatCount(c.dislikes)}</span>
              <span className="visually-hidden"> dislikes</span>
            </button>
          </span>
        </div>
        <ErrorMessage error={rateError} />
        {video.description ? <p className="description">{video.description}</p> : null}
        {ready && panels ? (
          <Suspense fallback={<Loading label="Loading comments…" />}>
            <CommentsPanel videoId={id} viewer={user ? { id: user.id, channelId: user.channelId } : null} channelId={video.channel.id} subscribe={subscribeComments} total={c.comments} />
          </Suspense>
        ) : null}
      </div>
      {ready && panels ? (
        <aside className="watch-side">
          <Suspense fallback={<Loading label="Loading chat…" />}>
            <SidePanel video={video} socket={socket} signedIn={Boolean(user)} />
          </Suspense>
        </aside>
      ) : null}
    </section>
  );
}
