// What the transcoder suites share: a database of their own with the in-process bus, a filesystem store in a temp
// folder, a collector of `video.transcoded`, and helpers to upload a source and announce it as the video service does.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { EVENT_TYPES, TOPICS, type TranscodeFailedV1, type TranscodeProgressV1, type TranscodeSucceededV1 } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createInProcessEventBus, eventsMigrationsDir, toEventMessage, type EventEnvelope, type InProcessEventBus, type Subscription } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';
import { createLogger, type Logger } from '@kinora/observability';
import { FsObjectStore, type GetOptions, type ObjectStore, type PutOptions } from '@kinora/storage';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';

export type TranscodedEvent =
  | EventEnvelope<TranscodeProgressV1> & { type: 'TranscodeProgress.v1' }
  | EventEnvelope<TranscodeSucceededV1> & { type: 'TranscodeSucceeded.v1' }
  | EventEnvelope<TranscodeFailedV1> & { type: 'TranscodeFailed.v1' };

export interface Harness {
  tdb: TestDatabase;
  database: Database;
  bus: InProcessEventBus;
  store: FsObjectStore;
  storeDir: string;
  /** Scratch root for workers (TRANSCODE_WORK_DIR). */
  workDir: string;
  /** Every event of `video.transcoded`, in arrival order. */
  events: TranscodedEvent[];
  logger: Logger;
  /** JSON log lines written through `logger`. */
  logs: Array<Record<string, unknown>>;
  /** Puts the file at `uploads/<videoId>` and publishes VideoUploaded.v1 (returns the event). */
  upload(videoId: string, file: string, options?: { outputPrefix?: string }): Promise<EventEnvelope>;
  publishLifecycle(envelope: unknown, key: string): Promise<void>;
  eventsFor(videoId: string): TranscodedEvent[];
  /** The first TranscodeSucceeded/TranscodeFailed of the video. */
  waitForFinal(videoId: string, timeoutMs: number): Promise<TranscodedEvent>;
  close(): Promise<void>;
}

export async function createHarness(name: string): Promise<Harness> {
  const tdb = await createTestDatabase(name);
  const database = new Database({ primaryUrl: tdb.url, applicationName: name });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  const bus = createInProcessEventBus({ pool: database.primary, pollIntervalMs: 200, heartbeatIntervalMs: 500 });
  const storeDir = await mkdtemp(join(tmpdir(), 'kinora-transcoder-store-'));
  const workDir = await mkdtemp(join(tmpdir(), 'kinora-transcoder-work-'));
  const store = new FsObjectStore(storeDir, { fsync: false });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    name: 'transcoder-test',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    }),
  });
  const events: TranscodedEvent[] = [];
  const collector: Subscription = await bus.subscribe<TranscodedEvent>({
    group: `test-collector-${randomUUID()}`,
    topics: [TOPICS.videoTranscoded],
    handler: async (batch) => {
      for (const m of batch.messages) events.push(m.value);
    },
  });

  const publishLifecycle = async (envelope: unknown, key: string) => {
    const e = envelope as { id?: string; type?: string };
    await bus.publish(TOPICS.videoLifecycle, [{ key, value: envelope, headers: e.type ? { 'event-id': e.id ?? '', 'event-type': e.type } : {} }]);
  };
  const eventsFor = (videoId: string) => events.filter((e) => e.key === videoId);

  return {
    tdb,
    database,
    bus,
    store,
    storeDir,
    workDir,
    events,
    logger,
    logs,
    async upload(videoId, file, options = {}) {
      const sourceKey = `uploads/${videoId}`;
      await store.put(sourceKey, createReadStream(file));
      const size = (await store.head(sourceKey))!.size;
      const event = createEvent({
        type: EVENT_TYPES.videoUploaded,
        key: videoId,
        actor: { type: 'service', id: 'video' },
        payload: { videoId, sourceKey, sizeBytes: size, outputPrefix: options.outputPrefix ?? `media/${videoId}/` },
      });
      await bus.publish(TOPICS.videoLifecycle, [toEventMessage(event)]);
      return event;
    },
    publishLifecycle,
    eventsFor,
    async waitForFinal(videoId, timeoutMs) {
      const isFinal = (e: TranscodedEvent) => e.type === 'TranscodeSucceeded.v1' || e.type === 'TranscodeFailed.v1';
      await waitFor(() => eventsFor(videoId).some(isFinal), timeoutMs, () => `the final event of ${videoId}; got ${JSON.stringify(eventsFor(videoId).map((e) => e.type))}`);
      return eventsFor(videoId).find(isFinal)!;
    },
    async close() {
      await collector.close().catch(() => {});
      await bus.close().catch(() => {});
      await database.close().catch(() => {});
      await tdb.drop().catch(() => {});
      await rm(storeDir, { recursive: true, force: true });
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** An ObjectStore that fails chosen puts: `failPuts(prefix, n)` makes the next n puts under prefix throw. */
export class FlakyStore implements ObjectStore {
  private readonly failures = new Map<string, number>();
  /** Puts refused so far. */
  refused: string[] = [];

  constructor(private readonly inner: ObjectStore) {}

  failPuts(prefix: string, count: number): void {
    this.failures.set(prefix, count);
  }

  async put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    for (const [prefix, left] of this.failures) {
      if (left > 0 && key.startsWith(prefix)) {
        this.failures.set(prefix, left - 1);
        this.refused.push(key);
        if (!Buffer.isBuffer(body)) body.destroy();
        throw Object.assign(new Error(`injected failure: put ${key}`), { code: 'ECONNRESET' });
      }
    }
    return this.inner.put(key, body, options);
  }
  get(key: string, options?: GetOptions) {
    return this.inner.get(key, options);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  deletePrefix(prefix: string) {
    return this.inner.deletePrefix(prefix);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  close() {
    return this.inner.close();
  }
}
