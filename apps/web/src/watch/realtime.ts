import { useEffect, useRef, useState } from 'react';
import type { Socket } from 'socket.io-client';
import type { RealtimeClientToServerEvents, RealtimeServerToClientEvents, VideoCounts } from '@kinora/contracts';
import { api } from '../api.js';

export type RealtimeSocket = Socket<RealtimeServerToClientEvents, RealtimeClientToServerEvents>;

/** Reconnections after refused handshakes, at most, before the page stays without live updates. */
export const MAX_HANDSHAKE_RETRIES = 8;

/**
 * How long to wait before connecting again after the server refused the handshake (socket.io does not retry those
 * by itself), or undefined to stay disconnected. `SERVICE_UNAVAILABLE` (the token could not be checked right now):
 * after its `retryAfterMs`, longer with each attempt; `TOKEN_EXPIRED`: once at once (the handshake asks for a fresh
 * token); anything else (`INVALID_TOKEN`) is a verdict, not retried. `attempt` counts from 1.
 */
export function handshakeRetryDelay(err: { data?: { code?: string; retryAfterMs?: number } } | undefined, attempt: number): number | undefined {
  if (attempt > MAX_HANDSHAKE_RETRIES) return undefined;
  const code = err?.data?.code;
  if (code === 'SERVICE_UNAVAILABLE') return Math.max(250, err?.data?.retryAfterMs ?? 1000) * Math.min(attempt, 5);
  if (code === 'TOKEN_EXPIRED' && attempt === 1) return 0;
  return undefined;
}

/**
 * One socket.io connection per watch page (`/realtime`), joined to the video's room on every (re)connect. Counts,
 * new comments and chat all listen on it. It reconnects with the new token when the viewer signs in or out
 * (`sessionKey` changes); `ready` false keeps it closed. `onCounts` receives the join acknowledgement's counts and every `video:counts` push.
 */
export function useVideoSocket(videoId: string, ready: boolean, sessionKey: string, onCounts: (c: VideoCounts) => void): RealtimeSocket | null {
  const [socket, setSocket] = useState<RealtimeSocket | null>(null);
  const cb = useRef(onCounts);
  cb.current = onCounts;
  useEffect(() => {
    if (!ready) return;
    let s: RealtimeSocket | null = null;
    let closed = false;
    let refused = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    // socket.io-client is its own chunk, loaded when the page asks for live updates (after the first frame).
    void import('socket.io-client').then(({ io }) => {
      if (closed) return;
      // The token is asked for at every (re)connection, so a reconnection (network loss) brings a current one.
      const auth = (send: (data: object) => void) => void api.accessToken().then((token) => send(token ? { token } : {}), () => send({}));
      s = io('/realtime', { path: '/socket.io', auth, transports: ['websocket', 'polling'] });
      s.on('connect_error', (err) => {
        if (s?.active) return; // a transport failure: socket.io reconnects by itself
        const delay = handshakeRetryDelay(err as { data?: { code?: string; retryAfterMs?: number } }, ++refused);
        if (delay !== undefined) retry = setTimeout(() => void (closed || s?.connect()), delay);
      });
      s.on('connect', () => {
        refused = 0;
        s?.emit('video:join', { videoId }, (ack) => {
          if (ack.ok) cb.current(ack.counts);
        });
      });
      s.on('video:counts', (c) => {
        if (c.videoId === videoId) cb.current(c);
      });
      setSocket(s);
    });
    return () => {
      closed = true;
      clearTimeout(retry);
      s?.disconnect();
      setSocket(null);
    };
  }, [videoId, ready, sessionKey]);
  return socket;
}
