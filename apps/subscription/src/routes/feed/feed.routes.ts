import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { FeedVideoSchema, PageSchema, PaginationQuerySchema, problemResponses } from '@kinora/contracts';
import type { SubscriptionService } from '../../services/subscription.service.js';

export const feedRoutes: FastifyPluginAsync<{ subscriptions: SubscriptionService }> = async (app, { subscriptions }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/feed/subscriptions',
    {
      preHandler: app.requireUser,
      schema: {
        tags: ['feed'],
        security: [{ bearerAuth: [] }],
        summary: 'Ready public videos of the subscribed channels, newest first',
        querystring: PaginationQuerySchema,
        response: { 200: PageSchema(FeedVideoSchema), ...problemResponses(400, 401) },
      },
    },
    async (request) => subscriptions.feed(request.principal!, request.query),
  );
};
