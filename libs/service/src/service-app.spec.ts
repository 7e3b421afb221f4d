import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createServiceApp, splitDatabaseWithoutKafka } from './service-app.js';

describe('per-entity databases and the in-process event bus', () => {
  const split = loadConfig({ DATABASE_URL: 'postgres://p/kinora', VIDEOS_DATABASE_URL: 'postgres://v/videos' });

  it('names the entity whose own database would hold a private event log', () => {
    expect(splitDatabaseWithoutKafka(split, { name: 'videos' })).toBe('VIDEOS');
    // Same database as DATABASE_URL, Kafka, or the all-in-one process's database: fine.
    expect(splitDatabaseWithoutKafka(split, { name: 'users' })).toBeUndefined();
    expect(splitDatabaseWithoutKafka(loadConfig({ DATABASE_URL: 'postgres://p/kinora', VIDEOS_DATABASE_URL: 'postgres://v/videos', KAFKA_BROKERS: 'k:9092' }), { name: 'videos' })).toBeUndefined();
    expect(splitDatabaseWithoutKafka(split, { name: 'main' })).toBeUndefined();
    expect(splitDatabaseWithoutKafka(loadConfig({}), { name: 'videos' })).toBeUndefined();
  });

  it('refuses to start such a service with a message that says what to set', async () => {
    const database = new Database({ name: 'videos', primaryUrl: 'postgres://nobody:x@127.0.0.1:1/none', healthIntervalMs: 60_000 });
    try {
      await expect(createServiceApp({ name: 'comment', config: split, database, logger: createLogger({ level: 'silent' }), verifier: false })).rejects.toThrow(
        /comment: VIDEOS_DATABASE_URL is not DATABASE_URL but KAFKA_BROKERS is unset/,
      );
    } finally {
      await database.close();
    }
  });
});
