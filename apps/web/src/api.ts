import type { AuthResult, ChatMessage, Comment, CommentRating, Problem, User, Video } from '@kinora/contracts';

/** A failed API call, with a message a person can read (from the RFC 9457 problem the API answered). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The readable message of a problem: its detail (or title), then each field error. */
export function problemMessage(status: number, body: unknown): string {
  const p = (body ?? {}) as Partial<Omit<Problem, 'errors'>> & { errors?: Array<{ field?: string; pointer?: string; message?: string; detail?: string }> };
  if (status === 429) return 'Too many requests: please wait a moment and try again.';
  let msg = p.detail || p.title || (status >= 500 ? 'The server could not answer. Please try again.' : `Request failed (${status}).`);
  const fields = (p.errors ?? []).map((e) => [e.field ?? e.pointer, e.message ?? e.detail].filter(Boolean).join(': ')).filter(Boolean);
  if (fields.length > 0) msg += ` (${fields.join('; ')})`;
  return msg;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms after which the access token is refreshed before use. */
  expiresAt: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const TOKENS_KEY = 'kinora.tokens';
const LSN_KEY = 'kinora.lsn';

type Listener = (tokens: Tokens | null) => void;

/**
 * The typed client of the public API (spec/api.md): bearer access tokens, refreshed once on expiry (the refresh
 * token is single-use, so concurrent refreshes share one request), problems turned into {@link ApiError}s.
 */
export class ApiClient {
  private tokens: Tokens | null;
  private refreshing: Promise<Tokens | null> | null = null;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly base = '',
    private readonly storage: Storage | undefined = globalThis.localStorage,
    /** Where the read-your-writes token survives a reload of this tab (its own, as a tab's writes are). */
    private readonly tabStorage: Storage | undefined = globalThis.sessionStorage,
  ) {
    this.tokens = this.load();
    try {
      this.lsn = this.tabStorage?.getItem(LSN_KEY) ?? null;
    } catch {
      this.lsn = null;
    }
  }

  private load(): Tokens | null {
    try {
      const raw = this.storage?.getItem(TOKENS_KEY);
      return raw ? (JSON.parse(raw) as Tokens) : null;
    } catch {
      return null;
    }
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  onTokens(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  setSession(r: AuthResult | null): void {
    this.tokens = r ? { accessToken: r.accessToken, refreshToken: r.refreshToken, expiresAt: Date.now() + (r.expiresIn - 30) * 1000 } : null;
    if (this.tokens) this.storage?.setItem(TOKENS_KEY, JSON.stringify(this.tokens));
    else this.storage?.removeItem(TOKENS_KEY);
    for (const l of this.listeners) l(this.tokens);
  }

  /** A current access token (refreshed when it is about to expire), or null when signed out. */
  async accessToken(): Promise<string | null> {
    if (!this.tokens) return null;
    if (Date.now() < this.tokens.expiresAt) return this.tokens.accessToken;
    const t = await this.refresh();
    return t?.accessToken ?? null;
  }

  private refresh(): Promise<Tokens | null> {
    if (!this.refreshing) {
      const refreshToken = this.tokens?.refreshToken;
      this.refreshing = (async () => {
        if (!refreshToken) return null;
        const res = await fetch(`${this.base}/api/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
        if (!res.ok) {
          this.setSession(null);
          return null;
        }
        this.setSession((await res.json()) as AuthResult);
        return this.tokens;
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * The read-your-writes token (`Kinora-Lsn`): the database positions this tab's own writes reached. Sent with
   * every request so that reads wait for a replica that has them (or go to the primary); kept in the tab's session
   * storage, so a reload right after a write still reads it.
   */
  private lsn: string | null;

  async request<T>(method: string, path: string, body?: unknown, opts: { auth?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    const send = async (token: string | null) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers['authorization'] = `Bearer ${token}`;
      if (this.lsn) headers['kinora-lsn'] = this.lsn;
      try {
        return await fetch(`${this.base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        throw new ApiError(0, 'Cannot reach Kinora: check your connection and try again.');
      }
    };
    const useAuth = opts.auth !== false;
    let res = await send(useAuth ? await this.accessToken() : null);
    if (res.status === 401 && useAuth && this.tokens) {
      const t = await this.refresh();
      if (t) res = await send(t.accessToken);
    }
    const lsn = res.headers.get('kinora-lsn');
    if (lsn) {
      this.lsn = mergeLsnTokens(this.lsn, lsn);
      try {
        this.tabStorage?.setItem(LSN_KEY, this.lsn);
      } catch {
        // Storage full or refused (private mode): memory only.
      }
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) throw new ApiError(res.status, problemMessage(res.status, parsed), parsed as Problem | undefined);
    return parsed as T;
  }

  // ---- identity ----
  async register(body: { username: string; email: string; password: string; displayName?: string }): Promise<User> {
    const r = await this.request<AuthResult>('POST', '/api/v1/auth/register', body, { auth: false });
    this.setSession(r);
    return r.user;
  }
  async login(login: string, password: string): Promise<User> {
    const r = await this.request<AuthResult>('POST', '/api/v1/auth/login', { login, password }, { auth: false });
    this.setSession(r);
    return r.user;
  }
  async logout(): Promise<void> {
    const refreshToken = this.tokens?.refreshToken;
    this.setSession(null);
    if (refreshToken) await this.request<void>('POST', '/api/v1/auth/logout', { refreshToken }, { auth: false }).catch(() => undefined);
  }
  me(): Promise<User> {
    return this.request('GET', '/api/v1/users/me');
  }

  // ---- videos ----
  videos(sort: 'recent' | 'trending' = 'recent'): Promise<Page<Video>> {
    return this.request('GET', `/api/v1/videos?sort=${sort}`);
  }
  /** The home feed; where the platform has no recommendation service yet (404), the popular videos. */
  async homeFeed(): Promise<Page<Video>> {
    try {
      return await this.request<Page<Video>>('GET', '/api/v1/feed/home');
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return this.videos('trending');
      throw err;
    }
  }
  search(q: string): Promise<Page<Video>> {
    return this.request('GET', `/api/v1/search?q=${encodeURIComponent(q)}`);
  }
  video(id: string): Promise<Video> {
    return this.request('GET', `/api/v1/videos/${encodeURIComponent(id)}`);
  }
  createVideo(body: { title: string; description?: string; visibility?: 'public' | 'unlisted' | 'private' }): Promise<Video & { uploadUrl?: string }> {
    return this.request('POST', '/api/v1/videos', body);
  }
  rating(id: string): Promise<{ value: 'like' | 'dislike' | 'none' }> {
    return this.request('GET', `/api/v1/videos/${encodeURIComponent(id)}/rating`);
  }
  rate(id: string, value: 'like' | 'dislike' | 'none'): Promise<{ value: 'like' | 'dislike' | 'none' }> {
    return this.request('PUT', `/api/v1/videos/${encodeURIComponent(id)}/rating`, { value });
  }
  view(id: string, viewerId: string): Promise<void> {
    return this.request('POST', `/api/v1/videos/${encodeURIComponent(id)}/views`, { viewerId });
  }

  // ---- watch page: comments, chat, subscription, related ----
  comments(videoId: string, sort: 'top' | 'new', cursor?: string | null): Promise<Page<Comment>> {
    return this.request('GET', `/api/v1/videos/${encodeURIComponent(videoId)}/comments?sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
  }
  replies(commentId: string, cursor?: string | null): Promise<Page<Comment>> {
    return this.request('GET', `/api/v1/comments/${encodeURIComponent(commentId)}/replies${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
  }
  postComment(videoId: string, text: string, parentId?: string): Promise<Comment> {
    return this.request('POST', `/api/v1/videos/${encodeURIComponent(videoId)}/comments`, parentId ? { text, parentId } : { text });
  }
  editComment(id: string, text: string): Promise<Comment> {
    return this.request('PATCH', `/api/v1/comments/${encodeURIComponent(id)}`, { text });
  }
  deleteComment(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/comments/${encodeURIComponent(id)}`);
  }
  rateComment(id: string, value: 'like' | 'none'): Promise<CommentRating> {
    return this.request('PUT', `/api/v1/comments/${encodeURIComponent(id)}/rating`, { value });
  }
  chatHistory(videoId: string): Promise<Page<ChatMessage>> {
    return this.request('GET', `/api/v1/videos/${encodeURIComponent(videoId)}/chat?limit=50`);
  }
  subscription(channelId: string): Promise<{ subscribed: boolean }> {
    return this.request('GET', `/api/v1/channels/${encodeURIComponent(channelId)}/subscription`);
  }
  setSubscribed(channelId: string, subscribed: boolean): Promise<unknown> {
    return this.request(subscribed ? 'PUT' : 'DELETE', `/api/v1/channels/${encodeURIComponent(channelId)}/subscription`);
  }
  /**
   * Videos to watch next: `GET /videos/:id/related` (the recommendation service's). Where that service does not run
   * (404 from the gateway, or 502/503), the channel's other videos, then trending ones.
   */
  async related(video: Pick<Video, 'id' | 'channel'>): Promise<Video[]> {
    try {
      return (await this.request<Page<Video>>('GET', `/api/v1/videos/${encodeURIComponent(video.id)}/related`)).items;
    } catch (err) {
      if (!(err instanceof ApiError) || ![404, 502, 503].includes(err.status)) throw err;
    }
    const [same, trending] = await Promise.all([
      this.request<Page<Video>>('GET', `/api/v1/channels/${encodeURIComponent(video.channel.id)}/videos?limit=12`),
      this.videos('trending'),
    ]);
    const seen = new Set([video.id]);
    return [...same.items, ...trending.items].filter((v) => !seen.has(v.id) && Boolean(seen.add(v.id))).slice(0, 12);
  }
}

export const api = new ApiClient();

/**
 * Merges two `Kinora-Lsn` tokens (`users=0/16B3748,videos=…`), keeping the higher position per database: answers
 * of concurrent requests may arrive in any order.
 */
export function mergeLsnTokens(a: string | null, b: string): string {
  const parts = new Map<string, bigint>();
  for (const token of [a ?? '', b]) {
    for (const part of token.split(',')) {
      const m = /^([a-z][a-z0-9_-]*)=([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(part.trim());
      if (!m) continue;
      const pos = (BigInt(`0x${m[2]}`) << 32n) + BigInt(`0x${m[3]}`);
      const prev = parts.get(m[1]!);
      if (prev === undefined || pos > prev) parts.set(m[1]!, pos);
    }
  }
  return [...parts.entries()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([name, pos]) => `${name}=${(pos >> 32n).toString(16).toUpperCase()}/${(pos & 0xffffffffn).toString(16).toUpperCase()}`)
    .join(',');
}
