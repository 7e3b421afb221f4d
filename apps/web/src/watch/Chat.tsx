import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ChatMessage, RealtimeError } from '@kinora/contracts';
import { api } from '../api.js';
import { Link } from '../router.js';
import { ErrorMessage, Loading } from '../ui.js';
import type { RealtimeSocket } from './realtime.js';

/** The readable text of a refused `chat:send` (the realtime error codes of docs/errors.md). */
export function chatErrorMessage(e: RealtimeError): string {
  switch (e.code) {
    case 'CHAT_RATE_LIMITED':
      return `You are sending messages too fast: wait ${Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000))} s and try again.`;
    case 'UNAUTHENTICATED':
    case 'TOKEN_EXPIRED':
    case 'INVALID_TOKEN':
      return 'Your session has ended: sign in again to chat.';
    default: {
      // Field errors that only repeat the message add nothing.
      const fields = (e.errors ?? [])
        .map((f) => f.message)
        .filter((m) => m && m !== e.message)
        .join('; ');
      return fields ? `${e.message} (${fields})` : e.message;
    }
  }
}

/** Oldest first, no duplicates (our own message arrives both as the acknowledgement and as the room's push). */
export function mergeMessages(list: readonly ChatMessage[], more: readonly ChatMessage[]): ChatMessage[] {
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of more) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/** The live chat of a video: history, then `chat:message` pushes; signed-in viewers send with `chat:send`. */
export function Chat({ videoId, socket, signedIn }: { videoId: string; socket: RealtimeSocket | null; signedIn: boolean }) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    let live = true;
    api.chatHistory(videoId).then(
      (page) => live && (setMessages((m) => mergeMessages(m, page.items)), setLoading(false)),
      (err: unknown) => live && (setError(err), setLoading(false)),
    );
    return () => {
      live = false;
    };
  }, [videoId]);

  useEffect(() => {
    if (!socket) return;
    const onMessage = (e: { videoId: string; message: ChatMessage }) => {
      if (e.videoId === videoId) setMessages((m) => mergeMessages(m, [e.message]));
    };
    const onDeleted = (e: { videoId: string; messageId: string }) => {
      if (e.videoId === videoId) setMessages((m) => m.filter((x) => x.id !== e.messageId));
    };
    socket.on('chat:message', onMessage);
    socket.on('chat:deleted', onDeleted);
    return () => {
      socket.off('chat:message', onMessage);
      socket.off('chat:deleted', onDeleted);
    };
  }, [socket, videoId]);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages]);

  const send = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    if (!socket?.connected) return setError(new Error('Not connected to the chat yet: try again in a moment.'));
    setSending(true);
    setError(null);
    socket.timeout(10_000).emit('chat:send', { videoId, text }, (err, ack) => {
      setSending(false);
      if (err) return setError(new Error('The chat did not answer: try again.'));
      if (!ack.ok) return setError(new Error(chatErrorMessage(ack.error)));
      setText('');
      setMessages((m) => mergeMessages(m, [ack.message]));
    });
  };

  return (
    <section className="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Live chat</h2>
      {loading ? <Loading label="Loading chat…" /> : null}
      {!loading && messages.length === 0 ? <p className="empty">No messages yet.</p> : null}
      <ol className="chat-list" ref={listRef} aria-label="Chat messages" aria-live="polite">
        {messages.map((m) => (
          <li key={m.id}>
            <span className="chat-author">{m.author.username}</span> <span className="chat-text">{m.text}</span>
          </li>
        ))}
      </ol>
      <ErrorMessage error={error} />
      {signedIn ? (
        <form className="chat-form" onSubmit={send}>
          <input aria-label="Chat message" placeholder="Say something…" value={text} maxLength={500} onChange={(e) => setText(e.target.value)} />
          <button type="submit" disabled={sending}>
            Send
          </button>
        </form>
      ) : (
        <p className="signin-prompt">
          <Link to="/signin">Sign in to chat</Link>
        </p>
      )}
    </section>
  );
}
