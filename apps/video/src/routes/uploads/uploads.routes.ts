import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Metadata, type Server as TusServer } from '@tus/server';
import { problemResponses, UuidSchema } from '@kinora/contracts';
import type { AppError } from '@kinora/http';
import { videoErrors } from '../../errors.js';
import type { VideoService } from '../../services/video.service.js';

export const UPLOADS_PATH = '/api/v1/uploads';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const Params = Type.Object({ videoId: UuidSchema }, { additionalProperties: false });

/** The tus server's error answers (plain text) as coded problems; its protocol headers are kept. */
function tusProblem(status: number, body: string, headers: Record<string, string>): AppError {
  const detail = body.trim() || `tus answered ${status}`;
  switch (status) {
    case 404:
    case 410:
      return videoErrors.UPLOAD_NOT_FOUND(detail, undefined, headers);
    case 409:
      return videoErrors.UPLOAD_OFFSET_CONFLICT(detail, undefined, headers);
    case 412:
      return videoErrors.TUS_RESUMABLE_REQUIRED('Send Tus-Resumable: 1.0.0', undefined, headers);
    case 413:
      return videoErrors.UPLOAD_TOO_LARGE(detail, undefined, headers);
    case 501:
      return videoErrors.UPLOAD_EXTENSION_UNSUPPORTED(detail, undefined, headers);
    default:
      if (status >= 500) throw new Error(`tus server failed (${status}): ${detail}`);
      // tus answers 403 for a missing Upload-Offset or Content-Type: a malformed request to us.
      return videoErrors.UPLOAD_REQUEST_INVALID(detail, undefined, headers);
  }
}

/** The videoId of a tus creation, from `Upload-Metadata` (base64 values). */
function videoIdOf(request: FastifyRequest): string {
  const raw = request.headers['upload-metadata'];
  let metadata: Record<string, string | null> | undefined;
  try {
    metadata = typeof raw === 'string' ? Metadata.parse(raw) : undefined;
  } catch {
    throw videoErrors.UPLOAD_METADATA_INVALID('Upload-Metadata is not valid tus metadata', [{ field: '/headers/upload-metadata', message: 'is invalid' }]);
  }
  // Metadata is stored as given (jsonb), and PostgreSQL cannot store U+0000: refused here as the client's mistake
  // instead of failing inside tus (a 500). Names such as `../../etc/passwd` are harmless data: files are named by
  // the videoId, never by metadata.
  if (metadata && Object.values(metadata).some((v) => v?.includes('\u0000'))) {
    throw videoErrors.UPLOAD_METADATA_INVALID('Upload-Metadata values must not contain NUL characters', [{ field: '/headers/upload-metadata', message: 'contains a NUL character' }]);
  }
  const videoId = metadata?.['videoId'];
  if (!videoId || !UUID.test(videoId)) {
    throw videoErrors.UPLOAD_METADATA_INVALID('Upload-Metadata must carry the videoId of a video created with POST /api/v1/videos', [
      { field: '/headers/upload-metadata', message: 'needs videoId' },
    ]);
  }
  return videoId.toLowerCase();
}

/**
 * tus 1.0 at /api/v1/uploads, served by @tus/server through its web (fetch) interface so every request keeps
 * Fastify's hooks (request ids, authentication, rate limits, problems). Who may do what is decided here, before
 * tus sees the request: the video's owner, while the video awaits its upload.
 */
export const uploadsRoutes: FastifyPluginAsync<{ tus: TusServer; videos: VideoService; publicUrl: string }> = async (app, { tus, videos, publicUrl }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  // PATCH bodies (and creation-with-upload) reach tus as a stream: no buffering, no body limit here (tus enforces
  // Upload-Length and the configured maximum).
  app.addContentTypeParser('application/offset+octet-stream', (_request, payload, done) => done(null, payload));

  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, String(value));
    }
    const body = request.body instanceof Readable ? (Readable.toWeb(request.body) as ReadableStream<Uint8Array>) : null;
    const path = request.url.split('?')[0]!;
    const webRequest = new Request(`${publicUrl}${path}`, {
      method: request.method,
      headers,
      ...(body ? { body, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await tus.handleWeb(webRequest);
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      // CORS is the gateway's job (its allowed origins); content-length is recomputed by Fastify.
      if (name.startsWith('access-control-') || name === 'content-length') return;
      out[name] = value;
    });
    const text = await response.text();
    if (response.status >= 400) throw tusProblem(response.status, text, out);
    reply.code(response.status).headers(out);
    return reply.send(text === '' ? undefined : text);
  };

  /** Owner only: 404 when the caller cannot see the video, 403 when they can but it is not theirs. */
  const ownedVideo = async (request: FastifyRequest, videoId: string, needsAwaiting: boolean) => {
    const video = await videos.requireOwned(request.principal!, videoId);
    if (needsAwaiting && video.state !== 'awaiting_upload') {
      throw videoErrors.VIDEO_NOT_AWAITING_UPLOAD(`The video is ${video.state.replace('_', ' ')}; it takes no more uploads`);
    }
  };

  r.post(
    UPLOADS_PATH,
    {
      preHandler: app.requireUser,
      config: { rateLimitTier: 'upload' },
      schema: {
        tags: ['uploads'],
        security: [{ bearerAuth: [] }],
        summary: 'tus 1.0 creation: `Upload-Length`, `Upload-Metadata: videoId <base64>`; 201 + Location',
        response: { 201: Type.Null(), ...problemResponses(400, 401, 403, 404, 409, 412, 413) },
      },
    },
    async (request, reply) => {
      await ownedVideo(request, videoIdOf(request), true);
      return forward(request, reply);
    },
  );

  r.route({
    method: ['HEAD', 'PATCH', 'DELETE'],
    url: `${UPLOADS_PATH}/:videoId`,
    preHandler: app.requireUser,
    // Only the owner of a video that was created against the upload budget reaches these.
    config: { rateLimitTier: 'none' },
    schema: {
      tags: ['uploads'],
      security: [{ bearerAuth: [] }],
      summary: 'tus 1.0: HEAD (offset), PATCH (append at Upload-Offset), DELETE (terminate)',
      params: Params,
      response: { ...problemResponses(400, 401, 403, 404, 409, 412, 413) },
    },
    handler: async (request, reply) => {
      const { videoId } = request.params as { videoId: string };
      await ownedVideo(request, videoId, request.method !== 'HEAD');
      return forward(request, reply);
    },
  });
};
