// The watch page's counts: what the server last pushed plus the viewer's own rating change until a push reflects it.
// Without the pending part an optimistic like was undone by a `video:counts` push computed before the like landed.

export interface Counts {
  views: number;
  likes: number;
  dislikes: number;
  comments: number;
  watching?: number;
}

export type Rating = 'like' | 'dislike' | 'none';

interface Pending {
  /** The viewer's change not yet seen in a push. */
  likes: number;
  dislikes: number;
  /** The server's counts when the change was made: a push reflects it once it moved that far from here. */
  baseLikes: number;
  baseDislikes: number;
  /** Given up after this (ms epoch): others' ratings can hide ours, so a push may never show the exact move. */
  until: number;
}

export interface CountsState {
  server: Counts;
  pending: Pending | null;
}

/** How long a change waits to be reflected by a push before the pushed counts alone are shown. */
export const PENDING_MS = 15_000;

export function initialCounts(server: Counts): CountsState {
  return { server, pending: null };
}

/** The counts to show: the server's plus the pending change (never below zero). */
export function shownCounts(s: CountsState): Counts {
  if (!s.pending) return s.server;
  return { ...s.server, likes: Math.max(0, s.server.likes + s.pending.likes), dislikes: Math.max(0, s.server.dislikes + s.pending.dislikes) };
}

function delta(before: Rating, next: Rating): { likes: number; dislikes: number } {
  return {
    likes: (next === 'like' ? 1 : 0) - (before === 'like' ? 1 : 0),
    dislikes: (next === 'dislike' ? 1 : 0) - (before === 'dislike' ? 1 : 0),
  };
}

/** The viewer changed their rating from `before` to `next` (shown at once). */
export function rated(s: CountsState, before: Rating, next: Rating, now: number): CountsState {
  const d = delta(before, next);
  const p = s.pending ?? { likes: 0, dislikes: 0, baseLikes: s.server.likes, baseDislikes: s.server.dislikes, until: 0 };
  const pending = { ...p, likes: p.likes + d.likes, dislikes: p.dislikes + d.dislikes, until: now + PENDING_MS };
  return { server: s.server, pending: pending.likes === 0 && pending.dislikes === 0 ? null : pending };
}

/** The API refused the change from `before` to `next`: take it back. */
export function reverted(s: CountsState, before: Rating, next: Rating, now: number): CountsState {
  return rated(s, next, before, now);
}

function reflects(moved: number, change: number): boolean {
  return change === 0 || (Math.sign(moved) === Math.sign(change) && Math.abs(moved) >= Math.abs(change));
}

/** A push (or the join acknowledgement) arrived: it replaces the server counts; the pending change stays until reflected. */
export function pushed(s: CountsState, server: Counts, now: number): CountsState {
  const p = s.pending;
  if (!p) return { server, pending: null };
  const done = now > p.until || (reflects(server.likes - p.baseLikes, p.likes) && reflects(server.dislikes - p.baseDislikes, p.dislikes));
  return { server, pending: done ? null : p };
}
