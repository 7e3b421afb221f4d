import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LightMyRequestResponse } from 'fastify';
import { publishVideo, type TestUser } from '@kinora/projections/testing';
import { client, json, startCommentService, type Harness } from '../support.js';

// Every comment route against every kind of caller: anonymous, another user, the comment's author, the video's
// owner (moderation). On a video the caller cannot see (private, or not ready) everything is a 404.
let h: Harness;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startCommentService('comments_authz');
  c = client(h);
});

afterAll(async () => {
  await h?.close();
});

type Actor = 'anonymous' | 'other' | 'author' | 'videoOwner';
const ACTORS: Actor[] = ['anonymous', 'other', 'author', 'videoOwner'];

interface Scene {
  users: Record<Exclude<Actor, 'anonymous'>, TestUser>;
  video: string;
  /** A fresh comment by `author` on the video (each destructive cell gets its own). */
  comments: string[];
}

/** A video of `videoOwner` with comments by `author`; `hide` turns it private or unfinished afterwards. */
async function scene(hide?: { visibility?: 'private'; state?: 'processing' }): Promise<Scene> {
  const users = { other: await h.issuer.user(), author: await h.issuer.user(), videoOwner: await h.issuer.user() };
  const ctx = { bus: h.bus, pool: h.database.primary, schema: 'comments' };
  const v = await publishVideo(ctx, { ownerId: users.videoOwner.id });
  const comments: string[] = [];
  for (let i = 0; i < 12; i++) comments.push((await c.comment(users.author, v.videoId, `comment ${i}`)).id);
  // Replies give the "replies" route something to list.
  await c.comment(users.other, v.videoId, 'a reply', comments[0]);
  if (hide) await publishVideo(ctx, { ...v, ...hide, version: 2 });
  return { users, video: v.videoId, comments };
}

type Route = (s: Scene, who: TestUser | undefined, n: number) => Promise<LightMyRequestResponse>;
const ROUTES: Record<string, Route> = {
  'POST /videos/:id/comments': (s, who) => c.post(who, s.video, 'hello'),
  'GET /videos/:id/comments': (s, who) => c.list(who, s.video),
  'GET /comments/:id/replies': (s, who) => c.replies(who, s.comments[0]!),
  'PATCH /comments/:id': (s, who) => c.edit(who, s.comments[0]!, 'edited'),
  'PUT /comments/:id/rating': (s, who) => c.rate(who, s.comments[0]!, 'like'),
  'DELETE /comments/:id': (s, who, n) => c.remove(who, s.comments[1 + n]!),
};

const PUBLIC: Record<string, number[]> = {
  //                            anonymous other author videoOwner
  'POST /videos/:id/comments': [401, 201, 201, 201],
  'GET /videos/:id/comments': [200, 200, 200, 200],
  'GET /comments/:id/replies': [200, 200, 200, 200],
  'PATCH /comments/:id': [401, 403, 200, 403],
  'PUT /comments/:id/rating': [401, 200, 200, 200],
  'DELETE /comments/:id': [401, 403, 204, 204],
};

const HIDDEN: Record<string, number[]> = {
  'POST /videos/:id/comments': [401, 404, 404, 201],
  'GET /videos/:id/comments': [404, 404, 404, 200],
  'GET /comments/:id/replies': [404, 404, 404, 200],
  'PATCH /comments/:id': [401, 404, 404, 403],
  'PUT /comments/:id/rating': [401, 404, 404, 200],
  'DELETE /comments/:id': [401, 404, 404, 204],
};

async function matrix(s: Scene): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, route] of Object.entries(ROUTES)) {
    out[name] = [];
    for (const [n, actor] of ACTORS.entries()) {
      const res = await route(s, actor === 'anonymous' ? undefined : s.users[actor], n);
      if (res.statusCode >= 400) {
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const code = json(res).code;
        const expected = { 401: ['UNAUTHENTICATED'], 403: ['NOT_COMMENT_AUTHOR', 'COMMENT_DELETE_FORBIDDEN'], 404: ['VIDEO_NOT_FOUND', 'COMMENT_NOT_FOUND'] }[res.statusCode as 401 | 403 | 404];
        expect([name, actor, expected?.includes(code)]).toEqual([name, actor, true]);
      }
      out[name].push(res.statusCode);
    }
  }
  return out;
}

describe('authorization matrix of the comment routes', () => {
  it('on a public video', async () => {
    expect(await matrix(await scene())).toEqual(PUBLIC);
  });

  it('on a video that became private: only its owner sees it (a 404 for everyone else, even the authors)', async () => {
    expect(await matrix(await scene({ visibility: 'private' }))).toEqual(HIDDEN);
  });

  it('on a video that is not ready', async () => {
    expect(await matrix(await scene({ state: 'processing' }))).toEqual(HIDDEN);
  });

  it('after the video is deleted, for everyone', async () => {
    const s = await scene();
    await publishVideo({ bus: h.bus, pool: h.database.primary, schema: 'comments' }, { videoId: s.video, ownerId: s.users.videoOwner.id, version: 9, deleted: true });
    for (const actor of ACTORS) {
      const who = actor === 'anonymous' ? undefined : s.users[actor];
      expect([actor, (await c.list(who, s.video)).statusCode, (await c.replies(who, s.comments[0]!)).statusCode]).toEqual([actor, 404, 404]);
    }
  });

  it('answers 401 for a bad or expired token even on public reads', async () => {
    const s = await scene();
    const bad = { authorization: 'Bearer a.b.c' };
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/videos/${s.video}/comments`, headers: bad })).statusCode).toBe(401);
    const expired = await h.issuer.sign({ userId: s.users.other.id, username: s.users.other.username, expiresInSec: -60 });
    const res = await h.app.inject({ method: 'POST', url: `/api/v1/videos/${s.video}/comments`, payload: { text: 'x' }, headers: { authorization: `Bearer ${expired}` } });
    expect([res.statusCode, json(res).code]).toEqual([401, 'TOKEN_EXPIRED']);
  });
});
