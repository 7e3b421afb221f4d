import { ANALYTICS_EVENT_TYPES, SOCIAL_EVENT_TYPES, TOPICS } from '@kinora/contracts';

/**
 * What one engagement event does to the counters: the only place that knows the payloads of the other services'
 * events (`libs/contracts`: social.schemas.ts, analytics.schemas.ts). Everything downstream (aggregation, flush,
 * facts) works on these deltas, so a payload change touches this file alone.
 */
export type CounterEffect =
  | { kind: 'video'; id: string; hour: number; views: number; likes: number; dislikes: number; comments: number }
  | { kind: 'channel'; id: string; subscribers: number; videos: number }
  | { kind: 'none' };

/** A message that cannot be turned into counter effects; it goes to the dead-letter topic. */
export class UnprocessableEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnprocessableEventError';
  }
}

/** The topics whose events change counters. */
export const ENGAGEMENT_TOPICS = [TOPICS.videoViews, TOPICS.videoLikes, TOPICS.videoComments, TOPICS.channelSubscriptions] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HOUR_MS = 3_600_000;
const NONE: CounterEffect = { kind: 'none' };

interface Envelope {
  type?: unknown;
  occurredAt?: unknown;
  payload?: Record<string, unknown> | null;
}

function fail(why: string): never {
  throw new UnprocessableEventError(why);
}

function uuidField(p: Record<string, unknown>, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || !UUID.test(v)) fail(`payload.${name} is not a UUID`);
  return v.toLowerCase();
}

function unitField(v: unknown, name: string): number {
  if (v !== -1 && v !== 0 && v !== 1) fail(`${name} is not -1, 0 or 1`);
  return v;
}

/** Hours of recently seen `YYYY-MM-DDTHH` prefixes of UTC times: parsing dates is on the hot path. */
const hours = new Map<string, number>();
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

function hourOf(e: Envelope): number {
  const s = e.occurredAt;
  if (typeof s !== 'string') fail('occurredAt is not a date-time');
  if (ISO_UTC.test(s)) {
    const prefix = s.slice(0, 13);
    let hour = hours.get(prefix);
    if (hour === undefined) {
      hour = Date.parse(`${prefix}:00:00Z`);
      if (Number.isNaN(hour)) fail('occurredAt is not a date-time');
      if (hours.size >= 10_000) hours.clear();
      hours.set(prefix, hour);
    }
    return hour;
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) fail('occurredAt is not a date-time');
  return Math.floor(t / HOUR_MS) * HOUR_MS;
}

function video(e: Envelope, id: string, d: { views?: number; likes?: number; dislikes?: number; comments?: number }): CounterEffect {
  return { kind: 'video', id, hour: hourOf(e), views: d.views ?? 0, likes: d.likes ?? 0, dislikes: d.dislikes ?? 0, comments: d.comments ?? 0 };
}

/**
 * The counter effect of one engagement event (by its type; the topic only routes). Unknown event types count
 * nothing (newer producers may add types); a known type with a bad payload throws {@link UnprocessableEventError}.
 */
export function counterEffect(value: unknown): CounterEffect {
  if (!value || typeof value !== 'object') fail('the value is not an event envelope');
  const e = value as Envelope;
  const p = e.payload;
  if (typeof e.type !== 'string') fail('the envelope has no type');
  if (!p || typeof p !== 'object') fail('the envelope has no payload');
  switch (e.type) {
    case ANALYTICS_EVENT_TYPES.videoViewed:
      return video(e, uuidField(p, 'videoId'), { views: 1 });
    case SOCIAL_EVENT_TYPES.videoRatingChanged: {
      const deltas = p['deltas'] as Record<string, unknown> | null | undefined;
      if (!deltas || typeof deltas !== 'object') fail('payload.deltas is missing');
      return video(e, uuidField(p, 'videoId'), { likes: unitField(deltas['likes'], 'deltas.likes'), dislikes: unitField(deltas['dislikes'], 'deltas.dislikes') });
    }
    case SOCIAL_EVENT_TYPES.commentCreated:
      return video(e, uuidField(p, 'videoId'), { comments: 1 });
    case SOCIAL_EVENT_TYPES.commentDeleted:
      return video(e, uuidField(p, 'videoId'), { comments: -1 });
    case SOCIAL_EVENT_TYPES.channelSubscriptionChanged: {
      const delta = p['delta'];
      if (delta !== 1 && delta !== -1) fail('payload.delta is not -1 or 1');
      return { kind: 'channel', id: uuidField(p, 'channelId'), subscribers: delta, videos: 0 };
    }
    default:
      return NONE;
  }
}

/** Whether a video counts in its channel's `videoCount` (the channel's public list: ready, public, not deleted). */
export function countsAsChannelVideo(v: { state: string; visibility: string; deleted: boolean } | undefined): boolean {
  return !!v && v.state === 'ready' && v.visibility === 'public' && !v.deleted;
}

