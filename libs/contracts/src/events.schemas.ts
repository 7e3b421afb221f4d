import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Kafka topics (each has a `<topic>.dlq` twin). Keys: the video id, or the channel id for subscriptions. */
export const TOPICS = {
  videoViews: 'video.views',
  videoLikes: 'video.likes',
  videoComments: 'video.comments',
  channelSubscriptions: 'channel.subscriptions',
  liveChat: 'live.chat',
  videoLifecycle: 'video.lifecycle',
  videoTranscoded: 'video.transcoded',
  notifications: 'user.notifications',
  /** Counter totals that changed, after each analytics flush (`VideoCountersChanged.v1`, `ChannelCountersChanged.v1`). */
  counters: 'analytics.counters',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

export const ActorSchema = Type.Object({
  type: Type.Union([Type.Literal('user'), Type.Literal('service'), Type.Literal('anonymous')]),
  id: Type.Union([Type.String(), Type.Null()]),
});

/** The envelope every event carries (see libs/events `createEvent`). */
export function EventEnvelopeSchema<T extends TSchema>(type: string, payload: T) {
  return Type.Object({
    id: Type.String({ description: 'UUIDv7, for deduplication' }),
    type: Type.Literal(type),
    key: Type.String({ description: 'entity key (partitioning)' }),
    occurredAt: Type.String({ format: 'date-time' }),
    actor: ActorSchema,
    payload,
  });
}

export const VisibilitySchema = Type.Union([Type.Literal('public'), Type.Literal('unlisted'), Type.Literal('private')]);
export type Visibility = Static<typeof VisibilitySchema>;
export const VideoStateSchema = Type.Union([
  Type.Literal('awaiting_upload'),
  Type.Literal('processing'),
  Type.Literal('ready'),
  Type.Literal('failed'),
]);
export type VideoState = Static<typeof VideoStateSchema>;

// ---- video.lifecycle (written by the video service) ----

/**
 * `VideoChanged.v1`: the full current state of a video after any change (create, update, state change, delete).
 * Other services keep their own projection of videos from it (visibility checks, feeds, notifications); the
 * newest `version` wins, so redelivery and reordering are harmless.
 */
export const VideoChangedV1 = Type.Object({
  videoId: Type.String(),
  version: Type.Integer({ minimum: 1, description: 'increases with every change of the video' }),
  channelId: Type.String(),
  ownerId: Type.String(),
  title: Type.String(),
  tags: Type.Array(Type.String()),
  visibility: VisibilitySchema,
  state: VideoStateSchema,
  publishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  durationSec: Type.Union([Type.Number(), Type.Null()]),
  deleted: Type.Boolean(),
});
export type VideoChangedV1 = Static<typeof VideoChangedV1>;

/** `VideoUploaded.v1`: an upload finished; the transcoder picks it up. */
export const VideoUploadedV1 = Type.Object({
  videoId: Type.String(),
  /** Object-store key of the uploaded source. */
  sourceKey: Type.String(),
  sizeBytes: Type.Integer({ minimum: 0 }),
  /** Object-store prefix the outputs go under (`media/<videoId>/`). */
  outputPrefix: Type.String(),
});
export type VideoUploadedV1 = Static<typeof VideoUploadedV1>;

// ---- video.transcoded (written by the transcoder) ----

export const TranscodeProgressV1 = Type.Object({
  videoId: Type.String(),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
});
export type TranscodeProgressV1 = Static<typeof TranscodeProgressV1>;

export const RenditionSchema = Type.Object({
  height: Type.Integer(),
  width: Type.Integer(),
  bandwidth: Type.Integer({ description: 'peak bits per second (HLS BANDWIDTH)' }),
  codecs: Type.String(),
});

export const TranscodeSucceededV1 = Type.Object({
  videoId: Type.String(),
  durationSec: Type.Number(),
  width: Type.Integer(),
  height: Type.Integer(),
  renditions: Type.Array(RenditionSchema),
  /** Object-store keys, relative to the store root. */
  hlsKey: Type.String(),
  dashKey: Type.String(),
  thumbnailKey: Type.String(),
  storyboardVttKey: Type.Union([Type.String(), Type.Null()]),
});
export type TranscodeSucceededV1 = Static<typeof TranscodeSucceededV1>;

export const TranscodeFailedV1 = Type.Object({
  videoId: Type.String(),
  /** Readable reason shown to the owner as `failureReason`. */
  reason: Type.String(),
  attempts: Type.Integer({ minimum: 1 }),
});
export type TranscodeFailedV1 = Static<typeof TranscodeFailedV1>;

export const EVENT_TYPES = {
  videoChanged: 'VideoChanged.v1',
  videoUploaded: 'VideoUploaded.v1',
  transcodeProgress: 'TranscodeProgress.v1',
  transcodeSucceeded: 'TranscodeSucceeded.v1',
  transcodeFailed: 'TranscodeFailed.v1',
} as const;
