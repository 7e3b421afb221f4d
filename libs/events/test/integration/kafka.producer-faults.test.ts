import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startKafka, type KafkaHandle } from '@kinora/testing';
import { createKafkaEventBus } from '@kinora/events';
import type { ConsumedMessage, KafkaEventBus } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';

/**
 * The producer against a broker of its own that it freezes (SIGSTOP): a produce request goes unanswered, the
 * publish fails after KafkaJS's retries, and once thawed the broker writes the request anyway. The next publish
 * must still be written: a producer that reused the failed request's sequence numbers would be acknowledged as a
 * retry of it and dropped.
 */
describe('kafka producer after a request that failed but was written', () => {
  let kafka: KafkaHandle;
  let bus: KafkaEventBus;
  let reader: KafkaEventBus;

  beforeAll(async () => {
    kafka = await startKafka();
    const options = { brokers: kafka.brokers, requestTimeoutMs: 1_000, connectionTimeoutMs: 1_000, producer: { lingerMs: 0 } };
    bus = createKafkaEventBus({ ...options, clientId: 'producer-faults' });
    reader = createKafkaEventBus({ ...options, clientId: 'producer-faults-reader', consumer: { maxWaitTimeInMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000 } });
  }, 120_000);

  afterAll(async () => {
    kafka?.thaw();
    await bus?.close();
    await reader?.close();
    await kafka?.stop();
  }, 60_000);

  it('writes every acknowledged publish exactly once and a failed one at most once', async () => {
    const topic = `producer-faults.${randomUUID().slice(0, 8)}`;
    await bus.ensureTopics([{ name: topic, partitions: 1 }]);
    // Same key and size each time: one partition, the same sequence range a reused sequence would give.
    const publish = (tag: string) => bus.publish(topic, [{ key: 'k', value: `${tag}-1` }, { key: 'k', value: `${tag}-2` }]);
    await publish('before');

    kafka.freeze();
    let failed: unknown;
    try {
      await publish('frozen');
    } catch (err) {
      failed = err;
    } finally {
      kafka.thaw();
    }
    expect(failed).toBeDefined();

    await publish('after');
    await publish('later');

    const got: string[] = [];
    const sub = await reader.subscribe<string>({
      group: `g-${randomUUID().slice(0, 8)}`,
      topics: [topic],
      fromBeginning: true,
      handler: async (batch) => void got.push(...batch.messages.map((m: ConsumedMessage<string>) => m.value)),
    });
    await waitFor(() => got.includes('later-2'), 30_000, () => `the last publish read back, got ${JSON.stringify(got)}`);
    await sub.close();
    const withoutFrozen = got.filter((v) => !v.startsWith('frozen'));
    expect(withoutFrozen).toEqual(['before-1', 'before-2', 'after-1', 'after-2', 'later-1', 'later-2']);
    expect(got.filter((v) => v === 'frozen-1').length).toBeLessThanOrEqual(1);
  }, 180_000);
});
