import { describe, expect, it } from '@jest/globals';
import { parseLsn, replicaLabels } from './replica-lag.js';

describe('parseLsn', () => {
  it('reads both hex halves of a WAL position', () => {
    expect(parseLsn('0/3000060')).toBe(0x3000060n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(2n ** 64n - 1n);
  });

  it('refuses what is not one', () => {
    expect(() => parseLsn('')).toThrow(/not a WAL position/);
    expect(() => parseLsn('0/')).toThrow(/not a WAL position/);
    expect(() => parseLsn('1/2/3')).toThrow(/not a WAL position/);
    expect(() => parseLsn('G/0')).toThrow(/not a WAL position/);
  });
});

describe('replicaLabels', () => {
  it('is host:port of each URL, without credentials, 5432 by default', () => {
    expect(replicaLabels(['postgres://u:secret@db-replica-0.db:5433/kinora', 'postgres://u:secret@db-replica-1.db/kinora'])).toEqual([
      'db-replica-0.db:5433',
      'db-replica-1.db:5432',
    ]);
  });

  it('tells apart two URLs of the same server by their index, and names an unparsable one by its index', () => {
    expect(replicaLabels(['postgres://a:1@r:5432/x', 'postgres://b:2@r:5432/y', 'not a url'])).toEqual(['r:5432#0', 'r:5432#1', 'replica-2']);
  });
});
