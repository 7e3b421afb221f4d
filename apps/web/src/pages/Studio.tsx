import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { Video } from '@kinora/contracts';
import { useAuth } from '../auth.js';
import { Link } from '../router.js';
import { ErrorMessage, formatCount, Loading } from '../ui.js';
import { AnalyticsChart } from '../studio/AnalyticsChart.js';
import { parseTags, STATE_LABELS, studio } from '../studio/studioApi.js';

/** Studio: the signed-in user's own videos in every state, with edit, delete and a views chart per video. */
export default function Studio() {
  const { user, loading } = useAuth();
  const [videos, setVideos] = useState<Video[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<{ id: string; panel: 'edit' | 'analytics' } | null>(null);
  const [notice, setNotice] = useState('');

  const load = useCallback(() => {
    setError(null);
    return studio.myVideos().then(
      (p) => setVideos(p.items),
      (err: unknown) => setError(err),
    );
  }, []);
  useEffect(() => {
    if (user) void load();
  }, [user?.id, load]);
  // Videos still uploading or processing: follow them until they settle.
  const busy = videos?.some((v) => v.state === 'processing') ?? false;
  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(() => void load(), 2000);
    return () => clearInterval(timer);
  }, [busy, load]);

  if (loading) return null;
  if (!user) {
    return (
      <section className="page narrow">
        <h1>Studio</h1>
        <p>
          <Link to="/signin?next=/studio">Sign in</Link> to manage your videos.
        </p>
      </section>
    );
  }
  return (
    <section className="page">
      <div className="page-head">
        <h1>Studio</h1>
        <Link to="/upload" className="button primary">
          Upload a video
        </Link>
        <Link to={`/channel/${user.channelId}`}>Your channel</Link>
      </div>
      <p role="status" aria-live="polite" className="note">
        {notice}
      </p>
      <ErrorMessage error={error} />
      {!error && videos === null ? <Loading label="Loading your videos…" /> : null}
      {videos && videos.length === 0 ? (
        <p className="empty">
          You have no videos yet. <Link to="/upload">Upload your first one</Link>.
        </p>
      ) : null}
      {videos && videos.length > 0 ? (
        <ul className="studio-list" aria-label="Your videos">
          {videos.map((v) => (
            <li key={v.id} className="studio-item" data-testid={`studio-video-${v.id}`}>
              <div className="studio-row">
                <div className="studio-thumb">{v.thumbnailUrl ? <img src={v.thumbnailUrl} alt="" loading="lazy" /> : <div className="thumb-empty" aria-hidden="true" />}</div>
                <div className="studio-info">
                  {v.state === 'ready' ? (
                    <Link to={`/watch/${v.id}`} className="studio-title">
                      {v.title}
                    </Link>
                  ) : (
                    <span className="studio-title">{v.title}</span>
                  )}
                  <span className="studio-meta">
                    <span className={`badge state-${v.state}`} data-testid="state">
                      {STATE_LABELS[v.state]}
                      {v.state === 'processing' && v.progress !== undefined ? ` ${Math.floor(v.progress * 100)}%` : ''}
                    </span>
                    <span className="badge" data-testid="visibility">
                      {v.visibility[0]!.toUpperCase() + v.visibility.slice(1)}
                    </span>
                    <span>
                      {formatCount(v.stats.views)} {v.stats.views === 1 ? 'view' : 'views'}
                    </span>
                  </span>
                  {v.state === 'failed' && v.failureReason ? <span className="error">{v.failureReason}</span> : null}
                </div>
                <div className="studio-actions">
                  <button type="button" aria-expanded={open?.id === v.id && open.panel === 'edit'} onClick={() => setOpen(open?.id === v.id && open.panel === 'edit' ? null : { id: v.id, panel: 'edit' })}>
                    Edit<span className="visually-hidden"> {v.title}</span>
                  </button>
                  <button
                    type="button"
                    aria-expanded={open?.id === v.id && open.panel === 'analytics'}
                    onClick={() => setOpen(open?.id === v.id && open.panel === 'analytics' ? null : { id: v.id, panel: 'analytics' })}
                  >
                    Analytics<span className="visually-hidden"> of {v.title}</span>
                  </button>
                </div>
              </div>
              {open?.id === v.id && open.panel === 'edit' ? (
                <EditVideo
                  video={v}
                  onSaved={(saved) => {
                    setVideos((list) => list?.map((x) => (x.id === saved.id ? saved : x)) ?? null);
                    setOpen(null);
                    setNotice(`Saved “${saved.title}”.`);
                  }}
                  onDeleted={() => {
                    setVideos((list) => list?.filter((x) => x.id !== v.id) ?? null);
                    setOpen(null);
                    setNotice(`Deleted “${v.title}”.`);
                  }}
                  onCancel={() => setOpen(null)}
                />
              ) : null}
              {open?.id === v.id && open.panel === 'analytics' ? <AnalyticsChart videoId={v.id} title={v.title} /> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function EditVideo({ video, onSaved, onDeleted, onCancel }: { video: Video; onSaved(v: Video): void; onDeleted(): void; onCancel(): void }) {
  const [title, setTitle] = useState(video.title);
  const [description, setDescription] = useState(video.description);
  const [tags, setTags] = useState(video.tags.join(', '));
  const [visibility, setVisibility] = useState(video.visibility);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(await studio.updateVideo(video.id, { title, description, tags: parseTags(tags), visibility }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await studio.deleteVideo(video.id);
      onDeleted();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const fid = (n: string) => `${n}-${video.id}`;
  return (
    <form className="form studio-edit" onSubmit={save} aria-label={`Edit ${video.title}`}>
      <label htmlFor={fid('title')}>Title</label>
      <input id={fid('title')} ref={first} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
      <label htmlFor={fid('description')}>Description</label>
      <textarea id={fid('description')} rows={3} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
      <label htmlFor={fid('tags')}>
        Tags <small>(separated by commas)</small>
      </label>
      <input id={fid('tags')} value={tags} onChange={(e) => setTags(e.target.value)} />
      <label htmlFor={fid('visibility')}>Visibility</label>
      <select id={fid('visibility')} value={visibility} onChange={(e) => setVisibility(e.target.value as Video['visibility'])}>
        <option value="public">Public</option>
        <option value="unlisted">Unlisted</option>
        <option value="private">Private</option>
      </select>
      <ErrorMessage error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        {!confirming ? (
          <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={busy}>
            Delete…
          </button>
        ) : null}
      </div>
      {confirming ? (
        <div role="alertdialog" aria-labelledby={fid('confirm')} className="confirm">
          <p id={fid('confirm')}>Delete “{video.title}” and its media for good? This cannot be undone.</p>
          <div className="row">
            <button type="button" className="danger" ref={confirmButton} onClick={() => void remove()} disabled={busy}>
              Delete for good
            </button>
            <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}
    </form>
  );
}
