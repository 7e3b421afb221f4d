import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthResultSchema, LoginBodySchema, problemResponses, RefreshTokenBodySchema, RegisterBodySchema } from '@kinora/contracts';
import type { AccountService } from '../../services/account.service.js';

/** Register, login, refresh, logout. These share the auth rate-limit tier (`config.rateLimit: 'auth'`). */
export const authRoutes: FastifyPluginAsync<{ accounts: AccountService }> = async (app, { accounts }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['identity'];

  r.post(
    '/api/v1/auth/register',
    {
      config: { rateLimitTier: 'auth' },
      schema: {
        tags,
        summary: 'Create an account and its channel',
        body: RegisterBodySchema,
        response: { 201: AuthResultSchema, ...problemResponses(400, 409, 413, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await accounts.register(request.body)),
  );

  r.post(
    '/api/v1/auth/login',
    {
      config: { rateLimitTier: 'auth' },
      schema: { tags, summary: 'Sign in with username or email', body: LoginBodySchema, response: { 200: AuthResultSchema, ...problemResponses(400, 401, 429) } },
    },
    async (request) => accounts.login(request.body.login, request.body.password),
  );

  r.post(
    '/api/v1/auth/refresh',
    {
      config: { rateLimitTier: 'auth' },
      schema: {
        tags,
        summary: 'Exchange a refresh token for a new pair (single use; reuse revokes the login)',
        body: RefreshTokenBodySchema,
        response: { 200: AuthResultSchema, ...problemResponses(400, 401, 429) },
      },
    },
    async (request) => accounts.refresh(request.body.refreshToken),
  );

  r.post(
    '/api/v1/auth/logout',
    {
      schema: { tags, summary: 'Revoke the login a refresh token belongs to', body: RefreshTokenBodySchema, response: { 204: { type: 'null' }, ...problemResponses(400) } },
    },
    async (request, reply) => {
      await accounts.logout(request.body.refreshToken);
      return reply.code(204).send();
    },
  );
};
