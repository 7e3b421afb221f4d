import { describe, expect, it } from '@jest/globals';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionFor } from './partitioner.js';

describe('murmur2', () => {
  // Apache Kafka's own vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2).
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j like the Java client', (input, expected) => {
    expect(murmur2(new TextEncoder().encode(input))).toBe(expected);
  });

  it('covers every tail length (0-3 bytes after the last whole word)', () => {
    const seen = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((n) => murmur2(new Uint8Array(n).fill(0xff))));
    expect(seen.size).toBe(8);
  });
});

describe('partitionFor', () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  const partitionMetadata = (n: number) =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

  it('agrees with KafkaJS DefaultPartitioner (what the Kafka adapter uses) for ASCII, UTF-8 and UUID keys', () => {
    const keys = ['', 'a', 'video-1', 'видео', '動画🎬', '01934f6e-7a2b-7cc1-9d1e-0a1b2c3d4e5f'];
    for (let i = 0; i < 500; i++) keys.push(`k${i}-${(i * 7919).toString(36)}`);
    for (const n of [1, 2, 3, 7, 12, 100]) {
      const metadata = partitionMetadata(n);
      for (const key of keys) {
        expect([key, n, partitionFor(key, n)]).toEqual([key, n, kafkajs({ topic: 't', partitionMetadata: metadata, message: { key, value: null } })]);
      }
    }
  });

  it('is in range, deterministic, and spreads keys over every partition', () => {
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) {
      const p = partitionFor(`video-${i}`, 7);
      expect(p).toBe(partitionFor(`video-${i}`, 7));
      counts[p] = counts[p]! + 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionFor('k', 0)).toThrow(RangeError);
    expect(() => partitionFor('k', 1.5)).toThrow(RangeError);
  });
});
