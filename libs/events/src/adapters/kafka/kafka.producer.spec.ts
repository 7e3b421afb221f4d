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

/**
 * A broker partition with the idempotence rule that matters here (a batch whose producer id and sequence range
 * equal the last one written is a retry: acknowledged, not appended), and producers that number their batches the
 * way KafkaJS does (the sequence is handed back when a request fails, whether or not the broker wrote it).
 */
function idempotentBroker() {
  const log: string[] = [];
  const lastBatch = new Map<number, string>();
  let nextPid = 1;
  let writeThenDrop = 0;
  let refuseConnects = 0;
  const connect = async (): Promise<Producer> => {
    if (refuseConnects > 0) {
      refuseConnects--;
      throw new Error('connection refused');
    }
    const pid = nextPid++;
    let sequence = 0;
    return {
      async sendBatch(batch: ProducerBatch) {
        const values = batch.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value)));
        const range = `${sequence}-${sequence + values.length - 1}`;
        if (lastBatch.get(pid) !== range) {
          log.push(...values);
          lastBatch.set(pid, range);
        }
        if (writeThenDrop > 0) {
          writeThenDrop--;
          throw new Error('connection closed before the answer');
        }
        sequence += values.length;
        return [];
      },
      async disconnect() {},
    } as unknown as Producer;
  };
  return {
    log,
    connect,
    producers: () => nextPid - 1,
    dropNextAnswer: () => void writeThenDrop++,
    refuseNextConnect: () => void refuseConnects++,
  };
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

  it('renews the producer after a failed request, so a request the broker wrote anyway never swallows the next one', async () => {
    const broker = idempotentBroker();
    const p = new BatchingProducer(await broker.connect(), { ...settings, lingerMs: 0 }, broker.connect);
    await p.send('t', msgs(2, 'a'));
    broker.dropNextAnswer();
    await expect(p.send('t', msgs(2, 'b'))).rejects.toThrow('connection closed');
    // Same size, so with the same producer it would carry the failed request's sequence range.
    await p.send('t', msgs(2, 'c'));
    expect(broker.log).toEqual(['a0', 'a1', 'b0', 'b1', 'c0', 'c1']);
    expect(p.renewed).toBe(1);
    expect(broker.producers()).toBe(2);
  });

  it('rejects, unsent, the publishes it cannot renew the producer for, and renews on the next request', async () => {
    const broker = idempotentBroker();
    const p = new BatchingProducer(await broker.connect(), { ...settings, lingerMs: 0 }, broker.connect);
    broker.dropNextAnswer();
    await expect(p.send('t', msgs(1, 'a'))).rejects.toThrow('connection closed');
    broker.refuseNextConnect();
    await expect(p.send('t', msgs(1, 'b'))).rejects.toThrow('connection refused');
    await p.send('t', msgs(1, 'c'));
    expect(broker.log).toEqual(['a0', 'c0']);
    expect(p.renewed).toBe(1);
  });

  it('without a way to renew (the model above), a written-but-failed request makes the broker drop the next one', async () => {
    // Documents the hazard the renewal exists for, on the same broker model.
    const broker = idempotentBroker();
    const p = new BatchingProducer(await broker.connect(), { ...settings, lingerMs: 0 });
    broker.dropNextAnswer();
    await expect(p.send('t', msgs(2, 'b'))).rejects.toThrow();
    await p.send('t', msgs(2, 'c'));
    expect(broker.log).toEqual(['b0', 'b1']);
  });
});
