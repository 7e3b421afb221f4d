import { describe, expect, it } from '@jest/globals';
import type { Producer, ProducerBatch } from 'kafkajs';
import { silentLogger } from '../../event-bus.js';
import { BatchingProducer } from './kafka.producer.js';

function fakeProducer(opts: { delayMs?: number; failOnce?: boolean } = {}): { producer: Producer; requests: ProducerBatch[]; maxInFlight: () => number } {
  const requests: ProducerBatch[] = [];
  let inFlight = 0;
  let max = 0;
  let failed = false;
  const producer = {
    async sendBatch(batch: ProducerBatch) {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise((resolve) => setTimeout(resolve, opts.delayMs ?? 2));
      inFlight--;
      if (opts.failOnce && !failed) {
        failed = true;
        throw new Error('broker down');
      }
      requests.push(batch);
      return [];
    },
  } as unknown as Producer;
  return { producer, requests, maxInFlight: () => max };
}

const msgs = (n: number, tag = 'm') => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${tag}${i}` }));
const settings = { batchSize: 100, lingerMs: 5, compression: 'gzip' as const, maxQueuedMessages: 10_000, logger: silentLogger };

describe('BatchingProducer', () => {
  it('coalesces concurrent small publishes into requests of at most batchSize, one request in flight, acks=all', async () => {
    const fake = fakeProducer();
    const p = new BatchingProducer(fake.producer, settings);
    await Promise.all(Array.from({ length: 250 }, (_, i) => p.send(i % 2 ? 'a' : 'b', msgs(1, `x${i}`))));
    const sizes = fake.requests.map((r) => r.topicMessages!.reduce((n, t) => n + t.messages.length, 0));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(fake.requests.length).toBeLessThanOrEqual(5);
    expect(fake.maxInFlight()).toBe(1);
    expect(fake.requests.every((r) => r.acks === -1)).toBe(true);
  });

  it('splits a large publish into batchSize requests and keeps its order', async () => {
    const fake = fakeProducer();
    const p = new BatchingProducer(fake.producer, settings);
    await p.send('t', msgs(250));
    expect(fake.requests.map((r) => r.topicMessages![0]!.messages.length)).toEqual([100, 100, 50]);
    expect(fake.requests.flatMap((r) => r.topicMessages![0]!.messages.map((m) => m.value))).toEqual(msgs(250).map((m) => m.value));
  });

  it('rejects the publishes of a failed request and goes on with the next ones', async () => {
    const fake = fakeProducer({ failOnce: true });
    const p = new BatchingProducer(fake.producer, { ...settings, lingerMs: 0 });
    await expect(p.send('t', msgs(1))).rejects.toThrow('broker down');
    await p.send('t', msgs(1));
    expect(fake.requests).toHaveLength(1);
  });

  it('makes publishes wait while too many messages are queued (back-pressure)', async () => {
    const fake = fakeProducer({ delayMs: 20 });
    const p = new BatchingProducer(fake.producer, { ...settings, maxQueuedMessages: 150 });
    const first = p.send('t', msgs(150));
    let secondDone = false;
    const second = p.send('t', msgs(10)).then(() => (secondDone = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(secondDone).toBe(false);
    await Promise.all([first, second]);
    expect(fake.requests.reduce((n, r) => n + r.topicMessages![0]!.messages.length, 0)).toBe(160);
  });
});
