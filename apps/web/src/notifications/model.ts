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

/** How many notifications the menu loads: the API's largest page, so the unread count is exact up to there. */
export const NOTIFICATIONS_PAGE = 100;

/**
 * The unread count as the bell shows it (`items` newest first, as loaded): exact up to 99, "99+" beyond; "N+" when
 * the list has more than was loaded and the oldest loaded one is unread (older ones may be unread too).
 */
export function unreadLabel(items: readonly Notification[], more: boolean): string {
  const unread = items.filter((n) => !n.read).length;
  if (unread > 99) return '99+';
  const oldest = items[items.length - 1];
  return more && oldest !== undefined && !oldest.read ? `${unread}+` : String(unread);
}
