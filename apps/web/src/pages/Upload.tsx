import { useEffect, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { Upload as TusUpload } from 'tus-js-client';
import type { Video } from '@kinora/contracts';
import { api } from '../api.js';
import { useAuth } from '../auth.js';
import { Link } from '../router.js';
import { ErrorMessage } from '../ui.js';
import { parseTags, studio } from '../studio/studioApi.js';

/** The upload in progress, kept so that picking the same file after a reload resumes it (same video, same tus upload). */
interface Pending {
  videoId: string;
  title: string;
  file: { name: string; size: number; lastModified: number };
}
const PENDING_KEY = 'kinora.pendingUpload';

function readPending(): Pending | null {
  try {
    return JSON.parse(localStorage.getItem(PENDING_KEY) ?? 'null') as Pending | null;
  } catch {
    return null;
  }
}

type Phase = 'form' | 'uploading' | 'paused' | 'processing' | 'ready' | 'failed';

export default function Upload() {
  const { user, loading } = useAuth();
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [visibility, setVisibility] = useState<'public' | 'unlisted' | 'private'>('public');
  const [phase, setPhase] = useState<Phase>('form');
  const [sent, setSent] = useState(0);
  const [video, setVideo] = useState<Video | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending] = useState(readPending);
  const [dragging, setDragging] = useState(false);
  const upload = useRef<TusUpload | null>(null);

  const pick = (f: File | null | undefined) => {
    if (!f) return;
    setFile(f);
    if (pending && sameFile(pending, f)) setTitle(pending.title);
    else if (!title) setTitle(f.name.replace(/\.[^.]+$/, ''));
  };

  // Processing: follow the video until it is ready (or failed).
  useEffect(() => {
    if (phase !== 'processing' || !video) return;
    let live = true;
    const timer = setInterval(() => {
      api.video(video.id).then(
        (v) => {
          if (!live) return;
          setVideo(v);
          if (v.state === 'ready') setPhase('ready');
          if (v.state === 'failed') setPhase('failed');
        },
        () => undefined,
      );
    }, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [phase, video?.id]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError(new Error('Choose a video file first.'));
    setError(null);
    try {
      let videoId: string;
      if (pending && sameFile(pending, file)) {
        videoId = pending.videoId;
      } else {
        const tagList = parseTags(tags);
        const created = await studio.createVideo({ title, ...(description ? { description } : {}), ...(tagList.length > 0 ? { tags: tagList } : {}), visibility });
        videoId = created.id;
        localStorage.setItem(PENDING_KEY, JSON.stringify({ videoId, title, file: { name: file.name, size: file.size, lastModified: file.lastModified } } satisfies Pending));
      }
      const up = new TusUpload(file, {
        endpoint: '/api/v1/uploads',
        metadata: { videoId, filename: file.name, filetype: file.type || 'application/octet-stream' },
        retryDelays: [0, 1000, 3000, 5000],
        removeFingerprintOnSuccess: true,
        chunkSize: 8 * 1024 * 1024,
        onBeforeRequest: async (req) => {
          const token = await api.accessToken();
          if (token) req.setHeader('Authorization', `Bearer ${token}`);
        },
        onProgress: (bytes) => setSent(bytes),
        onError: (err) => {
          setPhase('paused');
          setError(new Error(`The upload stopped: ${readableTusError(err)}. Resume to continue where it stopped.`));
        },
        onSuccess: () => {
          localStorage.removeItem(PENDING_KEY);
          setSent(file.size);
          setPhase('processing');
          api.video(videoId).then(setVideo, () => setVideo({ id: videoId } as Video));
        },
      });
      upload.current = up;
      const previous = await up.findPreviousUploads();
      if (previous[0]) up.resumeFromPreviousUpload(previous[0]);
      setPhase('uploading');
      up.start();
    } catch (err) {
      setError(err);
    }
  };

  if (loading) return null;
  if (!user) {
    return (
      <section className="page narrow">
        <h1>Upload a video</h1>
        <p>
          <Link to="/signin?next=/upload">Sign in</Link> to upload videos.
        </p>
      </section>
    );
  }
  const total = file?.size ?? 0;
  const pct = total ? Math.floor((sent / total) * 100) : 0;
  return (
    <section className="page narrow">
      <h1>Upload a video</h1>
      {phase === 'form' ? (
        <form className="form" onSubmit={start}>
          {pending && !file ? (
            <p className="note" role="status">
              Your upload of “{pending.title}” did not finish. Choose the same file again to resume it.
            </p>
          ) : null}
          <div
            className={`drop${dragging ? ' dragging' : ''}`}
            onDragOver={(e: DragEvent) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e: DragEvent) => {
              e.preventDefault();
              setDragging(false);
              pick(e.dataTransfer.files[0]);
            }}
          >
            <label>
              Video file (or drop it here)
              <input name="file" type="file" accept="video/*" onChange={(e) => pick(e.target.files?.[0])} />
            </label>
            {file ? <span className="file-name">{file.name}</span> : null}
          </div>
          <label>
            Title
            <input name="title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
          </label>
          <label>
            Description
            <textarea name="description" rows={3} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
          <label>
            Tags <small>(separated by commas)</small>
            <input name="tags" maxLength={1000} value={tags} onChange={(e) => setTags(e.target.value)} />
          </label>
          <label>
            Visibility
            <select name="visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as typeof visibility)}>
              <option value="public">Public</option>
              <option value="unlisted">Unlisted</option>
              <option value="private">Private</option>
            </select>
          </label>
          <ErrorMessage error={error} />
          <button type="submit" className="primary">
            Upload
          </button>
        </form>
      ) : null}
      {phase === 'uploading' || phase === 'paused' ? (
        <div className="progress-block">
          <label htmlFor="upload-progress">Uploading {file?.name}</label>
          <progress id="upload-progress" max={100} value={pct} />
          <span role="status" aria-live="polite">
            {pct}%
          </span>
          <ErrorMessage error={error} />
          {phase === 'uploading' ? (
            <button type="button" onClick={() => void upload.current?.abort().then(() => setPhase('paused'))}>
              Pause
            </button>
          ) : (
            <button
              type="button"
              onClick={() => {
                setError(null);
                setPhase('uploading');
                upload.current?.start();
              }}
            >
              Resume
            </button>
          )}
        </div>
      ) : null}
      {phase === 'processing' ? (
        <div className="progress-block">
          <label htmlFor="processing-progress">Processing</label>
          <progress id="processing-progress" max={1} value={video?.progress ?? 0} />
          <span role="status" aria-live="polite">
            {Math.floor((video?.progress ?? 0) * 100)}%
          </span>
        </div>
      ) : null}
      {phase === 'ready' && video ? (
        <p role="status" className="done">
          Your video is ready. <Link to={`/watch/${video.id}`}>Watch it</Link> or <Link to="/studio">manage it in the Studio</Link>.
        </p>
      ) : null}
      {phase === 'failed' ? (
        <p role="alert" className="error">
          Processing failed: {video?.failureReason ?? 'the file is not a video we can play.'}
        </p>
      ) : null}
    </section>
  );
}

function sameFile(p: Pending, f: File): boolean {
  return p.file.name === f.name && p.file.size === f.size && p.file.lastModified === f.lastModified;
}

function readableTusError(err: Error): string {
  const res = (err as { originalResponse?: { getStatus(): number; getBody(): string } | null }).originalResponse;
  if (res) {
    try {
      const p = JSON.parse(res.getBody()) as { detail?: string; title?: string };
      if (p.detail || p.title) return (p.detail ?? p.title)!;
    } catch {
      /* not a problem document */
    }
    return `the server answered ${res.getStatus()}`;
  }
  return 'the connection was lost';
}
