import { describe, expect, it } from '@jest/globals';
import { InProcessChatRateLimiter } from './chat-rate.limiter.js';

describe('InProcessChatRateLimiter', () => {
  it('allows a burst of 5, then 1 per second', async () => {
    let now = 1_000_000;
    const limiter = new InProcessChatRateLimiter({ ratePerSec: 1, burst: 5 }, () => now);
    for (let i = 0; i < 5; i++) expect(await limiter.take('u')).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(await limiter.take('u')).toEqual({ allowed: false, retryAfterMs: 1000 });
    now += 400;
    expect(await limiter.take('u')).toEqual({ allowed: false, retryAfterMs: 600 });
    now += 600;
    expect((await limiter.take('u')).allowed).toBe(true);
    expect((await limiter.take('u')).allowed).toBe(false);
    expect((await limiter.take('other')).allowed).toBe(true);
  });

  it('refills up to the burst only', async () => {
    let now = 0;
    const limiter = new InProcessChatRateLimiter({ ratePerSec: 1, burst: 5 }, () => now);
    await limiter.take('u');
    now += 3_600_000;
    let allowed = 0;
    for (let i = 0; i < 10; i++) if ((await limiter.take('u')).allowed) allowed++;
    expect(allowed).toBe(5);
  });
});
