import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import { AppError, commonErrors, problemType, type FieldError } from './errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns Ajv issues of one request part into field errors like `/body/email`. */
export function toFieldErrors(context: string | undefined, issues: readonly ValidationIssue[]): FieldError[] {
  const part = context === 'querystring' ? 'query' : (context ?? 'body');
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of issues) {
    let path = issue.instancePath ?? '';
    const p = issue.params ?? {};
    if (issue.keyword === 'required' && typeof p['missingProperty'] === 'string') path += `/${p['missingProperty']}`;
    if (issue.keyword === 'additionalProperties' && typeof p['additionalProperty'] === 'string') {
      path += `/${p['additionalProperty']}`;
    }
    let message = issue.message ?? 'is invalid';
    if (issue.keyword === 'required') message = 'is required';
    if (issue.keyword === 'additionalProperties') message = 'is not allowed';
    const field = `/${part}${path}`;
    // One entry per field: Ajv may report several keywords for one value; the first is the most telling.
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, message });
  }
  return out;
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  if (err.headers) reply.headers(err.headers);
  const body: Record<string, unknown> = {
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    detail: err.message,
    instance: request.url.split('?')[0],
    code: err.code,
    requestId: request.id,
  };
  if (err.errors && err.errors.length > 0) body['errors'] = err.errors;
  return reply.code(err.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

/**
 * PostgreSQL refuses text it cannot store: a NUL character (U+0000) in a text column, or a `\u0000` escape in
 * jsonb. Such text can only come from the client (JSON strings and query parameters may carry U+0000), so it is the
 * client's mistake wherever it reaches a query: SQLSTATE 22021 (character_not_in_repertoire) or 22P05
 * (untranslatable_character), on the error or on its `cause` (query builders wrap the driver's error).
 */
export function isUnstorableTextError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '22021' || code === '22P05') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Maps whatever was thrown to an AppError; unknown errors become a detail-free 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isUnstorableTextError(error)) {
    return commonErrors.VALIDATION_FAILED('Text in the request must not contain NUL (U+0000) characters');
  }
  const e = error as FastifyError & { validationContext?: string };
  if (e && Array.isArray(e.validation)) {
    const errors = toFieldErrors(e.validationContext, e.validation as ValidationIssue[]);
    const first = errors[0];
    return commonErrors.VALIDATION_FAILED(first ? `${first.field} ${first.message}` : 'The request is invalid', errors);
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return commonErrors.PAYLOAD_TOO_LARGE('The request body is larger than allowed');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return commonErrors.UNSUPPORTED_MEDIA_TYPE('Send JSON with Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return commonErrors.MALFORMED_BODY('The request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return commonErrors.BAD_REQUEST('Content-Length does not match the body');
    // Raised by the router before any route runs (reported through Fastify's `frameworkErrors`).
    case 'FST_ERR_BAD_URL':
      return commonErrors.MALFORMED_URL('The URL is not valid: a percent-encoded part does not decode to UTF-8 text');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return commonErrors.URI_TOO_LONG('A path segment of the URL is longer than allowed');
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return commonErrors.INTERNAL('An unexpected error occurred; it has been logged');
    default:
      break;
  }
  if (e instanceof SyntaxError && (e as FastifyError).statusCode === 400) {
    return commonErrors.MALFORMED_BODY('The request body is not valid JSON');
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 429) return commonErrors.RATE_LIMITED(e.message || 'Too many requests');
  if (status >= 400 && status < 500) {
    // A client error raised by Fastify or a plugin: safe to tell, but keep it generic and code-stable.
    return new AppError('BAD_REQUEST', { status, title: 'Bad request' }, e.message || 'Bad request');
  }
  return commonErrors.INTERNAL('An unexpected error occurred; it has been logged');
}

function logProblem(request: FastifyRequest, error: unknown, appError: AppError): void {
  if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: appError.code, status: appError.status }, appError.message);
}

/**
 * Fastify's `frameworkErrors` option: errors the router raises before a route (and its hooks) runs, such as a
 * URL whose percent-encoding does not decode (`/comments/%00%ff`). Without it Fastify answers them itself with
 * `application/json`; with it they are problems like every other error, carrying the request id.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error);
  logProblem(request, error, appError);
  reply.header('x-request-id', request.id);
  return sendProblem(request, reply, appError);
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser rejects (malformed request line or headers, headers
 * too large, request timeout) never become a request object; answer them with a bare problem on the socket.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? commonErrors.REQUEST_TIMEOUT('The request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? commonErrors.HEADERS_TOO_LARGE('The request headers are larger than allowed')
        : commonErrors.BAD_REQUEST('The request is not valid HTTP');
  const body = JSON.stringify({
    type: problemType(appError.code),
    title: appError.title,
    status: appError.status,
    detail: appError.message,
    code: appError.code,
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.status} ${appError.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * Renders every error and 404 of the application as `application/problem+json` (RFC 9457). Registered once at the
 * root (it is wrapped with fastify-plugin), so encapsulated service plugins inherit it.
 */
export const problemPlugin = fp(
  async function problemPlugin(app: FastifyInstance) {
    app.setErrorHandler(function handle(error, request, reply) {
      const appError = toAppError(error);
      logProblem(request, error, appError);
      return sendProblem(request, reply, appError);
    });
    app.setNotFoundHandler(function notFound(request, reply) {
      return sendProblem(request, reply, commonErrors.NOT_FOUND(`No route ${request.method} ${request.url.split('?')[0]}`));
    });
  },
  { name: '@kinora/http/problem', fastify: '5.x' },
);
