import type { CommentReplyPayload, Notification, VideoPublishedPayload } from '@kinora/contracts';

/** Adds a notification (from the list or a live push) once, newest first; a known id is replaced, not repeated. */
export function mergeNotification(list: Notification[], n: Notification): Notification[] {
  const rest = list.filter((x) => x.id !== n.id);
  return [...rest, n].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/** The line a person reads for a notification. */
export function notificationText(n: Notification): string {
  if (n.kind === 'comment.reply') {
    const p = n.payload as CommentReplyPayload;
    return `${p.author.displayName || p.author.username} replied to your comment: “${p.excerpt}”`;
  }
  const p = n.payload as VideoPublishedPayload;
  return `New video: “${p.title}”`;
}
