import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CommentRatingBodySchema,
  CommentRatingSchema,
  CommentSchema,
  CreateCommentBodySchema,
  ListCommentsQuerySchema,
  PageSchema,
  PaginationQuerySchema,
  problemResponses,
  UpdateCommentBodySchema,
  UuidSchema,
} from '@kinora/contracts';
import type { CommentService } from '../../services/comment.service.js';

const IdParams = Type.Object({ id: UuidSchema }, { additionalProperties: false });
const CommentPage = PageSchema(CommentSchema);

export const commentsRoutes: FastifyPluginAsync<{ comments: CommentService }> = async (app, { comments }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['comments'];
  const security = [{ bearerAuth: [] }];

  r.get(
    '/api/v1/videos/:id/comments',
    {
      schema: {
        tags,
        summary: 'Top-level comments of a video (`top`: likes with time decay, or `new`), cursor-paginated',
        params: IdParams,
        querystring: ListCommentsQuerySchema,
        response: { 200: CommentPage, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => comments.list(request.principal, request.params.id, request.query),
  );

  r.post(
    '/api/v1/videos/:id/comments',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Comment on a video, or reply to a comment of it (`parentId`, any depth)',
        params: IdParams,
        body: CreateCommentBodySchema,
        response: { 201: CommentSchema, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const comment = await comments.create(request.principal!, request.params.id, request.body);
      return reply.code(201).send(comment);
    },
  );

  r.get(
    '/api/v1/comments/:id/replies',
    {
      schema: {
        tags,
        summary: 'Direct replies of a comment, oldest first, cursor-paginated',
        params: IdParams,
        querystring: PaginationQuerySchema,
        response: { 200: CommentPage, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => comments.replies(request.principal, request.params.id, request.query),
  );

  r.patch(
    '/api/v1/comments/:id',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: "Edit one's comment (sets editedAt)",
        params: IdParams,
        body: UpdateCommentBodySchema,
        response: { 200: CommentSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => comments.edit(request.principal!, request.params.id, request.body.text),
  );

  r.delete(
    '/api/v1/comments/:id',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: "Delete a comment (its author or the video's owner); one with replies stays as a tombstone",
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await comments.delete(request.principal!, request.params.id);
      return reply.code(204).send(null);
    },
  );

  r.put(
    '/api/v1/comments/:id/rating',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Like a comment, or take the like back (`none`); idempotent',
        params: IdParams,
        body: CommentRatingBodySchema,
        response: { 200: CommentRatingSchema, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => comments.rate(request.principal!, request.params.id, request.body.value),
  );
};
