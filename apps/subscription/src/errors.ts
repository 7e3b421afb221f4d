import { defineErrors } from '@kinora/http';

/** The subscription service's coded errors (documented in docs/errors.md). */
export const subscriptionErrors = defineErrors({
  // Same code and meaning as the user service's: a channel id nobody owns.
  CHANNEL_NOT_FOUND: { status: 404, title: 'Channel not found' },
  CANNOT_SUBSCRIBE_TO_OWN_CHANNEL: { status: 400, title: 'Cannot subscribe to your own channel' },
});
