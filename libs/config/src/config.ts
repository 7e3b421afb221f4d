import { resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ConfigError, deepFreeze, envBool as bool, envInt as int, envList as list, envString as str, loadOrExit, type Env } from './env.js';

export { ConfigError } from './env.js';

/** A rate-limit tier: `max` requests per `windowMs`, or `null` when disabled (`off`). */
export interface RateLimitTier {
  max: number;
  windowMs: number;
}

export const ALL_SERVICES = [
  'gateway',
  'user',
  'video',
  'transcoder',
  'comment',
  'like',
  'subscription',
  'analytics',
  'recommendation',
  'realtime',
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

/** The entity databases: each may be its own PostgreSQL (`<ENTITY>_DATABASE_URL`), default the one `DATABASE_URL`. */
export const DATABASE_ENTITIES = ['users', 'videos', 'analytics'] as const;
export type DatabaseEntity = (typeof DATABASE_ENTITIES)[number];

/** One database: its primary (undefined: the embedded PostgreSQL) and read replicas. */
export interface DatabaseConnection {
  url: string | undefined;
  replicaUrls: readonly string[];
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** libx264 presets, fastest first (`TRANSCODE_PRESET`). */
export const TRANSCODE_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
export type TranscodePreset = (typeof TRANSCODE_PRESETS)[number];

/** Who runs a transcode (`TRANSCODE_RUNNER`). */
export const TRANSCODE_RUNNERS = ['local', 'kubernetes'] as const;
export type TranscodeRunner = (typeof TRANSCODE_RUNNERS)[number];

/** Services that answer HTTP and can sit behind the gateway as upstreams (`<NAME>_SERVICE_URL`). */
export const UPSTREAM_SERVICES = ['user', 'video', 'comment', 'like', 'subscription', 'analytics', 'recommendation', 'realtime'] as const;
export type UpstreamService = (typeof UPSTREAM_SERVICES)[number];

/** What the gateway does when the rate-limit store does not answer: keep serving, or answer 503. */
export type RateLimitFailMode = 'open' | 'closed';

/** How the gateway calls one upstream (the same settings apply to every upstream). */
export interface UpstreamPolicyConfig {
  /** Per-attempt timeouts by route class (ms): reads (GET/HEAD), writes, uploads (tus PATCH). */
  timeouts: { readMs: number; writeMs: number; uploadMs: number };
  /** Extra attempts for idempotent reads after a failure (0 = none). */
  retries: number;
  /** Consecutive failures that open an upstream's circuit breaker. */
  breakerFailures: number;
  /** How long an open breaker waits before letting one probe through (ms). */
  breakerHalfOpenAfterMs: number;
  /** Requests in flight per upstream (bulkhead) and how many more may wait for a slot. */
  maxConcurrency: number;
  maxQueue: number;
  /** How long a successful anonymous read may be served again when its upstream fails (ms; 0 = never). */
  staleIfErrorMs: number;
  /** How long the gateway waits at start for an upstream's OpenAPI document (its route table) (ms). */
  discoveryTimeoutMs: number;
}

/**
 * How to reach Redis: one URL (`redis://`, `rediss://`; credentials in it), or the Sentinels that name the current
 * primary of `masterName` (the client follows failovers). Sentinel mode speaks TLS to the Sentinels and the data
 * nodes with `REDIS_SENTINEL_TLS=true`, plain TCP otherwise. `tlsCa` (`REDIS_TLS_CA`, PEM): the certificate
 * authorities trusted for those TLS connections instead of the system's.
 */
export type RedisConnection =
  | { mode: 'url'; url: string; tlsCa: string | undefined }
  | {
      mode: 'sentinel';
      /** TLS to the Sentinels and to the primary and replicas they name (`REDIS_SENTINEL_TLS`). */
      tls: boolean;
      tlsCa: string | undefined;
      sentinels: ReadonlyArray<{ host: string; port: number }>;
      masterName: string;
      /** ACL user and password of the primary and replicas (`REDIS_USERNAME`, `REDIS_PASSWORD`). */
      username: string | undefined;
      password: string | undefined;
      /** Of the sentinels themselves (`REDIS_SENTINEL_USERNAME`, `REDIS_SENTINEL_PASSWORD`). */
      sentinelUsername: string | undefined;
      sentinelPassword: string | undefined;
    };

export interface Config {
  /** Listening port of this process. */
  port: number;
  /** Listening address. */
  host: string;
  /** Base URL that clients see. */
  publicUrl: string;
  /** Embedded mode's data folder (Postgres data, media, keys). Absolute. */
  dataDir: string;
  /** Service plugins this process runs. */
  services: readonly ServiceName[];
  /** Primary database; undefined means "start an embedded PostgreSQL". */
  databaseUrl: string | undefined;
  databaseReplicaUrls: readonly string[];
  databasePoolMax: number;
  /**
   * The per-entity databases (`USERS_DATABASE_URL`, `VIDEOS_DATABASE_URL`, `ANALYTICS_DATABASE_URL` and their
   * `*_DATABASE_REPLICA_URLS`): each defaults to `DATABASE_URL` and its replicas. `users` is the user service's,
   * `videos` that of video, comment, like, subscription, transcoder, realtime and recommendation, `analytics` the
   * analytics service's.
   */
  databases: Readonly<Record<DatabaseEntity, DatabaseConnection>>;
  /** `statement_timeout` of every connection (ms, `DATABASE_STATEMENT_TIMEOUT_MS`, 0 = the server's). */
  databaseStatementTimeoutMs: number;
  /** `idle_in_transaction_session_timeout` of every connection (ms, `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS`, 0 = the server's). */
  databaseIdleInTransactionTimeoutMs: number;
  /** How often server health and replica replay positions are polled (ms, `DATABASE_HEALTH_INTERVAL_MS`). */
  databaseHealthIntervalMs: number;
  /** Redis (`REDIS_URL`, or Sentinel: `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`); undefined means in-process adapters. */
  redis: RedisConnection | undefined;
  /** Kafka bootstrap brokers; empty means the in-process bus. */
  kafkaBrokers: readonly string[];
  storageUrl: string;
  region: string;
  /** Allowed web origins for the API (`*` allowed). */
  corsOrigins: readonly string[];
  /**
   * The built web app the gateway serves at `/` (`WEB_ROOT`, absolute): a folder, `null` for none (`off`), or
   * `undefined` for the launcher's default (apps/web/dist of this checkout, when it was built).
   */
  webRoot: string | null | undefined;
  rateLimits: {
    general: RateLimitTier | null;
    auth: RateLimitTier | null;
    upload: RateLimitTier | null;
  };
  counterFlushIntervalMs: number;
  /** Consumer-group members the counter consumer runs in one process (their fetches overlap the counting). */
  counterConsumerMembers: number;
  /**
   * Shards per entity of the counter rows (`COUNTER_SHARDS`, 1-10000, default 100): a flush adds to one shard at
   * random, a read sums every shard, so the count may change on an existing database (rows of higher shards stay counted).
   */
  counterShards: number;
  /** Topics the counter consumer reads (`COUNTER_TOPIC`, comma list of Kafka topic names); empty = the engagement topics. */
  counterTopics: readonly string[];
  /** Consumer group of the counter consumer (`COUNTER_CONSUMER_GROUP`, default `analytics.counters`). */
  counterConsumerGroup: string;
  /** Days of hourly analytics facts kept (older daily partitions are dropped). */
  analyticsRetentionDays: number;
  /** Partitions of the platform's topics created at start (Kafka and the in-process bus). */
  kafkaTopicPartitions: number;
  /** Replication factor of the topics created at start (Kafka only). */
  kafkaReplicationFactor: number;
  /**
   * Kafka consumer-group session timeout: how long the group waits for a member that stopped heartbeating (a
   * crashed process) before its partitions move to the others. Heartbeats go every third of it, at most 3 s.
   */
  kafkaSessionTimeoutMs: number;
  logLevel: LogLevel;
  otelEndpoint: string | undefined;
  /** Lifetime of access tokens (seconds). */
  accessTokenTtlSec: number;
  /** Lifetime of refresh tokens (seconds). */
  refreshTokenTtlSec: number;
  /**
   * Folder of PEM signing keys (`JWT_KEYS_DIR`, absolute once loaded; a mounted Secret): `active.pem` signs access
   * tokens, every `*.pem` is published in the JWKS. Unset: the user service keeps generated keys in its database.
   */
  jwtKeysDir: string | undefined;
  /** Proxies whose X-Forwarded-For is believed (addresses/CIDRs), empty = none. */
  trustedProxies: readonly string[];
  /** Largest JSON body accepted (bytes). */
  bodyLimitBytes: number;
  /** How long SIGTERM waits for in-flight requests before closing anyway (ms). */
  shutdownGraceMs: number;
  /**
   * Worker processes of one standalone realtime instance (apps/realtime), sharing its port with sticky sessions;
   * more than 1 needs REDIS_URL (the workers reach each other's clients through the Redis adapter).
   */
  realtimeWorkers: number;
  /** Rate-limit store (Redis) unreachable: `open` keeps serving (default), `closed` answers 503. */
  rateLimitFailMode: RateLimitFailMode;
  /** How long a rate-limit check waits for Redis before the fail mode applies (ms). */
  rateLimitStoreTimeoutMs: number;
  /**
   * The process's cache (libs/cache): `CACHE_KEY_PREFIX` of its Redis keys and invalidation channel (default
   * `kinora:cache`; deployments sharing one Redis need their own), bounds of its in-process layer
   * (`CACHE_MAX_ENTRIES`, default 50000; `CACHE_MAX_MB`, default 64).
   */
  cache: { keyPrefix: string; maxEntries: number; maxBytes: number };
  /** Base URLs of services reached over HTTP through the gateway (cluster mode), from `<NAME>_SERVICE_URL`. */
  upstreams: Readonly<Partial<Record<UpstreamService, string>>>;
  /**
   * Secret that signs the identity the gateway forwards to services (HMAC-SHA256, see docs/adr/0001); required
   * as soon as an upstream URL is set, optional for a service that verifies it.
   */
  gatewayIdentitySecret: string | undefined;
  upstreamPolicy: UpstreamPolicyConfig;
  /** Transcode jobs one transcoder process runs at once. */
  transcodeConcurrency: number;
  /**
   * Longest source video accepted, in seconds (`TRANSCODE_MAX_DURATION_SEC`, default 6 h): a tiny, highly
   * compressible upload can promise hours of frames; longer sources fail at the probe, before any decoding.
   */
  transcodeMaxDurationSec: number;
  /** libx264 preset of the ladder (slower = smaller files at the same quality, more CPU). */
  transcodePreset: TranscodePreset;
  /** Attempts of a transcode job before it fails for good (transient failures; invalid input fails at once). */
  transcodeMaxAttempts: number;
  /** How long a claimed transcode job stays with its worker without a heartbeat (ms); a dead worker's job waits this long. */
  transcodeLeaseMs: number;
  /** Scratch folder of running transcode jobs (source copy and outputs before upload). Absolute. */
  transcodeWorkDir: string;
  /** Wanted length (s) of one chunk of a chunked transcode (`TRANSCODE_CHUNK_SEC`, 4-3600, default 60); see apps/transcoder. */
  transcodeChunkSec: number;
  /**
   * Who transcodes an upload (`TRANSCODE_RUNNER`): `local` (default) runs ffmpeg in this process (the job table,
   * leases, retries); `kubernetes` creates a `kinora.io/v1alpha1` TranscodeJob per upload and leaves the run and the
   * `video.transcoded` event to the Kinora operator.
   */
  transcodeRunner: TranscodeRunner;
  /** Namespace of the TranscodeJobs (`TRANSCODE_NAMESPACE`); unset: the Pod's own (its service-account namespace file). */
  transcodeNamespace: string | undefined;
  /** Image of the TranscodeJobs' steps (`TRANSCODE_IMAGE`); unset: the operator's default. */
  transcodeImage: string | undefined;
  /** Chunk Jobs of one TranscodeJob running at once (`TRANSCODE_MAX_PARALLEL`, 1-100, default 4). */
  transcodeMaxParallel: number;
  /** A kubeconfig file (`KUBECONFIG`, absolute once loaded) for the kubernetes runner outside a cluster; unset: in-cluster. */
  kubeconfig: string | undefined;
  /**
   * Where a chunked-transcode Job step also writes its one-line result (`TRANSCODE_RESULT_FILE`, else Kubernetes'
   * `TERMINATION_MESSAGE_PATH`): the Pod's termination message, read by the operator. Unset: stdout only.
   */
  transcodeResultFile: string | undefined;
  /**
   * ffmpeg / ffprobe executables (`FFMPEG_PATH`, `FFPROBE_PATH`, absolute once loaded). Unset: found on the PATH.
   * The transcoder checks at start that they run and can encode the ladder (libx264, aac, current options).
   */
  ffmpegPath: string | undefined;
  ffprobePath: string | undefined;
  /** Largest tus upload accepted (bytes, `UPLOAD_MAX_BYTES`, default 8 GiB); bigger ones are answered 413. */
  uploadMaxBytes: number;
  /**
   * HMAC key that signs stream URLs of private and unlisted videos (`MEDIA_SIGNING_KEY`, at least 32 characters).
   * Unset: the video service keeps a generated one in `<dataDir>/media-signing.key` (embedded mode).
   */
  mediaSigningKey: string | undefined;
}

/** A path to an executable, made absolute against `cwd`; a bare name (`ffmpeg`) is looked up on the PATH. */
function executable(env: Env, name: string, cwd: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  return raw.includes('/') ? resolve(cwd, raw) : raw;
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  return checkUrl(name, raw, protocols);
}

function checkUrl(name: string, raw: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `a URL (${protocols.join(', ')})`, redact(raw));
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `a URL (${protocols.join(', ')})`, redact(raw));
  return raw;
}

/** Never echo a password back into logs. */
function redact(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

const SENTINEL_ONLY = ['REDIS_SENTINEL_MASTER', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_SENTINEL_TLS'] as const;

/** `REDIS_TLS_CA`: PEM certificates (one or more CAs), only meaningful when the connection uses TLS. */
function redisTlsCa(env: Env, tls: boolean, when: string): string | undefined {
  const pem = str(env, 'REDIS_TLS_CA');
  if (pem === undefined) return undefined;
  if (!tls) throw new ConfigError('REDIS_TLS_CA', `unset unless Redis is reached over TLS (${when})`, '<PEM>');
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
    new X509Certificate(pem);
  } catch {
    throw new ConfigError('REDIS_TLS_CA', 'PEM certificates (-----BEGIN CERTIFICATE----- …): the CAs that sign the Redis servers\' certificates', `${pem.slice(0, 40)}…`);
  }
  return `${pem}\n`;
}

/** `REDIS_URL`, or `REDIS_SENTINELS` (comma list of host:port) with `REDIS_SENTINEL_MASTER`; not both. */
function redisConnection(env: Env): RedisConnection | undefined {
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const sentinelsRaw = str(env, 'REDIS_SENTINELS');
  if (sentinelsRaw === undefined) {
    for (const name of SENTINEL_ONLY) {
      if (str(env, name) !== undefined) throw new ConfigError('REDIS_SENTINELS', `set when ${name} is set (${name} is for Sentinel mode; a REDIS_URL carries its own credentials, and rediss:// for TLS)`, undefined);
    }
    if (redisUrl === undefined) {
      redisTlsCa(env, false, 'a rediss:// REDIS_URL, or REDIS_SENTINEL_TLS=true');
      return undefined;
    }
    return { mode: 'url', url: redisUrl, tlsCa: redisTlsCa(env, redisUrl.startsWith('rediss:'), 'a rediss:// REDIS_URL') };
  }
  if (redisUrl !== undefined) throw new ConfigError('REDIS_URL', 'unset when REDIS_SENTINELS is set (one or the other)', redact(redisUrl));
  const sentinels = list(env, 'REDIS_SENTINELS').map((hp) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$/.exec(hp);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new ConfigError('REDIS_SENTINELS', 'a comma list of host:port (the Sentinels, e.g. redis-sentinel:26379)', hp);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (sentinels.length === 0) throw new ConfigError('REDIS_SENTINELS', 'a comma list of host:port (the Sentinels, e.g. redis-sentinel:26379)', sentinelsRaw);
  const masterName = str(env, 'REDIS_SENTINEL_MASTER');
  if (masterName === undefined) throw new ConfigError('REDIS_SENTINEL_MASTER', 'set when REDIS_SENTINELS is set (the name the Sentinels monitor, e.g. mymaster)', undefined);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(masterName)) throw new ConfigError('REDIS_SENTINEL_MASTER', 'a Sentinel master name (letters, digits, . _ -)', masterName);
  const tls = bool(env, 'REDIS_SENTINEL_TLS', false);
  return {
    mode: 'sentinel',
    tls,
    tlsCa: redisTlsCa(env, tls, 'REDIS_SENTINEL_TLS=true'),
    sentinels,
    masterName,
    username: str(env, 'REDIS_USERNAME'),
    password: str(env, 'REDIS_PASSWORD'),
    sentinelUsername: str(env, 'REDIS_SENTINEL_USERNAME'),
    sentinelPassword: str(env, 'REDIS_SENTINEL_PASSWORD'),
  };
}

const WINDOW_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `N/window` (`100/15m`, `5/1h`, `10/30s`) or `off`. */
export function parseRateLimit(name: string, raw: string | undefined, def: string): RateLimitTier | null {
  const value = (raw ?? def).trim();
  if (value === 'off') return null;
  const m = /^(\d+)\/(\d*)(s|m|h|d)$/.exec(value);
  const expected = '"N/window" like 100/15m (units s, m, h, d) or "off"';
  if (!m) throw new ConfigError(name, expected, value);
  const max = Number(m[1]);
  const count = m[2] === '' ? 1 : Number(m[2]);
  if (max < 1 || count < 1) throw new ConfigError(name, expected, value);
  return { max, windowMs: count * WINDOW_UNITS[m[3]!]! };
}

/** A Kafka topic or consumer-group name (the broker's own rule for topics). */
const KAFKA_NAME = /^[A-Za-z0-9._-]{1,249}$/;

function webRootOf(value: string | undefined, cwd: string): string | null | undefined {
  if (value === undefined) return undefined;
  return value === 'off' ? null : resolve(cwd, value);
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Parses the environment once into a frozen, typed configuration. Throws {@link ConfigError} with one clear line
 * for the first bad variable. `cwd` resolves relative paths (the data folder).
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Readonly<Config> {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = str(env, 'HOST') ?? '0.0.0.0';
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const dataDir = resolve(cwd, str(env, 'KINORA_DATA_DIR') ?? '.kinora');

  const servicesRaw = str(env, 'KINORA_SERVICES');
  let services: ServiceName[] = [...ALL_SERVICES];
  if (servicesRaw !== undefined && servicesRaw !== 'all') {
    services = [];
    for (const s of list(env, 'KINORA_SERVICES')) {
      if (!(ALL_SERVICES as readonly string[]).includes(s)) {
        throw new ConfigError('KINORA_SERVICES', `"all" or a comma list of ${ALL_SERVICES.join(', ')}`, servicesRaw);
      }
      services.push(s as ServiceName);
    }
    if (services.length === 0) throw new ConfigError('KINORA_SERVICES', 'a non-empty list', servicesRaw);
  }

  const pgProtocols = ['postgres:', 'postgresql:'];
  const databaseUrl = url(env, 'DATABASE_URL', pgProtocols);
  const databaseReplicaUrls = list(env, 'DATABASE_REPLICA_URLS').map((u) => checkUrl('DATABASE_REPLICA_URLS', u, pgProtocols));
  if (databaseReplicaUrls.length > 0 && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_URL', 'set when DATABASE_REPLICA_URLS is set', undefined);
  }
  const databases = {} as Record<DatabaseEntity, DatabaseConnection>;
  for (const entity of DATABASE_ENTITIES) {
    const prefix = `${entity.toUpperCase()}_DATABASE`;
    const own = url(env, `${prefix}_URL`, pgProtocols);
    const replicas = list(env, `${prefix}_REPLICA_URLS`).map((u) => checkUrl(`${prefix}_REPLICA_URLS`, u, pgProtocols));
    if (replicas.length > 0 && own === undefined) throw new ConfigError(`${prefix}_URL`, `set when ${prefix}_REPLICA_URLS is set`, undefined);
    // An own URL without replicas has none (the shared replicas replicate another server).
    databases[entity] = own === undefined ? { url: databaseUrl, replicaUrls: databaseReplicaUrls } : { url: own, replicaUrls: replicas };
  }

  const kafkaBrokers = list(env, 'KAFKA_BROKERS');
  for (const b of kafkaBrokers) {
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(b)) throw new ConfigError('KAFKA_BROKERS', 'a comma list of host:port', b);
  }

  const storageUrl = url(env, 'STORAGE_URL', ['file:', 's3:']) ?? new URL(`file://${resolve(dataDir, 'media')}`).href;

  const region = str(env, 'REGION') ?? 'local';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) throw new ConfigError('REGION', 'lower-case letters, digits and dashes', region);

  const corsOrigins = list(env, 'CORS_ORIGINS');
  for (const o of corsOrigins) {
    if (o !== '*') checkUrl('CORS_ORIGINS', o, ['http:', 'https:']);
  }

  const logLevel = (str(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`, logLevel);

  const trustedProxies = list(env, 'TRUSTED_PROXIES');
  for (const p of trustedProxies) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p) && p !== 'loopback') {
      throw new ConfigError('TRUSTED_PROXIES', 'a comma list of IP addresses or CIDR ranges', p);
    }
  }

  const redis = redisConnection(env);
  const cacheKeyPrefix = str(env, 'CACHE_KEY_PREFIX') ?? 'kinora:cache';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(cacheKeyPrefix)) throw new ConfigError('CACHE_KEY_PREFIX', 'letters, digits and : _ . - (at most 64)', cacheKeyPrefix);
  const realtimeWorkers = int(env, 'REALTIME_WORKERS', 1, 1, 64);
  if (realtimeWorkers > 1 && !redis) throw new ConfigError('REALTIME_WORKERS', '1 unless REDIS_URL is set (workers share clients through Redis)', String(realtimeWorkers));
  const rateLimitFailMode = (str(env, 'RATE_LIMIT_FAIL_MODE') ?? 'open') as RateLimitFailMode;
  if (rateLimitFailMode !== 'open' && rateLimitFailMode !== 'closed') {
    throw new ConfigError('RATE_LIMIT_FAIL_MODE', '"open" or "closed"', rateLimitFailMode);
  }

  const upstreams: Partial<Record<UpstreamService, string>> = {};
  for (const svc of UPSTREAM_SERVICES) {
    const name = `${svc.toUpperCase()}_SERVICE_URL`;
    const u = url(env, name, ['http:', 'https:']);
    if (u !== undefined) upstreams[svc] = u.replace(/\/+$/, '');
  }
  const gatewayIdentitySecret = str(env, 'GATEWAY_IDENTITY_SECRET');
  if (gatewayIdentitySecret !== undefined && gatewayIdentitySecret.length < 32) {
    throw new ConfigError('GATEWAY_IDENTITY_SECRET', 'at least 32 characters', '[redacted]');
  }
  if (gatewayIdentitySecret === undefined && Object.keys(upstreams).length > 0) {
    throw new ConfigError('GATEWAY_IDENTITY_SECRET', 'set (at least 32 characters) when a *_SERVICE_URL is set', undefined);
  }

  const transcodePreset = (str(env, 'TRANSCODE_PRESET') ?? 'veryfast') as TranscodePreset;
  if (!TRANSCODE_PRESETS.includes(transcodePreset)) {
    throw new ConfigError('TRANSCODE_PRESET', `one of ${TRANSCODE_PRESETS.join(', ')}`, transcodePreset);
  }

  const transcodeRunner = (str(env, 'TRANSCODE_RUNNER') ?? 'local') as TranscodeRunner;
  if (!TRANSCODE_RUNNERS.includes(transcodeRunner)) throw new ConfigError('TRANSCODE_RUNNER', `one of ${TRANSCODE_RUNNERS.join(', ')}`, transcodeRunner);
  const transcodeNamespace = str(env, 'TRANSCODE_NAMESPACE');
  if (transcodeNamespace !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(transcodeNamespace)) {
    throw new ConfigError('TRANSCODE_NAMESPACE', 'a Kubernetes namespace name (lower-case letters, digits, -; at most 63)', transcodeNamespace);
  }
  const transcodeMaxAttempts = int(env, 'TRANSCODE_MAX_ATTEMPTS', 3, 1, 100);
  // A TranscodeJob allows 1-20 attempts (its CRD schema).
  if (transcodeRunner === 'kubernetes' && transcodeMaxAttempts > 20) {
    throw new ConfigError('TRANSCODE_MAX_ATTEMPTS', 'at most 20 with TRANSCODE_RUNNER=kubernetes (a TranscodeJob\'s limit)', String(transcodeMaxAttempts));
  }
  const kubeconfigRaw = str(env, 'KUBECONFIG');

  const jwtKeysDirRaw = str(env, 'JWT_KEYS_DIR');

  const mediaSigningKey = str(env, 'MEDIA_SIGNING_KEY');
  if (mediaSigningKey !== undefined && mediaSigningKey.length < 32) {
    throw new ConfigError('MEDIA_SIGNING_KEY', 'at least 32 characters', '[redacted]');
  }

  const counterTopics = list(env, 'COUNTER_TOPIC');
  for (const t of counterTopics) {
    if (!KAFKA_NAME.test(t) || t === '.' || t === '..') throw new ConfigError('COUNTER_TOPIC', 'a comma list of Kafka topic names (letters, digits, . _ -; at most 249)', t);
  }
  const counterConsumerGroup = str(env, 'COUNTER_CONSUMER_GROUP') ?? 'analytics.counters';
  if (!KAFKA_NAME.test(counterConsumerGroup)) throw new ConfigError('COUNTER_CONSUMER_GROUP', 'a consumer group name (letters, digits, . _ -; at most 249)', counterConsumerGroup);

  const config: Config = {
    port,
    host,
    publicUrl,
    dataDir,
    services,
    databaseUrl,
    databaseReplicaUrls,
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
    databases,
    databaseStatementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
    databaseIdleInTransactionTimeoutMs: int(env, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 60_000, 0, 86_400_000),
    databaseHealthIntervalMs: int(env, 'DATABASE_HEALTH_INTERVAL_MS', 250, 50, 60_000),
    redis,
    kafkaBrokers,
    storageUrl,
    region,
    webRoot: webRootOf(str(env, 'WEB_ROOT'), cwd),
    corsOrigins: corsOrigins.length > 0 ? corsOrigins : [new URL(publicUrl).origin],
    rateLimits: {
      general: parseRateLimit('RATE_LIMIT_GENERAL', str(env, 'RATE_LIMIT_GENERAL'), '100/15m'),
      auth: parseRateLimit('RATE_LIMIT_AUTH', str(env, 'RATE_LIMIT_AUTH'), '5/15m'),
      upload: parseRateLimit('RATE_LIMIT_UPLOAD', str(env, 'RATE_LIMIT_UPLOAD'), '10/1h'),
    },
    counterFlushIntervalMs: int(env, 'COUNTER_FLUSH_INTERVAL_MS', 30_000, 10, 3_600_000),
    counterConsumerMembers: int(env, 'COUNTER_CONSUMER_MEMBERS', 2, 1, 16),
    counterShards: int(env, 'COUNTER_SHARDS', 100, 1, 10_000),
    counterTopics,
    counterConsumerGroup,
    analyticsRetentionDays: int(env, 'ANALYTICS_RETENTION_DAYS', 400, 1, 36_500),
    kafkaTopicPartitions: int(env, 'KAFKA_TOPIC_PARTITIONS', 12, 1, 1024),
    kafkaReplicationFactor: int(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 32),
    // 6 s is the broker's default group.min.session.timeout.ms: a shorter one is refused at join.
    kafkaSessionTimeoutMs: int(env, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
    logLevel,
    otelEndpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    accessTokenTtlSec: int(env, 'ACCESS_TOKEN_TTL_SEC', 900, 10, 86_400),
    refreshTokenTtlSec: int(env, 'REFRESH_TOKEN_TTL_SEC', 30 * 86_400, 60, 365 * 86_400),
    jwtKeysDir: jwtKeysDirRaw === undefined ? undefined : resolve(cwd, jwtKeysDirRaw),
    trustedProxies,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    realtimeWorkers,
    rateLimitFailMode,
    cache: {
      keyPrefix: cacheKeyPrefix,
      maxEntries: int(env, 'CACHE_MAX_ENTRIES', 50_000, 1, 10_000_000),
      maxBytes: int(env, 'CACHE_MAX_MB', 64, 1, 65_536) * 1024 * 1024,
    },
    rateLimitStoreTimeoutMs: int(env, 'RATE_LIMIT_STORE_TIMEOUT_MS', 200, 10, 10_000),
    upstreams,
    gatewayIdentitySecret,
    upstreamPolicy: {
      timeouts: {
        readMs: int(env, 'UPSTREAM_TIMEOUT_READ_MS', 5_000, 10, 600_000),
        writeMs: int(env, 'UPSTREAM_TIMEOUT_WRITE_MS', 15_000, 10, 600_000),
        uploadMs: int(env, 'UPSTREAM_TIMEOUT_UPLOAD_MS', 300_000, 10, 3_600_000),
      },
      retries: int(env, 'UPSTREAM_RETRIES', 2, 0, 5),
      breakerFailures: int(env, 'BREAKER_FAILURE_THRESHOLD', 5, 1, 1000),
      breakerHalfOpenAfterMs: int(env, 'BREAKER_HALF_OPEN_AFTER_MS', 10_000, 50, 600_000),
      maxConcurrency: int(env, 'UPSTREAM_MAX_CONCURRENCY', 256, 1, 100_000),
      maxQueue: int(env, 'UPSTREAM_MAX_QUEUE', 256, 0, 100_000),
      staleIfErrorMs: int(env, 'STALE_IF_ERROR_MS', 60_000, 0, 86_400_000),
      discoveryTimeoutMs: int(env, 'UPSTREAM_DISCOVERY_TIMEOUT_MS', 15_000, 0, 600_000),
    },
    transcodeConcurrency: int(env, 'TRANSCODE_CONCURRENCY', 1, 1, 64),
    transcodeMaxDurationSec: int(env, 'TRANSCODE_MAX_DURATION_SEC', 6 * 3600, 1, 7 * 86_400),
    transcodePreset,
    transcodeMaxAttempts,
    transcodeLeaseMs: int(env, 'TRANSCODE_LEASE_MS', 30_000, 1_000, 3_600_000),
    transcodeWorkDir: resolve(cwd, str(env, 'TRANSCODE_WORK_DIR') ?? resolve(dataDir, 'transcode')),
    transcodeChunkSec: int(env, 'TRANSCODE_CHUNK_SEC', 60, 4, 3600),
    transcodeRunner,
    transcodeNamespace,
    transcodeImage: str(env, 'TRANSCODE_IMAGE'),
    transcodeMaxParallel: int(env, 'TRANSCODE_MAX_PARALLEL', 4, 1, 100),
    kubeconfig: kubeconfigRaw === undefined ? undefined : resolve(cwd, kubeconfigRaw),
    transcodeResultFile: executable(env, 'TRANSCODE_RESULT_FILE', cwd) ?? executable(env, 'TERMINATION_MESSAGE_PATH', cwd),
    ffmpegPath: executable(env, 'FFMPEG_PATH', cwd),
    ffprobePath: executable(env, 'FFPROBE_PATH', cwd),
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 8 * 1024 ** 3, 1, 2 ** 50),
    mediaSigningKey,
  };
  return deepFreeze(config);
}

/** For entry points: parse, or print the one-line reason and exit 1. */
export function loadConfigOrExit(env: Env = process.env): Readonly<Config> {
  return loadOrExit(() => loadConfig(env));
}
