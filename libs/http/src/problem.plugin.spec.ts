import { describe, expect, it } from '@jest/globals';
import { isUnstorableTextError, toAppError } from './problem.plugin.js';

describe('text PostgreSQL cannot store (regression: a NUL in a login name was a 500)', () => {
  const pgError = (code: string) => Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code });

  it('is a 400 VALIDATION_FAILED, from the driver error or wrapped as a query builder does', () => {
    for (const err of [pgError('22021'), pgError('22P05'), Object.assign(new Error('Failed query: select …'), { cause: pgError('22021') })]) {
      expect(isUnstorableTextError(err)).toBe(true);
      const app = toAppError(err);
      expect({ status: app.status, code: app.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(app.message).toMatch(/NUL/);
      expect(app.message).not.toMatch(/select|UTF8/i);
    }
  });

  it('leaves other database errors 500s without details', () => {
    for (const err of [pgError('23505'), pgError('57P01'), new Error('boom'), Object.assign(new Error('x'), { cause: 'not an object' })]) {
      expect(isUnstorableTextError(err)).toBe(false);
      expect(toAppError(err).status).toBe(500);
    }
    expect(isUnstorableTextError(undefined)).toBe(false);
  });
});
