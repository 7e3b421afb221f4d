import { useEffect, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { RealtimeClientToServerEvents, RealtimeServerToClientEvents, Video, VideoCounts } from '@kinora/contracts';
import { api, ApiError } from '../api.js';
import { useAuth } from '../auth.js';
import { Player } from '../Player.js';
import { Link } from '../router.js';
import { ErrorMessage, formatCount, Loading } from '../ui.js';

type Counts = Pick<VideoCounts, 'views' | 'likes' | 'dislikes' | 'comments'> & { watching?: number };
type Rating = 'like' | 'dislike' | 'none';

function viewerId(): string {
  let id = localStorage.getItem('kinora.viewerId');
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem('kinora.viewerId', id);
  }
  return id;
}

/** Live counts of one video over the realtime service (`video:join`, then `video:counts` pushes). */
function useLiveCounts(videoId: string, ready: boolean, onCounts: (c: Counts) => void) {
  const cb = useRef(onCounts);
  cb.current = onCounts;
  useEffect(() => {
    if (!ready) return;
    let socket: Socket<RealtimeServerToClientEvents, RealtimeClientToServerEvents> | null = null;
    let closed = false;
    void api.accessToken().then((token) => {
      if (closed) return;
      socket = io('/realtime', { path: '/socket.io', auth: token ? { token } : {}, transports: ['websocket', 'polling'] });
      socket.on('connect', () => {
        socket?.emit('video:join', { videoId }, (ack) => {
          if (ack.ok) cb.current(ack.counts);
        });
      });
      socket.on('video:counts', (c) => {
        if (c.videoId === videoId) cb.current(c);
      });
    });
    return () => {
      closed = true;
      socket?.disconnect();
    };
  }, [videoId, ready]);
}

export default function Watch({ id }: { id: string }) {
  const { user } = useAuth();
  const [video, setVideo] = useState<Video | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [rating, setRating] = useState<Rating>('none');
  const [rateError, setRateError] = useState<unknown>(null);
  const viewed = useRef(false);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api.video(id).then(
        (v) => {
          if (!live) return;
          setVideo(v);
          setCounts((c) => c ?? { ...v.stats });
          // The owner sees an unfinished video: follow its processing until it is ready.
          if (v.state === 'processing' || v.state === 'awaiting_upload') timer = setTimeout(load, 1500);
        },
        (err: unknown) => live && setError(err),
      );
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);

  useEffect(() => {
    if (!user) return setRating('none');
    api.rating(id).then((r) => setRating(r.value), () => undefined);
  }, [id, user]);

  useLiveCounts(id, video?.state === 'ready', (c) => setCounts({ views: c.views, likes: c.likes, dislikes: c.dislikes, comments: c.comments, ...(c.watching !== undefined ? { watching: c.watching } : {}) }));

  const rate = async (value: Rating) => {
    const next = rating === value ? 'none' : value;
    const before = rating;
    setRateError(null);
    setRating(next);
    // Shown at once; the live counts confirm it within the flush interval.
    setCounts((c) => {
      if (!c) return c;
      const d = { ...c };
      if (before === 'like') d.likes--;
      if (before === 'dislike') d.dislikes--;
      if (next === 'like') d.likes++;
      if (next === 'dislike') d.dislikes++;
      return d;
    });
    try {
      await api.rate(id, next);
    } catch (err) {
      setRating(before);
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
  const c: Counts = counts ?? video.stats;
  return (
    <section className="page watch">
      {video.state === 'ready' && video.streams?.hls ? (
        <Player
          src={video.streams.hls}
          poster={video.thumbnailUrl}
          title={video.title}
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
        <span className="channel">{video.channel.name}</span>
        <span data-testid="views">{formatCount(c.views)} {c.views === 1 ? 'view' : 'views'}</span>
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
    </section>
  );
}
