import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ChannelCountersListSchema, CounterIdsQuerySchema, INTERNAL_COUNTERS_PATH, problemResponses, VideoCountersListSchema } from '@kinora/contracts';
import type { CounterRepository } from '../../repositories/counter.repository.js';

const ids = (list: string): string[] => list.split(',');

/**
 * Service-to-service reads of the counters with their versions (from a read replica). Hidden from the OpenAPI
 * document, so the gateway never exposes them: only the standalone analytics process mounts these routes, and in a
 * cluster only the services reach them (the chart's NetworkPolicy).
 */
export const countersRoutes: FastifyPluginAsync<{ counters: CounterRepository }> = async (app, { counters }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    `${INTERNAL_COUNTERS_PATH}/videos`,
    { schema: { hide: true, querystring: CounterIdsQuerySchema, response: { 200: VideoCountersListSchema, ...problemResponses(400) } } },
    async (request) => ({ items: await counters.videoCounters(ids(request.query.ids)) }),
  );
  r.get(
    `${INTERNAL_COUNTERS_PATH}/channels`,
    { schema: { hide: true, querystring: CounterIdsQuerySchema, response: { 200: ChannelCountersListSchema, ...problemResponses(400) } } },
    async (request) => ({ items: await counters.channelCounters(ids(request.query.ids)) }),
  );
};
