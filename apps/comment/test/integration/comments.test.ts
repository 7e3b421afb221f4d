import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uuidv7 } from 'uuidv7';
import { loggedEvents, waitForOutbox } from '@kinora/projections/testing';
import { client, expectProblem, json, startCommentService, type Harness } from '../support.js';

let h: Harness;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startCommentService('comments');
  c = client(h);
});

afterAll(async () => {
  await h?.close();
});

async function row(id: string): Promise<any> {
  return (await h.database.primary.query('SELECT * FROM comments.comments WHERE id = $1', [id])).rows[0];
}

describe('writing comments', () => {
  it('creates a comment with exactly the contract shape, author from the token and the display name of that moment', async () => {
    const owner = await h.issuer.user();
    const alice = await h.issuer.user('alice_1');
    const video = await c.video(owner);
    const res = await c.post(alice, video, 'First!');
    expect(res.statusCode).toBe(201);
    const comment = json(res);
    expect(comment).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      author: { id: alice.id, username: 'alice_1', displayName: `Display ${alice.id.slice(-4)}` },
      text: 'First!',
      likes: 0,
      replyCount: 0,
      parentId: null,
      createdAt: expect.any(String),
      deleted: false,
    });
    expect(Object.keys(comment).sort()).toEqual(['author', 'createdAt', 'deleted', 'id', 'likes', 'parentId', 'replyCount', 'text']);
    const list = json(await c.list(undefined, video));
    expect(list).toEqual({ items: [comment], nextCursor: null });
  });

  it('stores plain text: control characters stripped (\\n and \\t kept), markup returned as it was, never as HTML', async () => {
    const owner = await h.issuer.user();
    const video = await c.video(owner);
    const text = '<script>alert("x")</script>\r\nline\ttab\u0000\u0007\u001b[31m\u009b end ';
    const created = await c.comment(owner, video, text);
    expect(created.text).toBe('<script>alert("x")</script>\nline\ttab[31m end');
    const res = await c.list(undefined, video);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toContain('<script>alert(\\"x\\")</script>'); // as JSON text, not markup
    expect(json(res).items[0].text).toBe(created.text);
  });

  it('takes 10,000 characters (astral ones count once) and refuses 10,001, empty and blank text with 400', async () => {
    const owner = await h.issuer.user();
    const video = await c.video(owner);
    expect((await c.post(owner, video, 'x'.repeat(10_000))).statusCode).toBe(201);
    expect((await c.post(owner, video, '😀'.repeat(10_000))).statusCode).toBe(201);
    const tooLong = expectProblem(await c.post(owner, video, 'x'.repeat(10_001)), 400, 'VALIDATION_FAILED');
    expect(tooLong.errors).toEqual([expect.objectContaining({ field: '/body/text' })]);
    expectProblem(await c.post(owner, video, ''), 400, 'VALIDATION_FAILED');
    const blank = expectProblem(await c.post(owner, video, ' \n\t\u0000 '), 400, 'VALIDATION_FAILED');
    expect(blank.errors).toEqual([{ field: '/body/text', message: 'must not be empty' }]);
    expectProblem(await h.app.inject({ method: 'POST', url: `/api/v1/videos/${video}/comments`, payload: { text: { html: '<b>' } }, headers: owner.headers }), 400, 'VALIDATION_FAILED');
    expectProblem(await h.app.inject({ method: 'POST', url: `/api/v1/videos/${video}/comments`, payload: {}, headers: owner.headers }), 400, 'VALIDATION_FAILED');
  });

  it('edits (setting editedAt) and refuses an empty edit', async () => {
    const owner = await h.issuer.user();
    const video = await c.video(owner);
    const created = await c.comment(owner, video, 'typo');
    const res = await c.edit(owner, created.id, 'fixed\u0000');
    expect(res.statusCode).toBe(200);
    const edited = json(res);
    expect(edited).toEqual({ ...created, text: 'fixed', editedAt: expect.any(String) });
    expect(Date.parse(edited.editedAt)).toBeGreaterThanOrEqual(Date.parse(created.createdAt));
    expect(json(await c.list(undefined, video)).items[0]).toEqual(edited);
    expectProblem(await c.edit(owner, created.id, '\u0001'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.edit(owner, created.id, 'x'.repeat(10_001)), 400, 'VALIDATION_FAILED');
  });
});

describe('threads', () => {
  it('nests replies to any depth (12 levels) and reads each level with its reply count', async () => {
    const owner = await h.issuer.user();
    const users = await Promise.all([h.issuer.user(), h.issuer.user()]);
    const video = await c.video(owner);
    const chain = [await c.comment(users[0]!, video, 'level 0')];
    for (let depth = 1; depth <= 12; depth++) chain.push(await c.comment(users[depth % 2]!, video, `level ${depth}`, chain[depth - 1].id));
    const stored = await row(chain[12].id);
    expect([stored.depth, stored.root_id]).toEqual([12, chain[0].id]);
    // Only the root is top-level.
    const top = json(await c.list(undefined, video, '?sort=new'));
    expect(top.items.map((x: any) => x.id)).toEqual([chain[0].id]);
    expect(top.items[0].replyCount).toBe(1);
    // Walk down the thread.
    let current = chain[0];
    for (let depth = 1; depth <= 12; depth++) {
      const replies = json(await c.replies(undefined, current.id));
      expect(replies.items).toHaveLength(1);
      const reply = replies.items[0];
      expect(reply).toEqual(expect.objectContaining({ id: chain[depth].id, parentId: current.id, text: `level ${depth}`, replyCount: depth === 12 ? 0 : 1 }));
      current = reply;
    }
    expect(json(await c.replies(undefined, chain[12].id))).toEqual({ items: [], nextCursor: null });
  });

  it('answers 404 for a parent on another video or unknown, 409 for a deleted parent', async () => {
    const owner = await h.issuer.user();
    const [v1, v2] = [await c.video(owner), await c.video(owner)];
    const onV1 = await c.comment(owner, v1, 'on v1');
    const p = expectProblem(await c.post(owner, v2, 'reply across videos', onV1.id), 404, 'PARENT_COMMENT_NOT_FOUND');
    expect(p.errors).toEqual([expect.objectContaining({ field: '/body/parentId' })]);
    expectProblem(await c.post(owner, v1, 'reply to nothing', uuidv7()), 404, 'PARENT_COMMENT_NOT_FOUND');
    expectProblem(await c.post(owner, v1, 'bad id', 'not-a-uuid'), 400, 'VALIDATION_FAILED');
    // A tombstone (it has a reply) takes no more replies.
    await c.comment(owner, v1, 'keeps it as a tombstone', onV1.id);
    expect((await c.remove(owner, onV1.id)).statusCode).toBe(204);
    expectProblem(await c.post(owner, v1, 'too late', onV1.id), 409, 'COMMENT_DELETED');
  });

  it('turns a deleted comment with replies into a tombstone, removes leaves, and keeps reply counts right up the thread', async () => {
    const owner = await h.issuer.user();
    const alice = await h.issuer.user();
    const video = await c.video(owner);
    const a = await c.comment(alice, video, 'A');
    const b = await c.comment(alice, video, 'B', a.id);
    const b1 = await c.comment(owner, video, 'B1', b.id);
    const cc = await c.comment(owner, video, 'C', a.id);
    expect(json(await c.list(undefined, video)).items[0].replyCount).toBe(2);

    // A has replies: it stays, as a tombstone.
    expect((await c.remove(alice, a.id)).statusCode).toBe(204);
    const tomb = json(await c.list(undefined, video)).items[0];
    expect(tomb).toEqual({ id: a.id, author: null, text: '', likes: 0, replyCount: 2, parentId: null, createdAt: a.createdAt, deleted: true });
    const stored = await row(a.id);
    expect([stored.text, stored.author_id, stored.author_username, stored.author_display_name]).toEqual(['', null, null, null]);
    expect(json(await c.replies(undefined, a.id)).items.map((x: any) => x.id)).toEqual([b.id, cc.id]);
    // Deleting it again changes nothing; editing or rating it is a conflict.
    expect((await c.remove(alice, a.id)).statusCode).toBe(204);
    expectProblem(await c.edit(alice, a.id, 'resurrect'), 409, 'COMMENT_DELETED');
    expectProblem(await c.rate(alice, a.id, 'like'), 409, 'COMMENT_DELETED');

    // C has no replies: it disappears, A counts one reply less.
    expect((await c.remove(owner, cc.id)).statusCode).toBe(204);
    expect(await row(cc.id)).toBeUndefined();
    expect(json(await c.list(undefined, video)).items[0].replyCount).toBe(1);
    expectProblem(await c.remove(owner, cc.id), 404, 'COMMENT_NOT_FOUND');

    // B becomes a tombstone (it has B1); removing B1 leaves two tombstones without replies, which go as well.
    expect((await c.remove(alice, b.id)).statusCode).toBe(204);
    expect(json(await c.replies(undefined, a.id)).items[0]).toEqual(expect.objectContaining({ id: b.id, deleted: true, replyCount: 1 }));
    expect((await c.remove(owner, b1.id)).statusCode).toBe(204);
    expect(await Promise.all([row(a.id), row(b.id), row(b1.id)])).toEqual([undefined, undefined, undefined]);
    expect(json(await c.list(undefined, video))).toEqual({ items: [], nextCursor: null });
    expectProblem(await c.replies(undefined, a.id), 404, 'COMMENT_NOT_FOUND');
  });

  it('keeps the reply count exact under concurrent replies and deletions', async () => {
    const owner = await h.issuer.user();
    const users = await Promise.all(Array.from({ length: 6 }, () => h.issuer.user()));
    const video = await c.video(owner);
    const parent = await c.comment(owner, video, 'popular');
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => c.comment(users[i % 6]!, video, `reply ${i}`, parent.id)));
    expect(json(await c.replies(undefined, parent.id, '?limit=100')).items).toHaveLength(30);
    expect((await row(parent.id)).reply_count).toBe(30);
    // Half of them deleted at once, while the parent itself is deleted (it becomes a tombstone) and more arrive.
    const results = await Promise.all([
      ...replies.slice(0, 15).map((r) => c.remove(owner, r.id)),
      c.remove(owner, parent.id),
      ...Array.from({ length: 5 }, (_, i) => c.post(users[i]!, video, `late ${i}`, parent.id)),
    ]);
    expect(results.slice(0, 16).every((r) => r.statusCode === 204)).toBe(true);
    const late = results.slice(16).map((r) => r.statusCode);
    // A late reply either made it before the parent was deleted (201) or found a tombstone (409).
    expect(late.every((s) => s === 201 || s === 409)).toBe(true);
    const expected = 15 + late.filter((s) => s === 201).length;
    const { rows } = await h.database.primary.query('SELECT count(*)::int AS n FROM comments.comments WHERE parent_id = $1', [parent.id]);
    expect(rows[0].n).toBe(expected);
    expect((await row(parent.id)).reply_count).toBe(expected);
    expect((await row(parent.id)).deleted).toBe(true);
  });
});

describe('ordering and pagination', () => {
  it('sorts top-level comments by `top` (likes with time decay) or `new`', async () => {
    const owner = await h.issuer.user();
    const fans = await Promise.all(Array.from({ length: 3 }, () => h.issuer.user()));
    const video = await c.video(owner);
    const older = await c.comment(owner, video, 'older, liked');
    const newer = await c.comment(owner, video, 'newer, no likes');
    for (const f of fans) expect(json(await c.rate(f, older.id, 'like')).likes).toBeGreaterThan(0);
    expect(json(await c.list(undefined, video, '?sort=top')).items.map((x: any) => x.text)).toEqual(['older, liked', 'newer, no likes']);
    expect(json(await c.list(undefined, video)).items.map((x: any) => x.text)).toEqual(['older, liked', 'newer, no likes']);
    expect(json(await c.list(undefined, video, '?sort=new')).items.map((x: any) => x.text)).toEqual(['newer, no likes', 'older, liked']);
    // Time decay: the score of the like-less comment that is 12.5 hours younger equals 9 likes (log10(1+9) = 1).
    const [o, n] = [await row(older.id), await row(newer.id)];
    expect(o.hot_score - n.hot_score).toBeCloseTo(Math.log10(4) - (Date.parse(newer.createdAt) - Date.parse(older.createdAt)) / 1000 / 45000, 6);
    expectProblem(await c.list(undefined, video, '?sort=hot'), 400, 'VALIDATION_FAILED');
  });

  it.each(['new', 'top'])('paginates `%s` without duplicates or gaps while comments keep arriving', async (sort) => {
    const owner = await h.issuer.user();
    const writers = await Promise.all(Array.from({ length: 4 }, () => h.issuer.user()));
    const video = await c.video(owner);
    const original: string[] = [];
    for (let i = 0; i < 45; i++) original.push((await c.comment(writers[i % 4]!, video, `c${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let arrived = 0;
    do {
      const query = `?sort=${sort}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const [res] = await Promise.all([c.list(undefined, video, query), ...writers.slice(0, 3).map((w) => c.comment(w, video, `arrived ${arrived++}`))]);
      expect(res.statusCode).toBe(200);
      const body = json(res);
      expect(body.items.length).toBeLessThanOrEqual(7);
      seen.push(...body.items.map((x: any) => x.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(new Set(seen).size).toBe(seen.length); // no duplicates
    for (const id of original) expect(seen).toContain(id); // no gaps
    // In order: newest first (ids are UUIDv7, whose order is creation order).
    if (sort === 'new') expect([...seen].sort().reverse()).toEqual(seen);
    expect(pages).toBeGreaterThanOrEqual(7);
  });

  it('paginates replies oldest first; replies that arrive meanwhile are appended, none is lost or repeated', async () => {
    const owner = await h.issuer.user();
    const writers = await Promise.all(Array.from({ length: 3 }, () => h.issuer.user()));
    const video = await c.video(owner);
    const parent = await c.comment(owner, video, 'thread');
    for (let i = 0; i < 25; i++) await c.comment(writers[i % 3]!, video, `r${i}`, parent.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = `?limit=6${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const arrivals = pages < 4 ? writers.map((w) => c.comment(w, video, `late ${pages}`, parent.id)) : [];
      const [res] = await Promise.all([c.replies(undefined, parent.id, query), ...arrivals]);
      const body = json(res);
      seen.push(...body.items.map((x: any) => x.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    const { rows } = await h.database.primary.query('SELECT id FROM comments.comments WHERE parent_id = $1 ORDER BY id', [parent.id]);
    expect(rows).toHaveLength(37);
    expect(seen).toEqual(rows.map((r: any) => r.id)); // every reply, once, oldest first
  });

  it('answers 400 for a malformed cursor, a cursor of another order, and limits out of range', async () => {
    const owner = await h.issuer.user();
    const video = await c.video(owner);
    for (let i = 0; i < 3; i++) await c.comment(owner, video, `c${i}`);
    const newCursor = json(await c.list(undefined, video, '?sort=new&limit=1')).nextCursor;
    expect(typeof newCursor).toBe('string');
    const p = expectProblem(await c.list(undefined, video, `?sort=top&cursor=${encodeURIComponent(newCursor)}`), 400, 'VALIDATION_FAILED');
    expect(p.errors).toEqual([{ field: '/query/cursor', message: 'is invalid' }]);
    expectProblem(await c.list(undefined, video, '?cursor=garbage!!'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.list(undefined, video, '?limit=0'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.list(undefined, video, '?limit=101'), 400, 'VALIDATION_FAILED');
    const top = await c.comment(owner, video, 'p');
    expectProblem(await c.replies(undefined, top.id, `?cursor=${encodeURIComponent(newCursor)}`), 400, 'VALIDATION_FAILED');
  });
});

describe('unknown and malformed ids', () => {
  it('answer 404 for an unknown comment or video and 400 for an id that is not a UUID, on every route', async () => {
    const u = await h.issuer.user();
    const unknown = uuidv7();
    expectProblem(await c.edit(u, unknown, 'x'), 404, 'COMMENT_NOT_FOUND');
    expectProblem(await c.remove(u, unknown), 404, 'COMMENT_NOT_FOUND');
    expectProblem(await c.rate(u, unknown, 'like'), 404, 'COMMENT_NOT_FOUND');
    expectProblem(await c.replies(u, unknown), 404, 'COMMENT_NOT_FOUND');
    expectProblem(await c.list(u, unknown), 404, 'VIDEO_NOT_FOUND');
    expectProblem(await c.post(u, unknown, 'x'), 404, 'VIDEO_NOT_FOUND');
    for (const res of [
      await c.edit(u, 'x1', 'x'),
      await c.remove(u, 'x1'),
      await c.rate(u, 'x1', 'like'),
      await c.replies(u, 'x1'),
      await c.list(u, 'x1'),
      await c.post(u, 'x1', 'x'),
    ]) {
      const p = expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(p.errors).toEqual([expect.objectContaining({ field: '/params/id' })]);
    }
  });
});

describe('comment likes', () => {
  it('counts one like per user, idempotently, and takes it back with none', async () => {
    const owner = await h.issuer.user();
    const [u1, u2] = [await h.issuer.user(), await h.issuer.user()];
    const video = await c.video(owner);
    const comment = await c.comment(owner, video, 'like me');
    expect(json(await c.rate(u1, comment.id, 'like'))).toEqual({ value: 'like', likes: 1 });
    expect(json(await c.rate(u1, comment.id, 'like'))).toEqual({ value: 'like', likes: 1 });
    expect(json(await c.rate(u2, comment.id, 'like'))).toEqual({ value: 'like', likes: 2 });
    expect(json(await c.rate(u1, comment.id, 'none'))).toEqual({ value: 'none', likes: 1 });
    expect(json(await c.rate(u1, comment.id, 'none'))).toEqual({ value: 'none', likes: 1 });
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => c.rate(u1, comment.id, 'like')));
    expect(concurrent.every((r) => r.statusCode === 200)).toBe(true);
    expect(json(await c.list(undefined, video)).items[0].likes).toBe(2);
    expectProblem(await c.rate(u1, comment.id, 'dislike'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.rate(u1, uuidv7(), 'like'), 404, 'COMMENT_NOT_FOUND');
  });
});

describe('events', () => {
  it('publishes CommentCreated (with the parent author for reply notifications) and CommentDeleted, keyed by video', async () => {
    const owner = await h.issuer.user();
    const alice = await h.issuer.user();
    const video = await c.video(owner);
    const bob = await h.issuer.user();
    const top = await c.comment(alice, video, 'top');
    const reply = await c.comment(bob, video, 'reply', top.id);
    expect((await c.remove(alice, top.id)).statusCode).toBe(204); // tombstone
    expect((await c.remove(owner, reply.id)).statusCode).toBe(204); // removed (and the tombstone with it)
    await waitForOutbox(h.database.primary, 'comments');
    const events = await loggedEvents(h.database.primary, 'video.comments', [video]);
    expect(events.map((e) => [e.type, e.key])).toEqual([
      ['CommentCreated.v1', video],
      ['CommentCreated.v1', video],
      ['CommentDeleted.v1', video],
      ['CommentDeleted.v1', video],
    ]);
    expect(events[0]!.payload).toEqual({ videoId: video, videoOwnerId: owner.id, comment: top, parentAuthorId: null });
    expect(events[1]!.payload).toEqual({ videoId: video, videoOwnerId: owner.id, comment: reply, parentAuthorId: alice.id });
    expect(events[1]!.actor).toEqual({ type: 'user', id: bob.id });
    expect(events[3]!.actor).toEqual({ type: 'user', id: owner.id });
    expect(events[2]!.payload).toEqual({ videoId: video, commentId: top.id, parentId: null, mode: 'tombstoned', deletedBy: 'author' });
    expect(events[3]!.payload).toEqual({ videoId: video, commentId: reply.id, parentId: top.id, mode: 'removed', deletedBy: 'video_owner' });
    for (const e of events) expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('keeps created minus deleted events equal to the comments that are not deleted', async () => {
    const owner = await h.issuer.user();
    const users = await Promise.all(Array.from({ length: 5 }, () => h.issuer.user()));
    const video = await c.video(owner);
    const ids: string[] = [];
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let i = 0; i < 60; i++) {
      const parent = ids.length > 0 && rnd(3) > 0 ? ids[rnd(ids.length)] : undefined;
      const res = await c.post(users[rnd(5)]!, video, `c${i}`, parent);
      if (res.statusCode === 201) ids.push(json(res).id);
      if (rnd(4) === 0 && ids.length > 0) await c.remove(owner, ids[rnd(ids.length)]!);
    }
    await waitForOutbox(h.database.primary, 'comments');
    const events = await loggedEvents(h.database.primary, 'video.comments', [video]);
    const net = events.filter((e) => e.type === 'CommentCreated.v1').length - events.filter((e) => e.type === 'CommentDeleted.v1').length;
    const { rows } = await h.database.primary.query('SELECT count(*)::int AS n FROM comments.comments WHERE video_id = $1 AND NOT deleted', [video]);
    expect(net).toBe(rows[0].n);
  });
});
