import { useEffect, useState, type FormEvent } from 'react';
import type { Channel as ChannelT, Video } from '@kinora/contracts';
import { ApiError } from '../api.js';
import { useAuth } from '../auth.js';
import { Link } from '../router.js';
import { ErrorMessage, formatCount, Loading, VideoCard } from '../ui.js';
import { studio } from '../studio/studioApi.js';

/** A channel: name, handle, counts, subscribe (not on one's own), its videos; its owner edits name and description. */
export default function Channel({ id }: { id: string }) {
  const { user } = useAuth();
  const [channel, setChannel] = useState<ChannelT | null>(null);
  const [videos, setVideos] = useState<Video[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    let live = true;
    studio.channel(id).then(
      (c) => live && setChannel(c),
      (err: unknown) => live && setError(err),
    );
    studio.channelVideos(id).then(
      (p) => live && setVideos(p.items),
      () => live && setVideos([]),
    );
    return () => {
      live = false;
    };
  }, [id]);

  if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
    return (
      <section className="page">
        <h1>Channel not found</h1>
        <p>
          There is no channel at this address. <Link to="/">Go to the home page</Link>.
        </p>
      </section>
    );
  }
  if (error) return <ErrorMessage error={error} />;
  if (!channel) return <Loading label="Loading the channel…" />;
  const own = user?.id === channel.ownerId;
  return (
    <section className="page">
      <header className="channel-head">
        <div className="avatar" aria-hidden="true">
          {channel.name.slice(0, 1).toUpperCase()}
        </div>
        <div className="channel-info">
          <h1>{channel.name}</h1>
          <p className="channel-meta">
            <span>@{channel.handle}</span> ·{' '}
            <span data-testid="subscriber-count">
              {formatCount(channel.subscriberCount)} {channel.subscriberCount === 1 ? 'subscriber' : 'subscribers'}
            </span>{' '}
            ·{' '}
            <span>
              {formatCount(channel.videoCount)} {channel.videoCount === 1 ? 'video' : 'videos'}
            </span>
          </p>
          {channel.description ? <p className="channel-description">{channel.description}</p> : null}
        </div>
        <div className="channel-actions">
          {own ? (
            <>
              <button type="button" aria-expanded={editing} onClick={() => setEditing((e) => !e)}>
                Edit channel
              </button>
              <Link to="/studio" className="button">
                Studio
              </Link>
            </>
          ) : (
            <SubscribeButton channel={channel} onChange={(delta) => setChannel((c) => (c ? { ...c, subscriberCount: Math.max(0, c.subscriberCount + delta) } : c))} />
          )}
        </div>
      </header>
      {own && editing ? (
        <EditChannel
          channel={channel}
          onSaved={(c) => {
            setChannel(c);
            setEditing(false);
          }}
        />
      ) : null}
      <h2>Videos</h2>
      {videos === null ? <Loading label="Loading videos…" /> : null}
      {videos && videos.length === 0 ? <p className="empty">This channel has no public videos yet.</p> : null}
      {videos && videos.length > 0 ? (
        <ul className="grid" aria-label="Videos of the channel">
          {videos.map((v) => (
            <VideoCard key={v.id} video={v} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** Subscribe / Subscribed (toggles); signed-out visitors are sent to sign in. */
export function SubscribeButton({ channel, onChange }: { channel: { id: string; ownerId: string; name: string }; onChange?(delta: 1 | -1): void }) {
  const { user } = useAuth();
  const [subscribed, setSubscribed] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!user) return;
    let live = true;
    studio.subscription(channel.id).then(
      (s) => live && setSubscribed(s.subscribed),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [channel.id, user?.id]);
  if (!user) {
    return (
      <Link to={`/signin?next=/channel/${channel.id}`} className="button primary">
        Sign in to subscribe
      </Link>
    );
  }
  if (user.id === channel.ownerId) return null;
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      if (subscribed) await studio.unsubscribe(channel.id);
      else await studio.subscribe(channel.id);
      onChange?.(subscribed ? -1 : 1);
      setSubscribed(!subscribed);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="subscribe">
      <button type="button" className={subscribed ? '' : 'primary'} aria-pressed={subscribed ?? false} disabled={busy || subscribed === null} onClick={() => void toggle()}>
        {subscribed ? 'Subscribed' : 'Subscribe'}
        <span className="visually-hidden"> to {channel.name}</span>
      </button>
      <ErrorMessage error={error} />
    </span>
  );
}

function EditChannel({ channel, onSaved }: { channel: ChannelT; onSaved(c: ChannelT): void }) {
  const [name, setName] = useState(channel.name);
  const [description, setDescription] = useState(channel.description);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(await studio.updateChannel(channel.id, { name, description }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form narrow" onSubmit={save} aria-label="Edit channel">
      <label>
        Channel name
        <input name="name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Channel description
        <textarea name="description" rows={3} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <ErrorMessage error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          Save channel
        </button>
      </div>
    </form>
  );
}
