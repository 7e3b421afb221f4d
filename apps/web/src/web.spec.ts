import { describe, expect, it } from '@jest/globals';
import { ApiClient, mergeLsnTokens, problemMessage } from './api.js';
import { matchPath } from './paths.js';
import { qualityOptions } from './quality.js';

describe('problemMessage: API problems as sentences a person can read', () => {
  it('uses the detail, else the title, and lists field errors', () => {
    expect(problemMessage(409, { type: 'x', title: 'Conflict', status: 409, detail: 'That username is taken' })).toBe('That username is taken');
    expect(problemMessage(404, { type: 'x', title: 'Not found', status: 404 })).toBe('Not found');
    expect(
      problemMessage(400, { title: 'Invalid', detail: 'The request is invalid', errors: [{ field: '/password', message: 'must be at least 8 characters' }, { field: '/email', message: 'must be an email' }] }),
    ).toBe('The request is invalid (/password: must be at least 8 characters; /email: must be an email)');
  });

  it('says something useful when the body is not a problem (proxies, crashes) and for rate limits', () => {
    expect(problemMessage(502, undefined)).toBe('The server could not answer. Please try again.');
    expect(problemMessage(418, 'teapot')).toBe('Request failed (418).');
    expect(problemMessage(429, { title: 'Too Many Requests', detail: 'Rate limit exceeded, retry in 1 minute' })).toMatch(/^Too many requests/);
  });
});

describe('qualityOptions: the quality menu', () => {
  it('offers Auto first, then every rendition from the highest down, keeping the player level indexes', () => {
    const levels = [
      { index: 0, height: 144, bitrate: 150_000 },
      { index: 1, height: 360, bitrate: 800_000 },
      { index: 2, height: 240, bitrate: 400_000 },
    ];
    expect(qualityOptions(levels)).toEqual([
      { value: -1, label: 'Auto' },
      { value: 1, label: '360p' },
      { value: 2, label: '240p' },
      { value: 0, label: '144p' },
    ]);
    expect(levels.map((l) => l.index)).toEqual([0, 1, 2]); // not sorted in place
  });

  it('is only Auto before the manifest is parsed', () => {
    expect(qualityOptions([])).toEqual([{ value: -1, label: 'Auto' }]);
  });
});

describe('matchPath: the routes of the app', () => {
  it('matches parameters and decodes them', () => {
    expect(matchPath('/watch/:id', '/watch/0190c0de-1')).toEqual({ id: '0190c0de-1' });
    expect(matchPath('/watch/:id', '/watch/a%20b')).toEqual({ id: 'a b' });
    expect(matchPath('/watch/:id', '/watch/abc/')).toEqual({ id: 'abc' });
  });

  it('refuses other shapes and malformed escapes instead of throwing', () => {
    expect(matchPath('/watch/:id', '/watch')).toBeNull();
    expect(matchPath('/watch/:id', '/watch/a/b')).toBeNull();
    expect(matchPath('/watch/:id', '/channel/a')).toBeNull();
    expect(matchPath('/watch/:id', '/watch/%E0%A4%A')).toBeNull();
  });
});

describe('mergeLsnTokens: the read-your-writes token the API client echoes', () => {
  it('keeps the higher position per database whatever order answers arrive in', () => {
    expect(mergeLsnTokens(null, 'videos=0/3000060')).toBe('videos=0/3000060');
    expect(mergeLsnTokens('videos=0/3000060,users=1/0', 'videos=0/2000000')).toBe('users=1/0,videos=0/3000060');
    expect(mergeLsnTokens('videos=0/10', 'videos=0/20,analytics=A/B')).toBe('analytics=A/B,videos=0/20');
  });
  it('drops parts that are not positions', () => {
    expect(mergeLsnTokens('junk', 'videos=0/1,x=1/2/3')).toBe('videos=0/1');
  });
});

/** A Storage over a Map (what a browser tab's sessionStorage does). */
function memoryStorage(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  };
}

describe('ApiClient: the read-your-writes token survives a reload of the tab', () => {
  it('echoes the merged Kinora-Lsn, and a new client on the same tab storage (a reload) sends it too', async () => {
    // The browser's fetch, answering as the API does: writes return the position they reached.
    const seen: Array<string | undefined> = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      seen.push(headers['kinora-lsn']);
      const url = String(input);
      const out: Record<string, string> = { 'content-type': 'application/json' };
      if (init?.method === 'POST') out['kinora-lsn'] = url.endsWith('/a') ? 'videos=0/30' : 'users=0/10';
      return new Response('{}', { status: 200, headers: out });
    }) as typeof fetch;
    try {
      const base = 'http://kinora.test';
      const tab = memoryStorage();
      const first = new ApiClient(base, memoryStorage(), tab);
      await first.request('GET', '/read');
      await first.request('POST', '/a', {});
      await first.request('POST', '/b', {});
      await first.request('GET', '/read');
      const reloaded = new ApiClient(base, memoryStorage(), tab);
      await reloaded.request('GET', '/read');
      const otherTab = new ApiClient(base, memoryStorage(), memoryStorage());
      await otherTab.request('GET', '/read');
      expect(seen).toEqual([undefined, undefined, 'videos=0/30', 'users=0/10,videos=0/30', 'users=0/10,videos=0/30', undefined]);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
