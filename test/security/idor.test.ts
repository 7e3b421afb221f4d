import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { ensureFfmpeg, operationsOf, waitUntil } from '@kinora/testing';
import { client, createAndUpload, expectProblemShape, makeClip, register, startPlatform, waitForFinalState, type Account, type ApiResult, type Platform } from './support.js';

// The IDOR matrix: for every operation of the served OpenAPI document, Bob acting on Alice's resources. The matrix
// is keyed by the document's operations, so a new route without an entry here fails the first test.
let platform: Platform;
let api: ReturnType<typeof client>;
let alice: Account;
let bob: Account;
let clipDir: string;
/** Alice's ready public video (visible to Bob: owner actions are 403). */
let publicVideo: string;
/** Alice's private video awaiting its upload (invisible to Bob: everything is 404). */
let privateVideo: string;
/** Alice's comment on the public video, with a reply by Bob (which notifies Alice). */
let aliceComment: string;
/** Alice's comment on her private video. */
let privateComment: string;
/** Alice's chat message on the public video. */
let aliceChat: string;
let aliceNotification: string;

const ZERO_ID = '00000000-0000-7000-8000-000000000000';

beforeAll(async () => {
  await ensureFfmpeg();
  clipDir = mkdtempSync(join(tmpdir(), 'kinora-sec-idor-'));
  makeClip(join(clipDir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc2=size=192x108:rate=25', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
  platform = await startPlatform('kinora_sec_idor');
  api = client(platform.url);
  alice = await register(platform.url, 'alice');
  bob = await register(platform.url, 'bob');

  publicVideo = await createAndUpload(platform.url, alice, readFileSync(join(clipDir, 'clip.mp4')), {}, 'alice public');
  const created = await api('/api/v1/videos', { method: 'POST', token: alice.token, body: { title: 'alice private', visibility: 'private' } });
  privateVideo = created.body.id;
  expect((await waitForFinalState(platform.url, alice, publicVideo)).state).toBe('ready');

  aliceComment = (await api(`/api/v1/videos/${publicVideo}/comments`, { method: 'POST', token: alice.token, body: { text: 'alice says' } })).body.id;
  privateComment = (await api(`/api/v1/videos/${privateVideo}/comments`, { method: 'POST', token: alice.token, body: { text: 'private note' } })).body.id;
  expect((await api(`/api/v1/videos/${publicVideo}/comments`, { method: 'POST', token: bob.token, body: { text: 'bob replies', parentId: aliceComment } })).status).toBe(201);
  aliceNotification = await waitUntil(
    "Alice's reply notification",
    async () => (await api('/api/v1/notifications', { token: alice.token })).body?.items?.[0]?.id as string | undefined,
    { timeoutMs: 30_000, intervalMs: 250 },
  );

  const socket = io(`${platform.url}/realtime`, { path: '/socket.io', transports: ['websocket'], auth: { token: alice.token }, forceNew: true, reconnection: false, timeout: 5000 });
  try {
    await socket.timeout(5000).emitWithAck('video:join', { videoId: publicVideo });
    const ack = await socket.timeout(5000).emitWithAck('chat:send', { videoId: publicVideo, text: 'alice chats' });
    if (!ack?.ok) throw new Error(`chat:send: ${JSON.stringify(ack)}`);
    aliceChat = ack.message.id;
  } finally {
    socket.disconnect();
  }
}, 240_000);

afterAll(async () => {
  await platform?.stop();
  if (clipDir) rmSync(clipDir, { recursive: true, force: true });
});

type Attack = {
  /** What Bob does to Alice's resource. */
  attack: () => Promise<ApiResult>;
  /** The status the contract gives him (403 when he can see it but it is not his, 404 when he cannot see it). */
  status: number;
  /** Alice's resource afterwards, as she reads it: unchanged. */
  verify: () => Promise<void>;
};
type Entry = Attack | Attack[] | { notOwned: string };

const bobToken = (): string => bob.token;

async function aliceSeesVideo(id: string, title: string): Promise<void> {
  const r = await api(`/api/v1/videos/${id}`, { token: alice.token });
  expect({ status: r.status, title: r.body.title, visibility: r.body.visibility }).toMatchObject({ status: 200, title });
}
async function aliceSeesComment(videoId: string, commentId: string, text: string): Promise<void> {
  const list = await api(`/api/v1/videos/${videoId}/comments?sort=new`, { token: alice.token });
  const c = list.body.items.find((x: { id: string }) => x.id === commentId);
  expect({ text: c?.text, deleted: c?.deleted, likes: c?.likes }).toEqual({ text, deleted: false, likes: 0 });
}
const nothing = async (): Promise<void> => undefined;

const MATRIX: Record<string, Entry> = {
  'GET /.well-known/jwks.json': { notOwned: 'public keys' },
  'POST /api/v1/auth/register': { notOwned: 'creates a new account' },
  'POST /api/v1/auth/login': { notOwned: 'credentials, no resource id' },
  'POST /api/v1/auth/refresh': { notOwned: 'the refresh token is the credential itself (tokens.test.ts covers reuse)' },
  'POST /api/v1/auth/logout': { notOwned: 'the refresh token is the credential itself' },
  'GET /api/v1/users/me': { notOwned: "the caller's own account (no id in the request)" },
  'PATCH /api/v1/users/me': { notOwned: "the caller's own account (no id in the request)" },
  'GET /api/v1/channels/{}': { notOwned: 'channels are public' },
  'PATCH /api/v1/channels/{}': {
    attack: () => api(`/api/v1/channels/${alice.channelId}`, { method: 'PATCH', token: bobToken(), body: { name: 'bob owns this', description: 'x' } }),
    status: 403,
    verify: async () => {
      const r = await api(`/api/v1/channels/${alice.channelId}`);
      expect({ name: r.body.name, ownerId: r.body.ownerId }).toEqual({ name: alice.username, ownerId: alice.id });
    },
  },
  'GET /api/v1/channels/{}/videos': [
    {
      attack: () => api(`/api/v1/channels/${alice.channelId}/videos`, { token: bobToken() }),
      status: 200,
      verify: async () => {
        const r = await api(`/api/v1/channels/${alice.channelId}/videos`, { token: bob.token });
        expect(r.body.items.map((v: { id: string }) => v.id)).toEqual([publicVideo]);
      },
    },
  ],
  'PUT /api/v1/channels/{}/subscription': { notOwned: "Bob's own subscription to a public channel" },
  'DELETE /api/v1/channels/{}/subscription': { notOwned: "Bob's own subscription to a public channel" },
  'GET /api/v1/channels/{}/subscription': { notOwned: "Bob's own subscription to a public channel" },
  'GET /api/v1/users/me/subscriptions': { notOwned: "the caller's own list" },
  'GET /api/v1/users/me/videos': { notOwned: "the caller's own videos (no id in the request)" },
  'GET /api/v1/feed/subscriptions': { notOwned: "the caller's own feed" },
  'GET /api/v1/feed/home': { notOwned: "the caller's own feed" },
  'POST /api/v1/videos': { notOwned: "creates the caller's own video" },
  'GET /api/v1/videos': {
    attack: () => api('/api/v1/videos?sort=recent', { token: bobToken() }),
    status: 200,
    verify: async () => {
      const r = await api('/api/v1/videos?sort=recent', { token: bob.token });
      expect(r.body.items.map((v: { id: string }) => v.id)).not.toContain(privateVideo);
    },
  },
  'GET /api/v1/search': {
    attack: () => api('/api/v1/search?q=alice', { token: bobToken() }),
    status: 200,
    verify: async () => {
      const r = await api('/api/v1/search?q=private', { token: bob.token });
      expect(r.body.items.map((v: { id: string }) => v.id)).not.toContain(privateVideo);
    },
  },
  'GET /api/v1/videos/{}': { attack: () => api(`/api/v1/videos/${privateVideo}`, { token: bobToken() }), status: 404, verify: nothing },
  'PATCH /api/v1/videos/{}': [
    { attack: () => api(`/api/v1/videos/${publicVideo}`, { method: 'PATCH', token: bobToken(), body: { title: 'pwned' } }), status: 403, verify: () => aliceSeesVideo(publicVideo, 'alice public') },
    { attack: () => api(`/api/v1/videos/${privateVideo}`, { method: 'PATCH', token: bobToken(), body: { visibility: 'public' } }), status: 404, verify: () => aliceSeesVideo(privateVideo, 'alice private') },
  ],
  'DELETE /api/v1/videos/{}': [
    { attack: () => api(`/api/v1/videos/${publicVideo}`, { method: 'DELETE', token: bobToken() }), status: 403, verify: () => aliceSeesVideo(publicVideo, 'alice public') },
    { attack: () => api(`/api/v1/videos/${privateVideo}`, { method: 'DELETE', token: bobToken() }), status: 404, verify: () => aliceSeesVideo(privateVideo, 'alice private') },
  ],
  'POST /api/v1/uploads': {
    attack: () =>
      fetch(`${platform.url}/api/v1/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bob.token}`, 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `videoId ${Buffer.from(privateVideo).toString('base64')}` },
      }).then(toResult),
    status: 404,
    verify: async () => {
      const r = await api(`/api/v1/videos/${privateVideo}`, { token: alice.token });
      expect(r.body.state).toBe('awaiting_upload');
    },
  },
  'HEAD /api/v1/uploads/{}': { attack: () => tus('HEAD', privateVideo), status: 404, verify: nothing },
  'PATCH /api/v1/uploads/{}': {
    attack: () => tus('PATCH', privateVideo, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, Buffer.from('0123456789')),
    status: 404,
    verify: async () => expect((await api(`/api/v1/videos/${privateVideo}`, { token: alice.token })).body.state).toBe('awaiting_upload'),
  },
  'DELETE /api/v1/uploads/{}': { attack: () => tus('DELETE', privateVideo), status: 404, verify: async () => expect((await api(`/api/v1/videos/${privateVideo}`, { token: alice.token })).status).toBe(200) },
  'GET /api/v1/videos/{}/chat': { attack: () => api(`/api/v1/videos/${privateVideo}/chat`, { token: bobToken() }), status: 404, verify: nothing },
  'DELETE /api/v1/chat/{}': {
    attack: () => api(`/api/v1/chat/${aliceChat}`, { method: 'DELETE', token: bobToken() }),
    status: 403,
    verify: async () => {
      const r = await api(`/api/v1/videos/${publicVideo}/chat`);
      expect(r.body.items.map((m: { id: string }) => m.id)).toContain(aliceChat);
    },
  },
  'GET /api/v1/videos/{}/comments': { attack: () => api(`/api/v1/videos/${privateVideo}/comments`, { token: bobToken() }), status: 404, verify: nothing },
  'POST /api/v1/videos/{}/comments': {
    attack: () => api(`/api/v1/videos/${privateVideo}/comments`, { method: 'POST', token: bobToken(), body: { text: 'bob was here' } }),
    status: 404,
    verify: async () => {
      const r = await api(`/api/v1/videos/${privateVideo}/comments`, { token: alice.token });
      expect(r.body.items.map((c: { text: string }) => c.text)).toEqual(['private note']);
    },
  },
  'GET /api/v1/comments/{}/replies': { attack: () => api(`/api/v1/comments/${privateComment}/replies`, { token: bobToken() }), status: 404, verify: nothing },
  'PATCH /api/v1/comments/{}': [
    { attack: () => api(`/api/v1/comments/${aliceComment}`, { method: 'PATCH', token: bobToken(), body: { text: 'edited by bob' } }), status: 403, verify: () => aliceSeesComment(publicVideo, aliceComment, 'alice says') },
    { attack: () => api(`/api/v1/comments/${privateComment}`, { method: 'PATCH', token: bobToken(), body: { text: 'edited by bob' } }), status: 404, verify: () => aliceSeesComment(privateVideo, privateComment, 'private note') },
  ],
  'DELETE /api/v1/comments/{}': [
    { attack: () => api(`/api/v1/comments/${aliceComment}`, { method: 'DELETE', token: bobToken() }), status: 403, verify: () => aliceSeesComment(publicVideo, aliceComment, 'alice says') },
    { attack: () => api(`/api/v1/comments/${privateComment}`, { method: 'DELETE', token: bobToken() }), status: 404, verify: () => aliceSeesComment(privateVideo, privateComment, 'private note') },
  ],
  'PUT /api/v1/comments/{}/rating': {
    attack: () => api(`/api/v1/comments/${privateComment}/rating`, { method: 'PUT', token: bobToken(), body: { value: 'like' } }),
    status: 404,
    verify: () => aliceSeesComment(privateVideo, privateComment, 'private note'),
  },
  'PUT /api/v1/videos/{}/rating': {
    attack: () => api(`/api/v1/videos/${privateVideo}/rating`, { method: 'PUT', token: bobToken(), body: { value: 'dislike' } }),
    status: 404,
    verify: async () => expect((await api(`/api/v1/videos/${privateVideo}`, { token: alice.token })).body.stats).toMatchObject({ likes: 0, dislikes: 0 }),
  },
  'GET /api/v1/videos/{}/rating': { attack: () => api(`/api/v1/videos/${privateVideo}/rating`, { token: bobToken() }), status: 404, verify: nothing },
  'POST /api/v1/videos/{}/views': {
    attack: () => api(`/api/v1/videos/${privateVideo}/views`, { method: 'POST', token: bobToken(), body: {} }),
    status: 404,
    verify: async () => expect((await api(`/api/v1/videos/${privateVideo}`, { token: alice.token })).body.stats.views).toBe(0),
  },
  'GET /api/v1/videos/{}/related': { attack: () => api(`/api/v1/videos/${privateVideo}/related`, { token: bobToken() }), status: 404, verify: nothing },
  'GET /api/v1/videos/{}/analytics': [
    { attack: () => api(`/api/v1/videos/${publicVideo}/analytics`, { token: bobToken() }), status: 403, verify: nothing },
    { attack: () => api(`/api/v1/videos/${privateVideo}/analytics`, { token: bobToken() }), status: 404, verify: nothing },
  ],
  'GET /api/v1/notifications': { notOwned: "the caller's own notifications (no id in the request)" },
  'POST /api/v1/notifications/read': {
    // Ids are a filter on the caller's own notifications: someone else's are ignored, not marked.
    attack: () => api('/api/v1/notifications/read', { method: 'POST', token: bobToken(), body: { ids: [aliceNotification] } }),
    status: 204,
    verify: async () => {
      const r = await api('/api/v1/notifications', { token: alice.token });
      expect(r.body.items.find((n: { id: string }) => n.id === aliceNotification)?.read).toBe(false);
    },
  },
};

async function toResult(res: Response): Promise<ApiResult> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers, text };
}

function tus(method: string, videoId: string, headers: Record<string, string> = {}, body?: Buffer): Promise<ApiResult> {
  return fetch(`${platform.url}/api/v1/uploads/${videoId}`, {
    method,
    headers: { authorization: `Bearer ${bob.token}`, 'tus-resumable': '1.0.0', ...headers },
    ...(body ? { body } : {}),
  }).then(toResult);
}

describe('IDOR matrix (Bob against Alice)', () => {
  it('has an entry for every operation of the served OpenAPI document, and none for operations it lacks', async () => {
    const doc = (await (await fetch(`${platform.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const served = operationsOf(doc).sort();
    expect(served.filter((op) => !(op in MATRIX))).toEqual([]);
    expect(Object.keys(MATRIX).filter((op) => !served.includes(op) && !op.endsWith('/related') && !op.endsWith('/feed/home'))).toEqual([]);
  });

  it('gives Bob the contract status on each of Alice’s resources and changes nothing', async () => {
    const doc = (await (await fetch(`${platform.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const served = new Set(operationsOf(doc));
    const outcomes: Array<{ op: string; status: number; expected: number }> = [];
    for (const [op, entry] of Object.entries(MATRIX)) {
      if ('notOwned' in entry || !served.has(op)) continue;
      for (const a of Array.isArray(entry) ? entry : [entry]) {
        const r = await a.attack();
        outcomes.push({ op, status: r.status, expected: a.status });
        if (r.status >= 400 && op.split(' ')[0] !== 'HEAD') expectProblemShape(r, a.status);
      }
    }
    expect(outcomes.filter((o) => o.status !== o.expected)).toEqual([]);
    for (const [op, entry] of Object.entries(MATRIX)) {
      if ('notOwned' in entry || !served.has(op)) continue;
      for (const a of Array.isArray(entry) ? entry : [entry]) await a.verify();
    }
    // And Alice still has everything: her videos, comment, chat message and unread notification.
    await aliceSeesVideo(publicVideo, 'alice public');
    await aliceSeesVideo(privateVideo, 'alice private');
  }, 60_000);

  it('answers unknown ids the same way as invisible ones (no existence oracle)', async () => {
    const unknown = await api(`/api/v1/videos/${ZERO_ID}`, { method: 'PATCH', token: bob.token, body: { title: 'x' } });
    const invisible = await api(`/api/v1/videos/${privateVideo}`, { method: 'PATCH', token: bob.token, body: { title: 'x' } });
    expect({ status: invisible.status, type: invisible.body.type }).toEqual({ status: unknown.status, type: unknown.body.type });
  });
});
