import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, UuidSchema } from './common.schemas.js';
import { EventEnvelopeSchema, VideoStateSchema, VisibilitySchema } from './events.schemas.js';

// Social layer: ratings (apps/like), comments (apps/comment), subscriptions, the subscriptions feed and
// notifications (apps/subscription). HTTP schemas first, then the events these services publish.

const page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'opaque; from the previous page' })),
};

// ---- ratings ----

export const RatingValueSchema = Type.Union([Type.Literal('like'), Type.Literal('dislike'), Type.Literal('none')]);
export type RatingValue = Static<typeof RatingValueSchema>;

export const RatingBodySchema = Type.Object({ value: RatingValueSchema }, { additionalProperties: false });
export type RatingBody = Static<typeof RatingBodySchema>;
export const RatingSchema = Type.Object({ value: RatingValueSchema }, { title: 'Rating' });
export type Rating = Static<typeof RatingSchema>;

export const CommentRatingValueSchema = Type.Union([Type.Literal('like'), Type.Literal('none')]);
export type CommentRatingValue = Static<typeof CommentRatingValueSchema>;
export const CommentRatingBodySchema = Type.Object({ value: CommentRatingValueSchema }, { additionalProperties: false });
export type CommentRatingBody = Static<typeof CommentRatingBodySchema>;
export const CommentRatingSchema = Type.Object(
  { value: CommentRatingValueSchema, likes: Type.Integer({ minimum: 0, description: 'likes of the comment after the change' }) },
  { title: 'CommentRating' },
);
export type CommentRating = Static<typeof CommentRatingSchema>;

// ---- comments ----

/** Longest comment, in characters (Unicode code points) after control characters are stripped. */
export const COMMENT_MAX_LENGTH = 10_000;

export const CommentAuthorSchema = Type.Object({ id: UuidSchema, username: Type.String(), displayName: Type.String() });
export type CommentAuthor = Static<typeof CommentAuthorSchema>;

export const CommentSchema = Type.Object(
  {
    id: UuidSchema,
    author: Type.Union([CommentAuthorSchema, Type.Null()], { description: 'null once the comment is deleted (tombstone)' }),
    text: Type.String({ description: "plain text, never HTML; '' once the comment is deleted (tombstone)" }),
    likes: Type.Integer({ minimum: 0 }),
    replyCount: Type.Integer({ minimum: 0, description: 'direct replies, tombstones included' }),
    parentId: Type.Union([UuidSchema, Type.Null()]),
    createdAt: DateTimeSchema,
    editedAt: Type.Optional(DateTimeSchema),
    deleted: Type.Boolean(),
  },
  { title: 'Comment' },
);
export type Comment = Static<typeof CommentSchema>;

export const CreateCommentBodySchema = Type.Object(
  {
    text: Type.String({ minLength: 1, maxLength: COMMENT_MAX_LENGTH, description: 'plain text; control characters other than \\n and \\t are removed' }),
    parentId: Type.Optional(UuidSchema),
  },
  { additionalProperties: false },
);
export type CreateCommentBody = Static<typeof CreateCommentBodySchema>;

export const UpdateCommentBodySchema = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: COMMENT_MAX_LENGTH }) },
  { additionalProperties: false },
);
export type UpdateCommentBody = Static<typeof UpdateCommentBodySchema>;

export const CommentSortSchema = Type.Union([Type.Literal('top'), Type.Literal('new')]);
export type CommentSort = Static<typeof CommentSortSchema>;

export const ListCommentsQuerySchema = Type.Object(
  { sort: Type.Optional(Type.Union([Type.Literal('top'), Type.Literal('new')], { default: 'top', description: '`top`: likes with time decay; `new`: newest first' })), ...page },
  { additionalProperties: false },
);
export type ListCommentsQuery = Static<typeof ListCommentsQuerySchema>;

// ---- subscriptions and the feed ----

export const SubscribedChannelSchema = Type.Object(
  {
    id: UuidSchema,
    handle: Type.String(),
    name: Type.String(),
    ownerId: UuidSchema,
    subscribedAt: DateTimeSchema,
  },
  { title: 'SubscribedChannel' },
);
export type SubscribedChannel = Static<typeof SubscribedChannelSchema>;

export const SubscriptionStateSchema = Type.Object({ subscribed: Type.Boolean() }, { title: 'SubscriptionState' });
export type SubscriptionState = Static<typeof SubscriptionStateSchema>;

/** A video of the subscriptions feed: the fields of `Video` that the subscription service knows from its projection. */
export const FeedVideoSchema = Type.Object(
  {
    id: UuidSchema,
    title: Type.String(),
    tags: Type.Array(Type.String()),
    visibility: VisibilitySchema,
    state: VideoStateSchema,
    channel: Type.Object({ id: UuidSchema, handle: Type.String(), name: Type.String() }),
    durationSec: Type.Optional(Type.Number()),
    publishedAt: DateTimeSchema,
  },
  { title: 'FeedVideo' },
);
export type FeedVideo = Static<typeof FeedVideoSchema>;

// ---- notifications ----

export const NOTIFICATION_KINDS = { videoPublished: 'video.published', commentReply: 'comment.reply' } as const;
export const NotificationKindSchema = Type.Union([Type.Literal('video.published'), Type.Literal('comment.reply')]);
export type NotificationKind = Static<typeof NotificationKindSchema>;

/** Payload of a `video.published` notification: a subscribed channel published a public video. */
export const VideoPublishedPayloadSchema = Type.Object({
  videoId: UuidSchema,
  channelId: UuidSchema,
  title: Type.String(),
});
export type VideoPublishedPayload = Static<typeof VideoPublishedPayloadSchema>;

/** Payload of a `comment.reply` notification: someone replied to one of my comments. */
export const CommentReplyPayloadSchema = Type.Object({
  videoId: UuidSchema,
  commentId: UuidSchema,
  parentId: UuidSchema,
  author: CommentAuthorSchema,
  excerpt: Type.String({ description: 'the first 200 characters of the reply' }),
});
export type CommentReplyPayload = Static<typeof CommentReplyPayloadSchema>;

export const NotificationSchema = Type.Object(
  {
    id: UuidSchema,
    kind: NotificationKindSchema,
    payload: Type.Union([VideoPublishedPayloadSchema, CommentReplyPayloadSchema]),
    read: Type.Boolean(),
    createdAt: DateTimeSchema,
  },
  { title: 'Notification' },
);
export type Notification = Static<typeof NotificationSchema>;

export const MarkNotificationsReadBodySchema = Type.Object(
  { ids: Type.Optional(Type.Array(UuidSchema, { maxItems: 1000, description: 'absent: every notification' })) },
  { additionalProperties: false },
);
export type MarkNotificationsReadBody = Static<typeof MarkNotificationsReadBodySchema>;

// ---- events (libs/events `createEvent` wraps each payload in the envelope: id UUIDv7, key, occurredAt, actor) ----

export const SOCIAL_EVENT_TYPES = {
  videoRatingChanged: 'VideoRatingChanged.v1',
  commentCreated: 'CommentCreated.v1',
  commentDeleted: 'CommentDeleted.v1',
  channelSubscriptionChanged: 'ChannelSubscriptionChanged.v1',
  notificationCreated: 'NotificationCreated.v1',
} as const;

const Delta = Type.Union([Type.Literal(-1), Type.Literal(0), Type.Literal(1)]);

/**
 * `VideoRatingChanged.v1` on `video.likes`, key = video id: one per effective change of a user's rating (a repeated
 * value publishes nothing). Summing `deltas` over every event gives the likes and dislikes of the ratings table.
 */
export const VideoRatingChangedV1 = Type.Object({
  videoId: UuidSchema,
  userId: UuidSchema,
  previous: RatingValueSchema,
  value: RatingValueSchema,
  deltas: Type.Object({ likes: Delta, dislikes: Delta }),
});
export type VideoRatingChangedV1 = Static<typeof VideoRatingChangedV1>;

/**
 * `CommentCreated.v1` on `video.comments`, key = video id. `stats.comments` counts +1 per created comment, -1 per
 * `CommentDeleted.v1`. `parentAuthorId` names whom to notify of a reply (null for top-level comments).
 */
export const CommentCreatedV1 = Type.Object({
  videoId: UuidSchema,
  videoOwnerId: UuidSchema,
  comment: CommentSchema,
  parentAuthorId: Type.Union([UuidSchema, Type.Null()]),
});
export type CommentCreatedV1 = Static<typeof CommentCreatedV1>;

/**
 * `CommentDeleted.v1` on `video.comments`, key = video id: a visible comment was deleted, either kept as a
 * tombstone (it has replies) or removed. Published once per comment.
 */
export const CommentDeletedV1 = Type.Object({
  videoId: UuidSchema,
  commentId: UuidSchema,
  parentId: Type.Union([UuidSchema, Type.Null()]),
  mode: Type.Union([Type.Literal('tombstoned'), Type.Literal('removed')]),
  deletedBy: Type.Union([Type.Literal('author'), Type.Literal('video_owner')]),
});
export type CommentDeletedV1 = Static<typeof CommentDeletedV1>;

/**
 * `ChannelSubscriptionChanged.v1` on `channel.subscriptions`, key = channel id: one per effective subscribe (+1) or
 * unsubscribe (-1); summing `delta` gives the channel's subscriber count.
 */
export const ChannelSubscriptionChangedV1 = Type.Object({
  channelId: UuidSchema,
  userId: UuidSchema,
  subscribed: Type.Boolean(),
  delta: Type.Union([Type.Literal(-1), Type.Literal(1)]),
});
export type ChannelSubscriptionChangedV1 = Static<typeof ChannelSubscriptionChangedV1>;

/** `NotificationCreated.v1` on `user.notifications`, key = user id: for realtime delivery to that user only. */
export const NotificationCreatedV1 = Type.Object({
  userId: UuidSchema,
  notification: NotificationSchema,
});
export type NotificationCreatedV1 = Static<typeof NotificationCreatedV1>;

/** The full events (envelope + payload), for consumers that validate what they read. */
export const VideoRatingChangedEventV1 = EventEnvelopeSchema(SOCIAL_EVENT_TYPES.videoRatingChanged, VideoRatingChangedV1);
export const CommentCreatedEventV1 = EventEnvelopeSchema(SOCIAL_EVENT_TYPES.commentCreated, CommentCreatedV1);
export const CommentDeletedEventV1 = EventEnvelopeSchema(SOCIAL_EVENT_TYPES.commentDeleted, CommentDeletedV1);
export const ChannelSubscriptionChangedEventV1 = EventEnvelopeSchema(SOCIAL_EVENT_TYPES.channelSubscriptionChanged, ChannelSubscriptionChangedV1);
export const NotificationCreatedEventV1 = EventEnvelopeSchema(SOCIAL_EVENT_TYPES.notificationCreated, NotificationCreatedV1);
