import { useEffect, useState } from 'react';
import type { AnalyticsPoint } from '@kinora/contracts';
import { ErrorMessage, Loading } from '../ui.js';
import { bucketLabel, chartGeometry } from './chart.js';
import { studio } from './studioApi.js';

/**
 * Views over time of one video (owner only): an SVG bar chart drawn by hand, hour or day buckets, with the same
 * numbers as a table for screen readers and anyone who prefers one (a toggle shows it).
 */
export function AnalyticsChart({ videoId, title }: { videoId: string; title: string }) {
  const [granularity, setGranularity] = useState<'hour' | 'day'>('hour');
  const [series, setSeries] = useState<AnalyticsPoint[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [showTable, setShowTable] = useState(false);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let live = true;
    setSeries(null);
    setError(null);
    studio.analytics(videoId, granularity).then(
      (r) => live && setSeries(r.series),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [videoId, granularity, reload]);

  const total = series?.reduce((a, p) => a + p.views, 0) ?? 0;
  const g = series ? chartGeometry(series) : null;
  const captionId = `chart-caption-${videoId}`;
  return (
    <section className="analytics" aria-label={`Analytics of ${title}`}>
      <div className="analytics-bar">
        <label>
          Buckets
          <select value={granularity} onChange={(e) => setGranularity(e.target.value as 'hour' | 'day')}>
            <option value="hour">Hours (last 24)</option>
            <option value="day">Days (last 7)</option>
          </select>
        </label>
        <button type="button" onClick={() => setReload((n) => n + 1)}>
          Refresh
        </button>
        <button type="button" aria-pressed={showTable} onClick={() => setShowTable((s) => !s)}>
          {showTable ? 'Hide table' : 'Show as table'}
        </button>
      </div>
      <ErrorMessage error={error} />
      {!error && !series ? <Loading label="Loading analytics…" /> : null}
      {g && series ? (
        <>
          <p id={captionId} className="chart-caption" data-testid="analytics-total">
            {total} {total === 1 ? 'view' : 'views'} in the period
          </p>
          {series.length === 0 ? (
            <p className="empty">No data for this period yet.</p>
          ) : (
            <svg className="chart" viewBox={`0 0 ${g.width} ${g.height}`} role="img" aria-labelledby={captionId} data-testid="analytics-chart">
              {g.ticks.map((t) => (
                <g key={t.y}>
                  <line x1={g.plot.left} x2={g.plot.right} y1={t.y} y2={t.y} className="chart-grid" />
                  <text x={g.plot.left - 6} y={t.y + 4} textAnchor="end" className="chart-label">
                    {t.label}
                  </text>
                </g>
              ))}
              {g.bars.map((b) => (
                <rect key={b.t} x={b.x} y={b.y} width={b.w} height={b.h} className="chart-bar" data-value={b.value}>
                  <title>
                    {bucketLabel(b.t, granularity)}: {b.value} {b.value === 1 ? 'view' : 'views'}
                  </title>
                </rect>
              ))}
              {series.length > 0 ? (
                <>
                  <text x={g.plot.left} y={g.height - 6} className="chart-label">
                    {bucketLabel(series[0]!.t, granularity)}
                  </text>
                  <text x={g.plot.right} y={g.height - 6} textAnchor="end" className="chart-label">
                    {bucketLabel(series[series.length - 1]!.t, granularity)}
                  </text>
                </>
              ) : null}
            </svg>
          )}
          <table className={showTable ? 'chart-table' : 'visually-hidden'}>
            <caption>Views of “{title}” per {granularity}</caption>
            <thead>
              <tr>
                <th scope="col">{granularity === 'hour' ? 'Hour' : 'Day'}</th>
                <th scope="col">Views</th>
                <th scope="col">Likes</th>
                <th scope="col">Comments</th>
              </tr>
            </thead>
            <tbody>
              {series.map((p) => (
                <tr key={p.t}>
                  <td>{bucketLabel(p.t, granularity)}</td>
                  <td>{p.views}</td>
                  <td>{p.likes}</td>
                  <td>{p.comments}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
