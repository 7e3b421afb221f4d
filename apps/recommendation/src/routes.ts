import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { VideoSchema, PageSchema, problemResponses, UuidSchema } from '@kinora/contracts';
import { windowOf, type RecommendationService } from './recommendation.service.js';

const ParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
/** Cursor-paginated like every list, up to 500 items deep (`MAX_DEPTH`; a recommendation list is recomputed per request). */
const QuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const recommendationRoutes: FastifyPluginAsync<{ recommendations: RecommendationService }> = async (app, { recommendations }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/videos/:id/related',
    {
      schema: {
        tags: ['feed'],
        summary: 'Videos watched or liked by the same audience, then sharing tags, then of the same channel, then popular',
        params: ParamsSchema,
        querystring: QuerySchema,
        response: { 200: PageSchema(VideoSchema), ...problemResponses(400, 404) },
      },
    },
    async (request) => recommendations.related(request.principal ?? undefined, request.params.id, windowOf(request.query.limit ?? 20, request.query.cursor)),
  );
  r.get(
    '/api/v1/feed/home',
    {
      schema: {
        tags: ['feed'],
        summary: 'Personalised when signed in (related to what was watched or liked, then popular), popular otherwise',
        querystring: QuerySchema,
        response: { 200: PageSchema(VideoSchema), ...problemResponses(400) },
      },
    },
    async (request) => recommendations.home(request.principal ?? undefined, windowOf(request.query.limit ?? 20, request.query.cursor)),
  );
};
