import { defineErrors } from '@kinora/http';

/** The comment service's coded errors (documented in docs/errors.md). */
export const commentErrors = defineErrors({
  VIDEO_NOT_FOUND: { status: 404, title: 'Video not found' },
  COMMENT_NOT_FOUND: { status: 404, title: 'Comment not found' },
  PARENT_COMMENT_NOT_FOUND: { status: 404, title: 'Parent comment not found' },
  NOT_COMMENT_AUTHOR: { status: 403, title: 'Not the comment author' },
  COMMENT_DELETE_FORBIDDEN: { status: 403, title: 'Not allowed to delete this comment' },
  COMMENT_DELETED: { status: 409, title: 'Comment deleted' },
});
