import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { VideoSchema, PageSchema, problemResponses, UuidSchema } from '@kinora/contracts';
import type { RecommendationService } from './recommendation.service.js';

const ParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
/** One page only (`nextCursor` is always null): a recommendation list is recomputed on every request. */
const QuerySchema = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }, { additionalProperties: false });

export const recommendationRoutes: FastifyPluginAsync<{ recommendations: RecommendationService }> = async (app, { recommendations }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/videos/:id/related',
    {
      schema: {
        tags: ['feed'],
        summary: 'Videos watched or liked by the same audience, then sharing tags, then of the same channel, then popular (one page)',
        params: ParamsSchema,
        querystring: QuerySchema,
        response: { 200: PageSchema(VideoSchema), ...problemResponses(400, 404) },
      },
    },
    async (request) => recommendations.related(request.principal ?? undefined, request.params.id, request.query.limit ?? 20),
  );
  r.get(
    '/api/v1/feed/home',
    {
      schema: {
        tags: ['feed'],
        summary: 'Personalised when signed in (related to what was watched or liked, then popular), popular otherwise (one page)',
        querystring: QuerySchema,
        response: { 200: PageSchema(VideoSchema), ...problemResponses(400) },
      },
    },
    async (request) => recommendations.home(request.principal ?? undefined, request.query.limit ?? 20),
  );
};
