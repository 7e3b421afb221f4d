import { defineErrors } from '@kinora/http';

/** The realtime service's coded errors (documented in docs/errors.md); socket acks carry the same codes. */
export const realtimeErrors = defineErrors({
  CHAT_TEXT_INVALID: { status: 400, title: 'Invalid chat message' },
  CHAT_RATE_LIMITED: { status: 429, title: 'Chat rate limit reached' },
  CHAT_MESSAGE_NOT_FOUND: { status: 404, title: 'Chat message not found' },
  NOT_CHAT_MODERATOR: { status: 403, title: 'Not allowed to delete this chat message' },
  ROOM_LIMIT_REACHED: { status: 400, title: 'Too many videos joined' },
});
