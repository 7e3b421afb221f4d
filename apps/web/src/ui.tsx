import type { Video } from '@kinora/contracts';
import { Link } from './router.js';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {label}
    </p>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function formatCount(n: number): string {
  return new Intl.NumberFormat(undefined, { notation: n >= 10_000 ? 'compact' : 'standard' }).format(n);
}

export function formatDuration(sec: number | undefined): string {
  if (sec === undefined) return '';
  const s = Math.round(sec);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function VideoCard({ video }: { video: Video }) {
  return (
    <li className="card">
      <Link to={`/watch/${video.id}`} className="card-link">
        <div className="thumb">
          {video.thumbnailUrl ? <img src={video.thumbnailUrl} alt="" loading="lazy" /> : <div className="thumb-empty" aria-hidden="true" />}
          {video.durationSec !== undefined ? <span className="duration">{formatDuration(video.durationSec)}</span> : null}
        </div>
        <span className="card-title">{video.title}</span>
      </Link>
      <span className="card-meta">
        {video.channel.name} · {formatCount(video.stats.views)} {video.stats.views === 1 ? 'view' : 'views'}
      </span>
    </li>
  );
}
