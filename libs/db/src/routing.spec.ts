import { describe, expect, it } from '@jest/globals';
import { isConnectionError } from './database.js';
import { databaseEntityOf } from './open-database.js';

describe('isConnectionError: what ejects a server, as opposed to a failing statement', () => {
  it('takes socket errors, connection SQLSTATEs and shutdowns', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '08006', '57P01', '57P03']) {
      expect(isConnectionError(Object.assign(new Error('x'), { code }))).toBe(true);
    }
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not take timeouts (a slow host or a stalled event loop is not a dead server)', () => {
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(false);
    expect(isConnectionError(new Error('Connection terminated due to connection timeout'))).toBe(false);
    expect(isConnectionError(new Error('Query read timeout'))).toBe(false);
  });

  it('leaves statement errors alone (a bad query must not eject a healthy server)', () => {
    for (const code of ['23505', '42P01', '57014', '40001']) {
      expect(isConnectionError(Object.assign(new Error('x'), { code }))).toBe(false);
    }
    expect(isConnectionError(undefined)).toBe(false);
    expect(isConnectionError(new Error('syntax error at or near "SELEC"'))).toBe(false);
  });
});

describe('databaseEntityOf', () => {
  it('maps each service to the entity database it owns', () => {
    expect(databaseEntityOf('user')).toBe('users');
    expect(databaseEntityOf('analytics')).toBe('analytics');
    for (const s of ['video', 'comment', 'like', 'subscription', 'transcoder', 'realtime', 'recommendation']) expect(databaseEntityOf(s)).toBe('videos');
  });
});
