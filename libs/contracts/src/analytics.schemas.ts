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

// Counters: analytics owns them; other services read them through `/internal/v1/counters/*` and keep up with
// `analytics.counters` events (see libs/projections `CountersView`).

export const COUNTER_EVENT_TYPES = { videoCountersChanged: 'VideoCountersChanged.v1', channelCountersChanged: 'ChannelCountersChanged.v1' } as const;

/** A counter total's version: rises by one each time analytics changes that entity's totals (a decimal string). */
export const CounterVersionSchema = Type.String({ pattern: '^[0-9]{1,19}$', description: 'rises with every change of these totals; a reader keeps the highest it has seen' });

/** `VideoCountersChanged.v1` on `analytics.counters`, key = video id: the video's totals after a flush. */
export const VideoCountersV1 = Type.Object({
  videoId: UuidSchema,
  version: CounterVersionSchema,
  views: Type.Integer({ minimum: 0 }),
  likes: Type.Integer({ minimum: 0 }),
  dislikes: Type.Integer({ minimum: 0 }),
  comments: Type.Integer({ minimum: 0 }),
});
export type VideoCountersV1 = Static<typeof VideoCountersV1>;
export const VideoCountersChangedEventV1 = EventEnvelopeSchema(COUNTER_EVENT_TYPES.videoCountersChanged, VideoCountersV1);

/** `ChannelCountersChanged.v1` on `analytics.counters`, key = channel id: the channel's totals after a change. */
export const ChannelCountersV1 = Type.Object({
  channelId: UuidSchema,
  version: CounterVersionSchema,
  subscriberCount: Type.Integer({ minimum: 0 }),
  videoCount: Type.Integer({ minimum: 0 }),
});
export type ChannelCountersV1 = Static<typeof ChannelCountersV1>;
export const ChannelCountersChangedEventV1 = EventEnvelopeSchema(COUNTER_EVENT_TYPES.channelCountersChanged, ChannelCountersV1);

/** Where analytics serves counter totals to other services (hidden from the OpenAPI document, never routed by the gateway). */
export const INTERNAL_COUNTERS_PATH = '/internal/v1/counters';

const UUID_PATTERN = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** `GET /internal/v1/counters/videos?ids=` and `/channels?ids=`: up to 100 comma-separated UUIDs. */
export const CounterIdsQuerySchema = Type.Object(
  { ids: Type.String({ minLength: 36, maxLength: 3700, pattern: `^${UUID_PATTERN}(,${UUID_PATTERN}){0,99}$`, description: 'comma-separated UUIDs (1..100)' }) },
  { additionalProperties: false },
);
export const VideoCountersListSchema = Type.Object({ items: Type.Array(VideoCountersV1) }, { title: 'VideoCountersList' });
export const ChannelCountersListSchema = Type.Object({ items: Type.Array(ChannelCountersV1) }, { title: 'ChannelCountersList' });
