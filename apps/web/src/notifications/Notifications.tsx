import { useEffect, useRef, useState } from 'react';
import type { Notification, RealtimeClientToServerEvents, RealtimeServerToClientEvents } from '@kinora/contracts';
import type { Socket } from 'socket.io-client';
import { api } from '../api.js';
import { Link } from '../router.js';
import { ErrorMessage, Loading } from '../ui.js';
import { afterPageSettled } from '../settle.js';
import { studio } from '../studio/studioApi.js';
import { mergeNotification, notificationText, unreadLabel } from './model.js';

/**
 * The header's notifications menu (signed in only): the unread count on the button, kept live by the realtime
 * service's `notification` push (socket.io, loaded on first use so the home page stays light); the list opens in a
 * panel; opening it does not mark anything, "Mark all read" and each item's link do.
 */
export function NotificationsMenu({ userId }: { userId: string }) {
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [live, setLive] = useState(false);
  /** Whether the list has more than the loaded page (the count then may be a lower bound). */
  const [more, setMore] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let closed = false;
    let socket: Socket<RealtimeServerToClientEvents, RealtimeClientToServerEvents> | null = null;
    studio.notifications().then(
      (p) => {
        if (closed) return;
        setMore(p.nextCursor !== null);
        setItems((cur) => p.items.reduce((acc, n) => mergeNotification(acc, n), cur ?? []));
      },
      (err: unknown) => !closed && setError(err),
    );
    // The live connection waits until the page settled (the watch page's first frame): not part of its initial JS.
    const cancelConnect = afterPageSettled(() => void import('socket.io-client').then(({ io }) => {
      if (closed) return;
      // The token is asked at each (re)connection: a refreshed one after expiry.
      socket = io('/realtime', {
        path: '/socket.io',
        transports: ['websocket', 'polling'],
        auth: (cb) => void api.accessToken().then((token) => cb(token ? { token } : {})),
      });
      socket.on('connect', () => setLive(true));
      socket.on('disconnect', () => setLive(false));
      socket.on('notification', (n) => setItems((cur) => mergeNotification(cur ?? [], n)));
    }));
    return () => {
      closed = true;
      cancelConnect();
      socket?.disconnect();
    };
  }, [userId]);

  // Escape closes the panel and gives focus back to the button; a click outside closes it.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onClick = (e: MouseEvent) => {
      if (!panel.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const unread = items?.filter((n) => !n.read).length ?? 0;
  const markRead = async (ids?: string[]) => {
    setError(null);
    try {
      await studio.markRead(ids);
      setItems((cur) => cur?.map((n) => (!ids || ids.includes(n.id) ? { ...n, read: true } : n)) ?? null);
      if (!ids) setMore(false); // every one is read now, loaded or not
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="notifications" data-live={live ? 'true' : 'false'}>
      <button type="button" ref={button} aria-expanded={open} aria-controls="notifications-panel" onClick={() => setOpen((o) => !o)} className="bell">
        <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="currentColor" focusable="false">
          <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" />
        </svg>
        <span className="visually-hidden">Notifications, </span>
        <span className={unread > 0 ? 'count' : 'count zero'} data-testid="unread-count" aria-live="polite">
          {unreadLabel(items ?? [], more)}
        </span>
        <span className="visually-hidden"> unread</span>
      </button>
      {open ? (
        <div id="notifications-panel" className="notifications-panel" ref={panel} role="region" aria-label="Notifications">
          <div className="row">
            <h2>Notifications</h2>
            <button type="button" onClick={() => void markRead()} disabled={unread === 0}>
              Mark all read
            </button>
          </div>
          <ErrorMessage error={error} />
          {items === null && !error ? <Loading label="Loading notifications…" /> : null}
          {items && items.length === 0 ? <p className="empty">No notifications yet.</p> : null}
          {items && items.length > 0 ? (
            <ul className="notification-list">
              {items.map((n) => (
                <li key={n.id} className={n.read ? 'read' : 'unread'}>
                  <Link
                    to={`/watch/${n.payload.videoId}`}
                    onClick={() => {
                      setOpen(false);
                      if (!n.read) void markRead([n.id]);
                    }}
                  >
                    {notificationText(n)}
                  </Link>
                  <span className="note">
                    {new Date(n.createdAt).toLocaleString()}
                    {n.read ? '' : ' · new'}
                  </span>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
