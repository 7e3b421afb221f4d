import type { ConsumedMessage, EventBus, EventBusLogger, EventMessage } from '@kinora/events';
import { DLQ_HEADERS } from './counter.consumer.js';
import type { LagSource } from '../metrics.js';

export interface ReplayOptions {
  bus: EventBus;
  /** The original topic (`video.likes`); its dead letters are read from `<topic>.dlq`. */
  topic: string;
  /** Log ends of the dead-letter topic when the replay starts: it stops once it has read up to them. */
  endOffsets: LagSource;
  logger: EventBusLogger;
  /** The replay's consumer group: what it has replayed is not replayed again by a later run. */
  group?: string;
  /** Stop anyway after this long without a message (ms). Default 3000. */
  idleMs?: number;
}

export interface ReplayResult {
  /** Messages put back on their original topic. */
  replayed: number;
  /** Dead letters of a message already replayed in this run (the same original topic/partition/offset). */
  duplicates: number;
}

const REPLAYED_FROM = 'dlq-replayed-from';

/**
 * Puts the dead letters of `topic` back on it (their key, value and own headers; the `dlq-*` headers go), in the
 * order they were dead-lettered, as one consumer group so each dead letter is replayed once. A message that fails
 * again is dead-lettered again, with a new original offset.
 */
export async function replayDeadLetters(opts: ReplayOptions): Promise<ReplayResult> {
  const dlqTopic = `${opts.topic}.dlq`;
  const ends = new Map((await opts.endOffsets.endOffsets(dlqTopic)).map((o) => [o.partition, BigInt(o.high)]));
  const reached = new Map<number, bigint>();
  const seen = new Set<string>();
  const result: ReplayResult = { replayed: 0, duplicates: 0 };
  let lastMessageAt = Date.now();

  const sub = await opts.bus.subscribe<unknown>({
    group: opts.group ?? `analytics.dlq-replay.${opts.topic}`,
    topics: [dlqTopic],
    fromBeginning: true,
    handler: async (batch) => {
      lastMessageAt = Date.now();
      const out: EventMessage<unknown>[] = [];
      for (const m of batch.messages) {
        const origin = `${m.headers[DLQ_HEADERS.topic] ?? opts.topic}/${m.headers[DLQ_HEADERS.partition] ?? '?'}/${m.headers[DLQ_HEADERS.offset] ?? m.offset}`;
        if (seen.has(origin)) {
          result.duplicates++;
          continue;
        }
        seen.add(origin);
        out.push(restore(m));
      }
      if (out.length > 0) await opts.bus.publish(opts.topic, out);
      result.replayed += out.length;
      reached.set(batch.partition, BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n);
    },
  });
  try {
    const idleMs = opts.idleMs ?? 3_000;
    const done = (): boolean => [...ends].every(([p, end]) => end === 0n || (reached.get(p) ?? 0n) >= end);
    while (!done() && Date.now() - lastMessageAt < idleMs) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await sub.close();
  }
  opts.logger.info({ topic: opts.topic, ...result }, 'dead letters replayed');
  return result;
}

function restore(m: ConsumedMessage<unknown>): EventMessage<unknown> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (!k.startsWith('dlq-')) headers[k] = v;
  headers[REPLAYED_FROM] = `${m.topic}/${m.partition}/${m.offset}`;
  return { key: m.key, value: m.value, headers };
}
