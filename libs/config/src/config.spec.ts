import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseRateLimit } from './config.js';


/** A self-signed CA certificate (public part only) for the REDIS_TLS_CA cases. */
const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBVzCCAQmgAwIBAgIUcISxsktZ6gSa3kl9n1BQiuYsCsgwBQYDK2VwMCAxHjAc
BgNVBAMMFUtpbm9yYSBjb25maWcgdGVzdCBDQTAgFw0yNjEyMDcxOTU5NTVaGA8y
MTI2MTExMzE5NTk1NVowIDEeMBwGA1UEAwwVS2lub3JhIGNvbmZpZyB0ZXN0IENB
MCowBQYDK2VwAyEAlJGMidoWW1y2hswy8/ybhVmaGKuHTyzqG9LcTKyInDGjUzBR
MB0GA1UdDgQWBBQs4EB3ruzxDpy2rZ5jHRPjkYUv5zAfBgNVHSMEGDAWgBQs4EB3
ruzxDpy2rZ5jHRPjkYUv5zAPBgNVHRMBAf8EBTADAQH/MAUGAytlcANBAISAfkMN
2E8ySQYsDZcuhPkZ1JMfJGxKAipxqFBPkoY00Ls9f+MH7+Zkx3CLGWlxjfph7UwR
wlLbEhMGhWQINwE=
-----END CERTIFICATE-----`;

describe('loadConfig', () => {
  it('reads WEB_ROOT as a folder resolved against the working directory, or off', () => {
    expect(loadConfig({ WEB_ROOT: 'apps/web/dist' }, '/srv').webRoot).toBe('/srv/apps/web/dist');
    expect(loadConfig({ WEB_ROOT: '/opt/web' }, '/srv').webRoot).toBe('/opt/web');
    expect(loadConfig({ WEB_ROOT: 'off' }, '/srv').webRoot).toBeNull();
  });

  it('gives each entity database DATABASE_URL and its replicas unless it has its own URL', () => {
    const shared = loadConfig({ DATABASE_URL: 'postgres://p/kinora', DATABASE_REPLICA_URLS: 'postgres://r1/kinora' });
    for (const entity of ['users', 'videos', 'analytics'] as const) {
      expect(shared.databases[entity]).toEqual({ url: 'postgres://p/kinora', replicaUrls: ['postgres://r1/kinora'] });
    }
    const split = loadConfig({
      DATABASE_URL: 'postgres://p/kinora',
      DATABASE_REPLICA_URLS: 'postgres://r1/kinora',
      USERS_DATABASE_URL: 'postgres://u/users',
      ANALYTICS_DATABASE_URL: 'postgres://a/analytics',
      ANALYTICS_DATABASE_REPLICA_URLS: 'postgres://ar1/analytics,postgres://ar2/analytics',
    });
    expect(split.databases.users).toEqual({ url: 'postgres://u/users', replicaUrls: [] });
    expect(split.databases.videos).toEqual({ url: 'postgres://p/kinora', replicaUrls: ['postgres://r1/kinora'] });
    expect(split.databases.analytics).toEqual({ url: 'postgres://a/analytics', replicaUrls: ['postgres://ar1/analytics', 'postgres://ar2/analytics'] });
    const embedded = loadConfig({});
    expect(embedded.databases.users).toEqual({ url: undefined, replicaUrls: [] });
    expect([embedded.databaseStatementTimeoutMs, embedded.databaseIdleInTransactionTimeoutMs, embedded.databaseHealthIntervalMs]).toEqual([30_000, 60_000, 250]);
    expect(loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '0' }).databaseStatementTimeoutMs).toBe(0);
  });

  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({}, '/srv');
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe('http://localhost:8080');
    expect(c.dataDir).toBe('/srv/.kinora');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.kafkaBrokers).toEqual([]);
    expect(c.storageUrl).toBe('file:///srv/.kinora/media');
    expect(c.corsOrigins).toEqual(['http://localhost:8080']);
    expect(c.webRoot).toBeUndefined();
    expect(c.rateLimits.general).toEqual({ max: 100, windowMs: 15 * 60_000 });
    expect(c.rateLimits.auth).toEqual({ max: 5, windowMs: 15 * 60_000 });
    expect(c.rateLimits.upload).toEqual({ max: 10, windowMs: 3_600_000 });
    expect(c.counterFlushIntervalMs).toBe(30_000);
    expect(c.counterConsumerMembers).toBe(2);
    expect(c.services).toContain('user');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.rateLimits)).toBe(true);
  });

  it('reads JWT_KEYS_DIR as an absolute folder; unset means keys in the database', () => {
    expect(loadConfig({}, '/srv').jwtKeysDir).toBeUndefined();
    expect(loadConfig({ JWT_KEYS_DIR: 'keys' }, '/srv').jwtKeysDir).toBe('/srv/keys');
    expect(loadConfig({ JWT_KEYS_DIR: '/var/run/secrets/kinora/jwt-keys' }, '/srv').jwtKeysDir).toBe('/var/run/secrets/kinora/jwt-keys');
  });

  it('runs one realtime worker by default, more only with Redis to share clients through', () => {
    expect(loadConfig({}).realtimeWorkers).toBe(1);
    expect(loadConfig({ REALTIME_WORKERS: '2', REDIS_URL: 'redis://127.0.0.1:6379' }).realtimeWorkers).toBe(2);
    expect(() => loadConfig({ REALTIME_WORKERS: '2' })).toThrow(/REALTIME_WORKERS must be 1 unless REDIS_URL is set/);
    expect(() => loadConfig({ REALTIME_WORKERS: '0', REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/REALTIME_WORKERS must be an integer between 1 and 64/);
  });

  it('reads Redis as one URL, or as Sentinels and a master name (with credentials for each)', () => {
    expect(loadConfig({}).redis).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://:pw@r:6379/1' }).redis).toEqual({ mode: 'url', url: 'redis://:pw@r:6379/1' });
    expect(
      loadConfig({
        REDIS_SENTINELS: 'sentinel-0.sentinel:26379, 10.0.0.7:26380,[::1]:26381',
        REDIS_SENTINEL_MASTER: 'mymaster',
        REDIS_PASSWORD: 'data-pw',
        REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      }).redis,
    ).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 'sentinel-0.sentinel', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'mymaster',
      tls: false,
      username: undefined,
      password: 'data-pw',
      sentinelUsername: undefined,
      sentinelPassword: 'sentinel-pw',
    });
    expect(loadConfig({ REALTIME_WORKERS: '2', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' }).realtimeWorkers).toBe(2);
  });

  it('reads TLS for Sentinel mode (REDIS_SENTINEL_TLS) and the CAs to trust for Redis over TLS (REDIS_TLS_CA)', () => {
    const sentinel = { REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' };
    expect(loadConfig({ ...sentinel, REDIS_SENTINEL_TLS: 'true' }).redis).toMatchObject({ mode: 'sentinel', tls: true, tlsCa: undefined });
    expect(loadConfig({ ...sentinel, REDIS_SENTINEL_TLS: 'off' }).redis).toMatchObject({ tls: false });
    expect(loadConfig({ ...sentinel, REDIS_SENTINEL_TLS: 'true', REDIS_TLS_CA: TEST_CA }).redis).toMatchObject({ tls: true, tlsCa: `${TEST_CA}\n` });
    expect(loadConfig({ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA: `  ${TEST_CA}\n` }).redis).toEqual({ mode: 'url', url: 'rediss://r:6380', tlsCa: `${TEST_CA}\n` });
  });

  it.each([
    [{ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_SENTINEL_TLS: 'maybe' }, /REDIS_SENTINEL_TLS must be true or false \(got "maybe"\)/],
    [{ REDIS_URL: 'rediss://r:6380', REDIS_SENTINEL_TLS: 'true' }, /REDIS_SENTINELS must be set when REDIS_SENTINEL_TLS is set .*rediss:\/\/ for TLS/],
    [{ REDIS_URL: 'redis://r:6379', REDIS_TLS_CA: TEST_CA }, /REDIS_TLS_CA must be unset unless Redis is reached over TLS \(a rediss:\/\/ REDIS_URL\)/],
    [{ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_TLS_CA: TEST_CA }, /REDIS_TLS_CA must be unset unless Redis is reached over TLS \(REDIS_SENTINEL_TLS=true\)/],
    [{ REDIS_TLS_CA: TEST_CA }, /REDIS_TLS_CA must be unset unless Redis is reached over TLS/],
    [{ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA: '/etc/ssl/ca.pem' }, /REDIS_TLS_CA must be PEM certificates/],
    [{ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----' }, /REDIS_TLS_CA must be PEM certificates/],
  ])('refuses a Redis TLS setting that cannot work: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    [{ REDIS_SENTINELS: 's:26379' }, /REDIS_SENTINEL_MASTER must be set when REDIS_SENTINELS is set/],
    [{ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_URL: 'redis://u:secret@r:6379' }, /REDIS_URL must be unset when REDIS_SENTINELS is set \(one or the other\) \(got "redis:\/\/u:\*\*\*@r:6379"\)/],
    [{ REDIS_SENTINELS: 's' }, /REDIS_SENTINELS must be a comma list of host:port/],
    [{ REDIS_SENTINELS: 's:0', REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must be a comma list of host:port .* \(got "s:0"\)/],
    [{ REDIS_SENTINELS: ' , ' }, /REDIS_SENTINELS must be a comma list/],
    [{ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'my master' }, /REDIS_SENTINEL_MASTER must be a Sentinel master name/],
    [{ REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must be set when REDIS_SENTINEL_MASTER is set/],
    [{ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: 'x' }, /REDIS_SENTINELS must be set when REDIS_PASSWORD is set .*a REDIS_URL carries its own credentials/],
  ])('refuses a Sentinel configuration that cannot work: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
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
    [{ USERS_DATABASE_URL: 'mysql://x' }, 'USERS_DATABASE_URL'],
    [{ VIDEOS_DATABASE_REPLICA_URLS: 'postgres://r/db' }, 'VIDEOS_DATABASE_URL'],
    [{ ANALYTICS_DATABASE_URL: 'postgres://a/db', ANALYTICS_DATABASE_REPLICA_URLS: 'nope' }, 'ANALYTICS_DATABASE_REPLICA_URLS'],
    [{ DATABASE_STATEMENT_TIMEOUT_MS: '-1' }, 'DATABASE_STATEMENT_TIMEOUT_MS'],
    [{ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 'soon' }, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS'],
    [{ DATABASE_HEALTH_INTERVAL_MS: '10' }, 'DATABASE_HEALTH_INTERVAL_MS'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    [{ KINORA_SERVICES: 'user,bogus' }, 'KINORA_SERVICES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ RATE_LIMIT_AUTH: '5 per minute' }, 'RATE_LIMIT_AUTH'],
    [{ REGION: 'EU West' }, 'REGION'],
    [{ STORAGE_URL: 'ftp://x' }, 'STORAGE_URL'],
    [{ CORS_ORIGINS: 'not a url' }, 'CORS_ORIGINS'],
    [{ COUNTER_FLUSH_INTERVAL_MS: '-5' }, 'COUNTER_FLUSH_INTERVAL_MS'],
    [{ COUNTER_CONSUMER_MEMBERS: '0' }, 'COUNTER_CONSUMER_MEMBERS'],
    [{ RATE_LIMIT_FAIL_MODE: 'maybe' }, 'RATE_LIMIT_FAIL_MODE'],
    [{ RATE_LIMIT_STORE_TIMEOUT_MS: '0' }, 'RATE_LIMIT_STORE_TIMEOUT_MS'],
    [{ USER_SERVICE_URL: 'ftp://user' }, 'USER_SERVICE_URL'],
    [{ USER_SERVICE_URL: 'http://user:8080' }, 'GATEWAY_IDENTITY_SECRET'],
    [{ GATEWAY_IDENTITY_SECRET: 'short' }, 'GATEWAY_IDENTITY_SECRET'],
    [{ UPSTREAM_TIMEOUT_READ_MS: '5s' }, 'UPSTREAM_TIMEOUT_READ_MS'],
    [{ UPSTREAM_RETRIES: '9' }, 'UPSTREAM_RETRIES'],
    [{ BREAKER_FAILURE_THRESHOLD: '0' }, 'BREAKER_FAILURE_THRESHOLD'],
    [{ BREAKER_HALF_OPEN_AFTER_MS: '1' }, 'BREAKER_HALF_OPEN_AFTER_MS'],
    [{ UPSTREAM_MAX_CONCURRENCY: '0' }, 'UPSTREAM_MAX_CONCURRENCY'],
    [{ STALE_IF_ERROR_MS: '-1' }, 'STALE_IF_ERROR_MS'],
    [{ UPLOAD_MAX_BYTES: '8GiB' }, 'UPLOAD_MAX_BYTES'],
    [{ MEDIA_SIGNING_KEY: 'short' }, 'MEDIA_SIGNING_KEY'],
    [{ TRANSCODE_CONCURRENCY: '0' }, 'TRANSCODE_CONCURRENCY'],
    [{ TRANSCODE_PRESET: 'turbo' }, 'TRANSCODE_PRESET'],
    [{ TRANSCODE_MAX_ATTEMPTS: '0' }, 'TRANSCODE_MAX_ATTEMPTS'],
    [{ TRANSCODE_MAX_DURATION_SEC: '0' }, 'TRANSCODE_MAX_DURATION_SEC'],
    [{ TRANSCODE_MAX_DURATION_SEC: '1h' }, 'TRANSCODE_MAX_DURATION_SEC'],
    [{ TRANSCODE_LEASE_MS: '500' }, 'TRANSCODE_LEASE_MS'],
    [{ TRANSCODE_CHUNK_SEC: '2' }, 'TRANSCODE_CHUNK_SEC'],
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

  it('gives gateway defaults: fail-open rate limits, no upstreams, bounded upstream policy', () => {
    const c = loadConfig({});
    expect(c.rateLimitFailMode).toBe('open');
    expect(c.rateLimitStoreTimeoutMs).toBe(200);
    expect(c.upstreams).toEqual({});
    expect(c.gatewayIdentitySecret).toBeUndefined();
    expect(c.upstreamPolicy).toEqual({
      timeouts: { readMs: 5_000, writeMs: 15_000, uploadMs: 300_000 },
      retries: 2,
      breakerFailures: 5,
      breakerHalfOpenAfterMs: 10_000,
      maxConcurrency: 256,
      maxQueue: 256,
      staleIfErrorMs: 60_000,
      discoveryTimeoutMs: 15_000,
    });
    expect(Object.isFrozen(c.upstreamPolicy.timeouts)).toBe(true);
  });

  it('reads upstream URLs per service, the identity secret and the upstream policy', () => {
    const secret = 'x'.repeat(32);
    const c = loadConfig({
      USER_SERVICE_URL: 'http://user.kinora.svc:8080/',
      VIDEO_SERVICE_URL: 'https://video.internal',
      GATEWAY_IDENTITY_SECRET: secret,
      RATE_LIMIT_FAIL_MODE: 'closed',
      RATE_LIMIT_STORE_TIMEOUT_MS: '50',
      UPSTREAM_TIMEOUT_READ_MS: '300',
      UPSTREAM_TIMEOUT_WRITE_MS: '400',
      UPSTREAM_TIMEOUT_UPLOAD_MS: '500',
      UPSTREAM_RETRIES: '0',
      BREAKER_FAILURE_THRESHOLD: '3',
      BREAKER_HALF_OPEN_AFTER_MS: '250',
      UPSTREAM_MAX_CONCURRENCY: '8',
      UPSTREAM_MAX_QUEUE: '0',
      STALE_IF_ERROR_MS: '0',
      UPSTREAM_DISCOVERY_TIMEOUT_MS: '1000',
    });
    expect(c.upstreams).toEqual({ user: 'http://user.kinora.svc:8080', video: 'https://video.internal' });
    expect(c.gatewayIdentitySecret).toBe(secret);
    expect(c.rateLimitFailMode).toBe('closed');
    expect(c.rateLimitStoreTimeoutMs).toBe(50);
    expect(c.upstreamPolicy).toEqual({
      timeouts: { readMs: 300, writeMs: 400, uploadMs: 500 },
      retries: 0,
      breakerFailures: 3,
      breakerHalfOpenAfterMs: 250,
      maxConcurrency: 8,
      maxQueue: 0,
      staleIfErrorMs: 0,
      discoveryTimeoutMs: 1000,
    });
  });

  it('gives transcoder defaults: one job at a time, veryfast, 3 attempts, 30 s lease, scratch in the data folder', () => {
    const c = loadConfig({}, '/srv');
    expect(c.transcodeConcurrency).toBe(1);
    expect(c.transcodePreset).toBe('veryfast');
    expect(c.transcodeMaxAttempts).toBe(3);
    expect(c.transcodeLeaseMs).toBe(30_000);
    expect(c.transcodeWorkDir).toBe('/srv/.kinora/transcode');
    expect(c.transcodeChunkSec).toBe(60);
    expect(c.transcodeResultFile).toBeUndefined();
    expect(c.transcodeMaxDurationSec).toBe(6 * 3600);
  });

  it('takes the Job step result file from TRANSCODE_RESULT_FILE, else the Pod termination message path', () => {
    expect(loadConfig({ TERMINATION_MESSAGE_PATH: '/dev/termination-log' }, '/srv').transcodeResultFile).toBe('/dev/termination-log');
    expect(loadConfig({ TERMINATION_MESSAGE_PATH: '/dev/termination-log', TRANSCODE_RESULT_FILE: 'out/result' }, '/srv').transcodeResultFile).toBe('/srv/out/result');
  });

  it('reads the transcoder settings', () => {
    const c = loadConfig(
      { TRANSCODE_CONCURRENCY: '4', TRANSCODE_PRESET: 'medium', TRANSCODE_MAX_ATTEMPTS: '5', TRANSCODE_LEASE_MS: '3000', TRANSCODE_WORK_DIR: 'scratch' },
      '/srv',
    );
    expect(c.transcodeConcurrency).toBe(4);
    expect(c.transcodePreset).toBe('medium');
    expect(c.transcodeMaxAttempts).toBe(5);
    expect(c.transcodeLeaseMs).toBe(3000);
    expect(c.transcodeWorkDir).toBe('/srv/scratch');
    expect(loadConfig({ TRANSCODE_MAX_DURATION_SEC: '60' }).transcodeMaxDurationSec).toBe(60);
  });

  it('reads FFMPEG_PATH / FFPROBE_PATH: relative paths against the working folder, bare names left to the PATH', () => {
    expect(loadConfig({}, '/srv').ffmpegPath).toBeUndefined();
    const c = loadConfig({ FFMPEG_PATH: 'bin/ffmpeg', FFPROBE_PATH: 'ffprobe' }, '/srv');
    expect(c.ffmpegPath).toBe('/srv/bin/ffmpeg');
    expect(c.ffprobePath).toBe('ffprobe');
  });

  it('gives analytics and topic defaults: 400 days of facts, 12 partitions, replication 1', () => {
    const c = loadConfig({});
    expect(c.analyticsRetentionDays).toBe(400);
    expect(c.kafkaTopicPartitions).toBe(12);
    expect(c.kafkaReplicationFactor).toBe(1);
  });

  it('reads ANALYTICS_RETENTION_DAYS, KAFKA_TOPIC_PARTITIONS and KAFKA_REPLICATION_FACTOR', () => {
    const c = loadConfig({ ANALYTICS_RETENTION_DAYS: '30', KAFKA_TOPIC_PARTITIONS: '24', KAFKA_REPLICATION_FACTOR: '3' });
    expect([c.analyticsRetentionDays, c.kafkaTopicPartitions, c.kafkaReplicationFactor]).toEqual([30, 24, 3]);
    expect(() => loadConfig({ ANALYTICS_RETENTION_DAYS: '0' })).toThrow(/ANALYTICS_RETENTION_DAYS/);
    expect(() => loadConfig({ KAFKA_TOPIC_PARTITIONS: '0' })).toThrow(/KAFKA_TOPIC_PARTITIONS/);
    expect(() => loadConfig({ KAFKA_REPLICATION_FACTOR: 'x' })).toThrow(/KAFKA_REPLICATION_FACTOR/);
  });

  it('reads KAFKA_SESSION_TIMEOUT_MS: 30 s by default, never under the broker minimum of 6 s', () => {
    expect(loadConfig({}).kafkaSessionTimeoutMs).toBe(30_000);
    expect(loadConfig({ KAFKA_SESSION_TIMEOUT_MS: '6000' }).kafkaSessionTimeoutMs).toBe(6_000);
    expect(() => loadConfig({ KAFKA_SESSION_TIMEOUT_MS: '5999' })).toThrow(/KAFKA_SESSION_TIMEOUT_MS/);
    expect(() => loadConfig({ KAFKA_SESSION_TIMEOUT_MS: '10s' })).toThrow(/KAFKA_SESSION_TIMEOUT_MS/);
  });

  it('reads the counter shards, topics and group the CounterShardSet gives its aggregators', () => {
    const d = loadConfig({});
    expect(d.counterShards).toBe(100);
    expect(d.counterTopics).toEqual([]);
    expect(d.counterConsumerGroup).toBe('analytics.counters');
    const c = loadConfig({ COUNTER_SHARDS: '7', COUNTER_TOPIC: 'video.views, video.likes', COUNTER_CONSUMER_GROUP: 'css-counters' });
    expect(c.counterShards).toBe(7);
    expect(c.counterTopics).toEqual(['video.views', 'video.likes']);
    expect(c.counterConsumerGroup).toBe('css-counters');
    expect(loadConfig({ COUNTER_SHARDS: '1' }).counterShards).toBe(1);
    expect(loadConfig({ COUNTER_SHARDS: '10000' }).counterShards).toBe(10_000);
    expect(() => loadConfig({ COUNTER_SHARDS: '0' })).toThrow(/COUNTER_SHARDS must be an integer between 1 and 10000 \(got "0"\)/);
    expect(() => loadConfig({ COUNTER_SHARDS: '10001' })).toThrow(/COUNTER_SHARDS must be an integer between 1 and 10000/);
    expect(() => loadConfig({ COUNTER_SHARDS: '-3' })).toThrow(/COUNTER_SHARDS/);
    expect(() => loadConfig({ COUNTER_TOPIC: 'video views' })).toThrow(/COUNTER_TOPIC must be a comma list of Kafka topic names/);
    expect(() => loadConfig({ COUNTER_TOPIC: '..' })).toThrow(/COUNTER_TOPIC/);
    expect(() => loadConfig({ COUNTER_TOPIC: 'x'.repeat(250) })).toThrow(/COUNTER_TOPIC/);
    expect(() => loadConfig({ COUNTER_CONSUMER_GROUP: 'a/b' })).toThrow(/COUNTER_CONSUMER_GROUP must be a consumer group name/);
  });

  it('reads the cache key prefix and the bounds of the in-process cache layer', () => {
    expect(loadConfig({}).cache).toEqual({ keyPrefix: 'kinora:cache', maxEntries: 50_000, maxBytes: 64 * 1024 * 1024 });
    expect(loadConfig({ CACHE_KEY_PREFIX: 'eu-1:cache', CACHE_MAX_ENTRIES: '1000', CACHE_MAX_MB: '8' }).cache).toEqual({ keyPrefix: 'eu-1:cache', maxEntries: 1000, maxBytes: 8 * 1024 * 1024 });
    expect(() => loadConfig({ CACHE_KEY_PREFIX: 'a b' })).toThrow(/CACHE_KEY_PREFIX must be letters, digits and : _ \. - \(at most 64\) \(got "a b"\)/);
    expect(() => loadConfig({ CACHE_MAX_ENTRIES: '0' })).toThrow(/CACHE_MAX_ENTRIES must be an integer between 1 and 10000000/);
    expect(() => loadConfig({ CACHE_MAX_MB: 'x' })).toThrow(/CACHE_MAX_MB/);
  });

  it('reads the transcode runner: local by default, kubernetes with a namespace, image, parallelism and kubeconfig', () => {
    const d = loadConfig({}, '/srv');
    expect(d.transcodeRunner).toBe('local');
    expect(d.transcodeNamespace).toBeUndefined();
    expect(d.transcodeImage).toBeUndefined();
    expect(d.transcodeMaxParallel).toBe(4);
    expect(d.kubeconfig).toBeUndefined();
    const k = loadConfig(
      { TRANSCODE_RUNNER: 'kubernetes', TRANSCODE_NAMESPACE: 'kinora', TRANSCODE_IMAGE: 'ghcr.io/x/kinora:1', TRANSCODE_MAX_PARALLEL: '8', KUBECONFIG: 'kube/config', TRANSCODE_MAX_ATTEMPTS: '20' },
      '/srv',
    );
    expect(k).toMatchObject({ transcodeRunner: 'kubernetes', transcodeNamespace: 'kinora', transcodeImage: 'ghcr.io/x/kinora:1', transcodeMaxParallel: 8, kubeconfig: '/srv/kube/config', transcodeMaxAttempts: 20 });
    expect(() => loadConfig({ TRANSCODE_RUNNER: 'k8s' })).toThrow(/TRANSCODE_RUNNER must be one of local, kubernetes \(got "k8s"\)/);
    expect(() => loadConfig({ TRANSCODE_NAMESPACE: 'Kinora_NS' })).toThrow(/TRANSCODE_NAMESPACE must be a Kubernetes namespace name/);
    expect(() => loadConfig({ TRANSCODE_MAX_PARALLEL: '0' })).toThrow(/TRANSCODE_MAX_PARALLEL must be an integer between 1 and 100/);
    expect(() => loadConfig({ TRANSCODE_RUNNER: 'kubernetes', TRANSCODE_MAX_ATTEMPTS: '21' })).toThrow(/TRANSCODE_MAX_ATTEMPTS must be at most 20 with TRANSCODE_RUNNER=kubernetes/);
    expect(loadConfig({ TRANSCODE_MAX_ATTEMPTS: '21' }).transcodeMaxAttempts).toBe(21);
  });

  it('never echoes the identity secret', () => {
    expect(() => loadConfig({ GATEWAY_IDENTITY_SECRET: 'tooshortsecret' })).toThrow(/redacted/);
    expect(() => loadConfig({ GATEWAY_IDENTITY_SECRET: 'tooshortsecret' })).not.toThrow(/tooshortsecret/);
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
