import { defineErrors } from '@kinora/http';

/** The analytics service's coded errors (documented in docs/errors.md). */
export const analyticsErrors = defineErrors({
  ANALYTICS_RANGE_INVALID: { status: 400, title: 'Invalid analytics range' },
});
