import { describe, expect, it } from '@jest/globals';
import { AppError } from '@kinora/http';
import { decodeCursor, encodeCursor } from './cursor.js';

const id = '01900000-0000-7000-8000-000000000001';

describe('cursors', () => {
  it('round-trip times and numbers exactly', () => {
    const t = '2030-01-01T12:30:00.123Z';
    expect(decodeCursor(encodeCursor(t, id), 'time')).toEqual({ sortValue: t, id });
    expect(decodeCursor(encodeCursor(0.0607927, id), 'number')).toEqual({ sortValue: 0.0607927, id });
    expect(encodeCursor(t, id)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['garbage!'],
    [Buffer.from('not json').toString('base64url')],
    [Buffer.from('[1]').toString('base64url')],
    [Buffer.from(`[1, "${id}"]`).toString('base64url')],
    [Buffer.from('["2030-01-01T00:00:00Z", "x"]').toString('base64url')],
  ])('refuses %s as a time cursor with a 400', (cursor) => {
    expect(() => decodeCursor(cursor, 'time')).toThrow(AppError);
  });

  it('refuses a time cursor where a number is expected', () => {
    expect(() => decodeCursor(encodeCursor('2030-01-01T00:00:00Z', id), 'number')).toThrow(AppError);
  });
});
