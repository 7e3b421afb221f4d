// Shared by the security suite: the platform as `npm start` runs it (startEmbedded) with signing keys the suite holds
// (JWT_KEYS_DIR), accounts, a small JSON client and a tus upload helper.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLsnToken, LSN_HEADER, parseLsnToken } from '@kinora/db';
import { startEmbedded, type EmbeddedHandle } from '@kinora/testing';

export interface Platform {
  embedded: EmbeddedHandle;
  url: string;
  /** The private key behind `active.pem`: the suite can sign tokens the platform would sign. */
  signingKey: KeyObject;
  /** The RFC 7638 thumbprint `kid` the platform publishes for it (read from its JWKS). */
  kid: string;
  stop(): Promise<void>;
}

/** startEmbedded with the suite's own Ed25519 signing key and rate limits off (the suite is not about them). */
export async function startPlatform(prefix: string, env: Record<string, string> = {}): Promise<Platform> {
  const keysDir = mkdtempSync(join(tmpdir(), 'kinora-security-keys-'));
  chmodSync(keysDir, 0o755);
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(keysDir, 'active.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  let embedded: EmbeddedHandle;
  try {
    embedded = await startEmbedded({
      databasePrefix: prefix,
      env: {
        JWT_KEYS_DIR: keysDir,
        RATE_LIMIT_AUTH: 'off',
        RATE_LIMIT_GENERAL: 'off',
        RATE_LIMIT_UPLOAD: 'off',
        TRANSCODE_PRESET: 'ultrafast',
        COUNTER_FLUSH_INTERVAL_MS: '500',
        ...env,
      },
      readyTimeoutMs: 150_000,
    });
  } catch (err) {
    rmSync(keysDir, { recursive: true, force: true });
    throw err;
  }
  const jwks = (await (await fetch(`${embedded.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  return {
    embedded,
    url: embedded.url,
    signingKey: privateKey,
    kid: jwks.keys[0]!.kid,
    stop: async () => {
      await embedded.stop();
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResult {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

/**
 * The read-your-writes token (`Kinora-Lsn`, ADR 0007) of each platform, echoed by every client of it the way the web
 * app's API client does: reads go to the streaming replica once it has replayed what this test process wrote (an
 * anonymous read without it may be answered by a replica that has not, as for any client that does not echo it).
 */
const lsnTokens = new Map<string, string>();

export function client(base: string) {
  return async function api(path: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<ApiResult> {
    const seen = lsnTokens.get(base);
    const headers: Record<string, string> = { ...(seen ? { [LSN_HEADER]: seen } : {}), ...init.headers };
    if (init.token) headers['authorization'] = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    // Answers may arrive in any order: parseLsnToken keeps the higher of a database's repeated positions.
    const answered = res.headers.get(LSN_HEADER);
    if (answered) lsnTokens.set(base, formatLsnToken(parseLsnToken([lsnTokens.get(base) ?? '', answered])));
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, body, headers: res.headers, text };
  };
}

export interface Account {
  id: string;
  username: string;
  channelId: string;
  token: string;
  refreshToken: string;
}

let accounts = 0;
export async function register(base: string, name: string): Promise<Account> {
  const username = `${name}${process.pid}${++accounts}`.toLowerCase().slice(0, 30);
  const r = await client(base)('/api/v1/auth/register', {
    method: 'POST',
    body: { username, email: `${username}@example.com`, password: 'correct horse battery staple' },
  });
  if (r.status !== 201) throw new Error(`register ${username}: ${r.status} ${r.text}`);
  return { id: r.body.user.id, username, channelId: r.body.user.channelId, token: r.body.accessToken, refreshToken: r.body.refreshToken };
}

/** A problem document as the contract describes it (RFC 9457; no stack, no SQL). */
export function expectProblemShape(r: ApiResult, status: number): void {
  if (r.status !== status || !String(r.headers.get('content-type')).startsWith('application/problem+json')) {
    throw new Error(`expected a ${status} problem, got ${r.status} ${r.headers.get('content-type')}: ${r.text.slice(0, 300)}`);
  }
  for (const k of ['type', 'title', 'status', 'detail']) if (!(k in r.body)) throw new Error(`problem lacks ${k}: ${r.text}`);
  if (/\bat .+:\d+:\d+|SELECT |INSERT |stack/i.test(r.text)) throw new Error(`problem leaks internals: ${r.text}`);
}

/** Makes a clip with ffmpeg (lavfi test pattern); extra arguments go before the output. */
export function makeClip(file: string, args: string[]): void {
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, file], { encoding: 'utf8' });
  if (ff.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${ff.stderr ?? ff.error}`);
}

export function tusMetadata(pairs: Record<string, string | Buffer>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** Creates a video and uploads `bytes` with tus (creation, then one PATCH). Returns the video id. */
export async function createAndUpload(base: string, account: Account, bytes: Buffer, extraMetadata: Record<string, string | Buffer> = {}, title = 'clip'): Promise<string> {
  const api = client(base);
  const created = await api('/api/v1/videos', { method: 'POST', token: account.token, body: { title } });
  if (created.status !== 201) throw new Error(`create video: ${created.status} ${created.text}`);
  const videoId = created.body.id as string;
  const auth = { authorization: `Bearer ${account.token}`, 'tus-resumable': '1.0.0' };
  const upload = await fetch(`${base}/api/v1/uploads`, {
    method: 'POST',
    headers: { ...auth, 'upload-length': String(bytes.length), 'upload-metadata': tusMetadata({ ...extraMetadata, videoId }) },
  });
  if (upload.status !== 201) throw new Error(`tus creation: ${upload.status} ${await upload.text()}`);
  const location = new URL(upload.headers.get('location')!, base).toString();
  const patch = await fetch(location, {
    method: 'PATCH',
    headers: { ...auth, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: bytes,
  });
  if (patch.status !== 204) throw new Error(`tus PATCH: ${patch.status} ${await patch.text()}`);
  return videoId;
}

/**
 * Polls the video (as its owner) until its state is final; a ready one also until the comment service knows it
 * (its view of videos follows the video service's events, so comments may still answer 404 for a moment).
 */
export async function waitForFinalState(base: string, account: Account, videoId: string, timeoutMs = 90_000): Promise<any> {
  const api = client(base);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(`/api/v1/videos/${videoId}`, { token: account.token });
    if (r.status === 200 && r.body.state === 'failed') return r.body;
    if (r.status === 200 && r.body.state === 'ready' && (await api(`/api/v1/videos/${videoId}/comments`, { token: account.token })).status === 200) return r.body;
    if (Date.now() > deadline) throw new Error(`video ${videoId} still ${r.status} ${r.body?.state} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 300));
  }
}
