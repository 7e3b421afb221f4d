import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AnalyticsQuerySchema, AnalyticsSeriesSchema, problemResponses, UuidSchema } from '@kinora/contracts';
import { commonErrors } from '@kinora/http';
import { canSee, type VideoProjection } from '@kinora/projections';
import { analyticsErrors } from '../../errors.js';
import { DAY_MS, type FactsRepository } from '../../repositories/facts.repository.js';

const ParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
/** Most buckets one answer holds (93 days of hours; 800 days). */
const MAX_POINTS = { hour: 93 * 24, day: 800 } as const;

export const analyticsRoutes: FastifyPluginAsync<{ facts: FactsRepository; videos: VideoProjection }> = async (app, { facts, videos }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/videos/:id/analytics',
    {
      preHandler: app.requireUser,
      schema: {
        tags: ['analytics'],
        security: [{ bearerAuth: [] }],
        summary: "A video's views, likes and comments over time (owner only)",
        params: ParamsSchema,
        querystring: AnalyticsQuerySchema,
        response: { 200: AnalyticsSeriesSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const userId = request.principal!.userId;
      const video = await videos.get(request.params.id.toLowerCase());
      if (!video || !canSee(video, userId)) throw commonErrors.NOT_FOUND('No such video');
      if (video.ownerId !== userId) throw commonErrors.FORBIDDEN('Only the owner of a video sees its analytics');
      const granularity = request.query.granularity ?? 'day';
      const to = request.query.to ? new Date(request.query.to) : new Date();
      // Default: the last 7 days (today included) or the last 24 hours (this hour included).
      const unit = granularity === 'hour' ? DAY_MS / 24 : DAY_MS;
      const from = request.query.from ? new Date(request.query.from) : new Date(Math.floor(to.getTime() / unit) * unit - (granularity === 'hour' ? 23 : 6) * unit);
      if (!(from < to)) throw analyticsErrors.ANALYTICS_RANGE_INVALID('`from` must be before `to`');
      const points = (to.getTime() - from.getTime()) / unit;
      if (points > MAX_POINTS[granularity]) {
        throw analyticsErrors.ANALYTICS_RANGE_INVALID(`At most ${MAX_POINTS[granularity]} ${granularity}s per request`);
      }
      return { series: await facts.series(video.id, from, to, granularity) };
    },
  );
};
