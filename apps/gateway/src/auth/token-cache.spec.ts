import { describe, expect, it } from '@jest/globals';
import type { TokenVerifier } from '@kinora/auth';
import { cacheVerifiedTokens } from './token-cache.js';

function fakeVerifier(expSec: number) {
  let calls = 0;
  const v = {
    jwks: {},
    async verify(token: string) {
      calls++;
      if (token === 'bad') throw new Error('invalid');
      return { userId: token, username: 'n', sessionId: 's', claims: { exp: expSec } };
    },
  } as unknown as TokenVerifier;
  return { v, calls: () => calls };
}

describe('cacheVerifiedTokens', () => {
  it('verifies a token once while it is valid, never caches failures', async () => {
    const { v, calls } = fakeVerifier(Math.floor(Date.now() / 1000) + 600);
    const cached = cacheVerifiedTokens(v);
    expect((await cached.verify('a')).userId).toBe('a');
    await cached.verify('a');
    await cached.verify('b');
    expect(calls()).toBe(2);
    await expect(cached.verify('bad')).rejects.toThrow('invalid');
    await expect(cached.verify('bad')).rejects.toThrow('invalid');
    expect(calls()).toBe(4);
    expect(cached.jwks).toBe(v.jwks);
  });

  it('does not keep a token past its expiry, nor past maxAgeMs', async () => {
    const expired = fakeVerifier(Math.floor(Date.now() / 1000) - 1);
    const c1 = cacheVerifiedTokens(expired.v);
    await c1.verify('a');
    await c1.verify('a');
    expect(expired.calls()).toBe(2);
    const fresh = fakeVerifier(Math.floor(Date.now() / 1000) + 600);
    const c2 = cacheVerifiedTokens(fresh.v, { maxAgeMs: 20 });
    await c2.verify('a');
    await new Promise((r) => setTimeout(r, 30));
    await c2.verify('a');
    expect(fresh.calls()).toBe(2);
  });

  it('stays bounded', async () => {
    const { v, calls } = fakeVerifier(Math.floor(Date.now() / 1000) + 600);
    const cached = cacheVerifiedTokens(v, { maxEntries: 2 });
    for (const t of ['a', 'b', 'c', 'a']) await cached.verify(t);
    expect(calls()).toBe(4); // 'a' was evicted first (first in, first out)
  });
});
