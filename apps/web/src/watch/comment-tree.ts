// The comment section's state, apart from React so it is unit-tested: every comment by id, the top-level order and,
// per comment whose replies were opened (or replied to here), its replies in order with the cursor of the next page.
import type { Comment } from '@kinora/contracts';

export interface Replies {
  ids: string[];
  cursor: string | null;
  /** The first page was fetched (else only replies made or received live here are known). */
  loaded: boolean;
}

export interface CommentTree {
  byId: Record<string, Comment>;
  roots: string[];
  rootCursor: string | null;
  children: Record<string, Replies>;
}

export function emptyTree(): CommentTree {
  return { byId: {}, roots: [], rootCursor: null, children: {} };
}

function union(a: readonly string[], b: readonly string[]): string[] {
  const seen = new Set(a);
  return [...a, ...b.filter((id) => !seen.has(id))];
}

/** A page of top-level comments (`parentId` null) or of one comment's replies, replacing or following what is there. */
export function loadedPage(t: CommentTree, parentId: string | null, page: { items: Comment[]; nextCursor: string | null }, mode: 'replace' | 'append'): CommentTree {
  const byId = { ...t.byId };
  for (const c of page.items) byId[c.id] = c;
  const ids = page.items.map((c) => c.id);
  if (parentId === null) return { ...t, byId, roots: mode === 'replace' ? ids : union(t.roots, ids), rootCursor: page.nextCursor };
  const before = t.children[parentId];
  const merged = mode === 'replace' ? union(ids, before?.ids ?? []) : union(before?.ids ?? [], ids);
  return { ...t, byId, children: { ...t.children, [parentId]: { ids: merged, cursor: page.nextCursor, loaded: true } } };
}

/**
 * A comment posted here or pushed live (`comment:new`): a new top-level one goes first, a reply after its siblings;
 * its parent's reply count grows. One already known (the push of our own post) only replaces its copy.
 */
export function addComment(t: CommentTree, c: Comment, _source: 'own' | 'live'): CommentTree {
  if (t.byId[c.id]) return replaceComment(t, c);
  const byId = { ...t.byId, [c.id]: c };
  if (c.parentId === null) return { ...t, byId, roots: [c.id, ...t.roots] };
  const parent = t.byId[c.parentId];
  // A reply to a comment not on screen (another page, or not expanded): nothing to show.
  if (!parent) return t;
  byId[c.parentId] = { ...parent, replyCount: parent.replyCount + 1 };
  const before = t.children[c.parentId];
  const children = { ...t.children, [c.parentId]: { ids: [...(before?.ids ?? []), c.id], cursor: before?.cursor ?? null, loaded: before?.loaded ?? parent.replyCount === 0 } };
  return { ...t, byId, children };
}

export function replaceComment(t: CommentTree, c: Comment): CommentTree {
  if (!t.byId[c.id]) return t;
  return { ...t, byId: { ...t.byId, [c.id]: c } };
}

/** Deleted: one with replies stays as a tombstone (as the API keeps it), one without goes, its parent counting one less. */
export function removeComment(t: CommentTree, id: string): CommentTree {
  const c = t.byId[id];
  if (!c) return t;
  if (c.replyCount > 0) return replaceComment(t, { ...c, deleted: true, author: null, text: '' });
  const byId = { ...t.byId };
  delete byId[id];
  if (c.parentId === null) return { ...t, byId, roots: t.roots.filter((r) => r !== id) };
  const parent = byId[c.parentId];
  if (parent) byId[c.parentId] = { ...parent, replyCount: Math.max(0, parent.replyCount - 1) };
  const kids = t.children[c.parentId];
  const children = kids ? { ...t.children, [c.parentId]: { ...kids, ids: kids.ids.filter((r) => r !== id) } } : t.children;
  return { ...t, byId, children };
}
