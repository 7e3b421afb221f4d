import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uuidv7 } from 'uuidv7';
import { TOPICS } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { publishVideoChanged, videoChangedEvent, VideoProjection, type VideoRecord } from '@kinora/projections';
import { waitForProjection } from '@kinora/projections/testing';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';

let tdb: TestDatabase;
let database: Database;
let bus: InProcessEventBus;

beforeAll(async () => {
  tdb = await createTestDatabase('projections');
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl] });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
});

afterAll(async () => {
  await bus?.close();
  await database?.close();
  await tdb?.drop();
});

const ids = () => ({ videoId: uuidv7(), channelId: uuidv7(), ownerId: uuidv7() });

describe('VideoProjection', () => {
  it('keeps the newest version: older and repeated events change nothing, and the hook runs once per applied change', async () => {
    const changes: Array<[number | undefined, number]> = [];
    const p = new VideoProjection({
      database,
      schema: 'svc_a',
      bus,
      onChange: async ({ previous, current }) => {
        changes.push([previous?.version, current.version]);
      },
    });
    await p.migrate();
    await p.migrate(); // idempotent
    const v = ids();
    const e = (version: number, patch = {}) => videoChangedEvent({ ...v, version, ...patch });
    expect(await p.apply([e(2, { title: 'two' }), e(1, { title: 'one' }), e(2, { title: 'two again' }), e(4, { title: 'four', visibility: 'private' }), e(3)])).toBe(2);
    expect(changes).toEqual([
      [undefined, 2],
      [2, 4],
    ]);
    const got = (await p.get(v.videoId, { primary: true })) as VideoRecord;
    expect(got).toEqual({ id: v.videoId, version: 4, channelId: v.channelId, ownerId: v.ownerId, title: 'four', tags: [], visibility: 'private', state: 'ready', deleted: false, publishedAt: null, durationSec: null });
    expect(await p.channelOwner(v.channelId)).toBe(v.ownerId);
    expect(await p.channelOwner(uuidv7())).toBeUndefined();
  });

  it('gives a ready public video without publishedAt the time it was first seen so, and keeps it', async () => {
    const p = new VideoProjection({ database, schema: 'svc_b', bus });
    await p.migrate();
    const v = ids();
    const before = Date.now();
    await p.apply([videoChangedEvent({ ...v, version: 1, state: 'processing' })]);
    expect((await p.get(v.videoId, { primary: true }))?.publishedAt).toBeNull();
    await p.apply([videoChangedEvent({ ...v, version: 2 })]);
    const first = (await p.get(v.videoId, { primary: true }))!.publishedAt!;
    expect(first.getTime()).toBeGreaterThanOrEqual(before - 1000);
    await p.apply([videoChangedEvent({ ...v, version: 3, title: 'renamed' })]);
    expect((await p.get(v.videoId, { primary: true }))!.publishedAt).toEqual(first);
  });

  it('consumes video.lifecycle in its own group, skipping malformed events and other event types', async () => {
    const applied: string[] = [];
    let committed = 0;
    const p = new VideoProjection({
      database,
      schema: 'svc_c',
      bus,
      onChange: async ({ current }) => {
        applied.push(current.id);
      },
      onCommitted: (n) => {
        committed += n;
      },
    });
    await p.migrate();
    await p.start();
    try {
      const v = ids();
      await bus.publish(TOPICS.videoLifecycle, [
        { key: v.videoId, value: { type: 'VideoChanged.v1', payload: { videoId: 'nope' } } },
        { key: v.videoId, value: { type: 'VideoUploaded.v1', payload: {} } },
      ]);
      await publishVideoChanged(bus, [videoChangedEvent({ ...v, version: 1 })]);
      await waitForProjection(database.primary, 'svc_c', v.videoId);
      expect(p.group).toBe('svc_c.video-projection');
      expect(applied).toContain(v.videoId);
      expect(committed).toBeGreaterThanOrEqual(1);
      // A read that misses on the replica is checked on the primary.
      expect((await p.get(v.videoId))?.version).toBe(1);
    } finally {
      await p.close();
    }
  });
});
