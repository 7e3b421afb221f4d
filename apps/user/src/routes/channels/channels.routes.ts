import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ChannelSchema, problemResponses, UpdateChannelBodySchema, UuidSchema } from '@kinora/contracts';
import type { AccountService } from '../../services/account.service.js';

const ParamsSchema = Type.Object({ channelId: UuidSchema }, { additionalProperties: false });

export const channelsRoutes: FastifyPluginAsync<{ accounts: AccountService }> = async (app, { accounts }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['channels'];

  r.get(
    '/api/v1/channels/:channelId',
    {
      // Public metadata, the same for everybody (docs/caching.md).
      config: { httpCache: { class: 'public', maxAgeSec: 0, sMaxAgeSec: 60 } },
      schema: { tags, summary: 'A channel', params: ParamsSchema, response: { 200: ChannelSchema, ...problemResponses(400, 404) } },
    },
    async (request) => accounts.channel(request.params.channelId),
  );

  r.patch(
    '/api/v1/channels/:channelId',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security: [{ bearerAuth: [] }],
        summary: "Change one's channel",
        params: ParamsSchema,
        body: UpdateChannelBodySchema,
        response: { 200: ChannelSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => accounts.updateChannel(request.principal!, request.params.channelId, request.body),
  );
};
