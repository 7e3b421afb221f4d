import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TokenService } from '../../services/token.service.js';

const JwksSchema = Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String(), alg: Type.String() }, { additionalProperties: true })) });

export const jwksRoutes: FastifyPluginAsync<{ tokens: TokenService }> = async (app, { tokens }) => {
  app.get(
    '/.well-known/jwks.json',
    { schema: { tags: ['identity'], summary: 'Public keys that verify access tokens', response: { 200: JwksSchema } } },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return tokens.jwks();
    },
  );
};
