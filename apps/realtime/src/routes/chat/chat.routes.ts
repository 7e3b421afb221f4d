import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ChatHistoryPageSchema, ChatHistoryQuerySchema, problemResponses, UuidSchema } from '@kinora/contracts';
import type { ChatService } from '../../services/chat.service.js';

const VideoParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
const MessageParamsSchema = Type.Object({ messageId: UuidSchema }, { additionalProperties: false });

export const chatRoutes: FastifyPluginAsync<{ chat: ChatService }> = async (app, { chat }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['chat'];

  r.get(
    '/api/v1/videos/:id/chat',
    {
      schema: {
        tags,
        summary: 'Live chat history of a video, newest first',
        description: '`before` (RFC 3339) starts the history at a point in time; follow `nextCursor` for older pages. Deleted messages are left out.',
        params: VideoParamsSchema,
        querystring: ChatHistoryQuerySchema,
        response: { 200: ChatHistoryPageSchema, ...problemResponses(400, 404) },
      },
    },
    async (request) => chat.history(request.principal?.userId ?? null, request.params.id, request.query),
  );

  r.delete(
    '/api/v1/chat/:messageId',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security: [{ bearerAuth: [] }],
        summary: 'Delete a chat message (its author or the video owner)',
        description: 'Clients in the video room receive `chat:deleted {videoId, messageId}`.',
        params: MessageParamsSchema,
        response: { 204: { type: 'null' }, ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await chat.delete(request.principal!, request.params.messageId);
      return reply.code(204).send();
    },
  );
};
