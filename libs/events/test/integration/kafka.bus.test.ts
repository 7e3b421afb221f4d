import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { getTestEnv } from '@kinora/testing';
import { createKafkaEventBus, DECODE_ERROR_HEADER, partitionFor } from '@kinora/events';
import type { ConsumedMessage, KafkaEventBus, KafkaEventBusOptions } from '@kinora/events';
import { describeEventBusContract, sleep, waitFor } from '@kinora/events/testing';

/** Short timings: fetches return within 100 ms (close() waits for the one in flight), quick rebalances and retries. */
const FAST: Omit<KafkaEventBusOptions, 'brokers'> = {
  consumer: { maxWaitTimeInMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 10_000 },
  retryBackoff: { initialMs: 50, maxMs: 500 },
};

const bus = (): KafkaEventBus => createKafkaEventBus({ brokers: getTestEnv().kafkaBrokers, clientId: `test-${randomUUID().slice(0, 8)}`, ...FAST });

describeEventBusContract('kafka', async () => ({ bus: bus(), newBus: async () => bus(), cleanup: async () => {} }), { waitTimeoutMs: 30_000 });

describe('kafka event bus', () => {
  let b: KafkaEventBus;
  const unique = (label: string): string => `kafka-test.${label}.${randomUUID().slice(0, 8)}`;

  beforeAll(() => {
    b = bus();
  });
  afterAll(() => b.close());

  it('creates topics with the partitions asked for, leaves existing ones alone, reports offsets', async () => {
    const t = unique('topics');
    await b.ensureTopics([{ name: t, partitions: 4 }]);
    await b.ensureTopics([{ name: t, partitions: 2 }]);
    await b.publish(t, [{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
    const offsets = await b.topicOffsets(t);
    expect(offsets.map((o) => o.partition)).toEqual([0, 1, 2, 3]);
    expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(2);
    expect(Number(offsets[partitionFor('a', 4)]!.high)).toBeGreaterThan(0);
  });

  it('batches many small concurrent publishes and keeps each key in order', async () => {
    const t = unique('batching');
    await b.ensureTopics([{ name: t, partitions: 3 }]);
    await Promise.all(Array.from({ length: 500 }, (_, i) => b.publish(t, [{ key: `k${i % 7}`, value: { i } }])));
    const got: ConsumedMessage<{ i: number }>[] = [];
    const sub = await b.subscribe<{ i: number }>({ group: unique('g'), topics: [t], handler: async (batch) => void got.push(...batch.messages) });
    await waitFor(() => got.length >= 500, 20_000, () => `500 messages, got ${got.length}`);
    await sub.close();
    for (let k = 0; k < 7; k++) {
      const seq = got.filter((m) => m.key === `k${k}`).map((m) => m.value.i);
      expect(seq).toEqual([...seq].sort((x, y) => x - y));
    }
  });

  it('hands a value that is not JSON on as raw text, marked with a decode-error header', async () => {
    const t = unique('raw');
    await b.ensureTopics([{ name: t, partitions: 1 }]);
    const kafka = new Kafka({ brokers: getTestEnv().kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: t, messages: [{ key: 'x', value: 'not json {' }] });
    await producer.disconnect();
    const got: ConsumedMessage<unknown>[] = [];
    const sub = await b.subscribe({ group: unique('g'), topics: [t], handler: async (batch) => void got.push(...batch.messages) });
    await waitFor(() => got.length === 1, 20_000, 'the raw message');
    await sub.close();
    expect(got[0]!.value).toBe('not json {');
    expect(got[0]!.headers[DECODE_ERROR_HEADER]).toMatch(/JSON/);
  });

  it('pauses and resumes a whole member (back-pressure) without leaving the group', async () => {
    const t = unique('pause');
    await b.ensureTopics([{ name: t, partitions: 1 }]);
    const got: number[] = [];
    const sub = await b.subscribe<number>({ group: unique('g'), topics: [t], handler: async (batch) => void got.push(...batch.messages.map((m) => m.value)) });
    await b.publish(t, [{ key: 'k', value: 1 }]);
    await waitFor(() => got.length === 1, 20_000, 'the first message');
    sub.pause();
    await b.publish(t, [{ key: 'k', value: 2 }]);
    await sleep(800);
    expect(got).toEqual([1]);
    sub.resume();
    await waitFor(() => got.length === 2, 20_000, 'the message published while paused');
    await sub.close();
    await sub.close(); // idempotent
  });

  it('refuses to publish after close, and close is idempotent', async () => {
    const other = bus();
    await other.close();
    await other.close();
    await expect(other.publish('x', [{ key: 'k', value: 1 }])).rejects.toThrow(/closed/);
  });
});
