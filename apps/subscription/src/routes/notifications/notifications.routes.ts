import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { MarkNotificationsReadBodySchema, NotificationSchema, PageSchema, PaginationQuerySchema, problemResponses } from '@kinora/contracts';
import type { NotificationService } from '../../services/notification.service.js';

export const notificationsRoutes: FastifyPluginAsync<{ notifications: NotificationService }> = async (app, { notifications }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['notifications'];
  const security = [{ bearerAuth: [] }];

  r.get(
    '/api/v1/notifications',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: "The caller's notifications, newest first",
        querystring: PaginationQuerySchema,
        response: { 200: PageSchema(NotificationSchema), ...problemResponses(400, 401) },
      },
    },
    async (request) => notifications.list(request.principal!, request.query),
  );

  r.post(
    '/api/v1/notifications/read',
    {
      preHandler: app.requireUser,
      // No body at all means "all of them", like `{}`.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
      schema: {
        tags,
        security,
        summary: 'Mark notifications read: those of `ids`, or all of them when `ids` is absent',
        body: MarkNotificationsReadBodySchema,
        response: { 204: Type.Null(), ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      await notifications.markRead(request.principal!, request.body.ids);
      return reply.code(204).send(null);
    },
  );
};
