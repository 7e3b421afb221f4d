import { defineErrors } from '@kinora/http';

/** The like service's coded errors (documented in docs/errors.md). */
export const likeErrors = defineErrors({
  VIDEO_NOT_FOUND: { status: 404, title: 'Video not found' },
});
