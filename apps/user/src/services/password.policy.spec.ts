import { describe, expect, it } from '@jest/globals';
import { passwordWeakness } from './password.policy.js';

describe('passwordWeakness', () => {
  it('accepts a reasonable password', () => {
    expect(passwordWeakness('correct horse battery', { username: 'alice', email: 'alice@example.com' })).toBeUndefined();
  });
  it.each([
    ['short', 'must be at least 8 characters'],
    ['password', 'is too common'],
    ['aaaaaaaaaa', 'must not be one repeated character'],
    ['xxalice-99', 'must not contain the username'],
    ['my-wonder-mail', 'must not contain the email address'],
  ])('rejects %s', (pw, reason) => {
    expect(passwordWeakness(pw, { username: 'alice', email: 'wonder@example.com' })).toBe(reason);
  });
});
