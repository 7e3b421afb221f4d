import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ConsumedBatch, ConsumedMessage, EventBus, EventMessage, OffsetStore, SubscribeOptions, Subscription } from '../event-bus.js';
import { partitionFor } from '../partitioner.js';
import { sleep, waitFor } from './wait-for.js';

export interface EventBusContractContext {
  /** A bus shared by the cases (each case uses topics and groups of its own). */
  bus: EventBus;
  /** Another bus on the same backend, standing for another process (closed by the suite). */
  newBus(): Promise<EventBus>;
  /** Called once after the last case. */
  cleanup(): Promise<void>;
}

export interface EventBusContractOptions {
  /** Bound of every wait for deliveries. Default 20 s. The adapter's retry backoff must fit in it. */
  waitTimeoutMs?: number;
}

interface Seq {
  seq: number;
}

/** Everything a subscription received, in order of delivery, whether the handler succeeded or not. */
interface Recorder<T> {
  /** Handler calls, successful or not. */
  calls: Array<{ batch: ConsumedBatch<T>; ok: boolean }>;
  /** Messages of the calls that succeeded (committed), in delivery order. */
  committed: ConsumedMessage<T>[];
  handler(batch: ConsumedBatch<T>): Promise<void>;
}

function recorder<T>(decide: (batch: ConsumedBatch<T>, calls: number) => 'ok' | 'throw' = () => 'ok'): Recorder<T> {
  const r: Recorder<T> = {
    calls: [],
    committed: [],
    async handler(batch) {
      const verdict = decide(batch, r.calls.length);
      r.calls.push({ batch, ok: verdict === 'ok' });
      if (verdict === 'throw') throw new Error('handler failure injected by the contract suite');
      r.committed.push(...batch.messages);
    },
  };
  return r;
}

const seqs = (messages: ConsumedMessage<Seq>[]): number[] => messages.map((m) => m.value.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * The behaviour every EventBus adapter must have. Run it from an adapter's integration test:
 * `describeEventBusContract('in-process', async () => ({ bus, newBus, cleanup }))`.
 */
export function describeEventBusContract(
  name: string,
  factory: () => Promise<EventBusContractContext>,
  options: EventBusContractOptions = {},
): void {
  const timeoutMs = options.waitTimeoutMs ?? 20_000;

  describe(`EventBus contract: ${name}`, () => {
    let ctx: EventBusContractContext | undefined;
    let subscriptions: Subscription[] = [];
    let extraBuses: EventBus[] = [];
    let counter = 0;

    beforeAll(async () => {
      ctx = await factory();
    });

    afterEach(async () => {
      const subs = subscriptions;
      const buses = extraBuses;
      subscriptions = [];
      extraBuses = [];
      await Promise.all(subs.map((s) => s.close()));
      await Promise.all(buses.map((b) => b.close()));
    });

    afterAll(async () => {
      await ctx?.bus.close();
      await ctx?.cleanup();
    });

    const context = (): EventBusContractContext => {
      if (!ctx) throw new Error('the contract factory did not produce a context');
      return ctx;
    };
    const unique = (label: string): string => `contract.${label}.${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const topic = async (label: string, partitions: number): Promise<string> => {
      const t = unique(label);
      await context().bus.ensureTopics([{ name: t, partitions }]);
      return t;
    };
    const newBus = async (): Promise<EventBus> => {
      const bus = await context().newBus();
      extraBuses.push(bus);
      return bus;
    };
    const subscribe = async <T>(bus: EventBus, opts: SubscribeOptions<T>): Promise<Subscription> => {
      const sub = await bus.subscribe(opts);
      subscriptions.push(sub);
      return sub;
    };
    const publishSeq = async (t: string, keys: string[], from: number, count: number): Promise<EventMessage<Seq>[]> => {
      const messages = range(from, from + count).map((seq) => ({ key: keys[seq % keys.length]!, value: { seq } }));
      await context().bus.publish(t, messages);
      return messages;
    };
    const waitForSeqs = (r: Recorder<Seq>, expected: number[], what: string): Promise<void> =>
      waitFor(
        () => expected.every((s) => r.committed.some((m) => m.value.seq === s)),
        timeoutMs,
        () => `${what}: expected seqs ${JSON.stringify(expected)}, committed so far ${JSON.stringify(seqs(r.committed))}`,
      );
    /** Publishes rounds of messages until every member has received some, i.e. the group has split its partitions. */
    const publishUntilAllReceive = async (t: string, members: Recorder<Seq>[], published: number[]): Promise<void> => {
      const keys = range(0, 24).map((i) => `key-${i}`);
      const deadline = Date.now() + timeoutMs;
      while (!members.every((m) => m.committed.length > 0)) {
        if (Date.now() > deadline) {
          throw new Error(`members never all received messages (received: ${members.map((m) => m.committed.length).join(', ')})`);
        }
        const sent = await publishSeq(t, keys, published.length, 24);
        published.push(...sent.map((m) => m.value.seq));
        await sleep(200);
      }
    };

    it('delivers what was published: topic, key, value and headers intact, on the partition partitionFor(key) names', async () => {
      const t = await topic('roundtrip', 3);
      const sent: EventMessage<unknown>[] = [
        { key: 'video-1', value: { n: 1, nested: { list: [1, 'two', null, true], text: 'зал 🎬 "quoted" \\ back' } }, headers: { 'trace-id': 'abc', 'content-type': 'application/json' } },
        { key: 'video-2', value: 'a plain string' },
        { key: 'ключ-🎬', value: 42.5, headers: {} },
        { key: 'video-4', value: [1, { a: [] }, false] },
      ];
      const before = Date.now();
      await context().bus.publish(t, sent);
      const r = recorder<unknown>();
      await subscribe(context().bus, { group: unique('g'), topics: [t], handler: r.handler });
      await waitFor(() => r.committed.length >= sent.length, timeoutMs, () => `${sent.length} messages, got ${r.committed.length}`);

      expect(r.committed).toHaveLength(sent.length);
      for (const m of sent) {
        const got = r.committed.find((c) => c.key === m.key);
        expect(got).toEqual({
          topic: t,
          partition: partitionFor(m.key, 3),
          offset: expect.stringMatching(/^\d+$/),
          key: m.key,
          value: m.value,
          headers: m.headers ?? {},
          timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/),
        });
        expect(Math.abs(Date.parse(got!.timestamp) - before)).toBeLessThan(60_000);
      }
      for (const { batch } of r.calls) {
        expect(batch.messages.length).toBeGreaterThan(0);
        for (const m of batch.messages) expect([m.topic, m.partition]).toEqual([batch.topic, batch.partition]);
      }
    });

    it('keeps the order of each key across many messages and publishes', async () => {
      const t = await topic('order', 3);
      const keys = range(0, 6).map((i) => `video-${i}`);
      for (let i = 0; i < 10; i++) await publishSeq(t, keys, i * 30, 30);
      const r = recorder<Seq>();
      await subscribe(context().bus, { group: unique('g'), topics: [t], handler: r.handler, maxBatchSize: 17 });
      await waitForSeqs(r, range(0, 300), 'all 300 messages');

      expect(r.committed).toHaveLength(300);
      for (const key of keys) {
        const ofKey = r.committed.filter((m) => m.key === key);
        expect(seqs(ofKey)).toEqual(range(0, 300).filter((s) => s % keys.length === keys.indexOf(key)));
        expect(new Set(ofKey.map((m) => m.partition))).toEqual(new Set([partitionFor(key, 3)]));
      }
      for (const p of [0, 1, 2]) {
        const offsets = r.committed.filter((m) => m.partition === p).map((m) => BigInt(m.offset));
        for (let i = 1; i < offsets.length; i++) expect(offsets[i]! > offsets[i - 1]!).toBe(true);
      }
    });

    it('never hands a handler more than maxBatchSize messages', async () => {
      const t = await topic('batch', 1);
      await publishSeq(t, ['k'], 0, 50);
      const r = recorder<Seq>();
      await subscribe(context().bus, { group: unique('g'), topics: [t], handler: r.handler, maxBatchSize: 7 });
      await waitForSeqs(r, range(0, 50), 'all 50 messages');

      expect(seqs(r.committed)).toEqual(range(0, 50));
      for (const { batch } of r.calls) {
        expect(batch.messages.length).toBeGreaterThanOrEqual(1);
        expect(batch.messages.length).toBeLessThanOrEqual(7);
      }
    });

    it('gives every group every message', async () => {
      const t = await topic('groups', 3);
      const a = recorder<Seq>();
      const b = recorder<Seq>();
      await subscribe(context().bus, { group: unique('ga'), topics: [t], handler: a.handler });
      await subscribe(await newBus(), { group: unique('gb'), topics: [t], handler: b.handler });
      await publishSeq(t, range(0, 10).map((i) => `k${i}`), 0, 40);
      await waitForSeqs(a, range(0, 40), 'group a');
      await waitForSeqs(b, range(0, 40), 'group b');
      expect(new Set(seqs(a.committed)).size).toBe(40);
      expect(new Set(seqs(b.committed)).size).toBe(40);
    });

    it('splits the partitions between two members of a group, and together they receive every message', async () => {
      const t = await topic('split', 3);
      const group = unique('g');
      const a = recorder<Seq>();
      const b = recorder<Seq>();
      await subscribe(context().bus, { group, topics: [t], handler: a.handler });
      await subscribe(await newBus(), { group, topics: [t], handler: b.handler });
      const published: number[] = [];
      await publishUntilAllReceive(t, [a, b], published);
      const rest = await publishSeq(t, range(0, 24).map((i) => `key-${i}`), published.length, 48);
      published.push(...rest.map((m) => m.value.seq));

      await waitFor(
        () => {
          const received = new Set([...seqs(a.committed), ...seqs(b.committed)]);
          return published.every((s) => received.has(s));
        },
        timeoutMs,
        () => `every one of ${published.length} messages received by a (${a.committed.length}) or b (${b.committed.length})`,
      );
      // Once split, each member only gets partitions of its own: the last round went to disjoint partitions.
      const lastA = new Set(a.committed.filter((m) => m.value.seq >= rest[0]!.value.seq).map((m) => m.partition));
      const lastB = new Set(b.committed.filter((m) => m.value.seq >= rest[0]!.value.seq).map((m) => m.partition));
      expect([...lastA].filter((p) => lastB.has(p))).toEqual([]);
    });

    it('delivers the batch a handler threw on again, and nothing later of that partition before it succeeds', async () => {
      const t = await topic('retry', 1);
      await publishSeq(t, ['k'], 0, 10);
      let failures = 0;
      const r = recorder<Seq>((batch) => {
        if (batch.messages.some((m) => m.value.seq === 3) && failures < 2) {
          failures++;
          return 'throw';
        }
        return 'ok';
      });
      await subscribe(context().bus, { group: unique('g'), topics: [t], handler: r.handler, maxBatchSize: 3 });
      await waitForSeqs(r, range(0, 10), 'all 10 messages after two failures');

      const firstFailure = r.calls.findIndex((c) => !c.ok);
      const failed = r.calls[firstFailure]!.batch.messages;
      const success = r.calls.findIndex((c, i) => i > firstFailure && c.ok);
      // The two retries and the success start with exactly the messages that failed.
      expect(success).toBe(firstFailure + 2);
      for (const { batch } of r.calls.slice(firstFailure + 1, success + 1)) {
        expect(batch.messages.slice(0, failed.length)).toEqual(failed);
      }
      // Nothing after the failed batch was delivered before the success.
      const lastFailed = BigInt(failed[failed.length - 1]!.offset);
      for (const { batch } of r.calls.slice(0, success)) {
        for (const m of batch.messages) expect(BigInt(m.offset) <= lastFailed).toBe(true);
      }
      // Every message committed exactly once, in order: nothing skipped.
      expect(seqs(r.committed)).toEqual(range(0, 10));
    });

    it('resumes a group after close() from the last committed batch: nothing lost, only uncommitted messages again', async () => {
      const t = await topic('resume', 1);
      const group = unique('g');
      await publishSeq(t, ['k'], 0, 10);
      const first = recorder<Seq>((batch) => (batch.messages.some((m) => m.value.seq >= 6) ? 'throw' : 'ok'));
      const sub = await subscribe(context().bus, { group, topics: [t], handler: first.handler, maxBatchSize: 1 });
      await waitForSeqs(first, range(0, 6), 'the first six messages');
      await waitFor(() => first.calls.some((c) => !c.ok), timeoutMs, 'a failed delivery of message 6');
      await sub.close();
      const callsAtClose = first.calls.length;
      await publishSeq(t, ['k'], 10, 2);

      const second = recorder<Seq>();
      await subscribe(await newBus(), { group, topics: [t], handler: second.handler });
      await waitForSeqs(second, range(6, 12), 'messages 6-11 in the new subscription');
      expect(seqs(second.committed)).toEqual(range(6, 12));
      expect(first.calls).toHaveLength(callsAtClose);
    });

    it('starts a new group with fromBeginning: false at the end of the log', async () => {
      const t = await topic('latest', 1);
      await publishSeq(t, ['k'], 0, 5);
      const r = recorder<Seq>();
      await subscribe(context().bus, { group: unique('g'), topics: [t], handler: r.handler, fromBeginning: false });
      await publishSeq(t, ['k'], 5, 3);
      await waitForSeqs(r, [5, 6, 7], 'the messages published after subscribing');
      expect(seqs(r.committed)).toEqual([5, 6, 7]);
    });

    it('starts from the position an offsetStore gives instead of the committed one', async () => {
      const t = await topic('offset-store', 1);
      const group = unique('g');
      await publishSeq(t, ['k'], 0, 10);
      const all = recorder<Seq>();
      const sub = await subscribe(context().bus, { group, topics: [t], handler: all.handler });
      await waitForSeqs(all, range(0, 10), 'the whole log');
      await sub.close();
      const seventh = all.committed.find((m) => m.value.seq === 7)!;

      const loads: Array<[string, string, number]> = [];
      const offsetStore: OffsetStore = {
        async load(g, topicName, partition) {
          loads.push([g, topicName, partition]);
          return seventh.offset;
        },
      };
      const again = recorder<Seq>();
      await subscribe(await newBus(), { group, topics: [t], handler: again.handler, offsetStore });
      await waitForSeqs(again, [7, 8, 9], 'messages 7-9 again');
      expect(seqs(again.committed)).toEqual([7, 8, 9]);
      expect(loads).toContainEqual([group, t, 0]);
    });

    it('moves the partitions of a member that closes to the remaining member, losing nothing', async () => {
      const t = await topic('rebalance', 3);
      const group = unique('g');
      const a = recorder<Seq>();
      const b = recorder<Seq>();
      const subA = await subscribe(context().bus, { group, topics: [t], handler: a.handler });
      await subscribe(await newBus(), { group, topics: [t], handler: b.handler });
      const published: number[] = [];
      await publishUntilAllReceive(t, [a, b], published);
      await subA.close();
      const afterClose = await publishSeq(t, range(0, 24).map((i) => `key-${i}`), published.length, 60);

      await waitForSeqs(b, afterClose.map((m) => m.value.seq), 'the remaining member receiving everything published after the close');
      const union = new Set([...seqs(a.committed), ...seqs(b.committed)]);
      expect([...published, ...afterClose.map((m) => m.value.seq)].filter((s) => !union.has(s))).toEqual([]);
    });
  });
}
