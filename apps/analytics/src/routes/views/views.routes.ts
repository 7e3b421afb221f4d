import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { problemResponses, RecordViewBodySchema, UuidSchema } from '@kinora/contracts';
import { commonErrors } from '@kinora/http';
import { canSee, type VideoProjection } from '@kinora/projections';
import type { ViewService } from '../../services/view.service.js';

const ParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });

export const viewsRoutes: FastifyPluginAsync<{ views: ViewService; videos: VideoProjection }> = async (app, { views, videos }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(
    '/api/v1/videos/:id/views',
    {
      // The body is optional: an empty POST is an anonymous view.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['analytics'],
        summary: 'Record a view (counted at most once per viewer per video per hour)',
        params: ParamsSchema,
        body: RecordViewBodySchema,
        response: { 202: Type.Null(), ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const videoId = request.params.id.toLowerCase();
      const userId = request.principal?.userId ?? null;
      // A video the projection does not know yet (its events may still be on the way) is accepted.
      const video = await videos.get(videoId);
      if (video && !canSee(video, userId)) throw commonErrors.NOT_FOUND('No such video');
      views.record({ videoId, userId, viewerId: request.body.viewerId, ip: request.ip, watchedSec: request.body.watchedSec });
      return reply.code(202).send(null);
    },
  );
};
