import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { problemResponses, RatingBodySchema, RatingSchema, UuidSchema } from '@kinora/contracts';
import type { RatingService } from '../../services/rating.service.js';

const ParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });

export const ratingsRoutes: FastifyPluginAsync<{ ratings: RatingService }> = async (app, { ratings }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['ratings'];
  const security = [{ bearerAuth: [] }];

  r.put(
    '/api/v1/videos/:id/rating',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Rate a video (like, dislike, or none to take the rating back); idempotent',
        params: ParamsSchema,
        body: RatingBodySchema,
        response: { 200: RatingSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => ratings.rate(request.principal!, request.params.id, request.body.value),
  );

  r.get(
    '/api/v1/videos/:id/rating',
    {
      preHandler: app.requireUser,
      schema: { tags, security, summary: "The caller's rating of a video", params: ParamsSchema, response: { 200: RatingSchema, ...problemResponses(400, 401, 404) } },
    },
    async (request) => ratings.get(request.principal!, request.params.id),
  );
};
