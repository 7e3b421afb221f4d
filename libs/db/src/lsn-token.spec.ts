import { describe, expect, it } from '@jest/globals';
import { formatLsn, formatLsnToken, parseLsnToken } from './lsn-token.js';

describe('Kinora-Lsn token', () => {
  it('parses one position per database, keeping the highest of repeats', () => {
    const t = parseLsnToken('videos=0/3000060, users=1/16B3748,videos=0/2FFFFFF');
    expect(t.get('users')).toBe((1n << 32n) + 0x16b3748n);
    expect(t.get('videos')).toBe(0x3000060n);
  });

  it('ignores malformed parts and over-long values, never throws', () => {
    expect([...parseLsnToken('x=1/2/3,=0/1,USERS=0/1,main=G/1,main=0/1').entries()]).toEqual([['main', 1n]]);
    expect(parseLsnToken(`main=0/1,${'a'.repeat(600)}`).size).toBe(0);
    expect(parseLsnToken(undefined).size).toBe(0);
    expect(parseLsnToken(['main=0/1', 'users=0/2']).size).toBe(2);
  });

  it('formats sorted by name and round-trips', () => {
    const value = formatLsnToken(new Map([['videos', 0x3000060n], ['analytics', (0xabn << 32n) + 1n]]));
    expect(value).toBe('analytics=AB/1,videos=0/3000060');
    expect(formatLsnToken(parseLsnToken(value))).toBe(value);
    expect(formatLsn(0n)).toBe('0/0');
  });
});
