import type { AnalyticsPoint } from '@kinora/contracts';

/** The geometry of a views-over-time chart, computed apart from React so it can be tested as plain data. */
export interface ChartGeometry {
  width: number;
  height: number;
  /** Top of the value axis (a "nice" number ≥ the largest value, at least 1). */
  max: number;
  /** One bar per point: x, y, width, height in SVG units. */
  bars: Array<{ x: number; y: number; w: number; h: number; value: number; t: string }>;
  /** Horizontal grid lines with their labels. */
  ticks: Array<{ y: number; label: string }>;
  plot: { left: number; top: number; right: number; bottom: number };
}

/** 1, 2, 5 × 10^n: the smallest of those ≥ n (n ≤ 0 → 1). */
export function niceMax(n: number): number {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function chartGeometry(series: Pick<AnalyticsPoint, 't' | 'views'>[], width = 640, height = 220): ChartGeometry {
  const plot = { left: 40, top: 10, right: width - 8, bottom: height - 24 };
  const max = niceMax(Math.max(0, ...series.map((p) => p.views)));
  const slot = series.length > 0 ? (plot.right - plot.left) / series.length : 0;
  const bars = series.map((p, i) => {
    const h = ((plot.bottom - plot.top) * Math.max(0, p.views)) / max;
    return { x: plot.left + i * slot + slot * 0.1, y: plot.bottom - h, w: Math.max(1, slot * 0.8), h, value: p.views, t: p.t };
  });
  const ticks = [0, 0.5, 1].map((f) => ({ y: plot.bottom - (plot.bottom - plot.top) * f, label: String(Math.round(max * f * 10) / 10) }));
  return { width, height, max, bars, ticks, plot };
}

/** A bucket's label: the hour (hour granularity) or the day, in the reader's locale and zone. */
export function bucketLabel(t: string, granularity: 'hour' | 'day'): string {
  const d = new Date(t);
  return granularity === 'hour'
    ? d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}
