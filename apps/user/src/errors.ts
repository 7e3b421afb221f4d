import { defineErrors } from '@kinora/http';

/** The user service's coded errors (documented in docs/errors.md). */
export const userErrors = defineErrors({
  USERNAME_TAKEN: { status: 409, title: 'Username taken' },
  EMAIL_TAKEN: { status: 409, title: 'Email taken' },
  WEAK_PASSWORD: { status: 400, title: 'Weak password' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  INVALID_REFRESH_TOKEN: { status: 401, title: 'Invalid refresh token' },
  USER_NOT_FOUND: { status: 404, title: 'User not found' },
  CHANNEL_NOT_FOUND: { status: 404, title: 'Channel not found' },
  NOT_CHANNEL_OWNER: { status: 403, title: 'Not the channel owner' },
  WRONG_CURRENT_PASSWORD: { status: 403, title: 'Current password is wrong' },
});
