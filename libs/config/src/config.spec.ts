import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseRateLimit } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({}, '/srv');
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe('http://localhost:8080');
    expect(c.dataDir).toBe('/srv/.kinora');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.kafkaBrokers).toEqual([]);
    expect(c.storageUrl).toBe('file:///srv/.kinora/media');
    expect(c.corsOrigins).toEqual(['http://localhost:8080']);
    expect(c.rateLimits.general).toEqual({ max: 100, windowMs: 15 * 60_000 });
    expect(c.rateLimits.auth).toEqual({ max: 5, windowMs: 15 * 60_000 });
    expect(c.rateLimits.upload).toEqual({ max: 10, windowMs: 3_600_000 });
    expect(c.counterFlushIntervalMs).toBe(30_000);
    expect(c.services).toContain('user');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.rateLimits)).toBe(true);
  });

  it('derives the public URL from PORT', () => {
    expect(loadConfig({ PORT: '9000' }).publicUrl).toBe('http://localhost:9000');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_REPLICA_URLS: 'postgres://r/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://p/db', DATABASE_REPLICA_URLS: 'postgres://r/db,nope' }, 'DATABASE_REPLICA_URLS'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    [{ KINORA_SERVICES: 'user,bogus' }, 'KINORA_SERVICES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ RATE_LIMIT_AUTH: '5 per minute' }, 'RATE_LIMIT_AUTH'],
    [{ REGION: 'EU West' }, 'REGION'],
    [{ STORAGE_URL: 'ftp://x' }, 'STORAGE_URL'],
    [{ CORS_ORIGINS: 'not a url' }, 'CORS_ORIGINS'],
    [{ COUNTER_FLUSH_INTERVAL_MS: '-5' }, 'COUNTER_FLUSH_INTERVAL_MS'],
  ])('rejects %j naming %s in one line', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toContain(variable);
    expect((error as Error).message).not.toContain('\n');
  });

  it('never echoes a database password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:s3cret@h/db' })).toThrow(/u:\*\*\*@h/);
  });
});

describe('parseRateLimit', () => {
  it('parses N/window and off', () => {
    expect(parseRateLimit('X', '5/15m', '1/1s')).toEqual({ max: 5, windowMs: 900_000 });
    expect(parseRateLimit('X', '10/h', '1/1s')).toEqual({ max: 10, windowMs: 3_600_000 });
    expect(parseRateLimit('X', 'off', '1/1s')).toBeNull();
    expect(parseRateLimit('X', undefined, '3/2s')).toEqual({ max: 3, windowMs: 2000 });
    expect(() => parseRateLimit('X', '0/1m', '1/1s')).toThrow(ConfigError);
  });
});
