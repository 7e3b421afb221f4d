import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CreateVideoBodySchema,
  ListVideosQuerySchema,
  PageSchema,
  PaginationQuerySchema,
  problemResponses,
  SearchVideosQuerySchema,
  UpdateVideoBodySchema,
  UuidSchema,
  VideoSchema,
} from '@kinora/contracts';
import { LSN_HEADER } from '@kinora/db';
import { cacheControlFor, isUuid, RenderedBodies, type HeldBody } from '@kinora/http';
import type { VideoService } from '../../services/video.service.js';

const IdParams = Type.Object({ id: UuidSchema }, { additionalProperties: false });
const ChannelParams = Type.Object({ channelId: UuidSchema }, { additionalProperties: false });
const VideoPage = PageSchema(VideoSchema);

/**
 * HTTP caching (docs/caching.md): a video's answer depends on who asks (its owner sees it private or unfinished),
 * so only anonymous answers are public; lists hold public videos only and are the same for everybody. The CDN keeps
 * them briefly (a video made private leaves its cache within `s-maxage`); browsers revalidate with the ETag.
 */
const VIDEO_HTTP_CACHE = { class: 'public-unless-user', maxAgeSec: 0, sMaxAgeSec: 30 } as const;
const LIST_HTTP_CACHE = { class: 'public', maxAgeSec: 0, sMaxAgeSec: 30 } as const;

export interface VideosRoutesOptions {
  videos: VideoService;
  /**
   * Answer anonymous reads of held public videos before routing (`app.earlyGets` of the base app), remembering at
   * most `maxEntries` answers: the standalone service behind the gateway. Off where the app itself runs the gateway
   * (embedded mode), which refuses it.
   */
  earlyReads?: { maxEntries: number } | false;
}

export const videosRoutes: FastifyPluginAsync<VideosRoutesOptions> = async (app, { videos, earlyReads }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['videos'];
  const security = [{ bearerAuth: [] }];
  const rendered = new RenderedBodies();

  if (earlyReads) {
    if (!app.earlyGets) throw new Error('earlyReads needs the base app (createBaseApp) and its early GETs');
    // The GET route below is the definition: the same held video, the same held body and validator, the same
    // caching headers as its anonymous answer. A video not held, or not yet rendered by the route, goes to it.
    // Which body answers an id is remembered with the row and counts objects it was made from: while the cache and
    // the counters view hold those same objects (they replace them on any change, visibility included), the body
    // is current, so a read costs two lookups and two comparisons. Bounded like the cache's memory layer.
    const answers = new Map<string, { row: object; stats: object; held: HeldBody }>();
    const max = earlyReads.maxEntries;
    app.earlyGets.add({
      prefix: '/api/v1/videos/',
      route: '/api/v1/videos/:id',
      cacheControl: cacheControlFor(VIDEO_HTTP_CACHE, false),
      vary: 'Authorization',
      read: (id) => {
        // The params schema's `uuid` format (the base app's is `isUuid` too).
        if (!isUuid(id)) return undefined;
        const stats = videos.heldStats(id);
        const row = stats === undefined ? undefined : videos.heldRow(id);
        const known = answers.get(id);
        if (!row || stats === undefined) {
          if (known !== undefined) answers.delete(id);
          return undefined;
        }
        if (known !== undefined && known.row === row && known.stats === stats) return known.held;
        const video = videos.peek(null, id);
        const held = video === undefined ? undefined : rendered.peek(video);
        if (held === undefined) return undefined;
        if (known === undefined && answers.size >= max) answers.delete(answers.keys().next().value!);
        answers.set(id, { row, stats, held });
        return held;
      },
    });
  }

  r.post(
    '/api/v1/videos',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'Create a video (then upload its file with tus at `uploadUrl`)',
        body: CreateVideoBodySchema,
        response: { 201: VideoSchema, ...problemResponses(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const lsn = request.headers[LSN_HEADER];
      const video = await videos.create(request.principal!, request.body, {
        ...(request.headers.authorization !== undefined ? { authorization: request.headers.authorization } : {}),
        ...(typeof lsn === 'string' ? { lsn } : {}),
      });
      return reply.code(201).header('location', `/api/v1/videos/${video.id}`).send(video);
    },
  );

  r.get(
    '/api/v1/videos/:id',
    {
      config: { httpCache: VIDEO_HTTP_CACHE },
      schema: {
        tags,
        summary: "A video (another user's private or unfinished video is 404)",
        params: IdParams,
        response: { 200: VideoSchema, ...problemResponses(400, 401, 404) },
      },
    },
    // Held in memory (the common case): answered at once, without a promise. A public video is the same object for
    // every viewer but its owner until it or its counts change: its body and ETag are kept with it.
    (request, reply) => {
      const held = videos.peek(request.principal, request.params.id);
      if (held !== undefined) {
        rendered.send(reply, held);
        return;
      }
      return videos.get(request.principal, request.params.id).then((video) => {
        rendered.send(reply, video);
      });
    },
  );

  r.patch(
    '/api/v1/videos/:id',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: "Change one's video (403 for someone else's visible video, 404 for one they cannot see)",
        params: IdParams,
        body: UpdateVideoBodySchema,
        response: { 200: VideoSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => videos.update(request.principal!, request.params.id, request.body),
  );

  r.delete(
    '/api/v1/videos/:id',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: "Delete one's video and its media",
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await videos.remove(request.principal!, request.params.id);
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/api/v1/videos',
    {
      config: { httpCache: LIST_HTTP_CACHE },
      schema: {
        tags,
        summary: 'Public ready videos, newest first (`recent`) or by a time-decayed score (`trending`)',
        querystring: ListVideosQuerySchema,
        response: { 200: VideoPage, ...problemResponses(400) },
      },
    },
    async (request) => videos.list(request.query.sort ?? 'recent', request.query.limit ?? 20, request.query.cursor),
  );

  r.get(
    '/api/v1/search',
    {
      config: { httpCache: LIST_HTTP_CACHE },
      schema: {
        tags,
        summary: 'Full-text search over public ready videos (title, then tags, then description), by relevance',
        querystring: SearchVideosQuerySchema,
        response: { 200: VideoPage, ...problemResponses(400) },
      },
    },
    async (request) => videos.search(request.query.q, request.query.limit ?? 20, request.query.cursor),
  );

  r.get(
    '/api/v1/users/me/videos',
    {
      preHandler: app.requireUser,
      schema: {
        tags,
        security,
        summary: "The caller's own videos in every state and visibility (private and unfinished ones too), newest created first",
        querystring: PaginationQuerySchema,
        response: { 200: VideoPage, ...problemResponses(400, 401) },
      },
    },
    async (request) => videos.mine(request.principal!, request.query.limit ?? 20, request.query.cursor),
  );

  r.get(
    '/api/v1/channels/:channelId/videos',
    {
      config: { httpCache: LIST_HTTP_CACHE },
      schema: {
        tags: ['channels'],
        summary: "A channel's public ready videos, newest first (an unknown channel has none)",
        params: ChannelParams,
        querystring: PaginationQuerySchema,
        response: { 200: VideoPage, ...problemResponses(400) },
      },
    },
    async (request) => videos.channelVideos(request.params.channelId, request.query.limit ?? 20, request.query.cursor),
  );
};
