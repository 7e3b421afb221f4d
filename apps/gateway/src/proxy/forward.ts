import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { Dispatcher, Pool } from 'undici';
import { GATEWAY_IDENTITY_HEADER, signGatewayIdentity } from '@kinora/auth';
import { UpstreamResponse, UpstreamUnreachableError } from '../resilience/upstreams.plugin.js';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those the proxy sets itself. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
]);

/**
 * Identity headers a client might send hoping a service believes them. Only the gateway speaks for a user, with
 * its signed `x-kinora-identity`; everything that looks like an identity assertion is dropped on the way in.
 */
const IDENTITY_LIKE = /^(?:x-kinora-(?:identity|user|principal|auth)|x-(?:user|auth|authenticated|principal|remote-user|forwarded-user)|remote-user)(?:$|-)/;

/** Response headers that the gateway sets itself. */
const NOT_RETURNED = new Set([...NOT_FORWARDED, 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-request-id', 'date']);

/** Whether a request header is an identity claim the gateway drops (exported for tests and the docs). */
export function isIdentityHeader(name: string): boolean {
  return IDENTITY_LIKE.test(name.toLowerCase());
}

/** The headers an upstream gets: the client's, minus hop-by-hop and identity claims, plus forwarding facts. */
export function upstreamHeaders(request: FastifyRequest, identitySecret: string, extra: Record<string, string> = {}): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const incoming: IncomingHttpHeaders = request.headers;
  const connectionListed = new Set(
    String(incoming.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || NOT_FORWARDED.has(name) || connectionListed.has(name) || IDENTITY_LIKE.test(name)) continue;
    out[name] = value;
  }
  out['x-forwarded-for'] = request.ip;
  out['x-forwarded-proto'] = request.protocol;
  out['x-forwarded-host'] = request.host;
  out['x-request-id'] = request.id;
  if (request.principal) {
    out[GATEWAY_IDENTITY_HEADER] = signGatewayIdentity(identitySecret, request.principal, { method: request.method, url: request.url });
  }
  return Object.assign(out, extra);
}

/** The request body as the upstream gets it: validated JSON re-serialized, raw streams (tus uploads) as they come. */
function upstreamBody(request: FastifyRequest, headers: Record<string, string | string[]>): Dispatcher.RequestOptions['body'] {
  const body = request.body;
  if (body === undefined || body === null || request.method === 'GET' || request.method === 'HEAD') return undefined;
  if (body instanceof Readable) {
    if (request.headers['content-length'] !== undefined) headers['content-length'] = request.headers['content-length'];
    return body;
  }
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  headers['content-length'] = String(Buffer.byteLength(payload));
  return payload;
}

export interface ForwardOptions {
  upstream: string;
  pool: Pool;
  identitySecret: string;
  signal: AbortSignal;
  /** Largest response body accepted from the upstream (bytes). */
  maxResponseBytes: number;
}

/** Sends the request to the upstream and reads its whole answer (bounded), so the timeout covers the body too. */
export async function forward(request: FastifyRequest, opts: ForwardOptions): Promise<UpstreamResponse> {
  const headers = upstreamHeaders(request, opts.identitySecret);
  const body = upstreamBody(request, headers);
  let res: Dispatcher.ResponseData;
  try {
    res = await opts.pool.request({
      method: request.method as Dispatcher.HttpMethod,
      path: request.url,
      headers,
      body: body ?? null,
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal.aborted) throw err;
    const e = err as { code?: string; cause?: { code?: string } };
    throw new UpstreamUnreachableError(opts.upstream, e.code ?? e.cause?.code, err);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > opts.maxResponseBytes) {
        res.body.destroy();
        throw new Error(`${opts.upstream} answered with more than ${opts.maxResponseBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (opts.signal.aborted) throw err;
    const e = err as { code?: string };
    throw new UpstreamUnreachableError(opts.upstream, e.code, err);
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || NOT_RETURNED.has(name)) continue;
    out[name] = value;
  }
  return new UpstreamResponse(res.statusCode, out, Buffer.concat(chunks, size));
}
