import { Kafka, logLevel } from 'kafkajs';
import type { LagReader } from '../controllers/countershardset.controller.js';

/**
 * Consumer lag from Kafka itself: per partition, the log end offset minus the group's committed offset (a
 * partition the group never committed counts from the log start), summed. One short-lived admin client per read.
 */
export class KafkaLagReader implements LagReader {
  async read(input: { brokers: string[]; group: string; topic: string }): Promise<number> {
    const kafka = new Kafka({ clientId: 'kinora-operator', brokers: input.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 }, connectionTimeout: 3000 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(input.topic);
      const committed = await admin.fetchOffsets({ groupId: input.group, topics: [input.topic] });
      const byPartition = new Map<number, string>();
      for (const t of committed) for (const p of t.partitions) byPartition.set(p.partition, p.offset);
      let lag = 0;
      for (const p of ends) {
        const c = Number(byPartition.get(p.partition) ?? '-1');
        const start = c >= 0 ? c : Number(p.low);
        lag += Math.max(0, Number(p.high) - start);
      }
      return lag;
    } finally {
      await admin.disconnect();
    }
  }
}
