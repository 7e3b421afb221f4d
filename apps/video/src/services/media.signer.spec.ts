import { describe, expect, it } from '@jest/globals';
import { MediaSigner } from './media.signer.js';

const id = '01900000-0000-7000-8000-000000000001';
const now = Date.UTC(2030, 0, 1, 12, 30);

describe('MediaSigner', () => {
  const signer = new MediaSigner('k'.repeat(32), { ttlSec: 3600, bucketSec: 3600 });

  it('accepts its own tokens until they expire, rounded up to the bucket', () => {
    const token = signer.token(id, now);
    const exp = Number(token.split('.')[0]);
    expect(exp % 3600).toBe(0);
    expect(exp * 1000).toBeGreaterThanOrEqual(now + 3600_000);
    expect(signer.verify(token, id, now)).toBe('ok');
    expect(signer.verify(token, id, exp * 1000 + 1)).toBe('expired');
    // Same bucket, same URL (cacheable).
    expect(signer.token(id, now + 60_000)).toBe(token);
  });

  it('refuses tampered tokens, other videos and other keys', () => {
    const token = signer.token(id, now);
    const [exp, sig] = token.split('.') as [string, string];
    expect(signer.verify(`${Number(exp) + 3600}.${sig}`, id, now)).toBe('invalid');
    expect(signer.verify(`${exp}.${sig.slice(1)}A`, id, now)).toBe('invalid');
    expect(signer.verify(token, '01900000-0000-7000-8000-000000000002', now)).toBe('invalid');
    expect(new MediaSigner('x'.repeat(32)).verify(token, id, now)).toBe('invalid');
    for (const junk of ['', '.', 'abc', `${exp}.`, `-1.${sig}`, `${exp}.${sig}.x`]) expect(signer.verify(junk, id, now)).toBe('invalid');
  });

  it('calls a forged token invalid even when its expiry is past', () => {
    expect(signer.verify(`1.${'A'.repeat(43)}`, id, now)).toBe('invalid');
  });
});
