import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, UuidSchema } from './common.schemas.js';
import { VideoStateSchema, VisibilitySchema } from './events.schemas.js';

/** 1–200 characters with at least one that is not white space. */
export const VideoTitleSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
export const VideoDescriptionSchema = Type.String({ maxLength: 5000 });
export const VideoTagSchema = Type.String({ minLength: 1, maxLength: 50, pattern: '\\S' });
export const VideoTagsSchema = Type.Array(VideoTagSchema, { maxItems: 20 });

export const VideoChannelSchema = Type.Object({ id: UuidSchema, handle: Type.String(), name: Type.String() });
export type VideoChannel = Static<typeof VideoChannelSchema>;

export const VideoStatsSchema = Type.Object({
  views: Type.Integer({ minimum: 0 }),
  likes: Type.Integer({ minimum: 0 }),
  dislikes: Type.Integer({ minimum: 0 }),
  comments: Type.Integer({ minimum: 0 }),
});
export type VideoStats = Static<typeof VideoStatsSchema>;

export const VideoSchema = Type.Object(
  {
    id: UuidSchema,
    title: Type.String(),
    description: Type.String(),
    tags: Type.Array(Type.String()),
    visibility: VisibilitySchema,
    state: VideoStateSchema,
    failureReason: Type.Optional(Type.String({ description: 'why processing failed (state `failed`)' })),
    progress: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'transcoding progress (state `processing`)' })),
    channel: VideoChannelSchema,
    durationSec: Type.Optional(Type.Number()),
    width: Type.Optional(Type.Integer()),
    height: Type.Optional(Type.Integer()),
    thumbnailUrl: Type.Optional(Type.String()),
    storyboardUrl: Type.Optional(Type.String({ description: 'WebVTT index of the seek-bar preview images (`sprite.jpg#xywh=x,y,w,h` cues, relative to this URL)' })),
    streams: Type.Optional(
      Type.Object({
        hls: Type.String({ description: 'HLS master playlist (signed for private and unlisted videos)' }),
        dash: Type.String({ description: 'DASH MPD over the same CMAF segments' }),
      }),
    ),
    renditions: Type.Optional(Type.Array(Type.Object({ height: Type.Integer(), bandwidth: Type.Integer() }))),
    stats: VideoStatsSchema,
    createdAt: DateTimeSchema,
    publishedAt: Type.Optional(DateTimeSchema),
    uploadUrl: Type.Optional(Type.String({ description: 'tus creation endpoint (owner, state `awaiting_upload`)' })),
  },
  { title: 'Video' },
);
export type Video = Static<typeof VideoSchema>;

export const CreateVideoBodySchema = Type.Object(
  {
    title: VideoTitleSchema,
    description: Type.Optional(VideoDescriptionSchema),
    tags: Type.Optional(VideoTagsSchema),
    visibility: Type.Optional(VisibilitySchema),
  },
  { additionalProperties: false },
);
export type CreateVideoBody = Static<typeof CreateVideoBodySchema>;

export const UpdateVideoBodySchema = Type.Object(
  {
    title: Type.Optional(VideoTitleSchema),
    description: Type.Optional(VideoDescriptionSchema),
    tags: Type.Optional(VideoTagsSchema),
    visibility: Type.Optional(VisibilitySchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateVideoBody = Static<typeof UpdateVideoBodySchema>;

export const VideoSortSchema = Type.Union([Type.Literal('recent'), Type.Literal('trending')]);
export type VideoSort = Static<typeof VideoSortSchema>;

export const ListVideosQuerySchema = Type.Object(
  {
    sort: Type.Optional(VideoSortSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const SearchVideosQuerySchema = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 256, pattern: '\\S', description: 'web-search syntax: words, "phrases", -excluded, or' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
