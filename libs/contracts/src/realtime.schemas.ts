import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, IdSchema } from './common.schemas.js';
import { CommentSchema, type Notification } from './social.schemas.js';

/**
 * The realtime contract (spec/api.md, "Realtime"): socket.io 4 on path `/socket.io`, namespace `/realtime`.
 * Payload schemas validate what clients send (the server checks every payload with them) and describe what the
 * server pushes; the event maps type a socket.io client or server:
 * `io(url + REALTIME_NAMESPACE, { path: REALTIME_PATH }) as Socket<RealtimeServerToClientEvents, RealtimeClientToServerEvents>`.
 */
export const REALTIME_PATH = '/socket.io';
export const REALTIME_NAMESPACE = '/realtime';

/** Longest chat message, in characters (code points) after control characters are removed and the text trimmed. */
export const CHAT_MESSAGE_MAX_CHARS = 500;

// ---- what clients send ----

/** `auth` of the handshake: `io(url, { auth: { token } })`. Without a token the client is anonymous (may watch). */
export const RealtimeHandshakeAuthSchema = Type.Object({ token: Type.Optional(Type.String({ maxLength: 8192 })) });
export type RealtimeHandshakeAuth = Static<typeof RealtimeHandshakeAuthSchema>;

export const VideoJoinPayloadSchema = Type.Object({ videoId: IdSchema }, { additionalProperties: false });
export type VideoJoinPayload = Static<typeof VideoJoinPayloadSchema>;

export const VideoLeavePayloadSchema = Type.Object({ videoId: IdSchema }, { additionalProperties: false });
export type VideoLeavePayload = Static<typeof VideoLeavePayloadSchema>;

/** `text` is checked again after cleaning: 1–500 characters once control characters are stripped and it is trimmed. */
export const ChatSendPayloadSchema = Type.Object(
  { videoId: IdSchema, text: Type.String({ minLength: 1, maxLength: 4 * CHAT_MESSAGE_MAX_CHARS }) },
  { additionalProperties: false },
);
export type ChatSendPayload = Static<typeof ChatSendPayloadSchema>;

/** Replaces the access token of a live connection (same user) before it expires, instead of reconnecting. */
export const AuthRefreshPayloadSchema = Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false });
export type AuthRefreshPayload = Static<typeof AuthRefreshPayloadSchema>;

// ---- what the server sends ----

/** The error of a refused request (`{ ok: false, error }`); `code` is one of docs/errors.md. */
export const RealtimeErrorSchema = Type.Object({
  code: Type.String({ description: 'stable code, see docs/errors.md (VALIDATION_FAILED, UNAUTHENTICATED, CHAT_RATE_LIMITED, …)' }),
  message: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  retryAfterMs: Type.Optional(Type.Integer({ minimum: 0, description: 'CHAT_RATE_LIMITED: when the next message is accepted; SERVICE_UNAVAILABLE: when to try again' })),
});
export type RealtimeError = Static<typeof RealtimeErrorSchema>;

export const VideoCountsSchema = Type.Object({
  videoId: Type.String(),
  views: Type.Integer({ minimum: 0 }),
  likes: Type.Integer({ minimum: 0 }),
  dislikes: Type.Integer({ minimum: 0 }),
  comments: Type.Integer({ minimum: 0 }),
  watching: Type.Integer({ minimum: 0, description: 'clients in the video room across every realtime instance' }),
});
export type VideoCounts = Static<typeof VideoCountsSchema>;

export const ChatAuthorSchema = Type.Object({ id: Type.String(), username: Type.String() });
export type ChatAuthor = Static<typeof ChatAuthorSchema>;

export const ChatMessageSchema = Type.Object(
  { id: Type.String(), author: ChatAuthorSchema, text: Type.String(), createdAt: DateTimeSchema },
  { title: 'ChatMessage' },
);
export type ChatMessage = Static<typeof ChatMessageSchema>;

export const ChatMessageEventSchema = Type.Object({ videoId: Type.String(), message: ChatMessageSchema });
export type ChatMessageEvent = Static<typeof ChatMessageEventSchema>;

export const ChatDeletedEventSchema = Type.Object({ videoId: Type.String(), messageId: Type.String() });
export type ChatDeletedEvent = Static<typeof ChatDeletedEventSchema>;

/** A comment was created on the video (`comment` as GET /api/v1/videos/:id/comments shows it). */
export const CommentNewEventSchema = Type.Object({ videoId: Type.String(), comment: CommentSchema });
export type CommentNewEvent = Static<typeof CommentNewEventSchema>;

/** Sent once when the connection's access token expires; the server then disconnects the client. */
export const AuthExpiredEventSchema = Type.Object({ code: Type.Literal('TOKEN_EXPIRED'), message: Type.String() });
export type AuthExpiredEvent = Static<typeof AuthExpiredEventSchema>;

// ---- acknowledgements ----

export type RealtimeAck<T extends object = object> = ({ ok: true } & T) | { ok: false; error: RealtimeError };
export type VideoJoinAck = RealtimeAck<{ counts: VideoCounts }>;
export type VideoLeaveAck = RealtimeAck;
export type ChatSendAck = RealtimeAck<{ message: ChatMessage }>;
export type AuthRefreshAck = RealtimeAck<{ expiresAt: string }>;

/** Events a client emits (the second argument is the acknowledgement callback). */
export interface RealtimeClientToServerEvents {
  'video:join': (payload: VideoJoinPayload, ack: (res: VideoJoinAck) => void) => void;
  'video:leave': (payload: VideoLeavePayload, ack: (res: VideoLeaveAck) => void) => void;
  'chat:send': (payload: ChatSendPayload, ack: (res: ChatSendAck) => void) => void;
  'auth:refresh': (payload: AuthRefreshPayload, ack: (res: AuthRefreshAck) => void) => void;
}

/** Events the server emits. */
export interface RealtimeServerToClientEvents {
  'video:counts': (counts: VideoCounts) => void;
  'comment:new': (event: CommentNewEvent) => void;
  'chat:message': (event: ChatMessageEvent) => void;
  'chat:deleted': (event: ChatDeletedEvent) => void;
  /** A notification as GET /api/v1/notifications lists it, to its user only. */
  notification: (notification: Notification) => void;
  'auth:expired': (event: AuthExpiredEvent) => void;
}

// ---- REST: chat history and moderation ----

export const ChatHistoryQuerySchema = Type.Object(
  {
    before: Type.Optional(Type.String({ format: 'date-time', description: 'only messages created strictly before this time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ChatHistoryQuery = Static<typeof ChatHistoryQuerySchema>;

export const ChatHistoryPageSchema = Type.Object(
  { items: Type.Array(ChatMessageSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { title: 'ChatHistoryPage' },
);
export type ChatHistoryPage = Static<typeof ChatHistoryPageSchema>;

// ---- live.chat (written by the realtime service) ----

export const ChatMessagePostedV1 = Type.Object({
  messageId: Type.String(),
  videoId: Type.String(),
  author: ChatAuthorSchema,
  text: Type.String(),
  createdAt: DateTimeSchema,
});
export type ChatMessagePostedV1 = Static<typeof ChatMessagePostedV1>;

export const ChatMessageDeletedV1 = Type.Object({
  messageId: Type.String(),
  videoId: Type.String(),
  /** The user who deleted it (the author or the video owner). */
  deletedBy: Type.String(),
});
export type ChatMessageDeletedV1 = Static<typeof ChatMessageDeletedV1>;

export const REALTIME_EVENT_TYPES = {
  chatMessagePosted: 'ChatMessagePosted.v1',
  chatMessageDeleted: 'ChatMessageDeleted.v1',
} as const;
