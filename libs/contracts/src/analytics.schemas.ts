import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, UuidSchema } from './common.schemas.js';
import { EventEnvelopeSchema } from './events.schemas.js';

// Analytics (apps/analytics): views, and the owner's per-video time series.

/** `POST /api/v1/videos/:id/views` body. */
export const RecordViewBodySchema = Type.Object(
  {
    viewerId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the client's own stable viewer id, used when not signed in" })),
    watchedSec: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400 * 7 })),
  },
  { additionalProperties: false },
);
export type RecordViewBody = Static<typeof RecordViewBodySchema>;

export const AnalyticsGranularitySchema = Type.Union([Type.Literal('hour'), Type.Literal('day')]);
export type AnalyticsGranularity = Static<typeof AnalyticsGranularitySchema>;

export const AnalyticsQuerySchema = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive; default: the start of the 7 days (granularity day) or 24 hours (hour) that end with `to`' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive; default: now' })),
    granularity: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' })),
  },
  { additionalProperties: false },
);
export type AnalyticsQuery = Static<typeof AnalyticsQuerySchema>;

export const AnalyticsPointSchema = Type.Object({
  t: DateTimeSchema,
  views: Type.Integer(),
  likes: Type.Integer({ description: 'likes added minus likes removed in the bucket' }),
  comments: Type.Integer({ description: 'comments created minus comments deleted in the bucket' }),
});
export type AnalyticsPoint = Static<typeof AnalyticsPointSchema>;

export const AnalyticsSeriesSchema = Type.Object({ series: Type.Array(AnalyticsPointSchema) }, { title: 'AnalyticsSeries' });
export type AnalyticsSeries = Static<typeof AnalyticsSeriesSchema>;

export const ANALYTICS_EVENT_TYPES = { videoViewed: 'VideoViewed.v1' } as const;

/**
 * `VideoViewed.v1` on `video.views`, key = video id: a view that passed the once-per-viewer-per-hour window.
 * The viewer itself is not in the event (the envelope's actor names a signed-in user; anonymous viewers stay so).
 */
export const VideoViewedV1 = Type.Object({
  videoId: UuidSchema,
  watchedSec: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
});
export type VideoViewedV1 = Static<typeof VideoViewedV1>;
export const VideoViewedEventV1 = EventEnvelopeSchema(ANALYTICS_EVENT_TYPES.videoViewed, VideoViewedV1);
