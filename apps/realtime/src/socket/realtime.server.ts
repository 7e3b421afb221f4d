import type { Server as HttpServer } from 'node:http';
import type { Redis } from 'ioredis';
import { Server, type DefaultEventsMap, type Namespace, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { adapterClient } from './adapter-client.js';
import type { TSchema, Static } from '@sinclair/typebox';
import { authErrors, KeysUnavailableError, TokenError, type TokenVerifier } from '@kinora/auth';
import {
  AuthRefreshPayloadSchema,
  ChatSendPayloadSchema,
  REALTIME_NAMESPACE,
  REALTIME_PATH,
  VideoJoinPayloadSchema,
  VideoLeavePayloadSchema,
  type ChatMessage,
  type CommentNewEvent,
  type Notification,
  type Principal,
  type RealtimeError,
  type RealtimeServerToClientEvents,
  type VideoCounts,
} from '@kinora/contracts';
import { AppError, commonErrors } from '@kinora/http';
import type { Logger } from '@kinora/observability';
import { realtimeErrors } from '../errors.js';
import type { RealtimeMetrics } from '../metrics.js';
import type { ChatBroadcaster, ChatService } from '../services/chat.service.js';
import type { CountsService } from '../services/counts.service.js';
import type { VideoAccess } from '../services/video-access.js';
import type { SocialFanout } from '../events/social.consumers.js';
import { validator, type Validator } from '../validation.js';

export const videoRoom = (videoId: string): string => `v:${videoId}`;
export const userRoom = (userId: string): string => `u:${userId}`;

interface SocketUser extends Principal {
  /** Expiry of the access token, seconds since the epoch. */
  exp: number;
}

interface SocketData {
  user: SocketUser | null;
  expiry: NodeJS.Timeout | undefined;
  inflight: number;
}

type RealtimeSocket = Socket<DefaultEventsMap, RealtimeServerToClientEvents, DefaultEventsMap, SocketData>;
type RealtimeNamespace = Namespace<DefaultEventsMap, RealtimeServerToClientEvents, DefaultEventsMap, SocketData>;

export interface RealtimeServerOptions {
  httpServer: HttpServer;
  verifier: TokenVerifier;
  /** The socket.io adapter's Redis (the redis-streams adapter); undefined: the in-memory adapter (one instance). */
  redis: Redis | undefined;
  corsOrigins: readonly string[];
  logger: Logger;
  keyPrefix: string;
  maxRoomsPerSocket: number;
  /** XREAD block time of the adapter (ms): how long a closed instance's stream reader may linger. */
  adapterBlockMs: number;
  /** Requests one socket may have in flight; more are refused (a client flooding joins or messages). */
  maxInflightPerSocket: number;
}

export interface RealtimeHandlers {
  chat: ChatService;
  counts: CountsService;
  access: VideoAccess;
}

// Compiled once: every connection shares them.
const joinPayload = validator(VideoJoinPayloadSchema);
const leavePayload = validator(VideoLeavePayloadSchema);
const chatPayload = validator(ChatSendPayloadSchema);
const refreshPayload = validator(AuthRefreshPayloadSchema);

const KNOWN_EVENTS = new Set(['video:join', 'video:leave', 'chat:send', 'auth:refresh']);
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The refusal of a token that cannot be checked now (its signing key cannot be fetched): not a verdict on the token,
 * so `SERVICE_UNAVAILABLE` with when to try again, not `INVALID_TOKEN`.
 */
function keysUnavailable(): AppError & { retryAfterMs: number } {
  return Object.assign(commonErrors.SERVICE_UNAVAILABLE('The access token cannot be checked right now; try again shortly'), { retryAfterMs: 1_000 });
}
const PROBE_ROOM = '__kinora_probe';

/**
 * socket.io on the Fastify server: path `/socket.io`, namespace `/realtime`, the redis-streams adapter when Redis is
 * configured. Handshake authentication, rooms per video (`v:<id>`) and per user (`u:<id>`), the client events of the
 * contract, and the emitters the services use: `cluster` emits go through the adapter to every instance, `local`
 * ones (counts) reach this instance's sockets only.
 */
export class RealtimeServer implements ChatBroadcaster, SocialFanout {
  readonly io: Server<DefaultEventsMap, RealtimeServerToClientEvents, DefaultEventsMap, SocketData>;
  readonly nsp: RealtimeNamespace;
  /** Sockets per video room on this instance (kept from the adapter's join/leave events). */
  readonly localWatchers = new Map<string, number>();
  private userRooms = 0;
  private authenticated = 0;
  private closing = false;
  private metrics: RealtimeMetrics | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private fastProbeTimer: NodeJS.Timeout | undefined;
  private probeSeenAt = 0;
  private readonly startedAt = Date.now();

  constructor(private readonly opts: RealtimeServerOptions) {
    const origins = opts.corsOrigins;
    this.io = new Server(opts.httpServer, {
      path: REALTIME_PATH,
      serveClient: false,
      maxHttpBufferSize: 16 * 1024,
      connectTimeout: 10_000,
      cors: { origin: origins.includes('*') ? '*' : [...origins], methods: ['GET', 'POST'], credentials: false },
      // A closing instance refuses new handshakes, so reconnecting clients land on another instance.
      allowRequest: (_req, cb) => cb(this.closing ? 'server shutting down' : null, !this.closing),
      ...(opts.redis
        ? {
            adapter: createAdapter(adapterClient(opts.redis), {
              streamName: `${opts.keyPrefix}sio`,
              channelPrefix: `${opts.keyPrefix}sio`,
              maxLen: 10_000,
              blockTimeInMs: opts.adapterBlockMs,
              onlyPlaintext: true,
            }),
          }
        : {}),
    });
    this.io.of('/').use((_socket, next) => next(new Error(`use the ${REALTIME_NAMESPACE} namespace`)));
    this.nsp = this.io.of(REALTIME_NAMESPACE);
    sendFramesWhole(this.nsp.adapter);
    this.trackRooms();
  }

  /** Starts serving clients (call once the services exist). */
  bind(handlers: RealtimeHandlers, metrics: RealtimeMetrics): void {
    this.metrics = metrics;
    this.watchAdapter();
    this.nsp.use((socket, next) => {
      this.authenticate(socket as RealtimeSocket).then(
        () => next(),
        (err: Error & { data?: unknown }) => next(err),
      );
    });
    this.nsp.on('connection', (s) => this.onConnection(s as RealtimeSocket, handlers));
  }

  // ---- emitters ----

  /** `video:counts` to this instance's sockets watching the video (every instance pushes to its own). */
  pushCounts(counts: VideoCounts): void {
    this.nsp.local.to(videoRoom(counts.videoId)).emit('video:counts', counts);
    this.metrics?.emits.inc({ event: 'video:counts', scope: 'local' });
  }

  message(videoId: string, message: ChatMessage): void {
    this.nsp.to(videoRoom(videoId)).emit('chat:message', { videoId, message });
    this.metrics?.emits.inc({ event: 'chat:message', scope: 'cluster' });
  }

  deleted(videoId: string, messageId: string): void {
    this.nsp.to(videoRoom(videoId)).emit('chat:deleted', { videoId, messageId });
    this.metrics?.emits.inc({ event: 'chat:deleted', scope: 'cluster' });
  }

  commentNew(videoId: string, event: CommentNewEvent): void {
    this.nsp.to(videoRoom(videoId)).emit('comment:new', event);
    this.metrics?.emits.inc({ event: 'comment:new', scope: 'cluster' });
  }

  notification(userId: string, notification: Notification): void {
    this.nsp.to(userRoom(userId)).emit('notification', notification);
    this.metrics?.emits.inc({ event: 'notification', scope: 'cluster' });
  }

  // ---- gauges and readiness ----

  clients(): number {
    return this.nsp.sockets.size;
  }
  authenticatedClients(): number {
    return this.authenticated;
  }
  videoRooms(): number {
    return this.localWatchers.size;
  }
  userRoomCount(): number {
    return this.userRooms;
  }

  /** Whether this instance reads the adapter's stream (it saw its own probe recently). Always true in memory. */
  adapterLive(): boolean {
    if (!this.opts.redis) return true;
    return this.probeSeenAt > 0 && Date.now() - this.probeSeenAt < 15_000;
  }

  /** Resolves once the adapter delivers (the stream reader is running), so cluster emits reach this instance. */
  async waitAdapter(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.adapterLive()) {
      if (Date.now() > deadline) throw new Error('the socket.io adapter did not deliver its probe in time');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Disconnects every client at the transport level (so they reconnect, to another instance) and stops the
   * adapter, leaving the HTTP server to Fastify.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.probeTimer);
    clearInterval(this.fastProbeTimer);
    for (const s of this.nsp.sockets.values()) if (s.data.expiry) clearTimeout(s.data.expiry);
    this.io.engine.close();
    await Promise.allSettled([this.io.of('/').adapter.close(), this.nsp.adapter.close()]);
  }

  // ---- internals ----

  private trackRooms(): void {
    const adapter = this.nsp.adapter;
    adapter.on('join-room', (room: string) => {
      if (room.startsWith('v:')) {
        const id = room.slice(2);
        this.localWatchers.set(id, (this.localWatchers.get(id) ?? 0) + 1);
      }
    });
    adapter.on('leave-room', (room: string) => {
      if (room.startsWith('v:')) {
        const id = room.slice(2);
        const n = (this.localWatchers.get(id) ?? 1) - 1;
        if (n > 0) this.localWatchers.set(id, n);
        else this.localWatchers.delete(id);
      }
    });
    adapter.on('create-room', (room: string) => {
      if (room.startsWith('u:')) this.userRooms++;
    });
    adapter.on('delete-room', (room: string) => {
      if (room.startsWith('u:')) this.userRooms--;
    });
  }

  /**
   * Adapter lag: the redis-streams adapter hands every stream entry to `onRawMessage` with its id, whose first part
   * is the Redis time (ms) of the XADD. A probe broadcast every 5 s keeps the figure fresh and proves that this
   * instance's stream reader runs (readiness).
   */
  private watchAdapter(): void {
    if (!this.opts.redis) return;
    const root = this.io.of('/') as unknown as Namespace;
    for (const nsp of [root, this.nsp as unknown as Namespace]) {
      const adapter = nsp.adapter as unknown as { uid?: string; onRawMessage?: (raw: { uid?: string; nsp?: string }, offset: string) => unknown };
      const original = adapter.onRawMessage;
      if (typeof original !== 'function') continue;
      adapter.onRawMessage = (raw, offset) => {
        const at = Number(String(offset).split('-')[0]);
        if (Number.isFinite(at)) this.metrics?.adapterLag.observe(Math.max(0, Date.now() - at) / 1000);
        if (raw.nsp === '/' && raw.uid === (root.adapter as unknown as { uid?: string }).uid) this.probeSeenAt = Date.now();
        return original.call(adapter, raw, offset);
      };
    }
    const probe = (): void => {
      root.to(PROBE_ROOM).emit('probe');
    };
    probe();
    // Fast until the reader is up (its XREAD starts at "$": entries added before it runs are not seen), then every 5 s.
    this.fastProbeTimer = setInterval(() => {
      if (this.probeSeenAt > 0 || Date.now() - this.startedAt > 30_000) clearInterval(this.fastProbeTimer);
      else probe();
    }, 100);
    this.fastProbeTimer.unref();
    this.probeTimer = setInterval(probe, 5_000);
    this.probeTimer.unref();
  }

  private async authenticate(socket: RealtimeSocket): Promise<void> {
    socket.data.user = null;
    socket.data.expiry = undefined;
    socket.data.inflight = 0;
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = auth && typeof auth === 'object' ? auth.token : undefined;
    if (token === undefined || token === null || token === '') {
      this.metrics?.connections.inc({ result: 'anonymous' });
      return;
    }
    try {
      if (typeof token !== 'string' || token.length > 8192) throw new TokenError('invalid', 'The access token is invalid');
      const p = await this.opts.verifier.verify(token);
      socket.data.user = { userId: p.userId, username: p.username, sessionId: p.sessionId, exp: Number(p.claims.exp) };
      this.metrics?.connections.inc({ result: 'user' });
    } catch (err) {
      this.metrics?.connections.inc({ result: 'refused' });
      // connect_error on the client: err.message is the code, err.data { code, message[, retryAfterMs] }.
      if (err instanceof KeysUnavailableError) {
        // Not a verdict on the token (its signing key cannot be fetched now): the client reconnects shortly with it.
        this.opts.logger.warn({ err: err.message }, 'a socket token names a signing key that cannot be fetched now');
        const e = keysUnavailable();
        throw Object.assign(new Error(e.code), { data: { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs } });
      }
      const expired = err instanceof TokenError && err.reason === 'expired';
      const e = (expired ? authErrors.TOKEN_EXPIRED('The access token has expired: refresh it and reconnect') : authErrors.INVALID_TOKEN('The access token is invalid')) as AppError;
      throw Object.assign(new Error(e.code), { data: { code: e.code, message: e.message } });
    }
  }

  private onConnection(socket: RealtimeSocket, h: RealtimeHandlers): void {
    const user = socket.data.user;
    if (user) {
      this.authenticated++;
      void socket.join(userRoom(user.userId));
      this.armExpiry(socket);
    }
    socket.on('disconnect', () => {
      if (socket.data.expiry) clearTimeout(socket.data.expiry);
      if (socket.data.user) this.authenticated--;
    });

    this.handle(socket, 'video:join', joinPayload, async ({ videoId }) => {
      const room = videoRoom(videoId);
      if (!socket.rooms.has(room)) {
        let joined = 0;
        for (const r of socket.rooms) if (r.startsWith('v:')) joined++;
        if (joined >= this.opts.maxRoomsPerSocket) {
          throw realtimeErrors.ROOM_LIMIT_REACHED(`Leave a video first: at most ${this.opts.maxRoomsPerSocket} at once`);
        }
      }
      if (!(await h.access.visibleTo(videoId, socket.data.user?.userId ?? null))) throw commonErrors.NOT_FOUND('No such video');
      if (socket.disconnected) throw commonErrors.BAD_REQUEST('disconnected');
      await socket.join(room);
      return { counts: await h.counts.countsFor(videoId) };
    });

    this.handle(socket, 'video:leave', leavePayload, async ({ videoId }) => {
      await socket.leave(videoRoom(videoId));
      return {};
    });

    this.handle(socket, 'chat:send', chatPayload, async ({ videoId, text }) => {
      return { message: await h.chat.send(socket.data.user, videoId, text) };
    });

    this.handle(socket, 'auth:refresh', refreshPayload, async ({ token }) => {
      const current = socket.data.user;
      if (!current) throw commonErrors.UNAUTHENTICATED('Connect with a token first; an anonymous connection cannot sign in in place');
      let p;
      try {
        p = await this.opts.verifier.verify(token);
      } catch (err) {
        if (err instanceof KeysUnavailableError) throw keysUnavailable();
        if (err instanceof TokenError && err.reason === 'expired') throw authErrors.TOKEN_EXPIRED('The new access token has expired already');
        throw authErrors.INVALID_TOKEN('The access token is invalid');
      }
      if (p.userId !== current.userId) throw authErrors.INVALID_TOKEN('The token belongs to another user: reconnect instead');
      socket.data.user = { userId: p.userId, username: p.username, sessionId: p.sessionId, exp: Number(p.claims.exp) };
      this.armExpiry(socket);
      return { expiresAt: new Date(socket.data.user.exp * 1000).toISOString() };
    });

    socket.onAny((event: string, ...args: unknown[]) => {
      if (KNOWN_EVENTS.has(event)) return;
      const ack = args[args.length - 1];
      if (typeof ack === 'function') ack({ ok: false, error: { code: 'BAD_REQUEST', message: `Unknown event ${JSON.stringify(String(event).slice(0, 64))}` } });
    });
  }

  /** A client event with a payload schema and an acknowledgement: `{ ok: true, … }` or `{ ok: false, error }`, never a throw. */
  private handle<T extends TSchema>(socket: RealtimeSocket, event: string, v: Validator<T>, fn: (payload: Static<T>) => Promise<object>): void {
    socket.on(event, (...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as (res: unknown) => void) : undefined;
      const payload = args.length > (ack ? 1 : 0) ? args[0] : undefined;
      const reply = (res: unknown): void => {
        try {
          ack?.(res);
        } catch {
          // the client is gone
        }
      };
      if (!v.check(payload)) {
        reply({ ok: false, error: { code: 'VALIDATION_FAILED', message: `Invalid ${event} payload`, errors: v.errors(payload) } satisfies RealtimeError });
        return;
      }
      if (socket.data.inflight >= this.opts.maxInflightPerSocket) {
        reply({ ok: false, error: { code: 'RATE_LIMITED', message: 'Too many requests in flight on this connection' } satisfies RealtimeError });
        return;
      }
      socket.data.inflight++;
      fn(payload)
        .then(
          (res) => reply({ ok: true, ...res }),
          (err: unknown) => reply({ ok: false, error: this.toRealtimeError(err, event) }),
        )
        .finally(() => {
          socket.data.inflight--;
        });
    });
  }

  private toRealtimeError(err: unknown, event: string): RealtimeError {
    if (err instanceof AppError) {
      const retryAfterMs = (err as { retryAfterMs?: number }).retryAfterMs;
      return {
        code: err.code,
        message: err.message,
        ...(err.errors ? { errors: err.errors } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    this.opts.logger.error({ err, event }, 'realtime handler failed');
    return { code: 'INTERNAL', message: 'Something went wrong; retry later' };
  }

  private armExpiry(socket: RealtimeSocket): void {
    if (socket.data.expiry) clearTimeout(socket.data.expiry);
    const user = socket.data.user;
    if (!user || !Number.isFinite(user.exp)) return;
    const ms = user.exp * 1000 - Date.now();
    socket.data.expiry = setTimeout(() => {
      socket.data.expiry = undefined;
      if (socket.data.user !== user) return;
      if (user.exp * 1000 > Date.now()) {
        this.armExpiry(socket); // a token that lives longer than one timer can wait
        return;
      }
      // Told first, then disconnected by the server: a socket.io client does not reconnect on its own after a
      // server-side disconnect, so it refreshes its token and connects again.
      socket.emit('auth:expired', { code: 'TOKEN_EXPIRED', message: 'The access token has expired: refresh it and reconnect' });
      socket.disconnect(true);
    }, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    socket.data.expiry.unref();
  }
}

/**
 * socket.io encodes a broadcast once, down to its WebSocket frame, as `[header, payload]`; ws then corks every
 * recipient's socket, writes the two parts and uncorks, which costs each recipient a writev plus Node's
 * buffered-write bookkeeping (the largest allocations of a push, measured with the realtime benchmark's heap
 * profile). One buffer per frame is one plain write per recipient. A no-op if the adapter has no `_encode` (the hook
 * of socket.io-adapter 2.5 this relies on); the realtime tests would notice broadcasts breaking.
 */
export function sendFramesWhole(adapter: object): void {
  type Encode = (this: unknown, packet: unknown, opts: { wsPreEncodedFrame?: unknown }) => unknown;
  const target = adapter as { _encode?: Encode };
  const encode = target._encode;
  if (typeof encode !== 'function') return;
  target._encode = function encodeWhole(packet, opts) {
    const encoded = encode.call(this, packet, opts);
    const frame = opts?.wsPreEncodedFrame;
    if (Array.isArray(frame) && frame.length === 2 && Buffer.isBuffer(frame[0]) && Buffer.isBuffer(frame[1])) {
      opts.wsPreEncodedFrame = [Buffer.concat([frame[0], frame[1]])];
    }
    return encoded;
  };
}
