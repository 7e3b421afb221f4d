import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { problemResponses, UpdateMeBodySchema, UserSchema } from '@kinora/contracts';
import type { AccountService } from '../../services/account.service.js';

export const usersRoutes: FastifyPluginAsync<{ accounts: AccountService }> = async (app, { accounts }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['identity'];
  const security = [{ bearerAuth: [] }];

  r.get(
    '/api/v1/users/me',
    { preHandler: app.requireUser, schema: { tags, security, summary: 'The signed-in user', response: { 200: UserSchema, ...problemResponses(401, 404) } } },
    async (request) => accounts.me(request.principal!),
  );

  r.patch(
    '/api/v1/users/me',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Change display name or password (a new password signs out every other login)',
        body: UpdateMeBodySchema,
        response: { 200: UserSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => accounts.updateMe(request.principal!, request.body),
  );
};
