import { useEffect, useRef, useState } from 'react';
import type { Socket } from 'socket.io-client';
import type { RealtimeClientToServerEvents, RealtimeServerToClientEvents, VideoCounts } from '@kinora/contracts';
import { api } from '../api.js';

export type RealtimeSocket = Socket<RealtimeServerToClientEvents, RealtimeClientToServerEvents>;

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
    // socket.io-client is its own chunk, loaded when the page asks for live updates (after the first frame).
    void import('socket.io-client').then(({ io }) => {
      if (closed) return;
      // The token is asked for at every (re)connection, so a reconnection (network loss) brings a current one.
      const auth = (send: (data: object) => void) => void api.accessToken().then((token) => send(token ? { token } : {}), () => send({}));
      s = io('/realtime', { path: '/socket.io', auth, transports: ['websocket', 'polling'] });
      s.on('connect', () => {
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
      s?.disconnect();
      setSocket(null);
    };
  }, [videoId, ready, sessionKey]);
  return socket;
}
