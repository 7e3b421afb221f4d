import { describe, expect, it } from '@jest/globals';
import { PasswordHasher } from './password.hasher.js';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher({ N: 1024, r: 8, p: 1 });
  it('verifies the right password only, with a per-hash salt', async () => {
    const a = await hasher.hash('s3cret-pass');
    const b = await hasher.hash('s3cret-pass');
    expect(a).not.toBe(b);
    expect(a.startsWith('scrypt$1024$8$1$')).toBe(true);
    await expect(hasher.verify('s3cret-pass', a)).resolves.toBe(true);
    await expect(hasher.verify('s3cret-pasS', a)).resolves.toBe(false);
    await expect(hasher.verify('s3cret-pass', 'garbage')).resolves.toBe(false);
    await expect(hasher.verifyDummy('anything')).resolves.toBe(false);
  });
  it('flags weaker parameters for rehash', async () => {
    const strong = new PasswordHasher({ N: 2048, r: 8, p: 1 });
    expect(strong.needsRehash(await hasher.hash('x'.repeat(8)))).toBe(true);
    expect(strong.needsRehash(await strong.hash('x'.repeat(8)))).toBe(false);
  });
});
