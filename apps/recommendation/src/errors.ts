import { defineErrors } from '@kinora/http';

/** The recommendation service's coded errors (documented in docs/errors.md). */
export const recommendationErrors = defineErrors({
  VIDEO_NOT_FOUND: { status: 404, title: 'Video not found' },
});
