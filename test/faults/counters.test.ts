import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sleep, waitUntil, type ClusterHandle } from '@kinora/testing';
import type { KafkaEventBus } from '@kinora/events';
import { countedViews, counterGroupCaughtUp, faultEvents, producerBus, recordFigures, round, startFaultCluster, sum, viewEvents, VIEWS_TOPIC } from './support.js';

// Exactly-once counters under crashes, on the `npm run cluster` topology (its own Kafka, Redis and PostgreSQL):
// the counter consumers (analytics-1 and analytics-2, one group) are SIGKILLed ten times while events stream in,
// then the Kafka broker is restarted under produce load. Events go to `video.views` through the platform's
// EventBus (idempotent producer, acks=all); what the producer had acknowledged is compared with the counters in
// PostgreSQL once the group's offsets (committed with the counters) reach the log end.

let cluster: ClusterHandle;
let bus: KafkaEventBus;

beforeAll(async () => {
  cluster = await startFaultCluster();
  bus = producerBus(cluster);
}, 300_000);

afterAll(async () => {
  await bus?.close();
  await cluster?.stop();
}, 120_000);

describe('counter consumers killed with SIGKILL', () => {
  it(`counts every event exactly while the consumers are killed 10 times (${faultEvents().toLocaleString('en-US')} events)`, async () => {
    const total = faultEvents();
    const kills = 10;
    const videos = Array.from({ length: 100 }, () => randomUUID());
    const expected = new Map(videos.map((v) => [v, 0]));
    const CHUNK = 5_000;

    // Produce in the background: 5,000 events per publish, spread over the videos; counted as expected once acked.
    let acked = 0;
    const t0 = performance.now();
    const producing = (async () => {
      const inflight: Array<Promise<void>> = [];
      for (let sent = 0; sent < total; sent += CHUNK) {
        const n = Math.min(CHUNK, total - sent);
        const per = Math.floor(n / videos.length);
        const messages = videos.flatMap((v, i) => viewEvents(v, per + (i < n % videos.length ? 1 : 0)));
        const counts = videos.map((v, i) => [v, per + (i < n % videos.length ? 1 : 0)] as const);
        inflight.push(
          bus.publish(VIEWS_TOPIC, messages).then(() => {
            for (const [v, c] of counts) expected.set(v, expected.get(v)! + c);
            acked += n;
          }),
        );
        if (inflight.length >= 4) await inflight.shift();
      }
      await Promise.all(inflight);
    })();
    let produceSec = 0;
    void producing.then(() => {
      produceSec = (performance.now() - t0) / 1000;
    });

    // Ten SIGKILLs, alternating between the two members, spread over the counting: each waits until another
    // eleventh of the events is counted, kills, and starts the process again (it resumes from its offsets).
    const restarts: number[] = [];
    for (let k = 1; k <= kills; k++) {
      const target = Math.floor((k * total) / (kills + 1));
      await waitUntil(`${target} views counted before kill ${k}`, async () => sum(await countedViews(cluster.postgres.url, videos)) >= target, {
        timeoutMs: 600_000,
        intervalMs: 250,
      });
      const member = cluster.processes.get(`analytics-${1 + (k % 2)}`)!;
      await member.stop('SIGKILL');
      const r0 = performance.now();
      await member.start();
      restarts.push(performance.now() - r0);
    }
    await producing;
    expect(acked).toBe(total);

    await waitUntil('the counter group has counted the whole topic', () => counterGroupCaughtUp(cluster.postgres.url, bus), { timeoutMs: 900_000, intervalMs: 500 });
    const consumeSec = (performance.now() - t0) / 1000;
    const counted = await countedViews(cluster.postgres.url, videos);
    // Exact per video: nothing lost, nothing counted twice.
    const wrong = videos.filter((v) => counted.get(v) !== expected.get(v)).map((v) => ({ video: v, expected: expected.get(v), counted: counted.get(v) }));
    expect(wrong).toEqual([]);
    expect(sum(counted)).toBe(total);
    // And it stays exact: no late flush of a killed member adds anything afterwards.
    await sleep(2_000);
    expect(sum(await countedViews(cluster.postgres.url, videos))).toBe(total);

    recordFigures('consumer-kill', {
      events: total,
      kills,
      videos: videos.length,
      acknowledged: acked,
      counted: sum(counted),
      produceSeconds: round(produceSec),
      producedPerSecond: Math.round(total / produceSec),
      countedAllAfterSeconds: round(consumeSec),
      countedPerSecond: Math.round(total / consumeSec),
      // The producer in the test process is the slower side on 2 cores: how long after the last acknowledged
      // publish the counters were complete.
      countedAllAfterLastPublishSeconds: round(consumeSec - produceSec, 1),
      restartSecondsMax: round(Math.max(...restarts) / 1000, 2),
      restartSecondsMedian: round([...restarts].sort((a, b) => a - b)[Math.floor(restarts.length / 2)]! / 1000, 2),
    });
  }, 1_800_000);
});

describe('Kafka broker restarted under produce load', () => {
  it('counts every acknowledged event exactly; unacknowledged batches are counted at most once', async () => {
    // One video per publish of 200 events: a batch the producer acknowledged must be counted exactly 200 times; a
    // batch it gave up on (the broker was down) may or may not have been written, but never more than once.
    const BATCH = 200;
    const batches: Array<{ video: string; acked: boolean | undefined; error?: string }> = [];
    let stop = false;
    const t0 = performance.now();
    const producers = Array.from({ length: 2 }, async () => {
      while (!stop) {
        const b: { video: string; acked: boolean | undefined; error?: string } = { video: randomUUID(), acked: undefined };
        batches.push(b);
        try {
          await bus.publish(VIEWS_TOPIC, viewEvents(b.video, BATCH));
          b.acked = true;
        } catch (err) {
          b.acked = false;
          b.error = err instanceof Error ? err.message : String(err);
          await sleep(200);
        }
        await sleep(20);
      }
    });

    await sleep(3_000);
    const ackedBefore = batches.filter((b) => b.acked).length;
    expect(ackedBefore).toBeGreaterThan(0);
    const kafka = cluster.infra.kafka;
    const d0 = performance.now();
    await kafka.kill('SIGKILL');
    await sleep(2_000);
    await kafka.start();
    const downMs = performance.now() - d0;
    // Produce a while longer after the broker is back, so the producer's recovery is part of the test.
    const ackedAtRestart = batches.filter((b) => b.acked).length;
    await waitUntil('publishes acknowledged again after the restart', async () => batches.filter((b) => b.acked).length >= ackedAtRestart + 20, { timeoutMs: 120_000, intervalMs: 200 });
    const firstAckAfterMs = performance.now() - d0;
    stop = true;
    await Promise.all(producers);

    await waitUntil('the counter group has counted the whole topic after the restart', () => counterGroupCaughtUp(cluster.postgres.url, bus), { timeoutMs: 300_000, intervalMs: 500 });
    const counted = await countedViews(cluster.postgres.url, batches.map((b) => b.video));
    const acked = batches.filter((b) => b.acked === true);
    const failed = batches.filter((b) => b.acked === false);
    expect(acked.filter((b) => counted.get(b.video) !== BATCH).map((b) => ({ video: b.video, counted: counted.get(b.video) }))).toEqual([]);
    expect(failed.filter((b) => counted.get(b.video)! > BATCH)).toEqual([]);
    expect(batches.every((b) => b.acked !== undefined)).toBe(true);

    recordFigures('kafka-restart', {
      batchesOf: BATCH,
      acknowledgedBatches: acked.length,
      failedBatches: failed.length,
      failedBatchesWrittenAnyway: failed.filter((b) => counted.get(b.video) === BATCH).length,
      brokerDownAndRestartSeconds: round(downMs / 1000, 2),
      producingAgainAfterSeconds: round(firstAckAfterMs / 1000, 2),
      totalSeconds: round((performance.now() - t0) / 1000),
    });
  }, 600_000);
});
