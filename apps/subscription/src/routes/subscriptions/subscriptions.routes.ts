import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { PageSchema, PaginationQuerySchema, problemResponses, SubscribedChannelSchema, SubscriptionStateSchema, UuidSchema } from '@kinora/contracts';
import type { SubscriptionService } from '../../services/subscription.service.js';

const ParamsSchema = Type.Object({ channelId: UuidSchema }, { additionalProperties: false });

export const subscriptionsRoutes: FastifyPluginAsync<{ subscriptions: SubscriptionService }> = async (app, { subscriptions }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['subscriptions'];
  const security = [{ bearerAuth: [] }];

  r.put(
    '/api/v1/channels/:channelId/subscription',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Subscribe to a channel (idempotent; not to your own)',
        params: ParamsSchema,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await subscriptions.subscribe(request.principal!, request.params.channelId);
      return reply.code(204).send(null);
    },
  );

  r.delete(
    '/api/v1/channels/:channelId/subscription',
    {
      preHandler: app.requireUser,
      schema: { tags, security, summary: 'Unsubscribe from a channel (idempotent)', params: ParamsSchema, response: { 204: Type.Null(), ...problemResponses(400, 401, 404) } },
    },
    async (request, reply) => {
      await subscriptions.unsubscribe(request.principal!, request.params.channelId);
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/api/v1/channels/:channelId/subscription',
    {
      preHandler: app.requireUser,
      schema: { tags, security, summary: 'Whether the caller is subscribed to a channel', params: ParamsSchema, response: { 200: SubscriptionStateSchema, ...problemResponses(400, 401) } },
    },
    async (request) => subscriptions.state(request.principal!, request.params.channelId),
  );

  r.get(
    '/api/v1/users/me/subscriptions',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Channels the caller is subscribed to, most recent first',
        querystring: PaginationQuerySchema,
        response: { 200: PageSchema(SubscribedChannelSchema), ...problemResponses(400, 401) },
      },
    },
    async (request) => subscriptions.list(request.principal!, request.query),
  );
};
